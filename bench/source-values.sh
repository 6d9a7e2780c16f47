# Values the benchmark scripts take from analytics-service's sources, so that they measure what
# the service runs (sourced by bench/ab-common.sh and scripts/bench, from the repository's root;
# defines functions only).

lua_script() {  # lua_script NAME [REVISION]: constexpr char NAME[] of redis_read_counter.cc, in the
  # tree or at REVISION
  local source=analytics-service/src/redis_read_counter.cc
  { if [ -n "${2:-}" ]; then git show "$2:$source"; else cat "$source"; fi; } |
    sed -n "/constexpr char $1\\[\\] = R\"lua(/,/^)lua\";/p" | sed '1d;$d'
}

kept_readers_count_from() {  # kKeptReadersCountFrom of redis_read_counter.h
  sed -n 's/.*constexpr int64_t kKeptReadersCountFrom = \([0-9]*\);/\1/p' \
    analytics-service/src/redis_read_counter.h
}
