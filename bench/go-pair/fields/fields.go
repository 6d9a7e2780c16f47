// Package fields checks the request fields both Go services take from a reader's call, with
// content-service's and analytics-service's bounds (common/src/validation.h), so that go-content
// and go-analytics answer bad input alike.
package fields

import (
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	maxReadIDBytes   = 128
	maxReaderIDBytes = 256
)

// Invalid is the INVALID_ARGUMENT status naming the field at fault.
func Invalid(field, why string) error { return status.Error(codes.InvalidArgument, field+": "+why) }

// ValidateReadID checks a read_id that was given; whether one is required is the caller's rule.
func ValidateReadID(readID string) error {
	if len(readID) > maxReadIDBytes {
		return Invalid("read_id", "must be at most 128 characters")
	}
	for i := 0; i < len(readID); i++ {
		c := readID[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._~:-", c) >= 0) {
			return Invalid("read_id", "may only contain [A-Za-z0-9._~:-]")
		}
	}
	return nil
}

// ValidateReaderID checks a reader_id (empty: an anonymous reader).
func ValidateReaderID(readerID string) error {
	if len(readerID) > maxReaderIDBytes {
		return Invalid("reader_id", "must be at most 256 bytes")
	}
	if !utf8.ValidString(readerID) {
		return Invalid("reader_id", "must be valid UTF-8")
	}
	for i := 0; i < len(readerID); i++ {
		if readerID[i] < 0x20 || readerID[i] == 0x7f {
			return Invalid("reader_id", "must be a single line without control characters")
		}
	}
	return nil
}
