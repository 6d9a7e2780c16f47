# What bench/ab-analytics and bench/ab-content share, sourced by both after they set `ab_name`
# (their name, for messages): a temp dir `work` removed on exit with every process started into
# `pids`, wait_for, start_redis, which starts a throwaway redis-server on a free loopback port, and
# start_postgres, a throwaway PostgreSQL server likewise. Not run on its own.

work=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-$ab_name.XXXXXX")
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

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port=$((20000 + RANDOM % 20000))
  while ! port_free "$port"; do port=$((port + 1)); done
  echo "$port"
}

start_redis() {  # sets redis_port and redis_pid
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no \
    --logfile "$work/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# start_postgres DATABASE...: initdb and postgres 15 (Debian's, or those in $PG_BIN) in a temp dir
# of their own on a free loopback port, as the `postgres` user when run as root (PostgreSQL refuses
# root; the dir is then made under /tmp, which that user can reach whatever TMPDIR is), user
# `newsroom` trusted on loopback (a throwaway server that lives as long as this script), one empty
# database per argument. Sets postgres_port, postgres_pid and as_postgres (the command prefix that
# runs a program as the server's user: empty unless root); postgres_cpu_ticks sums the CPU clock
# ticks of the server and its backends so far.
start_postgres() {
  local bin=${PG_BIN:-/usr/lib/postgresql/15/bin} db
  as_postgres=()
  if [ ! -x "$bin/initdb" ]; then
    echo "$ab_name: no $bin/initdb (scripts/install-deps installs it; or set PG_BIN)" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    postgres_dir=$(mktemp -d "/tmp/newsroom-$ab_name-pg.XXXXXX")
    chown postgres: "$postgres_dir"
    as_postgres=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
  else
    postgres_dir=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-$ab_name-pg.XXXXXX")
  fi
  "${as_postgres[@]}" "$bin/initdb" --pgdata="$postgres_dir/data" --username=newsroom --auth=trust \
    >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
  postgres_port=$(free_port)
  "${as_postgres[@]}" "$bin/postgres" -D "$postgres_dir/data" -p "$postgres_port" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$postgres_dir" -c fsync=off \
    >"$work/postgres.log" 2>&1 &
  postgres_pid=$!
  pids+=("$postgres_pid")
  for _ in $(seq 100); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$postgres_port" && break
    sleep 0.1
  done
  for db in "$@"; do
    "$bin/createdb" -h 127.0.0.1 -p "$postgres_port" -U newsroom "$db" ||
      { cat "$work/postgres.log" >&2; exit 1; }
  done
}

postgres_cpu_ticks() {
  local pid total=0
  for pid in "$postgres_pid" $(pgrep -P "$postgres_pid"); do
    # utime and stime, fields 14 and 15 (the command in field 2 has no spaces here).
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
