# Free loopback ports for the benchmark scripts (sourced by bench/ab-common.sh and scripts/bench;
# defines functions only).

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Below the kernel's ephemeral range: a port there may be held by some client socket (say, one of
# redis-benchmark's) that a connect probe does not see, and the server's bind then fails.
free_port() {
  local low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  local port=$((20000 + RANDOM % (low > 21000 ? low - 20000 : 1000)))
  while ! port_free "$port"; do port=$((port + 1)); done
  echo "$port"
}
