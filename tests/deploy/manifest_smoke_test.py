#!/usr/bin/python3
"""Runs Newsroom exactly as the rendered prod overlay says, on loopback, and reads one article.

usage: manifest_smoke_test.py --repo DIR --content-service BIN --analytics-service BIN --cli BIN

From `kubectl kustomize deploy/overlays/prod` this takes, for redis, postgres, analytics-service and
content-service: the container's command and args (or the image's ENTRYPOINT/CMD, read from the
service's Dockerfile), its env (over the Dockerfile's ENV, `$(VAR)` expanded, ConfigMap and Secret
references resolved), its volume mounts (ConfigMaps, the Secrets that deploy/make-secrets prints,
emptyDirs and claims, each made a directory under a temp root) and its ports. Every address is
rewritten to loopback (0.0.0.0:PORT to a free port for that container port; SERVICE:PORT to the
free port behind the Service's target port) and every mounted path to its temp directory, in
args, env and mounted config files alike. Nothing else is added.

Then it checks what the cluster would: each service's grpc probes (startup, readiness, liveness)
answer SERVING on the probe ports; one ReadArticle through content-service -> analytics-service ->
Redis shows "Read 1 time"; an editor write with the token from its Secret succeeds and lands in
PostgreSQL; every env var the manifests set is one the binary documents (`--helpfull`), so a
setting renamed in the code but not in the manifests fails here; SIGTERM ends each service with
exit 0 inside its terminationGracePeriodSeconds.

PostgreSQL is started the way its image's entrypoint would (initdb with POSTGRES_USER and
POSTGRES_PASSWORD_FILE, then POSTGRES_DB), from Debian's packages, as an unprivileged user.
Exit 77 (skipped) when kubectl is missing: Debian has no package for it.
"""

import argparse
import base64
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import grpc
import yaml

SKIP = 77
PG_BIN = "/usr/lib/postgresql/15/bin"
# The workloads, in the order they start (each after what it depends on). Nothing from this
# process's environment reaches them: they get exactly the pod's variables (the manifests turn
# service links off, so kubelet would add none either).
SERVICE_ORDER = ["redis", "postgres", "analytics-service", "content-service"]


# What deploy/make-secrets is told clients outside the cluster dial content-service as.
PUBLIC_NAME = "news-api.example.org"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_all(text):
    return [o for o in yaml.safe_load_all(text) if o]


class Cluster:
    """The rendered objects, indexed the way the checks below look them up."""

    def __init__(self, objects, secrets):
        self.objects = objects
        self.config_maps = {o["metadata"]["name"]: o.get("data", {})
                            for o in objects if o["kind"] == "ConfigMap"}
        self.secrets = {s["metadata"]["name"]: {k: base64.b64decode(v)
                                                for k, v in s.get("data", {}).items()}
                        for s in secrets}
        self.services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
        self.workloads = {o["metadata"]["name"]: o for o in objects
                          if o["kind"] in ("Deployment", "StatefulSet")}
        self.pods = {}  # workload name -> Pod, filled in by main()

    def workload_for_service(self, service):
        selector = service["spec"]["selector"]
        for name, workload in self.workloads.items():
            labels = workload["spec"]["template"]["metadata"]["labels"]
            if all(labels.get(k) == v for k, v in selector.items()):
                return name
        fail(f"Service {service['metadata']['name']} selects no workload")


