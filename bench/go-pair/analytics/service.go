package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	analyticsv1 "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"
	"newsroom/gopair/fields"
)

// The same bounds and windows analytics-service uses (common/src/validation.h,
// analytics-service/src/analytics_service.h, redis_read_counter.h).
const (
	articlePrefix     = "articles/"
	maxArticleIDBytes = 63
	maxClockSkew      = 5 * time.Minute
	longestPeriodDays = 30                  // reads older than this count in the all-time totals only
	rankingDayTTLDays = 32                  // a day's ranking expires this long after the day starts
	dedupSeconds      = "172800"            // 48 h: how long a read_id is remembered per article
	maxTimestampSecs  = int64(253402300799) // 9999-12-31T23:59:59Z
	secondsPerDay     = 24 * 60 * 60
)

// keys are analytics-service's Redis key names (analytics-service/src/redis_keys.cc).
type keys struct{ prefix string }

func (k keys) reads(id string) string        { return k.prefix + "reads:" + id }
func (k keys) readers(id string) string      { return k.prefix + "readers:" + id }
func (k keys) seen(id, readID string) string { return k.prefix + "seen:" + id + ":" + readID }
func (k keys) topAllTime() string            { return k.prefix + "top:all" }
func (k keys) topDay(day int64) string       { return k.prefix + "top:day:" + dayString(day) }
func (k keys) changes() string               { return k.prefix + "changes" }
func (k keys) changesHead() string           { return k.prefix + "changes:head" }
func (k keys) readerHashKey() string         { return k.prefix + "reader-hash-key" }
func dayString(day int64) string             { return time.Unix(day*secondsPerDay, 0).UTC().Format("2006-01-02") }
func invalid(field, why string) error        { return fields.Invalid(field, why) }
func isLowerAlnum(c byte) bool               { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func unavailable() error                     { return status.Error(codes.Unavailable, errUnavailable.Error()) }

type analyticsServer struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
	redis   *pipeliner
	keys    keys
	record  *redis.Script
	hashKey []byte
}

// parseArticleName returns the article id of `articles/{article_id}`.
func parseArticleName(name, field string) (string, error) {
	if name == "" {
		return "", invalid(field, "is required")
	}
	id := strings.TrimPrefix(name, articlePrefix)
	ok := len(id) < len(name) && id != "" && len(id) <= maxArticleIDBytes && isLowerAlnum(id[0])
	for i := 0; ok && i < len(id); i++ {
		ok = isLowerAlnum(id[i]) || id[i] == '-'
	}
	if !ok {
		return "", invalid(field, "must be articles/{article_id} with article_id matching [a-z0-9][a-z0-9-]{0,62}")
	}
	return id, nil
}

func validateReadID(readID string) error {
	if readID == "" {
		return invalid("read_id", "is required")
	}
	return fields.ValidateReadID(readID)
}

// readTime is the request's read_time, or now when it has none.
func readTime(req *analyticsv1.RecordReadRequest, now time.Time) (time.Time, error) {
	ts := req.GetReadTime()
	if ts == nil {
		return now, nil
	}
	if ts.Seconds > maxTimestampSecs || ts.Nanos < 0 || ts.Nanos > 999_999_999 {
		return time.Time{}, invalid("read_time", "is not a valid timestamp")
	}
	if ts.Seconds < 0 {
		return time.Time{}, invalid("read_time", "must not be before 1970")
	}
	t := ts.AsTime()
	if t.After(now.Add(maxClockSkew)) {
		return time.Time{}, invalid("read_time", "must not be more than 5 minutes in the future")
	}
	return t, nil
}

// hashReader is analytics-service's ReaderHasher: HMAC-SHA256 of the reader id under the reader
// hash key, "" for no reader.
func (s *analyticsServer) hashReader(readerID string) string {
	if readerID == "" {
		return ""
	}
	mac := hmac.New(sha256.New, s.hashKey)
	mac.Write([]byte(readerID))
	return string(mac.Sum(nil))
}

