#!/usr/bin/env bash
# bench/redis-fill, whose figures docs/operations.md quotes for Redis's volume and memory limit, run
# on a small maxmemory: it must fill Redis to its bound with the real record script, print every
# figure, and leave no process or temp dir behind. The figures are not checked beyond being there:
# a benchmark is not a test.
#
#   tests/bench/redis_fill_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export TMPDIR
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-test-redis-fill.XXXXXX")
trap 'rm -rf "$TMPDIR"' EXIT

out=$(bench/redis-fill --maxmemory=8mb --reads=400000 2>&1) ||
  { echo "$out"; echo "FAIL: exit code"; exit 1; }
expect() {  # expect REGEX: a line of the report matches it
  grep -Eq "$1" <<<"$out" || { echo "$out"; echo "FAIL: no line matching $1"; exit 1; }
}
expect '^redis-fill: redis-server [0-9]+\.[0-9.]+, appendfsync always maxmemory 8mb up to 400000 reads, [0-9]+ dedup hashes a slot$'
# Full: it refused reads, so it holds fewer than were sent, and at most its bound. About 250 000
# fit, at some 29 bytes each with Redis's own megabyte: more than 100 000 means the markers went
# into small hashes (listpacks) as in production, not one key each (about 35 000 fit) nor large
# hash tables (about 70 bytes a marker).
held=$(sed -n 's/^reads held  *\([0-9]*\) .*/\1/p' <<<"$out")
[ -n "$held" ] && [ "$held" -gt 100000 ] && [ "$held" -lt 400000 ] ||
  { echo "$out"; echo "FAIL: reads held ($held) is not what a full 8 MiB Redis holds"; exit 1; }
expect '^reads held  +[0-9]+ \([0-9]+ bytes of used_memory each\), then full$'
expect '^used_memory  +[0-9.]+ MiB of maxmemory 8\.0 MiB$'
expect '^AOF on disk  +peak [0-9.]+ MiB = [0-9.]+x maxmemory \([0-9]+ rewrites\)$'
expect '^used_memory_rss  peak [0-9.]+ MiB$'
expect '^rewrite COW  +peak [0-9.]+ MiB; RSS \+ COW [0-9.]+ MiB = [0-9.]+x maxmemory$'
# Too few reads to fill it is an error, not a figure.
if out=$(bench/redis-fill --maxmemory=8mb --reads=1000 2>&1); then
  echo "$out"; echo "FAIL: a Redis that was not filled gave figures"; exit 1
fi
expect '^redis-fill: Redis never refused a read, so it is not full: raise --reads$'
if compgen -G "$TMPDIR/newsroom-redis-fill*" >/dev/null; then echo "FAIL: temp dir left behind"; exit 1; fi
if pgrep -f "$TMPDIR" >/dev/null; then pgrep -af "$TMPDIR"; echo "FAIL: processes left behind"; exit 1; fi
echo ok
