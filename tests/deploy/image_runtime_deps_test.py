#!/usr/bin/python3
"""Proves each service's Dockerfile runtime stage is complete and lean, without a Docker engine.

usage: image_runtime_deps_test.py --repo DIR SERVICE=BINARY...

For each SERVICE (content-service, analytics-service) and its built BINARY:
  - every shared library `ldd BINARY` resolves belongs (by `dpkg -S`) to a Debian package that the
    final stage of SERVICE/Dockerfile installs with apt-get, or to debian:bookworm-slim itself
    (BASE_PACKAGES below, each checked against this machine's dpkg database); the stage installs
    nothing else, and every package it names exists in Debian (`apt-cache show`);
  - the Dockerfile builds on debian:bookworm and runs on debian:bookworm-slim (no `latest`), its
    build packages come from scripts/install-deps, and its final stage has a numeric non-root
    USER, no build tools, nothing copied from the context (so no scripts), only the binary, and
    an exec-form ENTRYPOINT;
  - removing any one needed package from the Dockerfile makes this test fail (checked here by
    doing it, so a parser that silently stops seeing packages cannot pass).
Binaries built here (RelWithDebInfo) link the same libraries as the image's Release build: the
build type changes flags, not link lines.
"""

import argparse
import os
import re
import subprocess
import sys

# What debian:bookworm-slim already holds that our binaries load. The image is debootstrap's
# `minbase` variant (every Priority: required package plus apt, and their dependencies). Debian
# gives shared libraries Priority: optional, so each is there as a dependency, not by priority:
#   libc6      - every required package (bash, coreutils, dpkg) depends on it
#   libgcc-s1  - libc6 depends on it
#   libstdc++6 - apt and libapt-pkg6.0 depend on it
#   zlib1g     - dpkg pre-depends on it
# base_closure() recomputes that closure from the local dpkg database and the test fails if one
# of these is not in it.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}

# Packages a runtime stage must not install: compilers, build systems, headers.
BUILD_TOOL = re.compile(
    r"^(g\+\+|gcc|cpp|clang|llvm|cmake|ninja-build|make|build-essential|pkg-config|pkgconf|"
    r"binutils|protobuf-compiler|git)([-.0-9].*)?$|-dev$")

SERVICE_PORTS = {  # gRPC port, health port (README flags; scripts/run uses the same health ports)
    "content-service": ("50051", "50061"),
    "analytics-service": ("50052", "50062"),
}

BUILD_IMAGE = re.compile(r"^debian:bookworm(-\d{8})?(@sha256:[0-9a-f]{64})?$")
RUNTIME_IMAGE = re.compile(r"^debian:bookworm(-\d{8})?-slim(@sha256:[0-9a-f]{64})?$")


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False)


# --- Dockerfile parsing -------------------------------------------------------------------------


def parse_dockerfile(text):
    """Returns the stages as [{"from": image, "name": alias, "instructions": [(KEYWORD, args)]}]."""
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue  # comments may sit between continuation lines, as Docker allows
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)

    stages = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            stages.append({
                "from": words[0],
                "name": words[2] if len(words) > 2 and words[1].upper() == "AS" else None,
                "instructions": [],
            })
        elif stages:
            stages[-1]["instructions"].append((keyword, args))
    return stages


def apt_installs(command):
    """Package names given to every `apt-get install` in a shell command line."""
    packages = []
    for match in re.finditer(r"\bapt-get\s+install\b(.*?)(?=&&|\|\||;|\||$)", command):
        packages += [w for w in match.group(1).split() if not w.startswith("-")]
    return packages


def stage_packages(stage):
    packages = []
    for keyword, args in stage["instructions"]:
        if keyword == "RUN":
            packages += apt_installs(args)
    return packages


def install_deps_packages(repo):
    """The package list of scripts/install-deps (its `packages=( ... )` array)."""
    with open(os.path.join(repo, "scripts", "install-deps")) as f:
        text = f.read()
    body = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M).group(1)
    words = []
    for line in body.splitlines():
        words += line.split("#", 1)[0].split()
    return set(words)


# --- what the binary needs ----------------------------------------------------------------------


def merged_usr_alternatives(path):
    """dpkg records a file under the path its package ships (/lib/... or /usr/lib/...); ldd may
    report either, since bookworm merges /lib into /usr/lib."""
    candidates = [path]
    if path.startswith("/usr/"):
        candidates.append(path[len("/usr"):])
    else:
        candidates.append("/usr" + path)
    real = os.path.realpath(path)
    if real not in candidates:
        candidates += merged_usr_alternatives(real)
    return candidates


