"""The real pair for the client tests: redis-server, analytics-service and content-service as
separate processes on free loopback ports in a temp dir, as tests/integration/pair_fixture does
for the C++ tests. Plaintext by default; with tls=True both serve TLS the way scripts/run starts
them (certificates from scripts/make-certs, analytics-service demanding content-service's client
certificate).
"""

import os
import secrets
import selectors
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


class Service:
    """A child process whose stdout is read for its "listening on HOST:PORT" line."""

    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log,
                                            env={**os.environ, **env})

    def wait_for_port(self, timeout=20):
        """The port of the first "listening on HOST:PORT" line on stdout."""
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        buffer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not selector.select(timeout=0.2):
                continue
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if " listening on " in line and "health" not in line:
                    return int(line.rsplit(":", 1)[1])
        with open(self.log_path, errors="replace") as log:
            raise RuntimeError(f"{self.name} did not start:\n{log.read()}")

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class LivePair:
    """Redis, analytics-service and content-service; use as a context manager."""

    def __init__(self, repo, content_bin, analytics_bin, tls=False):
        self.repo = repo
        self.content_bin = content_bin
        self.analytics_bin = analytics_bin
        self.tls = tls
        self._temp = tempfile.TemporaryDirectory(prefix="newsroom-clients-")
        self.dir = self._temp.name
        self.token = secrets.token_hex(16)
        self.token_file = os.path.join(self.dir, "editor-token")
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(self.token + "\n")
        self.tls_dir = os.path.join(self.dir, "tls")
        self.redis = None
        self.analytics = None
        self.content = None
        self.analytics_port = 0
        self.content_port = 0

    @property
    def ca(self):
        return os.path.join(self.tls_dir, "ca.pem")

    @property
    def content_addr(self):
        return f"127.0.0.1:{self.content_port}"

    @property
    def analytics_addr(self):
        return f"127.0.0.1:{self.analytics_port}"

    def log(self, name):
        return os.path.join(self.dir, f"{name}.log")

    def logs(self):
        text = []
        for name in ("redis", "analytics", "content"):
            try:
                with open(self.log(name), errors="replace") as f:
                    text.append(f"--- {name} log ---\n{f.read()}")
            except FileNotFoundError:
                pass
        return "\n".join(text)

    def __enter__(self):
        try:
            if self.tls:
                subprocess.run([os.path.join(self.repo, "scripts/make-certs"), self.tls_dir,
                                "Newsroom clients test", "server:content:IP:127.0.0.1",
                                "server:analytics:IP:127.0.0.1", "client:content-client"],
                               check=True)
            self._start_redis()
            self.start_analytics()
            self._start_content()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for service in (self.content, self.analytics, self.redis):
            if service is not None:
                service.stop()
        self._temp.cleanup()

    def _start_redis(self):
        for _ in range(5):
            port = free_port()
            redis = Service("redis", ["/usr/bin/redis-server", "--port", str(port), "--bind",
                                      "127.0.0.1", "--dir", self.dir, "--save", "",
                                      "--appendonly", "no", "--daemonize", "no",
                                      "--logfile", self.log("redis")], {}, self.log("redis"))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and redis.process.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    self.redis, self.redis_port = redis, port
                    return
                except OSError:
                    time.sleep(0.05)
            redis.stop()
        raise RuntimeError(f"redis-server did not start:\n{self.logs()}")

    def start_analytics(self):
        """(Re)starts analytics-service, on its previous port after the first time."""
        port = self.analytics_port or 0
        args = [self.analytics_bin, f"--listen=127.0.0.1:{port}",
                f"--redis=127.0.0.1:{self.redis_port}", "--key-prefix=test:"]
        if self.tls:
            args += [f"--tls-cert-file={self.tls_dir}/analytics.pem",
                     f"--tls-key-file={self.tls_dir}/analytics.key",
                     f"--tls-client-ca-file={self.tls_dir}/ca.pem"]
        self.analytics = Service("analytics", args, {"READER_HASH_KEY": "clients-test-key"},
                                 self.log("analytics"))
        self.analytics_port = self.analytics.wait_for_port()

    def stop_analytics(self):
        code = self.analytics.stop()
        self.analytics = None
        if code != 0:
            raise RuntimeError(f"analytics-service exited {code} on SIGTERM")

    def _start_content(self):
        # A budget far above the default 100 ms, as tests/integration/pair_fixture gives: on a
        # shared two-core machine a first read can take longer, and the examples' output is
        # checked line by line (the analytics-down scenario still proves the unset read_stats).
        args = [self.content_bin, "--listen=127.0.0.1:0", f"--analytics={self.analytics_addr}",
                "--analytics_budget=2s",
                f"--db={self.dir}/content.db", f"--editor_token_file={self.token_file}"]
        if self.tls:
            args += [f"--tls_cert_file={self.tls_dir}/content.pem",
                     f"--tls_key_file={self.tls_dir}/content.key",
                     f"--analytics_tls_ca_file={self.tls_dir}/ca.pem",
                     f"--analytics_tls_cert_file={self.tls_dir}/content-client.pem",
                     f"--analytics_tls_key_file={self.tls_dir}/content-client.key"]
        self.content = Service("content", args, {}, self.log("content"))
        self.content_port = self.content.wait_for_port()
