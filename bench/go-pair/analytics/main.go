// go-analytics: the analytics half of the "Go pair" benchmark baseline (issue 3). It serves
// newsroom.analytics.v1.AnalyticsService's RecordRead and GetReadStats with grpc-go over Redis
// with redigo, the way a competent Go service would: analytics-service's record script (as of
// 727b7ad: record.lua), one read per EVALSHA, the EVALSHAs of concurrent reads pipelined on a small pool of connections.
// The other RPCs answer UNIMPLEMENTED.
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
	"google.golang.org/grpc"

	analyticsv1 "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"
	"newsroom/gopair/recordscript"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "HOST:PORT to serve on; port 0 picks a free port")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "HOST:PORT of Redis")
	poolSize := flag.Int("redis-pool-size", 4, "Redis connections, each with a goroutine sending pipelines on it")
	maxBatch := flag.Int("max-pipeline-calls", 1024, "most calls one pipeline carries")
	timeout := flag.Duration("redis-timeout", time.Second, "connect, read and write timeout for Redis")
	prefix := flag.String("key-prefix", "newsroom:", "prefix of every Redis key")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go-analytics [--listen=HOST:PORT] [--redis=HOST:PORT] [flags]")
		fmt.Fprintln(os.Stderr, "The reader hash key comes from env READER_HASH_KEY, else from Redis as analytics-service keeps it.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "go-analytics: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if *poolSize < 1 || *maxBatch < 1 {
		fmt.Fprintln(os.Stderr, "go-analytics: --redis-pool-size and --max-pipeline-calls must be at least 1")
		os.Exit(2)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	k := keys{prefix: *prefix}
	record := redis.NewScript(-1, recordscript.Source)
	pool := newPool(*redisAddr, *poolSize, *timeout)
	// Redis must answer at start, as for analytics-service: load the script and the hash key.
	hashKey, err := startup(pool, record, k)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-analytics: cannot start: Redis at %s: %v\n", *redisAddr, err)
		os.Exit(1)
	}

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-analytics: --listen=%s: %v\n", *listen, err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	analyticsv1.RegisterAnalyticsServiceServer(server, &analyticsServer{
		redis:   newPipeliner(pool, *poolSize, *maxBatch, record),
		keys:    k,
		record:  record,
		hashKey: hashKey,
	})

	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	host, _, _ := net.SplitHostPort(*listen)
	port := listener.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(os.Stdout, "go-analytics listening on %s\n", net.JoinHostPort(host, fmt.Sprint(port)))
	os.Stdout.Sync()

	select {
	case <-signals:
	case err := <-served:
		fmt.Fprintf(os.Stderr, "go-analytics: serve: %v\n", err)
		os.Exit(1)
	}
	signal.Stop(signals)
	stopGracefully(server, time.Second)
	pool.Close()
	os.Exit(0)
}

// startup loads the record script and returns the reader hash key: env READER_HASH_KEY, or else
// the one analytics-service keeps in Redis (stored first, SET NX, when there is none), so that
// both hash a reader id alike.
func startup(pool *redis.Pool, record *redis.Script, k keys) ([]byte, error) {
	conn := pool.Get()
	defer conn.Close()
	if err := record.Load(conn); err != nil {
		return nil, err
	}
	if key := os.Getenv("READER_HASH_KEY"); key != "" {
		return []byte(key), nil
	}
	var random [32]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, err
	}
	if _, err := conn.Do("SET", k.readerHashKey(), fmt.Sprintf("%x", random), "NX"); err != nil {
		return nil, err
	}
	key, err := redis.Bytes(conn.Do("GET", k.readerHashKey()))
	if err == nil && len(key) == 0 {
		err = errors.New("empty reader hash key")
	}
	return key, err
}

// stopGracefully lets the calls in flight finish, for at most limit, then closes.
func stopGracefully(server *grpc.Server, limit time.Duration) {
	stopped := make(chan struct{})
	go func() { server.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(limit):
		server.Stop()
	}
}
