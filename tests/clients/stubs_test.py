#!/usr/bin/python3
"""Generates one language's client stubs with scripts/gen-clients and proves they build and load.

usage: stubs_test.py --repo DIR --work DIR LANG

What "proves" means per language (docs/clients.md has the same table):
  python  imports every module with Debian's python3-grpcio/protobuf, round-trips an Article,
          builds both stubs and checks every RPC of the proto is on them
  go      `go vet` and `go build` of the generated packages in GOPATH mode, offline, against
          Debian's grpc-go (/usr/share/gocode)
  ruby    requires every file with Debian's ruby-grpc/ruby-google-protobuf, round-trips an
          Article, builds both stubs and checks their RPCs
  php     `php -l` of every file: syntax only, since Debian has no PHP protobuf or gRPC runtime
  java    javac of messages and gRPC stubs against Debian's protobuf-java and grpc-java, then runs
          tests/clients/java/StubsCheck (round trip, service descriptors)
  ts      tsc --strict over the generated types plus tests/clients/ts/typed_client.ts, which uses
          them (and must fail to compile where it misuses them)
(cpp is not checked here: the services' own build runs the same protoc and grpc_cpp_plugin on the
same files, cmake/NewsroomProto.cmake, and compiles the result.)

The work directory keeps the output between runs; Go's build cache is $GOCACHE (CTest sets Go's own
cache, tests/clients/CMakeLists.txt), else one in the work directory.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

CONTENT_RPCS = {"GetArticle", "ReadArticle", "ListArticles", "CreateArticle", "UpdateArticle",
                "DeleteArticle", "ListMostReadArticles", "WatchArticleReadStats"}
ANALYTICS_RPCS = {"RecordRead", "BatchRecordReads", "GetReadStats", "BatchGetReadStats",
                  "ListTopArticles", "WatchReadStats", "WatchReadStatsChanges"}


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(argv, **kwargs):
    command = " ".join(argv)
    print("+ " + (command if len(command) < 300 else command[:300] + " ..."), flush=True)
    result = subprocess.run(argv, text=True, capture_output=True, **kwargs)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        fail(f"{argv[0]} exited {result.returncode}")
    return result


def proto_rpcs(repo):
    """Every RPC declared in proto/, as the proto spells it: a check that the lists above and
    therefore the checks below still cover the whole API."""
    rpcs = set()
    for path in glob.glob(os.path.join(repo, "proto/newsroom/**/*.proto"), recursive=True):
        with open(path, encoding="utf-8") as f:
            rpcs |= set(re.findall(r"^\s*rpc\s+(\w+)\s*\(", f.read(), re.M))
    return rpcs


def check_python(repo, out, work):
    code = f"""
import sys
sys.path.insert(0, {out!r})
import grpc
from newsroom.content.v1 import content_service_pb2 as c, content_service_pb2_grpc as cg
from newsroom.analytics.v1 import analytics_service_pb2 as a, analytics_service_pb2_grpc as ag
article = c.Article(title="Harbour ferry returns \\u2014 faster", tags=["transport"],
                    lead_image=c.Image(uri="https://images.example.org/a.jpg"),
                    read_stats=a.ReadStats(reads=3))
assert c.Article.FromString(article.SerializeToString()) == article
assert c.ListMostReadArticlesRequest(period=a.PERIOD_LAST_DAY).period == 2
with grpc.insecure_channel("127.0.0.1:1") as channel:
    content, analytics = cg.ContentServiceStub(channel), ag.AnalyticsServiceStub(channel)
    for stub, service in ((content, c.DESCRIPTOR.services_by_name["ContentService"]),
                          (analytics, a.DESCRIPTOR.services_by_name["AnalyticsService"])):
        names = {{m.name for m in service.methods}}
        assert names == set({sorted(CONTENT_RPCS)!r}) or names == set({sorted(ANALYTICS_RPCS)!r}), names
        for name in names:
            assert callable(getattr(stub, name)), name
print("python stubs ok")
"""
    run(["/usr/bin/python3", "-c", code])


def check_go(repo, out, work):
    # GOPATH layout: the go_package paths are github.com/newsroom/newsroom/gen/go/...
    gopath = os.path.join(work, "gopath")
    link = os.path.join(gopath, "src/github.com/newsroom/newsroom/gen/go")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(out, link)
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": f"{gopath}:/usr/share/gocode",
           "GOPROXY": "off", "GOFLAGS": "", "GOSUMDB": "off", "CGO_ENABLED": "0",
           "GOCACHE": os.environ.get("GOCACHE", os.path.join(work, "gocache"))}
    packages = ["github.com/newsroom/newsroom/gen/go/newsroom/content/v1",
                "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"]
    # -trimpath as examples/go/build uses it, so the two share Go's build cache.
    run(["go", "vet", "-trimpath"] + packages, env=env, cwd=work)
    run(["go", "build", "-trimpath"] + packages, env=env, cwd=work)
    print("go stubs ok")


def check_ruby(repo, out, work):
    code = f"""
require "newsroom/content/v1/content_service_services_pb"
require "newsroom/analytics/v1/analytics_service_services_pb"
C = Newsroom::Content::V1
A = Newsroom::Analytics::V1
article = C::Article.new(title: "Harbour ferry returns \\u2014 faster", tags: ["transport"],
                         read_stats: A::ReadStats.new(reads: 3))