class Pod:
    """One workload's single container, materialised under root."""

    def __init__(self, cluster, name, root):
        self.cluster = cluster
        self.name = name
        self.workload = cluster.workloads[name]
        self.spec = self.workload["spec"]["template"]["spec"]
        containers = self.spec["containers"]
        if len(containers) != 1:
            fail(f"{name}: expected one container, found {len(containers)}")
        self.container = containers[0]
        self.root = os.path.join(root, name)
        # containerPort -> free loopback port; named ports too.
        self.ports = {}
        self.port_names = {}
        for port in self.container.get("ports", []):
            local = free_port()
            self.ports[port["containerPort"]] = local
            if "name" in port:
                self.port_names[port["name"]] = port["containerPort"]
        self.mounts = {}  # mountPath -> local directory

    def local_port(self, port):
        if isinstance(port, str):
            if port not in self.port_names:
                fail(f"{self.name}: no container port named {port}")
            port = self.port_names[port]
        if port not in self.ports:
            fail(f"{self.name}: port {port} is not a declared containerPort")
        return self.ports[port]

    def materialise_volumes(self):
        volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        claims = {claim["metadata"]["name"]
                  for claim in self.workload["spec"].get("volumeClaimTemplates", [])}
        for mount in self.container.get("volumeMounts", []):
            path = os.path.join(self.root, mount["mountPath"].lstrip("/"))
            os.makedirs(path, exist_ok=True)
            self.mounts[mount["mountPath"]] = path
            volume = volumes.get(mount["name"])
            if volume is None:
                if mount["name"] not in claims:
                    fail(f"{self.name}: mount {mount['name']} has no volume or claim")
                continue
            if "configMap" in volume:
                name = volume["configMap"]["name"]
                if name not in self.cluster.config_maps:
                    fail(f"{self.name}: ConfigMap {name} is not in the rendered output")
                files = {k: v.encode() for k, v in self.cluster.config_maps[name].items()}
                self._write_files(path, files, volume["configMap"].get("items"), rewrite=True)
            elif "secret" in volume:
                name = volume["secret"]["secretName"]
                if name not in self.cluster.secrets:
                    fail(f"{self.name}: Secret {name} is not one deploy/make-secrets makes")
                self._write_files(path, self.cluster.secrets[name], volume["secret"].get("items"))
            elif "emptyDir" not in volume:
                fail(f"{self.name}: volume {mount['name']} has a type this test cannot run")
        return self

    def _write_files(self, directory, files, items, rewrite=False):
        selected = {i["key"]: i["path"] for i in items} if items else {k: k for k in files}
        for key, relative in selected.items():
            if key not in files:
                fail(f"{self.name}: key {key} is missing from its ConfigMap/Secret")
            data = files[key]
            if rewrite:  # config files name mounted paths and listen addresses too
                data = self.rewrite(data.decode()).encode()
            target = os.path.join(directory, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)

    def rewrite(self, value):
        """Mounted paths to their temp directories, cluster addresses to loopback ports."""
        if self.mounts:
            # One pass, longest path first, so a rewritten path is never rewritten again (the
            # temp root itself lives under /tmp, which is also a mount).
            paths = sorted(self.mounts, key=len, reverse=True)
            pattern = r"(?<![\w./-])(" + "|".join(map(re.escape, paths)) + r")(?![\w.-])"
            value = re.sub(pattern, lambda m: self.mounts[m.group(1)], value)

        def own_port(match):
            return f"127.0.0.1:{self.local_port(int(match.group(2)))}"

        value = re.sub(r"(0\.0\.0\.0|\[::\]):(\d+)", own_port, value)
        for service_name, service in self.cluster.services.items():
            target = self.cluster.workload_for_service(service)
            for port in service["spec"]["ports"]:
                pattern = (r"(?<![\w.-])" + re.escape(service_name) +
                           r"(\.[a-z0-9-]+(\.svc(\.cluster\.local)?)?)?:" + str(port["port"]) +
                           r"\b")
                local = self.cluster.pods[target].local_port(port.get("targetPort", port["port"]))
                value = re.sub(pattern, f"127.0.0.1:{local}", value)
        return value

    def environment(self, image_env):
        env = dict(image_env)
        for entry in self.container.get("env", []):
            if "value" in entry:
                value = str(entry["value"])
            else:
                source = entry["valueFrom"]
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    value = self.cluster.secrets[ref["name"]][ref["key"]].decode()
                elif "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    value = self.cluster.config_maps[ref["name"]][ref["key"]]
                else:
                    fail(f"{self.name}: env {entry['name']} has a source this test cannot run")
            # Kubernetes expands $(NAME) from variables defined before it.
            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                           lambda m: env.get(m.group(1), m.group(0)), value)
            env[entry["name"]] = value
        return {k: self.rewrite(v) for k, v in env.items()}

    def manifest_env_names(self):
        return [e["name"] for e in self.container.get("env", [])]



def read_dockerfile(path):
    """The final stage's ENV, ENTRYPOINT, CMD and WORKDIR, and where COPY put each binary."""
    text = open(path).read().replace("\\\n", " ")
    stage = text[text.rindex("\nFROM "):]
    image = {"env": {}, "entrypoint": None, "cmd": [], "workdir": "/", "copied": {}}
    for line in stage.splitlines():
        line = line.strip()
        if line.startswith("ENV "):
            for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", line[4:]):
                image["env"][name] = value
        elif line.startswith("ENTRYPOINT "):
            image["entrypoint"] = json.loads(line[len("ENTRYPOINT "):])
        elif line.startswith("CMD "):
            image["cmd"] = json.loads(line[4:])
        elif line.startswith("WORKDIR "):
            image["workdir"] = line.split()[1]
        elif line.startswith("COPY --from="):
            parts = line.split()
            image["copied"][parts[-1]] = os.path.basename(parts[-2])
    return image


