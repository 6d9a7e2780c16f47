#!/usr/bin/python3
"""buf checks of proto/, with the buf that package-lock.json pins (scripts/npm-tools).

usage: buf_test.py --repo DIR lint|breaking

lint      `buf lint` (STANDARD + COMMENTS, buf.yaml) and `buf format --diff --exit-code` are clean.
breaking  proto/ is compatible with the committed v1 baseline (proto-baseline/newsroom-v1.json,
          a buf image, so a fresh clone needs no git history). Then, on a copy of proto/, each
          breaking edit below must make `buf breaking` fail naming the rule it broke, and each
          compatible edit must pass: the check tells the two apart, it does not just fail.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

CONTENT = "newsroom/content/v1/content_service.proto"
ANALYTICS = "newsroom/analytics/v1/analytics_service.proto"

# (what, file, text to replace, replacement, rule buf must name[, another replacement])
BREAKING_EDITS = [
    ("rename a field", CONTENT, "  string title = 2;", "  string headline = 2;",
     "FIELD_SAME_NAME"),
    ("renumber a field", CONTENT, "  string reader_id = 2;", "  string reader_id = 12;",
     "FIELD_NO_DELETE"),
    ("change a field's type", ANALYTICS, "  int64 reads = 2;\n  // Estimated",
     "  int32 reads = 2;\n  // Estimated", "FIELD_SAME_TYPE"),
    ("delete an RPC", CONTENT,
     "  rpc DeleteArticle(DeleteArticleRequest) returns (google.protobuf.Empty);\n", "",
     "RPC_NO_DELETE"),
    ("change an RPC's response type", ANALYTICS,
     "rpc GetReadStats(GetReadStatsRequest) returns (ReadStats);",
     "rpc GetReadStats(GetReadStatsRequest) returns (RankedArticle);", "RPC_SAME_RESPONSE_TYPE"),
    ("delete an enum value", ANALYTICS, "  PERIOD_LAST_30_DAYS = 4;\n", "",
     "ENUM_VALUE_NO_DELETE"),
    ("rename a message", CONTENT, "Source source = 6;\n", "Origin source = 6;\n",
     "MESSAGE_NO_DELETE", ("message Source {", "message Origin {")),
    ("change go_package", CONTENT, "gen/go/newsroom/content/v1;contentv1",
     "gen/go/newsroom/content/v1;content", "FILE_SAME_GO_PACKAGE"),
]

COMPATIBLE_EDITS = [
    ("add a field", CONTENT, "  newsroom.analytics.v1.ReadStats read_stats = 14;\n",
     "  newsroom.analytics.v1.ReadStats read_stats = 14;\n  // A short label above the title.\n"
     "  string kicker = 15;\n"),
    ("add an enum value", ANALYTICS, "  PERIOD_LAST_30_DAYS = 4;\n",
     "  PERIOD_LAST_30_DAYS = 4;\n  // The last 365 UTC days.\n  PERIOD_LAST_365_DAYS = 5;\n"),
    ("reword a comment", CONTENT, "// A news article.", "// A news article, as readers see it."),
]


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def buf(repo):
    result = subprocess.run([os.path.join(repo, "scripts/npm-tools")], capture_output=True,
                            text=True)
    if result.returncode != 0:
        fail(f"scripts/npm-tools failed:\n{result.stderr}")
    return os.path.join(result.stdout.strip().splitlines()[-1], "buf")


def run(argv, cwd):
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def lint(repo, buf_bin):
    code, output = run([buf_bin, "--version"], repo)
    print(f"buf {output.strip()}")
    code, output = run([buf_bin, "lint"], repo)
    if code != 0:
        fail(f"buf lint:\n{output}")
    print("buf lint: clean (STANDARD + COMMENTS, exceptions in buf.yaml)")
    code, output = run([buf_bin, "format", "--diff", "--exit-code"], repo)
    if code != 0:
        fail(f"buf format would change proto/ (run `buf format -w`):\n{output}")
    print("buf format: clean")


def breaking(repo, buf_bin):
    baseline = os.path.join(repo, "proto-baseline/newsroom-v1.json")
    with open(baseline, encoding="utf-8") as f:
        files = {file["name"] for file in json.load(f)["file"]}
    if not {CONTENT, ANALYTICS} <= files:
        fail(f"{baseline} lacks the v1 files: {sorted(files)}")
    against = ["--against", baseline]

    code, output = run([buf_bin, "breaking"] + against, repo)
    if code != 0:
        fail(f"proto/ breaks the v1 baseline:\n{output}")
    print(f"proto/ is compatible with {os.path.relpath(baseline, repo)}")

    with tempfile.TemporaryDirectory(prefix="newsroom-buf-") as temp:
        def edited(what, path, old, new, *more):
            copy = os.path.join(temp, what.replace(" ", "-").replace("'", ""))
            shutil.copytree(os.path.join(repo, "proto"), os.path.join(copy, "proto"))
            shutil.copy(os.path.join(repo, "buf.yaml"), copy)
            target = os.path.join(copy, "proto", path)
            with open(target, encoding="utf-8") as f:
                text = f.read()
            for old, new in ((old, new),) + more:
                if text.count(old) != 1:
                    fail(f"{what}: expected one {old!r} in {path}; update this test's edits")
                text = text.replace(old, new)
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            return copy

        for what, path, old, new, rule, *more in BREAKING_EDITS:
            code, output = run([buf_bin, "breaking", "--error-format=json",
                                edited(what, path, old, new, *more)] + against, temp)
            if code == 0:
                fail(f"{what}: buf breaking passed a breaking change")
            rules = {json.loads(line)["type"] for line in output.splitlines()
                     if line.startswith("{")}
            if rule not in rules:
                fail(f"{what}: buf breaking failed without naming {rule}:\n{output}")
            print(f"breaking edit caught: {what} -> {', '.join(sorted(rules))}")
        for what, path, old, new in COMPATIBLE_EDITS:
            code, output = run([buf_bin, "breaking", edited(what, path, old, new)] + against, temp)
            if code != 0:
                fail(f"{what}: buf breaking refused a compatible change:\n{output}")
            print(f"compatible edit passes: {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("check", choices=["lint", "breaking"])
    args = parser.parse_args()
    buf_bin = buf(args.repo)
    {"lint": lint, "breaking": breaking}[args.check](args.repo, buf_bin)


if __name__ == "__main__":
    main()
