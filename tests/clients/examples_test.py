#!/usr/bin/python3
"""Runs one example client (examples/python, examples/node or examples/go) against the real pair.

usage: examples_test.py --repo DIR --content-service BIN --analytics-service BIN --work DIR LANG

Each scenario starts its own redis-server, analytics-service and content-service on free loopback
ports (live_pair.py) and checks the example's exit status and output line by line:

  plaintext      create, an update of the standfirst with the created article's etag (the
                 ABORTED branch, a concurrent edit, is not provoked), three reads by two readers,
                 a retried read that counts nothing, the
                 article with "Read 3 times by 2 readers", most read, NOT_FOUND; and the counts
                 the example printed are the service's (checked with a separate GetArticle)
  tls            the same over TLS with --tls-ca, against a pair started the way scripts/run does
  analytics down the article is still served without counts, most read is reported unavailable,
                 exit 0; after analytics-service comes back the queued reads (the retried one
                 included, with its read_id) count exactly 3
  unreachable    nothing listens: exit 3 after its retries, "UNAVAILABLE", within seconds
  editor token   none given: exit 2 before any call; a wrong one: exit 1, PERMISSION_DENIED
"""

import argparse
import os
import re
import subprocess
import sys
import time

import grpc

import live_pair

TITLE = "Harbour ferry returns after a two-year refit"
# The standfirst after the examples' UpdateArticle (with the etag of the article they created).
SUBTITLE = "The island's only car ferry is back in service, faster and quieter."


def fail(message, output="", pair=None):
    print(f"FAIL: {message}", file=sys.stderr)
    if output:
        print(f"--- example output ---\n{output}", file=sys.stderr)
    if pair is not None:
        print(pair.logs(), file=sys.stderr)
    sys.exit(1)