raise "round trip" unless C::Article.decode(C::Article.encode(article)) == article
raise "enum" unless C::ListMostReadArticlesRequest.new(period: :PERIOD_LAST_DAY).period == :PERIOD_LAST_DAY
{{ C::ContentService => {sorted(CONTENT_RPCS)!r}, A::AnalyticsService => {sorted(ANALYTICS_RPCS)!r} }}.each do |service, rpcs|
  names = service::Service.rpc_descs.keys.map(&:to_s).sort
  raise "rpcs of #{{service}}: #{{names}}" unless names == rpcs.sort
  stub = service::Stub.new("127.0.0.1:1", :this_channel_is_insecure)
  rpcs.each do |rpc|
    method = rpc.gsub(/([a-z])([A-Z])/, '\\\\1_\\\\2').downcase
    raise "stub lacks #{{method}}" unless stub.respond_to?(method)
  end
end
puts "ruby stubs ok"
"""
    run(["ruby", "-I", out, "-e", code])


def check_php(repo, out, work):
    files = sorted(glob.glob(os.path.join(out, "**/*.php"), recursive=True))
    if not files:
        fail("no PHP files generated")
    for path in files:
        result = run(["php", "-l", path])
        if "No syntax errors detected" not in result.stdout:
            fail(f"php -l {path}")
    for client in ("Newsroom/Content/V1/ContentServiceClient.php",
                   "Newsroom/Analytics/V1/AnalyticsServiceClient.php"):
        with open(os.path.join(out, client), encoding="utf-8") as f:
            text = f.read()
        rpcs = CONTENT_RPCS if "Content" in client else ANALYTICS_RPCS
        missing = [rpc for rpc in rpcs if f"function {rpc}(" not in text]
        if missing:
            fail(f"{client} lacks {missing}")
    print(f"php stubs ok: {len(files)} files pass php -l (syntax only: no PHP runtime in Debian)")


JAVA_JARS = ["protobuf", "grpc-api", "grpc-stub", "grpc-protobuf", "grpc-protobuf-lite",
             "grpc-context", "guava", "geronimo-annotation-1.3-spec"]


def check_java(repo, out, work):
    classpath = [f"/usr/share/java/{jar}.jar" for jar in JAVA_JARS]
    for jar in classpath:
        if not os.path.exists(jar):
            fail(f"{jar} missing (scripts/install-deps installs the Java packages)")
    classes = os.path.join(work, "classes")
    shutil.rmtree(classes, ignore_errors=True)
    os.makedirs(classes)
    sources = sorted(glob.glob(os.path.join(out, "**/*.java"), recursive=True))
    sources.append(os.path.join(repo, "tests/clients/java/StubsCheck.java"))
    # -XX:-UsePerfData: no /tmp/hsperfdata_<user> left behind by either JVM.
    run(["javac", "-J-XX:-UsePerfData", "-encoding", "UTF-8", "-Xlint:none", "-d", classes,
         "-cp", ":".join(classpath)] + sources)
    result = run(["java", "-XX:-UsePerfData", "-ea", "-cp", ":".join([classes] + classpath),
                  "StubsCheck"])
    if "java stubs ok" not in result.stdout:
        fail("StubsCheck did not finish")


def check_ts(repo, out, work):
    bin_dir = run([os.path.join(repo, "scripts/npm-tools")]).stdout.strip().splitlines()[-1]
    modules = os.path.join(repo, "node_modules")
    config = {
        "compilerOptions": {
            "strict": True, "noEmit": True, "target": "es2020", "module": "commonjs",
            "moduleResolution": "node10", "skipLibCheck": True, "types": ["node"],
            "typeRoots": [os.path.join(modules, "@types")],
            # The work dir may be outside the repository: resolve packages from its node_modules.
            "paths": {"newsroom-gen/*": [os.path.join(out, "*")],
                      "@grpc/*": [os.path.join(modules, "@grpc/*")]},
        },
        "files": sorted(glob.glob(os.path.join(out, "**/*.ts"), recursive=True))
                 + [os.path.join(repo, "tests/clients/ts/typed_client.ts")],
    }
    tsconfig = os.path.join(work, "tsconfig.json")
    with open(tsconfig, "w") as f:
        json.dump(config, f, indent=1)
    run([os.path.join(bin_dir, "tsc"), "-p", tsconfig])
    print(f"ts stubs ok: {len(config['files'])} files type-check with tsc --strict")


CHECKS = {"python": check_python, "go": check_go, "ruby": check_ruby, "php": check_php,
          "java": check_java, "ts": check_ts}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("lang", choices=sorted(CHECKS))
    args = parser.parse_args()
    if proto_rpcs(args.repo) != CONTENT_RPCS | ANALYTICS_RPCS:
        fail(f"proto/ declares {sorted(proto_rpcs(args.repo))}: update the RPC lists here")
    work = os.path.join(os.path.abspath(args.work), args.lang)
    os.makedirs(work, exist_ok=True)
    generated = os.path.join(work, "gen")
    run([os.path.join(args.repo, "scripts/gen-clients"), "--out", generated, args.lang])
    CHECKS[args.lang](args.repo, os.path.join(generated, args.lang), work)


if __name__ == "__main__":
    main()
