#!/usr/bin/python3
"""Runs the `buf curl` examples of docs/clients.md against a live TLS pair, as written.

usage: buf_curl_docs_test.py --repo DIR --content-service BIN --analytics-service BIN

The block after the "tests/clients/buf_curl_docs_test.py runs" comment in docs/clients.md is
parsed into its variable assignments and its commands (backslash continuations joined). Its
`content=` and `analytics=` lines are replaced with this pair's URLs; everything else runs
verbatim, in bash, from a directory where `.run/tls/` and `.run/editor-token` are the pair's
(started the way scripts/run starts it: TLS, analytics-service demanding content-service's client
certificate) and `proto/`, `buf.yaml` and `tests/support/proto` are the repository's. Each command must exit 0, or the status
its trailing "# exits N" gives, and print the text of its trailing "# prints TEXT".
Then one plaintext call, as the docs' note on plaintext services shows it.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

import live_pair

MARKER = "tests/clients/buf_curl_docs_test.py runs"


def fail(message, pair=None):
    print(f"FAIL: {message}", file=sys.stderr)
    if pair is not None:
        print(pair.logs(), file=sys.stderr)
    sys.exit(1)


def doc_block(repo):
    with open(os.path.join(repo, "docs/clients.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.find(MARKER)
    if start < 0:
        fail(f"docs/clients.md has no {MARKER!r} comment")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    if not block:
        fail("no ```sh block after the marker in docs/clients.md")
    # Join continuation lines, then split into assignments and commands.
    lines = block.group(1).replace("\\\n", " ").splitlines()
    assignments, commands = [], []
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if re.match(r"^[a-z_]+=", stripped):
            assignments.append(stripped)
        elif stripped.startswith("buf curl "):
            commands.append(stripped)
        else:
            fail(f"unexpected line in the tested block: {stripped!r}")
    return assignments, commands


def expectations(command):
    """The exit status and text a command's trailing comment promises."""
    code, prints = 0, None
    match = re.search(r"\s#\s*(exits|prints)\s+(.*)$", command)
    if match:
        if match.group(1) == "exits":
            code = int(match.group(2))
        else:
            prints = match.group(2).strip()
    return code, prints


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--content-service", required=True)
    parser.add_argument("--analytics-service", required=True)
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    bin_dir = subprocess.run([os.path.join(repo, "scripts/npm-tools")], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    assignments, commands = doc_block(repo)
    if len(commands) < 10:
        fail(f"only {len(commands)} buf curl commands found in the docs block")

    with live_pair.LivePair(repo, args.content_service, args.analytics_service, tls=True) as pair:
        # A directory laid out like a repository after scripts/run, for the docs' relative paths.
        cwd = os.path.join(pair.dir, "checkout")
        os.makedirs(os.path.join(cwd, ".run"))
        os.makedirs(os.path.join(cwd, "tests/support"))
        os.symlink(pair.tls_dir, os.path.join(cwd, ".run/tls"))
        os.symlink(pair.token_file, os.path.join(cwd, ".run/editor-token"))
        for path in ("tests/support/proto", "proto", "buf.yaml"):
            os.symlink(os.path.join(repo, path), os.path.join(cwd, path))
        urls = {"content": f"https://{pair.content_addr}",
                "analytics": f"https://{pair.analytics_addr}"}
        prelude = []
        for line in assignments:
            name = line.split("=", 1)[0]
            prelude.append(f"{name}={shlex.quote(urls[name])}" if name in urls else line)
        for command in commands:
            want_code, want_text = expectations(command)
            result = subprocess.run(["bash", "-c", "\n".join(prelude + [command])], cwd=cwd,
                                    env=env, capture_output=True, text=True, timeout=60)
            output = result.stdout + result.stderr
            shown = re.sub(r"\s+", " ", command)[:160]
            if result.returncode != want_code:
                fail(f"exit {result.returncode}, expected {want_code}: {shown}\n{output}", pair)
            if want_text and want_text not in output:
                fail(f"output lacks {want_text!r}: {shown}\n{output}", pair)
            print(f"ok (exit {result.returncode}): {shown}")
        print(f"{len(commands)} buf curl commands from docs/clients.md behaved as documented")

    with live_pair.LivePair(repo, args.content_service, args.analytics_service) as pair:
        command = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                   f"http://{pair.content_addr}/newsroom.content.v1.ContentService/ListArticles"]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or result.stdout.strip() != "{}":
            fail(f"plaintext ListArticles: exit {result.returncode}\n{result.stdout}"
                 f"{result.stderr}", pair)
        print("plaintext: ok")


if __name__ == "__main__":
    main()