def health(port, service):
    """grpc.health.v1.Health/Check on a plaintext port, as kubelet's grpc probe does."""
    request = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            response = check(request, timeout=2)
        except grpc.RpcError as error:
            return error.code().name
    # HealthCheckResponse{status = 1 (field 1, varint)}; an empty message is status 0 (UNKNOWN).
    status = response[1] if len(response) >= 2 and response[0] == 0x08 else 0
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(status, "?")


def probe_budget(probe):
    return probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)


def check_probes(pod, process, log_path):
    container = pod.container
    startup = container.get("startupProbe")
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        if "grpc" not in container.get(kind, {}):
            fail(f"{pod.name}: {kind} is not a grpc probe")
    deadline = time.monotonic() + probe_budget(startup)
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container[kind]["grpc"]
        port = pod.local_port(probe["port"])
        while True:
            status = health(port, probe.get("service", ""))
            if status == "SERVING":
                print(f"  {pod.name} {kind} (grpc port {probe['port']}, service "
                      f"\"{probe.get('service', '')}\"): SERVING")
                break
            if process.poll() is not None or time.monotonic() > deadline:
                fail(f"{pod.name}: {kind} on port {probe['port']} answered {status}; "
                     f"exit={process.poll()}; log:\n{open(log_path).read()}")
            time.sleep(0.2)


def documented_env_names(binary):
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True, env={})
    return set(re.findall(r"\benv\s+([A-Z][A-Z0-9_]+)", out.stdout + out.stderr))


