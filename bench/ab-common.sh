# What the benchmarks in bench/ share, sourced by each after it sets `ab_name` (its name, for
# messages): a temp dir `work` removed on exit with every process started into `pids`, wait_for,
# start_redis, which starts a throwaway redis-server on a free loopback port, start_postgres
# (bench/postgres.sh), a throwaway PostgreSQL server likewise, and lua_script, the text of one of
# analytics-service's Lua scripts. Not run on its own.

work=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-$ab_name.XXXXXX")
work=$(cd "$work" && pwd -P)  # absolute, so the cleanup finds it from any directory
pids=()
postgres_dir=
cleanup() {
  for started in "${pids[@]}"; do kill "$started" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" ${postgres_dir:+"$postgres_dir"}
}
trap cleanup EXIT
export GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS=100 READER_HASH_KEY=bench-ab-key

wait_for() {  # wait_for FILE: the port of its "listening on" line
  for _ in $(seq 300); do
    line=$(grep -m1 "listening on" "$1" 2>/dev/null || true)
    [ -n "$line" ] && { echo "${line##*:}"; return; }
    sleep 0.1
  done
  echo "$ab_name: nothing listening in $1" >&2
  cat "${1%.out}.log" >&2 2>/dev/null || true
  exit 1
}

# free_port, and lua_script (the text of one of analytics-service's Lua scripts), shared with
# scripts/bench.
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
source "$(dirname "${BASH_SOURCE[0]}")/source-values.sh"

start_redis() {  # sets redis_port and redis_pid
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no \
    --logfile "$work/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 ||
    { echo "$ab_name: redis-server did not start" >&2; cat "$work/redis.log" >&2; exit 1; }
}

# start_postgres and postgres_cpu_ticks, shared with scripts/bench.
source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"