def owning_packages(paths):
    """{path: package} by one `dpkg -S` over every merged-usr spelling of every path."""
    candidates = {path: merged_usr_alternatives(path) for path in paths}
    everything = sorted({c for cs in candidates.values() for c in cs})
    owners = {}
    # dpkg -S exits 1 when any one pattern matches nothing; the other matches are still printed.
    for line in run(["dpkg", "-S"] + everything).stdout.splitlines():
        if line.startswith("diversion by"):
            continue
        packages, _, owned = line.partition(": ")
        owners[owned.strip()] = packages.split(",")[0].strip().split(":")[0]
    return {path: next((owners[c] for c in cs if c in owners), None)
            for path, cs in candidates.items()}


def needed_packages(binary, errors):
    """{package: [library path, ...]} for every library ldd resolves for binary."""
    result = run(["ldd", binary])
    if result.returncode != 0:
        errors.append(f"ldd {binary} failed: {result.stderr.strip()}")
        return {}
    paths = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            name, _, target = line.partition("=>")
            target = target.strip()
            if target.startswith("not found"):
                errors.append(f"{binary}: ldd cannot resolve {name.strip()}")
            elif target.startswith("/"):
                paths.append(target.split()[0])
        elif line.startswith("/"):
            # The loader, "/lib64/ld-linux-x86-64.so.2 (0x...)", is a real file. "linux-vdso.so.1
            # (0x...)" has no path: the kernel maps it into every process.
            paths.append(line.split()[0])
    needed = {}
    for path, package in owning_packages(paths).items():
        if package is None:
            errors.append(f"{binary}: no Debian package owns {path} (dpkg -S)")
        else:
            needed.setdefault(package, []).append(path)
    return needed


def base_closure():
    """Installed packages reachable from every Priority: required package and apt through
    Pre-Depends and Depends (first installed alternative): what debootstrap's minbase, and so
    debian:bookworm-slim, contains, as far as this machine's dpkg database shows."""
    result = run(["dpkg-query", "-W",
                  "-f=${Package}\t${Priority}\t${Pre-Depends}\t${Depends}\t${db:Status-Abbrev}\n"])
    installed, roots = {}, {"apt"}
    for line in result.stdout.splitlines():
        name, priority, pre_depends, depends, status = (line.split("\t") + [""] * 5)[:5]
        if not status.startswith("ii"):
            continue
        installed[name] = ", ".join(d for d in (pre_depends, depends) if d)
        if priority == "required":
            roots.add(name)
    seen, todo = set(), [r for r in roots if r in installed]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for clause in filter(None, (c.strip() for c in installed[name].split(","))):
            for alternative in clause.split("|"):
                dep = re.split(r"[\s(:]", alternative.strip(), maxsplit=1)[0]
                if dep in installed:
                    todo.append(dep)
                    break
    return seen


def in_debian(packages):
    """The subset of packages apt knows (one `apt-cache show`, which lists those it finds)."""
    result = run(["apt-cache", "show", "--no-all-versions"] + sorted(packages))
    return set(re.findall(r"^Package: (\S+)$", result.stdout, re.M)) & set(packages)


# --- checks -------------------------------------------------------------------------------------


def check_runtime_packages(service, stages, needed):
    """Errors if the final stage misses a package the binary needs or installs one it does not."""
    errors = []
    installed = set(stage_packages(stages[-1]))
    for package, libraries in sorted(needed.items()):
        if package not in installed and package not in BASE_PACKAGES:
            errors.append(f"{service}/Dockerfile: runtime stage does not install {package}, which "
                          f"provides {', '.join(sorted(set(libraries)))}")
    for package in sorted(installed - set(needed)):
        errors.append(f"{service}/Dockerfile: runtime stage installs {package}, which no library "
                      "the binary loads comes from")
    return errors


