#!/usr/bin/env bash
# bench/redis-readers, whose figures docs/performance.md quotes for counting unique readers, run
# small: it must run both record scripts (the old one from git history) with and without a large
# readership already there, count every read it sends, count an article's readers on every call
# in the old script but not in the new one once the article has many, and leave no process or
# temp dir behind. The timings are not checked: a benchmark is not a test.
#
#   tests/bench/redis_readers_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export TMPDIR
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-test-redis-readers.XXXXXX")
trap 'rm -rf "$TMPDIR"' EXIT

# The old script comes from git history, which a shallow clone may not have.
if ! git cat-file -e f232335^{commit} 2>/dev/null; then echo "skip: no f232335 in history"; exit 77; fi
out=$(bench/redis-readers --readers=0,3000 --articles=50 --calls=5000 --rounds=2 2>&1) ||
  { echo "$out"; echo "FAIL: exit code"; exit 1; }
fail() { echo "$out"; echo "FAIL: $1"; exit 1; }
line() { grep -m1 -E "^$1 +$2 readers an article " <<<"$out" || true; }  # round 1's
for script in old new; do
  for readers in 0 3000; do
    counted=$(line "$script" "$readers" | sed -n 's/.* us a call, .* \([0-9]*\) of \([0-9]*\) reads counted$/\1 \2/p')
    read -r reads calls <<<"${counted:-x y}"
    [[ $reads =~ ^[0-9]+$ && $reads = "$calls" && $calls -ge 5000 ]] ||
      fail "$script script, $readers readers: no run, or not every read counted"
  done
done
# 3000 readers make a dense HyperLogLog; the old script counts it on every call, the new one at
# most once a second an article (50 articles here, in well under a second's worth of calls each).
[[ $(line old 3000) =~ HyperLogLog\ 12304\ bytes ]] || fail "3000 readers are not a dense HyperLogLog"
[[ $(line old 3000) =~ \ 1\.000\ PFCOUNTs\ a\ call ]] || fail "the old script did not count every call"
[[ $(line new 0) =~ \ 1\.000\ PFCOUNTs\ a\ call ]] || fail "the new script did not count small readerships every call"
pfcounts=$(line new 3000 | sed -n 's/.* \([0-9.]*\) PFCOUNTs a call.*/\1/p')
awk -v p="$pfcounts" 'BEGIN {exit !(p != "" && p < 0.1)}' ||
  fail "the new script counted a large readership $pfcounts times a call"
grep -Eq '^ +3000 readers an article: old +[0-9.]+, new +[0-9.]+ \(new/old [0-9.]+\)$' <<<"$out" ||
  fail "no medians"
if compgen -G "$TMPDIR/newsroom-redis-readers*" >/dev/null; then echo "FAIL: temp dir left behind"; exit 1; fi
if pgrep -f "$TMPDIR" >/dev/null; then pgrep -af "$TMPDIR"; echo "FAIL: processes left behind"; exit 1; fi
echo ok
