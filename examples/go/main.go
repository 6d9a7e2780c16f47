// newsroom-example: the Newsroom example client in Go (grpc-go, stubs from
// `scripts/gen-clients go`). examples/go/build builds it offline from Debian's packages.
//
// It creates an article, corrects its standfirst as an editor would (UpdateArticle with the etag
// of the version the change is based on), reads it three times as two readers (and retries the
// last read once, as a client would after a lost answer), prints it with "Read N times", lists the most read
// articles of the day, and looks up an article that does not exist. Every call has a deadline;
// calls that are safe to retry are retried on UNAVAILABLE, DEADLINE_EXCEEDED and
// RESOURCE_EXHAUSTED with exponential backoff, and nothing else is retried.
//
// Flags default to the CLI's environment variables: NEWSROOM_ADDR, NEWSROOM_TLS_CA (unset:
// plaintext) and NEWSROOM_EDITOR_TOKEN (the token itself; --token-file reads it from a file).
//
// Exit status: 0 done (also when analytics-service is down: the article is still served, without
// counts), 1 the API refused a call, 2 bad usage or no editor token, 3 content-service unavailable
// after every retry.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	mathrand "math/rand"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	analyticsv1 "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"
	contentv1 "github.com/newsroom/newsroom/gen/go/newsroom/content/v1"
)

// retryable: codes after which the same request may be sent again, for calls that are idempotent:
// UNAVAILABLE (not reached, or shutting down), DEADLINE_EXCEEDED (outcome unknown, so only for
// idempotent calls) and RESOURCE_EXHAUSTED (content-service refused it at once: too many calls).
var retryable = map[codes.Code]bool{
	codes.Unavailable: true, codes.DeadlineExceeded: true, codes.ResourceExhausted: true,
}

// gaveUp: a retryable error persisted through every attempt.
type gaveUp struct {
	method   string
	status   *status.Status
	attempts int
}

func (e *gaveUp) Error() string {
	return fmt.Sprintf("%s: %s: %s (gave up after %d attempts)", e.method, codeName(e.status.Code()),
		e.status.Message(), e.attempts)
}

// codeName spells a code as the proto does (NOT_FOUND), like the Python and Node examples.
func codeName(code codes.Code) string {
	var name strings.Builder
	for i, r := range code.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			name.WriteByte('_')
		}
		name.WriteRune(r)
	}
	return strings.ToUpper(name.String())
}

// client: ContentService calls with a deadline each, retried where that is safe.
type client struct {
	stub     contentv1.ContentServiceClient
	deadline time.Duration
	attempts int
	token    string
}

// call runs `once` with a fresh deadline per attempt, retrying retryable codes with backoff: only
// for idempotent requests. onRetryError may turn an error seen on a retry into a result
// (CreateArticle's ALREADY_EXISTS); it returns nil to fail with the error as usual.
func call[T any](c *client, method string, once func(ctx context.Context) (T, error),
	onRetryError func(*status.Status) (T, bool)) (T, error) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
		result, err := once(ctx)
		cancel()
		if err == nil {
			return result, nil
		}
		st, _ := status.FromError(err)
		if attempt > 1 && onRetryError != nil {
			if recovered, ok := onRetryError(st); ok {
				return recovered, nil
			}
		}
		if !retryable[st.Code()] {
			return result, err
		}
		if attempt == c.attempts {
			return result, &gaveUp{method: method, status: st, attempts: attempt}
		}
		time.Sleep(time.Duration(float64(backoff) * (0.5 + mathrand.Float64()/2))) // jitter
		if backoff *= 2; backoff > 2*time.Second {
			backoff = 2 * time.Second
		}
	}
}

// createArticle: CreateArticle, retried: the client picks article_id, so a retry cannot make a
// second article. ALREADY_EXISTS on a retry means an earlier attempt most likely created it.
func (c *client) createArticle(articleID string, article *contentv1.Article) (*contentv1.Article, error) {
	request := &contentv1.CreateArticleRequest{ArticleId: articleID, Article: article}
	name := "articles/" + articleID
	alreadyCreated := func(st *status.Status) (*contentv1.Article, bool) {
		if st.Code() != codes.AlreadyExists {
			return nil, false
		}
		existing, err := c.getArticle(name)
		return existing, err == nil && existing.GetTitle() == article.GetTitle()
	}
	return call(c, "CreateArticle", func(ctx context.Context) (*contentv1.Article, error) {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
		return c.stub.CreateArticle(ctx, request)
	}, alreadyCreated)
}