def check_dockerfile(service, stages, install_deps):
    errors = []

    def error(message):
        errors.append(f"{service}/Dockerfile: {message}")

    if len(stages) < 2:
        error("needs a build stage and a runtime stage")
        return errors
    build, final = stages[0], stages[-1]
    for stage in stages:
        if stage["from"].endswith(":latest") or ":" not in stage["from"].split("@")[0]:
            error(f"FROM {stage['from']}: name a tag (never latest, never none)")
    if not BUILD_IMAGE.match(build["from"]):
        error(f"build stage is FROM {build['from']}, not debian:bookworm")
    if not RUNTIME_IMAGE.match(final["from"]):
        error(f"final stage is FROM {final['from']}, not debian:bookworm-slim")

    build_packages = set(stage_packages(build))
    for package in sorted(build_packages - install_deps):
        error(f"build stage installs {package}, which scripts/install-deps does not list")
    build_runs = " ".join(a for k, a in build["instructions"] if k == "RUN")
    if f"--target {service}" not in build_runs:
        error(f"build stage does not build only --target {service}")
    if "-DCMAKE_BUILD_TYPE=Release" not in build_runs:
        error("build stage does not build with -DCMAKE_BUILD_TYPE=Release")

    final_runs = [a for k, a in final["instructions"] if k == "RUN"]
    for args in final_runs:
        if apt_installs(args):
            if "--no-install-recommends" not in args:
                error("runtime apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in args:
                error("runtime stage keeps the apt lists (rm -rf /var/lib/apt/lists/*)")
    for package in stage_packages(final):
        if BUILD_TOOL.search(package):
            error(f"runtime stage installs build tool or headers {package}")

    users = [a for k, a in final["instructions"] if k == "USER"]
    if not users:
        error("final stage has no USER (it would run as root)")
    else:
        match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
        if not match:
            error(f"USER {users[-1]} is not numeric (Kubernetes runAsNonRoot needs a number)")
        elif int(match.group(1)) == 0 or (match.group(2) and int(match.group(2)) == 0):
            error(f"USER {users[-1]} is root")

    copies = [(k, a) for k, a in final["instructions"] if k in ("COPY", "ADD")]
    binary = f"/usr/local/bin/{service}"
    for keyword, args in copies:
        words = args.split()
        if keyword == "ADD" or not any(w.startswith("--from=") for w in words):
            error(f"final stage {keyword} {args}: copy only the binary from the build stage")
        elif words[-1] != binary or any(w.endswith(".sh") for w in words):
            error(f"final stage COPY {args}: copies something other than the binary")
    if not any(k == "COPY" and a.split()[-1] == binary for k, a in copies):
        error(f"final stage does not copy the binary to {binary}")

    entrypoints = [a for k, a in final["instructions"] if k == "ENTRYPOINT"]
    if entrypoints != [f'["{binary}"]']:
        error(f'ENTRYPOINT must be exactly ["{binary}"] (exec form, no shell)')

    exposed = set(" ".join(a for k, a in final["instructions"] if k == "EXPOSE").split())
    for port in SERVICE_PORTS[service]:
        if port not in exposed and f"{port}/tcp" not in exposed:
            error(f"final stage does not EXPOSE {port}")
    return errors


def check_removal_is_caught(service, text, needed):
    """Deletes each needed package from the Dockerfile in turn; every deletion must be reported."""
    errors = []
    for package in sorted(set(needed) - BASE_PACKAGES):
        mutated = re.sub(rf"(?<=\s){re.escape(package)}(?=\s)", "", text)
        if mutated == text:
            continue  # not in the file: check_runtime_packages already reports it
        reported = check_runtime_packages(service, parse_dockerfile(mutated), needed)
        if not any(f"does not install {package}," in e for e in reported):
            errors.append(f"{service}/Dockerfile: removing {package} went unnoticed (test bug)")
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("binaries", nargs="+", metavar="SERVICE=BINARY")
    args = parser.parse_args()

    errors = []
    closure = base_closure()
    for package in sorted(BASE_PACKAGES - closure):
        errors.append(f"BASE_PACKAGES: {package} is not in the required+apt closure, so "
                      "debian:bookworm-slim may lack it")
    install_deps = install_deps_packages(args.repo)

    for pair in args.binaries:
        service, _, binary = pair.partition("=")
        with open(os.path.join(args.repo, service, "Dockerfile")) as f:
            text = f.read()
        stages = parse_dockerfile(text)
        if re.search(r":latest\b", text):
            errors.append(f"{service}/Dockerfile: mentions a :latest tag")
        errors += check_dockerfile(service, stages, install_deps)
        needed = needed_packages(binary, errors)
        if not needed:
            errors.append(f"{service}: ldd {binary} found no libraries (parser or build broken)")
        errors += check_runtime_packages(service, stages, needed)
        named = set(stage_packages(stages[-1])) | set(stage_packages(stages[0]))
        for package in sorted(named - in_debian(named)):
            errors.append(f"{service}/Dockerfile: apt-cache show {package}: not in Debian")
        errors += check_removal_is_caught(service, text, needed)
        print(f"{service}: {len(needed)} packages from ldd: "
              + " ".join(f"{p}{'(base)' if p in BASE_PACKAGES else ''}" for p in sorted(needed)))

    for e in errors:
        print("FAIL " + e, file=sys.stderr)
    if errors:
        return 1
    print("runtime stages complete; Dockerfiles pass their checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
