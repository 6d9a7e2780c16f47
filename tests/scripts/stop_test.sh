#!/usr/bin/env bash
# scripts/stop signals only the processes scripts/run started: a pid file that names another
# process (a reused pid after a reboot) leaves that process alone, and one naming the service's
# own binary, in this checkout's physical path, stops it. scripts/stop works on the checkout it is
# in, so it runs here from a copy in a temp dir whose "binaries" are copies of sleep.
#   tests/scripts/stop_test.sh REPO
set -euo pipefail
repo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/newsroom-stop-test.XXXXXX")
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "stop_test: FAIL: $*" >&2; exit 1; }

mkdir -p "$work/checkout/scripts" "$work/checkout/.run" \
  "$work/checkout/build/default/content-service"
cp "$repo/scripts/stop" "$work/checkout/scripts/stop"
cp "$(command -v sleep)" "$work/checkout/build/default/content-service/content-service"
# The checkout reached through a symlink, as /proc/PID/exe never shows it.
ln -s "$work/checkout" "$work/link"

# A process that is not ours, under the pid file of analytics-service.
sleep 60 &
stranger=$!
pids+=("$stranger")
echo "$stranger" >"$work/checkout/.run/analytics.pid"
# content-service's binary, started as scripts/run would.
"$work/checkout/build/default/content-service/content-service" 60 &
ours=$!
pids+=("$ours")
echo "$ours" >"$work/checkout/.run/content.pid"

output=$("$work/link/scripts/stop")
echo "$output"
kill -0 "$stranger" 2>/dev/null || fail "stop signalled a process scripts/run did not start"
[[ $output == *"left pid $stranger alone"* ]] || fail "stop did not say it left $stranger alone"
for _ in $(seq 50); do kill -0 "$ours" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$ours" 2>/dev/null || fail "stop did not stop content-service ($ours)"
[[ $output == *"stopped content ($ours)"* ]] || fail "stop did not report stopping content"
if [ -e "$work/checkout/.run/content.pid" ] || [ -e "$work/checkout/.run/analytics.pid" ]; then
  fail "stop left pid files behind"
fi
echo "stop_test: ok"