// updateSubtitle: UpdateArticle of the subtitle, sent with the etag of the version it is based on.
// ABORTED means the article changed since it was read (another editor, a concurrent update, or
// this update's own earlier attempt whose answer was lost): read it again and reapply the change,
// unless it is already there. Other retryable codes resend the same request, which the etag makes
// safe.
func (c *client) updateSubtitle(article *contentv1.Article, subtitle string) (*contentv1.Article, error) {
	current := article
	for attempt := 1; attempt <= c.attempts; attempt++ {
		if current.GetSubtitle() == subtitle {
			return current, nil
		}
		request := &contentv1.UpdateArticleRequest{
			Article:    &contentv1.Article{Name: current.GetName(), Etag: current.GetEtag(), Subtitle: subtitle},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"subtitle"}},
		}
		updated, err := call(c, "UpdateArticle", func(ctx context.Context) (*contentv1.Article, error) {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
			return c.stub.UpdateArticle(ctx, request)
		}, nil)
		if err == nil {
			return updated, nil
		}
		if status.Code(err) != codes.Aborted {
			return nil, err
		}
		if current, err = c.getArticle(current.GetName()); err != nil {
			return nil, err
		}
	}
	if current.GetSubtitle() == subtitle { // the last attempt landed, its answer was lost
		return current, nil
	}
	return nil, fmt.Errorf("UpdateArticle %s: changed by others on every attempt", article.GetName())
}

// readArticle: a page view. Safe to retry because every attempt carries the same read_id, which
// analytics counts once however often it arrives (within its dedup window, 48 hours by default).
func (c *client) readArticle(name, readerID, readID string) (*contentv1.Article, error) {
	request := &contentv1.ReadArticleRequest{Name: name, ReaderId: readerID, ReadId: readID}
	return call(c, "ReadArticle", func(ctx context.Context) (*contentv1.Article, error) {
		return c.stub.ReadArticle(ctx, request)
	}, nil)
}

func (c *client) getArticle(name string) (*contentv1.Article, error) {
	request := &contentv1.GetArticleRequest{Name: name}
	return call(c, "GetArticle", func(ctx context.Context) (*contentv1.Article, error) {
		return c.stub.GetArticle(ctx, request)
	}, nil)
}

func readLine(article *contentv1.Article) string {
	if article.GetReadStats() == nil {
		return "read count unavailable (analytics-service did not answer in time)"
	}
	if reads := article.GetReadStats().GetReads(); reads != 1 {
		return fmt.Sprintf("Read %d times", reads)
	}
	return "Read 1 time"
}

