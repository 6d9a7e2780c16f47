package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"
	contentv1 "github.com/newsroom/newsroom/gen/go/newsroom/content/v1"
	"newsroom/gopair/fields"
)

const (
	articlePrefix     = "articles/"
	maxArticleIDBytes = 63
)

type contentServer struct {
	contentv1.UnimplementedContentServiceServer
	articles  map[string]*contentv1.Article // by name; never modified once serving
	analytics analyticsv1.AnalyticsServiceClient
	stats     *statsCache
	// How long GetArticle waits for stats it has to fetch before serving the article without.
	statsBudget time.Duration
}

func invalid(field, why string) error { return fields.Invalid(field, why) }
func isLowerAlnum(c byte) bool        { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validateName checks `articles/{article_id}` with article_id matching [a-z0-9][a-z0-9-]{0,62}.
func validateName(name, field string) error {
	if name == "" {
		return invalid(field, "is required")
	}
	id := strings.TrimPrefix(name, articlePrefix)
	ok := len(id) < len(name) && id != "" && len(id) <= maxArticleIDBytes && isLowerAlnum(id[0])
	for i := 0; ok && i < len(id); i++ {
		ok = isLowerAlnum(id[i]) || id[i] == '-'
	}
	if !ok {
		return invalid(field, "must be articles/{article_id} with article_id matching [a-z0-9][a-z0-9-]{0,62}")
	}
	return nil
}

func (s *contentServer) article(name string) (*contentv1.Article, error) {
	if err := validateName(name, "name"); err != nil {
		return nil, err
	}
	a, ok := s.articles[name]
	if !ok {
		return nil, status.Error(codes.NotFound, "no article "+name)
	}
	return a, nil
}

// withStats returns a copy of the stored article carrying stats. The copy is shallow: strings,
// repeated fields and nested messages are shared with the stored article, which nobody modifies.
func withStats(a *contentv1.Article, stats *analyticsv1.ReadStats) *contentv1.Article {
	return &contentv1.Article{
		Name:        a.Name,
		Title:       a.Title,
		Subtitle:    a.Subtitle,
		Body:        a.Body,
		LeadImage:   a.LeadImage,
		Source:      a.Source,
		Tags:        a.Tags,
		Language:    a.Language,
		Authors:     a.Authors,
		PublishTime: a.PublishTime,
		CreateTime:  a.CreateTime,
		UpdateTime:  a.UpdateTime,
		Etag:        a.Etag,
		ReadStats:   stats,
	}
}

// GetArticle returns the article with its read stats, cached for up to --stats-max-age. When
// go-analytics does not answer within --stats-budget the article is served without them.
func (s *contentServer) GetArticle(ctx context.Context, req *contentv1.GetArticleRequest) (*contentv1.Article, error) {
	a, err := s.article(req.GetName())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.statsBudget)
	defer cancel()
	return withStats(a, s.stats.get(ctx, a.Name)), nil
}

// ReadArticle records the read with go-analytics' RecordRead, sent as content-service sends it
// (the article's name, the reader id, the caller's read_id or a new one, the time now), and
// returns the article with the stats RecordRead returned. There is no outbox: when RecordRead
// fails, so does the call, with RecordRead's status.
func (s *contentServer) ReadArticle(ctx context.Context, req *contentv1.ReadArticleRequest) (*contentv1.Article, error) {
	if err := validateName(req.GetName(), "name"); err != nil {
		return nil, err
	}
	if err := fields.ValidateReaderID(req.GetReaderId()); err != nil {
		return nil, err
	}
	readID := req.GetReadId()
	if readID == "" {
		readID = newReadID()
	} else if err := fields.ValidateReadID(readID); err != nil {
		return nil, err
	}
	a, err := s.article(req.GetName())
	if err != nil {
		return nil, err
	}
	sent := time.Now()
	stats, err := s.analytics.RecordRead(ctx, &analyticsv1.RecordReadRequest{
		Article:  a.Name,
		ReaderId: req.GetReaderId(),
		ReadId:   readID,
		ReadTime: timestamppb.New(sent),
	})
	if err != nil {
		return nil, err // already a status: the caller sees RecordRead's code
	}
	s.stats.put(a.Name, stats, sent)
	return withStats(a, stats), nil
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// newReadID is a read id for a read whose caller sent none, marked as content-service marks its
// own ("cs-" and 128 random bits).
func newReadID() string { return "cs-" + randomHex(16) }

// loadSeed reads the articles of a seed file as content-service's --seed takes it (a
// ListArticlesResponse in proto3 JSON, unknown fields refused) and stamps them as its
// CreateArticle does: create and update time now, publish time now unless set, a new etag, no
// read stats.
func loadSeed(path string) (map[string]*contentv1.Article, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list contentv1.ListArticlesResponse
	if err := protojson.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s is not a valid article list: %w", path, err)
	}
	now := timestamppb.Now()
	articles := make(map[string]*contentv1.Article, len(list.Articles))
	for i, a := range list.Articles {
		if err := validateName(a.Name, fmt.Sprintf("articles[%d].name", i)); err != nil {
			return nil, err
		}
		if _, dup := articles[a.Name]; dup {
			return nil, fmt.Errorf("%s: articles[%d]: %s appears twice", path, i, a.Name)
		}
		a.CreateTime, a.UpdateTime = now, now
		if a.PublishTime == nil {
			a.PublishTime = now
		}
		a.Etag = randomHex(8)
		a.ReadStats = nil
		articles[a.Name] = a
	}
	return articles, nil
}