class Example:
    """How to run one language's example, built or generated into `work` first."""

    def __init__(self, lang, repo, work):
        self.lang = lang
        self.env = dict(os.environ)
        for name in ("NEWSROOM_ADDR", "NEWSROOM_TLS_CA", "NEWSROOM_EDITOR_TOKEN"):
            self.env.pop(name, None)
        if lang == "python":
            subprocess.run([f"{repo}/scripts/gen-clients", "--out", work, "python"], check=True)
            self.env["PYTHONPATH"] = os.path.join(work, "python")
            self.argv = ["/usr/bin/python3", f"{repo}/examples/python/newsroom_example.py"]
        elif lang == "node":
            subprocess.run([f"{repo}/scripts/npm-tools"], check=True, stdout=subprocess.DEVNULL)
            self.argv = ["node", f"{repo}/examples/node/newsroom_example.mjs"]
        elif lang == "go":
            unformatted = subprocess.run(["gofmt", "-l", f"{repo}/examples/go"], check=True,
                                         capture_output=True, text=True).stdout
            if unformatted:
                fail(f"not gofmt-formatted (run gofmt -w): {unformatted}")
            subprocess.run([f"{repo}/examples/go/build", os.path.join(work, "go")], check=True)
            self.argv = [os.path.join(work, "go/bin/newsroom-example")]

    def run(self, *args, timeout=60):
        start = time.monotonic()
        result = subprocess.run(self.argv + list(args), env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        return result, time.monotonic() - start


def expect_lines(output, patterns, pair):
    """Each pattern must match a whole line, in this order (other lines may come between)."""
    lines = output.splitlines()
    position = 0
    for pattern in patterns:
        while position < len(lines) and not re.fullmatch(pattern, lines[position]):
            position += 1
        if position == len(lines):
            fail(f"no line matching {pattern!r} (in order)", output, pair)
        position += 1


def content_stub(pair):
    from newsroom.content.v1 import content_service_pb2_grpc
    if pair.tls:
        with open(pair.ca, "rb") as f:
            channel = grpc.secure_channel(pair.content_addr, grpc.ssl_channel_credentials(f.read()))
    else:
        channel = grpc.insecure_channel(pair.content_addr)
    return content_service_pb2_grpc.ContentServiceStub(channel)


def stats_of(pair, name):
    from newsroom.content.v1 import content_service_pb2
    article = content_stub(pair).GetArticle(content_service_pb2.GetArticleRequest(name=name),
                                            timeout=5)
    return article.read_stats if article.HasField("read_stats") else None


def happy_path(example, pair, *extra):
    result, seconds = example.run("--addr", pair.content_addr, "--token-file", pair.token_file,
                                  *extra)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        fail(f"exit {result.returncode}, expected 0", output, pair)
    name = re.search(r"^Created (articles/example-[0-9a-f]{12}): ", result.stdout, re.M)
    if not name:
        fail("no 'Created articles/example-...' line", output, pair)
    name = name.group(1)
    expect_lines(result.stdout, [
        re.escape(f"Created {name}: {TITLE}"),
        re.escape(f"Updated {name}: {SUBTITLE}"),
        "Read 1 by reader-ana: Read 1 time",
        "Read 2 by reader-ben: Read 2 times",
        "Read 3 by reader-ana: Read 3 times",
        "Read 3 retried with the same read_id: Read 3 times",
        re.escape(f"== {TITLE} =="),
        re.escape(SUBTITLE),
        "The Mārama left the slipway on Tuesday after 26 months of work.",
        "Read 3 times by 2 readers",
        "Most read today:",
        re.escape(f"  1. {TITLE}: 3 reads"),
        re.escape(f"{name}-missing: NOT_FOUND, as expected (not retried)"),
    ], pair)
    stats = stats_of(pair, name)
    if stats is None or stats.reads != 3 or stats.unique_readers != 2:
        fail(f"GetArticle({name}) has read_stats {stats}, expected 3 reads by 2 readers",
             output, pair)
    return seconds


def analytics_down(example, pair):
    pair.stop_analytics()
    result, seconds = example.run("--addr", pair.content_addr, "--token-file", pair.token_file)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        fail(f"analytics down: exit {result.returncode}, expected 0", output, pair)
    name = re.search(r"^Created (articles/example-[0-9a-f]{12}): ", result.stdout, re.M)
    if not name:
        fail("analytics down: no 'Created' line", output, pair)
    name = name.group(1)
    unavailable = "read count unavailable \\(analytics-service did not answer in time\\)"
    expect_lines(result.stdout, [
        re.escape(f"Updated {name}: {SUBTITLE}"),
        f"Read 1 by reader-ana: {unavailable}",
        f"Read 2 by reader-ben: {unavailable}",
        f"Read 3 by reader-ana: {unavailable}",
        f"Read 3 retried with the same read_id: {unavailable}",
        "Read count unavailable right now",
        r"Most read today: unavailable right now \(ListMostReadArticles: UNAVAILABLE: .*"
        r"\(gave up after 4 attempts\)\)",
        re.escape(f"{name}-missing: NOT_FOUND, as expected (not retried)"),
    ], pair)

    # Back up: content-service's outbox delivers the four queued reads, the retry with the same
    # read_id as the third, so exactly three count.
    pair.start_analytics()
    deadline = time.monotonic() + 30
    stats = None
    while time.monotonic() < deadline:
        stats = stats_of(pair, name)
        if stats is not None and stats.reads >= 3:
            break
        time.sleep(0.2)
    time.sleep(2.5)  # longer than --stats_max_age and a few outbox retries: a 4th would show
    stats = stats_of(pair, name)
    if stats is None or stats.reads != 3 or stats.unique_readers != 2:
        fail(f"after analytics came back, {name} has read_stats {stats}; expected exactly 3 "
             "reads by 2 readers (the retried read_id once)", output, pair)
    return seconds


def unreachable(example):
    port = live_pair.closed_port()
    result, seconds = example.run("--addr", f"127.0.0.1:{port}", "--deadline", "2")
    output = result.stdout + result.stderr
    # No token: exit 2 before connecting (checked first, so no server is needed).
    if result.returncode != 2 or "needs the editor token" not in result.stderr:
        fail(f"no token: exit {result.returncode}, expected 2 with a message", output)
    example.env["NEWSROOM_EDITOR_TOKEN"] = "a-token-nobody-checks-here"
    try:
        result, seconds = example.run("--addr", f"127.0.0.1:{port}", "--deadline", "2")
    finally:
        del example.env["NEWSROOM_EDITOR_TOKEN"]
    output = result.stdout + result.stderr
    if result.returncode != 3:
        fail(f"unreachable: exit {result.returncode}, expected 3", output)
    if not re.search(rf"content-service at 127\.0\.0\.1:{port} is unavailable: CreateArticle: "
                     r"UNAVAILABLE: .*\(gave up after 4 attempts\)", result.stderr):
        fail("unreachable: no 'is unavailable ... UNAVAILABLE ... gave up' message", output)
    if seconds > 20:
        fail(f"unreachable: took {seconds:.1f} s", output)
    return seconds


def wrong_token(example, pair, bad_token_file):
    result, _ = example.run("--addr", pair.content_addr, "--token-file", bad_token_file)
    output = result.stdout + result.stderr
    if result.returncode != 1 or "PERMISSION_DENIED: editor token not accepted" not in result.stderr:
        fail(f"wrong token: exit {result.returncode}, expected 1 with PERMISSION_DENIED", output,
             pair)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--content-service", required=True)
    parser.add_argument("--analytics-service", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("lang", choices=["python", "node", "go"])
    args = parser.parse_args()
    work = os.path.join(os.path.abspath(args.work), args.lang)
    os.makedirs(work, exist_ok=True)

    # The test's own checks use the Python stubs.
    checks = os.path.join(work, "check-stubs")
    subprocess.run([f"{args.repo}/scripts/gen-clients", "--out", checks, "python"], check=True)
    sys.path.insert(0, os.path.join(checks, "python"))
    example = Example(args.lang, args.repo, work)
    bins = (args.content_service, args.analytics_service)

    with live_pair.LivePair(args.repo, *bins) as pair:
        seconds = happy_path(example, pair)
        print(f"plaintext: ok ({seconds:.2f} s)")
        bad = os.path.join(pair.dir, "wrong-token")
        with open(bad, "w") as f:
            f.write("0123456789abcdef-not-the-token\n")
        wrong_token(example, pair, bad)
        print("wrong editor token: exit 1, PERMISSION_DENIED")
        seconds = analytics_down(example, pair)
        print(f"analytics down: served without counts, most read unavailable ({seconds:.2f} s); "
              "after it came back the queued reads counted exactly 3")
    with live_pair.LivePair(args.repo, *bins, tls=True) as pair:
        seconds = happy_path(example, pair, "--tls-ca", pair.ca)
        print(f"tls: ok ({seconds:.2f} s)")
    seconds = unreachable(example)
    print(f"no editor token: exit 2; content-service unreachable: exit 3 after 4 attempts "
          f"({seconds:.2f} s)")


if __name__ == "__main__":
    main()