func sampleArticle(title string) *contentv1.Article {
	return &contentv1.Article{
		Title:    title,
		Subtitle: "The island's only car ferry is back in service.",
		Body: "The Mārama left the slipway on Tuesday after 26 months of work.\n\n" +
			"Crossings take 40 minutes instead of 55; fares stay at €4.",
		LeadImage: &contentv1.Image{Uri: "https://images.example.org/ferry.jpg",
			Caption: "The Mārama in the harbour", AltText: "A white ferry", Credit: "Example Photo Desk"},
		Source:   &contentv1.Source{Name: "Example Gazette", Uri: "https://news.example.org/ferry"},
		Tags:     []string{"transport", "example"},
		Language: "en",
		Authors:  []string{"Ana Example"},
	}
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func run(c *client, articleID, title string) (int, error) {
	if articleID == "" {
		articleID = "example-" + randomHex(6)
	}
	article, err := c.createArticle(articleID, sampleArticle(title))
	if err != nil {
		return 0, err
	}
	fmt.Printf("Created %s: %s\n", article.GetName(), article.GetTitle())
	article, err = c.updateSubtitle(article, "The island's only car ferry is back in service, faster and quieter.")
	if err != nil {
		return 0, err
	}
	fmt.Printf("Updated %s: %s\n", article.GetName(), article.GetSubtitle())

	// Two readers, three page views. Each page view gets its own read_id, kept for its retries.
	views := [][2]string{{"reader-ana", randomHex(16)}, {"reader-ben", randomHex(16)}, {"reader-ana", randomHex(16)}}
	for i, view := range views {
		if article, err = c.readArticle(article.GetName(), view[0], view[1]); err != nil {
			return 0, err
		}
		fmt.Printf("Read %d by %s: %s\n", i+1, view[0], readLine(article))
	}
	// As if the answer to the third view were lost: the same read_id again counts nothing.
	last := views[len(views)-1]
	if article, err = c.readArticle(article.GetName(), last[0], last[1]); err != nil {
		return 0, err
	}
	fmt.Printf("Read %d retried with the same read_id: %s\n", len(views), readLine(article))

	fmt.Printf("\n== %s ==\n%s\n%s\n", article.GetTitle(), article.GetSubtitle(), article.GetBody())
	if stats := article.GetReadStats(); stats != nil {
		fmt.Printf("%s by %d readers\n", readLine(article), stats.GetUniqueReaders())
	} else {
		fmt.Println("Read count unavailable right now")
	}

	fmt.Println()
	request := &contentv1.ListMostReadArticlesRequest{Period: analyticsv1.Period_PERIOD_LAST_DAY, PageSize: 5}
	top, err := call(c, "ListMostReadArticles", func(ctx context.Context) (*contentv1.ListMostReadArticlesResponse, error) {
		return c.stub.ListMostReadArticles(ctx, request)
	}, nil)
	var gave *gaveUp
	switch {
	case err == nil:
		fmt.Println("Most read today:")
		for i, entry := range top.GetArticles() {
			fmt.Printf("  %d. %s: %d reads\n", i+1, entry.GetArticle().GetTitle(), entry.GetReads())
		}
	case errors.As(err, &gave) && gave.status.Code() == codes.Unavailable:
		// Rankings live in analytics-service: without it the list is unavailable, the rest works.
		fmt.Printf("Most read today: unavailable right now (%v)\n", err)
	default:
		return 0, err
	}

	missing := "articles/" + articleID + "-missing"
	_, err = c.getArticle(missing)
	if err == nil {
		fmt.Printf("%s: unexpectedly found\n", missing)
		return 1, nil
	}
	if status.Code(err) != codes.NotFound {
		return 0, err
	}
	fmt.Printf("%s: NOT_FOUND, as expected (not retried)\n", missing)
	return 0, nil
}

func getenv(name, fallback string) string {
	if value, ok := os.LookupEnv(name); ok {
		return value
	}
	return fallback
}

func main() {
	addr := flag.String("addr", getenv("NEWSROOM_ADDR", "127.0.0.1:50051"), "content-service HOST:PORT (env NEWSROOM_ADDR)")
	tlsCA := flag.String("tls-ca", os.Getenv("NEWSROOM_TLS_CA"), "PEM CA that signed content-service's certificate; unset: plaintext (env NEWSROOM_TLS_CA)")
	tokenFile := flag.String("token-file", "", "file holding the editor token (default: env NEWSROOM_EDITOR_TOKEN)")
	articleID := flag.String("article-id", "", "id of the article to create (default: random)")
	title := flag.String("title", "Harbour ferry returns after a two-year refit", "the article's title")
	deadline := flag.Float64("deadline", 5, "seconds: the deadline of each call attempt")
	attempts := flag.Int("attempts", 4, "tries per retryable call")
	flag.Parse()
	if flag.NArg() > 0 || *attempts < 1 || *deadline <= 0 {
		flag.Usage()
		os.Exit(2)
	}

	token := os.Getenv("NEWSROOM_EDITOR_TOKEN")
	if *tokenFile != "" {
		data, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		token = strings.TrimSpace(string(data))
	}
	if token == "" {
		fmt.Fprintln(os.Stderr, "CreateArticle needs the editor token: --token-file=FILE or env NEWSROOM_EDITOR_TOKEN")
		os.Exit(2)
	}

	// grpc.WithInsecure: Debian's grpc-go 1.33 predates credentials/insecure (1.34).
	transport := grpc.WithInsecure()
	if *tlsCA != "" {
		creds, err := credentials.NewClientTLSFromFile(*tlsCA, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		transport = grpc.WithTransportCredentials(creds)
	}
	conn, err := grpc.Dial(*addr, transport) // connects lazily: errors surface on the first call
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer conn.Close()

	c := &client{stub: contentv1.NewContentServiceClient(conn), deadline: time.Duration(*deadline * float64(time.Second)),
		attempts: *attempts, token: token}
	code, err := run(c, *articleID, *title)
	var gave *gaveUp
	switch {
	case errors.As(err, &gave):
		fmt.Fprintf(os.Stderr, "content-service at %s is unavailable: %v\n", *addr, err)
		code = 3
	case err != nil:
		st, _ := status.FromError(err)
		fmt.Fprintf(os.Stderr, "content-service refused a call: %s: %s\n", codeName(st.Code()), st.Message())
		code = 1
	}
	conn.Close()
	os.Exit(code)
}
