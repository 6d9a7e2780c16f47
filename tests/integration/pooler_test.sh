#!/usr/bin/env bash
# content-service's article cache behind PgBouncer (Debian's): in session mode its change listener
# is trusted and the cache follows changes; in transaction mode, where PgBouncer drops
# notifications for sessions no client is attached to, its pings never arrive and the cache stays
# suspended (slow, never stale). Real PostgreSQL, real PgBouncer, the real binary, on loopback.
#
#   tests/integration/pooler_test.sh CONTENT_SERVICE_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$1
ab_name=pooler-test
# Throwaway servers with cleanup on exit: the helpers the paired benchmarks use.
source bench/ab-common.sh
start_postgres newsroom

# content-service's suspended gauge and log after it has had time to trust the path (or not).
check() {  # check MODE WANT_SUSPENDED WANT_LOG
  local mode=$1 want=$2 want_log=$3 bouncer_port metrics_port pid value
  bouncer_port=$(free_port)
  cat >"$postgres_dir/pgbouncer-$mode.ini" <<INI
[databases]
newsroom = host=127.0.0.1 port=$postgres_port dbname=newsroom user=newsroom
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $postgres_dir/users.txt
pool_mode = $mode
ignore_startup_parameters = options
logfile = $postgres_dir/pgbouncer-$mode.log
INI
  echo '"newsroom" ""' >"$postgres_dir/users.txt"
  # PgBouncer refuses to run as root, like PostgreSQL: it runs as PostgreSQL's user.
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$postgres_dir/pgbouncer-$mode.ini" "$postgres_dir/users.txt"
  fi
  "${as_postgres[@]}" /usr/sbin/pgbouncer -q "$postgres_dir/pgbouncer-$mode.ini" &
  local bouncer=$!
  pids+=("$bouncer")
  for _ in $(seq 100); do
    port_free "$bouncer_port" || break
    kill -0 "$bouncer" 2>/dev/null || break
    sleep 0.1
  done
  if port_free "$bouncer_port"; then
    cat "$postgres_dir/pgbouncer-$mode.log" 2>/dev/null || true
    echo "FAIL $mode: PgBouncer is not listening"
    exit 1
  fi
  metrics_port=$(free_port)
  "$binary" --listen=127.0.0.1:0 --analytics=127.0.0.1:1 \
    --db="postgresql://newsroom@127.0.0.1:$bouncer_port/newsroom" \
    --outbox_db="$work/outbox-$mode.db" --metrics_listen="127.0.0.1:$metrics_port" \
    >"$work/$mode.out" 2>"$work/$mode.log" &
  pid=$!
  pids+=("$pid")
  wait_for "$work/$mode.out" >/dev/null
  # Long enough for a first ping to arrive (or its 2 s timeout to pass) and a second attempt.
  for _ in $(seq 60); do
    grep -q "$want_log" "$work/$mode.log" && break
    sleep 0.1
  done
  value=$(/usr/bin/python3 2>&1 -c '
import sys, urllib.request
for line in urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode().splitlines():
    if line.startswith("newsroom_content_article_cache_suspended "):
        print(line.split()[1])
' "$metrics_port" || true)
  if [ "$value" != "$want" ] || ! grep -q "$want_log" "$work/$mode.log"; then
    cat "$work/$mode.log" "$postgres_dir/pgbouncer-$mode.log" 2>/dev/null || true
    echo "FAIL $mode: newsroom_content_article_cache_suspended is '$value', want $want, and the log must say '$want_log'"
    exit 1
  fi
  kill "$pid" 2>/dev/null || true
  echo "ok $mode"
}

check session 0 "article cache following changes in PostgreSQL"
check transaction 1 "a ping did not arrive"
