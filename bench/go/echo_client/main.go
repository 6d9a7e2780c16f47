// go-echo-client: a small closed-loop client for /newsroom.bench.v1.BenchService/Empty, to check a
// server (go-echo or bench/src/empty_server.cc) end to end. Not the benchmark's load generator:
// figures come from bench/src/load_generator.cc.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	benchpb "newsroom/benchpb"
)

func main() {
	target := flag.String("target", "", "HOST:PORT of the server (required)")
	calls := flag.Int64("calls", 100000, "calls to make in total")
	channels := flag.Int("channels", 4, "connections to open")
	inflight := flag.Int("inflight", 16, "calls in flight per connection")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of each call")
	flag.Parse()
	if *target == "" || *calls <= 0 || *channels <= 0 || *inflight <= 0 {
		fmt.Fprintln(os.Stderr, "usage: go-echo-client --target=HOST:PORT [--calls=N] [--channels=N] [--inflight=N]")
		os.Exit(2)
	}

	clients := make([]benchpb.BenchServiceClient, *channels)
	for i := range clients {
		// WithBlock: connect before the clock starts, and fail clearly if nothing listens.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := grpc.DialContext(ctx, *target, grpc.WithInsecure(), grpc.WithBlock())
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-echo-client: connect %s: %v\n", *target, err)
			os.Exit(1)
		}
		defer conn.Close()
		clients[i] = benchpb.NewBenchServiceClient(conn)
	}

	var next, ok int64
	var errorsMu sync.Mutex
	errors := map[string]int64{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < *channels; c++ {
		for w := 0; w < *inflight; w++ {
			wg.Add(1)
			go func(client benchpb.BenchServiceClient) {
				defer wg.Done()
				request := &benchpb.EmptyRequest{}
				for atomic.AddInt64(&next, 1) <= *calls {
					ctx, cancel := context.WithTimeout(context.Background(), *timeout)
					_, err := client.Empty(ctx, request)
					cancel()
					if err == nil {
						atomic.AddInt64(&ok, 1)
						continue
					}
					errorsMu.Lock()
					errors[status.Code(err).String()]++
					errorsMu.Unlock()
				}
			}(clients[c])
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	fmt.Printf("go-echo-client: %d calls to %s (/newsroom.bench.v1.BenchService/Empty), %d channels x %d in flight\n",
		*calls, *target, *channels, *inflight)
	fmt.Printf("ok=%d errors=%v seconds=%.3f calls/s=%.0f\n", ok, errors, elapsed, float64(ok)/elapsed)
	if ok != *calls {
		os.Exit(1)
	}
}
