#!/usr/bin/env bash
# bench/ab-content, the paired benchmark docs/performance.md quotes, run for one short round on this
# build's binaries, on SQLite and on PostgreSQL (one binary with two settings): it must start
# everything it needs, answer every call of each scenario asked for on both sides, print their
# medians, and leave no process or temp dir behind. Its figures are not checked: a benchmark is not a test.
#
#   tests/bench/ab_content_test.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1
binary=$build/content-service/content-service
export TMPDIR
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-test-ab.XXXXXX")
trap 'rm -rf "$TMPDIR"' EXIT

# PostgreSQL dirs of ab-content runs under /tmp that were not there before this test.
before=$(compgen -G "/tmp/newsroom-ab-content-pg.*" || true)
postgres_dirs() { comm -13 <(echo "$before") <(compgen -G "/tmp/newsroom-ab-content-pg.*" || true); }

check() {  # check NAME SCENARIOS ARGS...: runs ab-content with ARGS and checks its report
  local name=$1 scenarios=$2 out edits=
  shift 2
  # With an editor, every median line counts the edits made, none failed.
  [[ " $* " == *" --edits_per_second="* ]] && edits=', [1-9][0-9]* edits, 0 failed'
  out=$(bench/ab-content --old="$binary" --new="$binary" --build="$build" --rounds=1 \
    --warmup=0s --duration=1s --scenarios="$scenarios" "$@" 2>&1) ||
    { echo "$out"; echo "FAIL $name: exit code"; exit 1; }
  for which in old new; do
    for scenario in ${scenarios//,/ }; do
      grep -Eq "^median  $scenario +$which: +[1-9][0-9]* calls/s.*, 0 errors$edits$" <<<"$out" ||
        { echo "$out"; echo "FAIL $name: no error-free $scenario median for $which"; exit 1; }
    done
    grep -Eq "^ab-content: $which: peak RSS [0-9.]+ MiB$" <<<"$out" ||
      { echo "$out"; echo "FAIL $name: no peak RSS for $which"; exit 1; }
  done
  if [ "$name" = postgres ]; then
    grep -Eq "^median  get_article +old: .*, PostgreSQL +[0-9.]+ us, 0 errors$edits$" <<<"$out" ||
      { echo "$out"; echo "FAIL $name: no PostgreSQL CPU figure"; exit 1; }
    # The new side keeps its article cache, whose hit rate is reported; the old side has none.
    grep -Eq "^median  get_article +new: .*, PostgreSQL +[0-9.]+ us, article cache hit rate [01][.][0-9]{3}, 0 errors$edits$" <<<"$out" ||
      { echo "$out"; echo "FAIL $name: no article cache hit rate"; exit 1; }
  fi
  if [ "$name" = sqlite ]; then
    grep -Eq "^median  get_article +new: .*, article cache hit rate [01][.][0-9]{3}, 0 errors$" <<<"$out" ||
      { echo "$out"; echo "FAIL $name: no article cache hit rate"; exit 1; }
  fi
  # Everything it started is gone: its temp dirs (PostgreSQL's is under /tmp when run as root),
  # and every process it started in them.
  if compgen -G "$TMPDIR/newsroom-ab-content*" >/dev/null || [ -n "$(postgres_dirs)" ]; then
    echo "FAIL $name: temp dir left behind"; exit 1
  fi
  if pgrep -f "newsroom-ab-content" >/dev/null; then
    pgrep -af "newsroom-ab-content"; echo "FAIL $name: processes left behind"; exit 1
  fi
  echo "ok $name"
}

check sqlite get_article,read_article --article_skew=1
check edited list_articles --edits_per_second=20 --list_tags
check postgres get_article,list_articles --postgres --old_flags=--article_cache_bytes=0 \
  --edits_per_second=20 --list_tags --edit_through_replica