def run_as_unprivileged():
    """setpriv arguments to run PostgreSQL (which refuses root) as postgres or nobody."""
    if os.getuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(user)
            return ["/usr/bin/setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                    "--clear-groups"], entry
        except KeyError:
            continue
    fail("no unprivileged user to run PostgreSQL as")


def start_postgres(pod, log_dir):
    """What the postgres image's entrypoint does on a first start, then the server."""
    env = pod.environment({})
    data_dir = env["PGDATA"]
    wrapper, user = run_as_unprivileged()
    password_file = env["POSTGRES_PASSWORD_FILE"]
    socket_dir = pod.mounts["/var/run/postgresql"]
    if user is not None:
        for directory, _, files in os.walk(pod.root):
            os.chown(directory, user.pw_uid, user.pw_gid)
            for f in files:
                os.chown(os.path.join(directory, f), user.pw_uid, user.pw_gid)
        os.chmod(pod.root, 0o755)
        os.chmod(os.path.dirname(pod.root), 0o755)
    os.makedirs(data_dir, exist_ok=True)
    if user is not None:
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    log = os.path.join(log_dir, "postgres.log")
    subprocess.run(wrapper + [f"{PG_BIN}/initdb", f"--pgdata={data_dir}",
                              f"--username={env['POSTGRES_USER']}", f"--pwfile={password_file}",
                              "--auth-host=scram-sha-256", "--auth-local=trust"],
                   check=True, stdout=open(log, "a"), stderr=subprocess.STDOUT)
    port = pod.local_port(5432)
    process = subprocess.Popen(
        wrapper + [f"{PG_BIN}/postgres", "-D", data_dir, "-p", str(port), "-c",
                   "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={socket_dir}",
                   "-c", "fsync=off"],
        stdout=open(log, "a"), stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        if subprocess.run([f"{PG_BIN}/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                          capture_output=True).returncode == 0:
            break
        if process.poll() is not None:
            break
        time.sleep(0.1)
    else:
        fail(f"postgres did not start; log:\n{open(log).read()}")
    subprocess.run(wrapper + [f"{PG_BIN}/createdb", "-h", socket_dir, "-p", str(port),
                              "-U", env["POSTGRES_USER"], env["POSTGRES_DB"]],
                   check=True, stdout=open(log, "a"), stderr=subprocess.STDOUT)
    return process, env


def start_redis(pod, log_dir):
    command = pod.container["command"] + pod.container.get("args", [])
    command = [pod.rewrite(c) for c in command]
    # The ConfigMap's `port 6379` / `bind 0.0.0.0` are the cluster's; here loopback and a free
    # port, given the way redis-server lets a command line override its file.
    command += ["--port", str(pod.local_port("redis")), "--bind", "127.0.0.1",
                "--daemonize", "no", "--logfile", ""]
    log = os.path.join(log_dir, "redis.log")
    process = subprocess.Popen(command, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                               env=pod.environment({}), start_new_session=True)
    port = pod.local_port("redis")
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    fail(f"redis did not start from the manifest's command {command}; log:\n{open(log).read()}")


def start_service(pod, image, binaries, log_dir):
    entrypoint = pod.container.get("command") or image["entrypoint"]
    args = pod.container.get("args") if "command" in pod.container or "args" in pod.container \
        else image["cmd"]
    program = entrypoint[0]
    if program not in image["copied"]:
        fail(f"{pod.name}: entrypoint {program} is not a binary the Dockerfile copies")
    command = [binaries[image["copied"][program]]] + [pod.rewrite(a) for a in
                                                      entrypoint[1:] + (args or [])]
    env = pod.environment(image["env"])
    workdir = pod.rewrite(image["workdir"])
    os.makedirs(workdir, exist_ok=True)
    log = os.path.join(log_dir, f"{pod.name}.log")
    process = subprocess.Popen(command, env=env, cwd=workdir, stdout=open(log, "w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    return process, log


def stop(process, name, grace_seconds=None):
    if process is None or process.poll() is not None:
        return process.returncode if process else None
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=grace_seconds or 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        if grace_seconds:
            fail(f"{name} did not exit within terminationGracePeriodSeconds={grace_seconds}")
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--content-service", required=True)
    parser.add_argument("--analytics-service", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--overlay", default="prod")
    args = parser.parse_args()

    if shutil.which("kubectl") is None:
        print("SKIP: kubectl is not installed (Debian has no package for it)")
        return SKIP
    if shutil.which("redis-server") is None or not os.path.exists(f"{PG_BIN}/postgres"):
        fail("needs redis-server and PostgreSQL 15 (scripts/install-deps installs them)")

    overlay = os.path.join(args.repo, "deploy", "overlays", args.overlay)
    rendered = subprocess.run(["kubectl", "kustomize", overlay], capture_output=True, text=True)
    if rendered.returncode != 0:
        fail(f"kubectl kustomize {overlay}: {rendered.stderr}")
    tmp = tempfile.mkdtemp(prefix="newsroom-manifest-smoke-")
    os.chmod(tmp, 0o755)  # PostgreSQL runs as another user (its own directories only)
    processes = {}
    try:
        secrets_out = subprocess.run(
            [os.path.join(args.repo, "deploy", "make-secrets"), f"--out={tmp}/secrets",
             f"--public-name={PUBLIC_NAME}"],
            capture_output=True, text=True)
        if secrets_out.returncode != 0:
            fail(f"deploy/make-secrets: {secrets_out.stderr}")
        # content-service's certificate names the public name it is served under; analytics-
        # service's, reached only inside the cluster, does not.
        for name, want in (("content", True), ("analytics", False)):
            sans = subprocess.run(["openssl", "x509", "-in", f"{tmp}/secrets/tls/{name}.pem",
                                   "-noout", "-ext", "subjectAltName"],
                                  capture_output=True, text=True, check=True).stdout
            if (f"DNS:{PUBLIC_NAME}" in sans) != want:
                fail(f"{name}.pem: --public-name={PUBLIC_NAME} {'missing from' if want else 'in'} "
                     f"its SANs: {sans.strip()}")
        cluster = Cluster(load_all(rendered.stdout), load_all(secrets_out.stdout))
        for name in SERVICE_ORDER:
            if name not in cluster.workloads:
                fail(f"the {args.overlay} overlay has no workload {name}")
            cluster.pods[name] = Pod(cluster, name, os.path.join(tmp, "pods"))
        pods = cluster.pods
        for pod in pods.values():
            pod.materialise_volumes()

        binaries = {"content-service": os.path.abspath(args.content_service),
                    "analytics-service": os.path.abspath(args.analytics_service)}
        images = {name: read_dockerfile(os.path.join(args.repo, name, "Dockerfile"))
                  for name in binaries}

        # A setting the manifests pass that the binary no longer documents is a renamed flag.
        for name, binary in binaries.items():
            documented = documented_env_names(binary)
            unknown = [e for e in pods[name].manifest_env_names() + list(images[name]["env"])
                       if e not in documented]
            if unknown:
                fail(f"{name}: the manifests/Dockerfile set {unknown}, which `{name} --helpfull` "
                     f"does not name (documented: {sorted(documented)})")
            print(f"{name}: all {len(pods[name].manifest_env_names())} env settings are "
                  f"documented by the binary")

        processes["redis"] = start_redis(pods["redis"], tmp)
        processes["postgres"], pg_env = start_postgres(pods["postgres"], tmp)
        logs = {}
        for name in ("analytics-service", "content-service"):
            processes[name], logs[name] = start_service(pods[name], images[name], binaries, tmp)
            check_probes(pods[name], processes[name], logs[name])

        content_env = pods["content-service"].environment(images["content-service"]["env"])
        tls_ca = os.path.join(pods["content-service"].mounts["/etc/newsroom/tls"], "ca.crt")
        address = f"127.0.0.1:{pods['content-service'].local_port('grpc')}"
        cli = [args.cli, f"--addr={address}", f"--tls-ca={tls_ca}", "--timeout=10s"]

        samples = json.loads(next(iter(
            cluster.config_maps[next(n for n in cluster.config_maps
                                     if n.startswith("sample-articles"))].values())))
        article_id = samples["articles"][0]["name"].split("/", 1)[1]
        read = subprocess.run(cli + ["read", article_id, "--reader=smoke-reader"],
                              capture_output=True, text=True, env={})
        if read.returncode != 0 or "Read 1 time" not in read.stdout:
            fail(f"ReadArticle {article_id}: exit {read.returncode}\n{read.stdout}{read.stderr}\n"
                 f"content log:\n{open(logs['content-service']).read()}\n"
                 f"analytics log:\n{open(logs['analytics-service']).read()}")
        print(f"ReadArticle {article_id} through the pair: "
              f"{[l for l in read.stdout.splitlines() if 'Read ' in l][0].strip()}")

        # Redis as its ConfigMap and Secret configure it: nobody gets in without the ACL user's
        # password, and counts go to an append-only file on the claim.
        redis_port = pods["redis"].local_port("redis")
        anonymous = subprocess.run(["redis-cli", "-p", str(redis_port), "ping"],
                                   capture_output=True, text=True, env={})
        if "NOAUTH" not in anonymous.stdout + anonymous.stderr:
            fail(f"Redis answered an unauthenticated PING with {anonymous.stdout!r}: the "
                 f"default user must be off")
        aof = os.path.join(pods["redis"].mounts["/data"], "appendonlydir")
        if not os.path.isdir(aof) or not os.listdir(aof):
            fail(f"Redis wrote no append-only file under its claim ({aof})")
        print("Redis: default user refused (NOAUTH), append-only file on the data claim")

        # An editor write with the token from its Secret, stored in the manifest's PostgreSQL.
        token_file = os.path.join(pods["content-service"].mounts["/etc/newsroom/editor-token"],
                                  "token")
        article = os.path.join(tmp, "article.json")
        new_article = dict(samples["articles"][0], title="Written through the manifests' wiring")
        del new_article["name"]
        with open(article, "w") as f:
            json.dump(new_article, f)
        create = subprocess.run(cli + [f"--token-file={token_file}", "create", article,
                                       "--id=manifest-smoke"], capture_output=True, text=True,
                                env={})
        if create.returncode != 0:
            fail(f"CreateArticle with the editor token: {create.stdout}{create.stderr}")
        port = pods["postgres"].local_port(5432)
        count = subprocess.run(
            [f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", pg_env["POSTGRES_USER"],
             "-d", pg_env["POSTGRES_DB"], "-tAc", "SELECT count(*) FROM articles"],
            capture_output=True, text=True,
            env={"PGPASSWORD": open(pg_env["POSTGRES_PASSWORD_FILE"]).read().strip()})
        expected = len(samples["articles"]) + 1
        if count.returncode != 0 or count.stdout.strip() != str(expected):
            fail(f"PostgreSQL articles: {count.stdout}{count.stderr} (expected {expected})")
        print(f"CreateArticle with the editor token Secret: stored; PostgreSQL holds {expected} "
              f"articles (CONTENT_DB {content_env['CONTENT_DB']})")

        for name in ("content-service", "analytics-service"):
            grace = pods[name].spec.get("terminationGracePeriodSeconds", 30)
            code = stop(processes.pop(name), name, grace)
            if code != 0:
                fail(f"{name} exited {code} on SIGTERM; log:\n{open(logs[name]).read()}")
            print(f"{name}: SIGTERM -> exit 0 within terminationGracePeriodSeconds={grace}")
        print("PASS")
        return 0
    finally:
        for name, process in processes.items():
            if name == "postgres":
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            else:
                stop(process, name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