// RecordRead counts one read with analytics-service's record script, one read per EVALSHA, with
// the KEYS and ARGV analytics-service sends for a call carrying one read:
//
//	KEYS: top:all, [top:day:DATE], reads:ID, readers:ID, seen:ID:READ_ID, changes:head, changes
//	ARGV: 172800, D (1, or 0 for a read older than 30 days), 1, [day expiry], ID, 1, D, reader hash
func (s *analyticsServer) RecordRead(ctx context.Context, req *analyticsv1.RecordReadRequest) (*analyticsv1.ReadStats, error) {
	id, err := parseArticleName(req.GetArticle(), "article")
	if err != nil {
		return nil, err
	}
	if err := validateReadID(req.GetReadId()); err != nil {
		return nil, err
	}
	if err := fields.ValidateReaderID(req.GetReaderId()); err != nil {
		return nil, err
	}
	now := time.Now()
	when, err := readTime(req, now)
	if err != nil {
		return nil, err
	}
	day, today := when.Unix()/secondsPerDay, now.Unix()/secondsPerDay
	ranked := today-day < longestPeriodDays

	args := make([]interface{}, 0, 17)
	args = append(args, s.record.Hash(), 0, s.keys.topAllTime())
	if ranked {
		args = append(args, s.keys.topDay(day))
	}
	args = append(args, s.keys.reads(id), s.keys.readers(id), s.keys.seen(id, req.GetReadId()),
		s.keys.changesHead(), s.keys.changes())
	args[1] = len(args) - 2 // numkeys
	if ranked {
		args = append(args, dedupSeconds, "1", "1", strconv.FormatInt((day+rankingDayTTLDays)*secondsPerDay, 10),
			id, "1", "1", s.hashReader(req.GetReaderId()))
	} else {
		args = append(args, dedupSeconds, "0", "1", id, "1", "0", s.hashReader(req.GetReaderId()))
	}

	replies, err := s.redis.do(ctx, command{"EVALSHA", args})
	if err != nil {
		return nil, callError(err)
	}
	// One entry per read: {reads after it, unique readers, duplicate}, or that read's error.
	outcomes, err := redis.Values(replies[0], nil)
	if err == nil && len(outcomes) != 1 {
		err = fmt.Errorf("record script returned %d outcomes for 1 read", len(outcomes))
	}
	var counts []int64
	if err == nil {
		counts, err = redis.Int64s(outcomes[0], nil)
	}
	if err == nil && len(counts) != 3 {
		err = fmt.Errorf("record script returned %d values for a read", len(counts))
	}
	if err != nil {
		return nil, status.Error(codes.Internal, "unexpected reply from Redis: "+err.Error())
	}
	return &analyticsv1.ReadStats{Article: req.GetArticle(), Reads: counts[0], UniqueReaders: counts[1]}, nil
}

// GetReadStats reads an article's counters as analytics-service does: GET reads:ID and
// PFCOUNT readers:ID, pipelined with whatever else is being sent.
func (s *analyticsServer) GetReadStats(ctx context.Context, req *analyticsv1.GetReadStatsRequest) (*analyticsv1.ReadStats, error) {
	id, err := parseArticleName(req.GetArticle(), "article")
	if err != nil {
		return nil, err
	}
	replies, err := s.redis.do(ctx,
		command{"GET", []interface{}{s.keys.reads(id)}},
		command{"PFCOUNT", []interface{}{s.keys.readers(id)}})
	if err != nil {
		return nil, callError(err)
	}
	reads, err := redis.Int64(replies[0], nil)
	if errors.Is(err, redis.ErrNil) {
		reads, err = 0, nil
	}
	var readers int64
	if err == nil {
		readers, err = redis.Int64(replies[1], nil)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, "unexpected reply from Redis: "+err.Error())
	}
	return &analyticsv1.ReadStats{Article: req.GetArticle(), Reads: reads, UniqueReaders: readers}, nil
}

// callError is the status of a call whose commands did not complete.
func callError(err error) error {
	switch {
	case errors.Is(err, errUnavailable):
		return unavailable()
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}
