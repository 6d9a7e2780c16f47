// go-echo: the Go baseline for the empty-RPC benchmark. It serves
// /newsroom.bench.v1.BenchService/Empty (bench/proto/newsroom/bench/v1/bench_service.proto) with
// Debian's grpc-go, next to the standard health service and server reflection, the way
// bench/src/empty_server.cc serves it, so that one load generator drives both.
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
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	benchpb "newsroom/benchpb"
)

type benchServer struct {
	benchpb.UnimplementedBenchServiceServer
}

// The response is the same empty message every call: nothing is allocated by the handler.
var emptyResponse = &benchpb.EmptyResponse{}

func (benchServer) Empty(context.Context, *benchpb.EmptyRequest) (*benchpb.EmptyResponse, error) {
	return emptyResponse, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "HOST:PORT to serve on; port 0 picks a free port")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go-echo [--listen=HOST:PORT]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "go-echo: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}

	// Subscribe before serving so that an early SIGTERM still stops the server gracefully.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-echo: --listen=%s: %v\n", *listen, err)
		os.Exit(1)
	}
	// Same limit as GrpcServerOptions::max_receive_message_bytes (1 MiB).
	server := grpc.NewServer(grpc.MaxRecvMsgSize(1 << 20))
	benchpb.RegisterBenchServiceServer(server, benchServer{})
	healthServer := health.NewServer()
	healthServer.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthServer.SetServingStatus("newsroom.bench.v1.BenchService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(server, healthServer)
	reflection.Register(server)

	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	host, _, _ := net.SplitHostPort(*listen)
	port := listener.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(os.Stdout, "go-echo listening on %s\n", net.JoinHostPort(host, fmt.Sprint(port)))
	os.Stdout.Sync()

	select {
	case <-signals:
	case err := <-served:
		fmt.Fprintf(os.Stderr, "go-echo: serve: %v\n", err)
		os.Exit(1)
	}
	signal.Stop(signals)
	healthServer.Shutdown()
	// Graceful stop: finish the calls in flight, then close. Bounded like the C++ server's 1 s.
	stopped := make(chan struct{})
	go func() { server.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		server.Stop()
	}
	os.Exit(0)
}
