#!/usr/bin/env bash
# bench/redis-keyspace, whose figures docs/performance.md quotes for the two dedup marker layouts,
# run small: it must run both layouts' record scripts (the old one from git history) and count
# every read it sends in the new layout, print every line, and leave no process or temp dir
# behind. The timings are not checked: a benchmark is not a test.
#
#   tests/bench/redis_keyspace_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export TMPDIR
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-test-redis-keyspace.XXXXXX")
trap 'rm -rf "$TMPDIR"' EXIT

# The old layout's script comes from git history, which a shallow clone may not have.
if ! git cat-file -e 727b7ad^{commit} 2>/dev/null; then echo "skip: no 727b7ad in history"; exit 77; fi
out=$(bench/redis-keyspace --markers=20000 --calls=20000 2>&1) ||
  { echo "$out"; echo "FAIL: exit code"; exit 1; }
line='markers before \( *[0-9]+ keys\): +[0-9.]+ us a call, +[0-9.]+ us a'
[ "$(grep -Ec "^(old|new) +(0|20000) $line" <<<"$out")" = 6 ] ||
  { echo "$out"; echo "FAIL: not six runs"; exit 1; }
# Every new-layout read is new (fresh markers), and the markers already there are few keys.
[ "$(grep -Ec '^new .* hsetnx, 20000 new reads counted' <<<"$out")" = 3 ] ||
  { echo "$out"; echo "FAIL: the new layout did not count every read"; exit 1; }
grep -Eq '^new +20000 markers before \( +1024 keys\)' <<<"$out" ||
  { echo "$out"; echo "FAIL: the new layout's markers are not in 1024 hashes"; exit 1; }
grep -Eq '^old +20000 markers before \( +20000 keys\)' <<<"$out" ||
  { echo "$out"; echo "FAIL: the old layout's markers are not a key each"; exit 1; }
if compgen -G "$TMPDIR/newsroom-redis-keyspace*" >/dev/null; then echo "FAIL: temp dir left behind"; exit 1; fi
if pgrep -f "$TMPDIR" >/dev/null; then pgrep -af "$TMPDIR"; echo "FAIL: processes left behind"; exit 1; fi
echo ok
