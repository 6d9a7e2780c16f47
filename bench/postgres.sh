# A throwaway PostgreSQL server for benchmarks, sourced by bench/ab-common.sh and scripts/bench
# after they define `ab_name` (their name, for messages and temp dirs), `work` (their temp dir),
# `pids` (processes they stop on exit) and free_port; their cleanup removes $postgres_dir. Not run
# on its own.

postgres_dir=

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
