// go-content: the content half of the "Go pair" benchmark baseline (issue 3). It serves
// newsroom.content.v1.ContentService's GetArticle and ReadArticle with grpc-go: articles from a
// seed file kept in memory, read stats from go-analytics (or analytics-service) over one gRPC
// channel, GetArticle's cached for 500 ms per article. The other RPCs answer UNIMPLEMENTED.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	analyticsv1 "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"
	contentv1 "github.com/newsroom/newsroom/gen/go/newsroom/content/v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "HOST:PORT to serve on; port 0 picks a free port")
	analyticsAddr := flag.String("analytics", "127.0.0.1:50052", "HOST:PORT of the analytics service")
	seed := flag.String("seed", "", "seed file of articles (content-service's --seed format); required")
	maxAge := flag.Duration("stats-max-age", 500*time.Millisecond, "how long GetArticle's read stats are cached")
	budget := flag.Duration("stats-budget", 100*time.Millisecond,
		"how long GetArticle waits for read stats before serving the article without them")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go-content --seed=FILE [--listen=HOST:PORT] [--analytics=HOST:PORT] [flags]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "go-content: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if *seed == "" {
		fmt.Fprintln(os.Stderr, "go-content: --seed=FILE is required")
		os.Exit(2)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	articles, err := loadSeed(*seed)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-content: --seed: %v\n", err)
		os.Exit(1)
	}
	// One channel (one HTTP/2 connection) to analytics, shared by every call.
	conn, err := grpc.Dial(*analyticsAddr, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-content: --analytics=%s: %v\n", *analyticsAddr, err)
		os.Exit(1)
	}
	analytics := analyticsv1.NewAnalyticsServiceClient(conn)
	stats := newStatsCache(*maxAge, func(ctx context.Context, name string) (*analyticsv1.ReadStats, error) {
		return analytics.GetReadStats(ctx, &analyticsv1.GetReadStatsRequest{Article: name})
	})

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-content: --listen=%s: %v\n", *listen, err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	contentv1.RegisterContentServiceServer(server, &contentServer{
		articles:    articles,
		analytics:   analytics,
		stats:       stats,
		statsBudget: *budget,
	})

	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	host, _, _ := net.SplitHostPort(*listen)
	port := listener.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(os.Stdout, "go-content listening on %s\n", net.JoinHostPort(host, fmt.Sprint(port)))
	os.Stdout.Sync()

	select {
	case <-signals:
	case err := <-served:
		fmt.Fprintf(os.Stderr, "go-content: serve: %v\n", err)
		os.Exit(1)
	}
	signal.Stop(signals)
	// Let the calls in flight finish (at most 1 s), then close the analytics channel.
	stopped := make(chan struct{})
	go func() { server.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		server.Stop()
	}
	conn.Close()
	os.Exit(0)
}
