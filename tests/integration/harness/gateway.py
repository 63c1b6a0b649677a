"""Runs the real `bordergate serve` binary for a test: writes its YAML config
from a Python dict, starts it, waits for the admin /readyz, captures its JSON
log lines from stderr, reloads it with SIGHUP and stops it with SIGTERM.

Stopping is a check in itself: a non-zero exit, a death by signal, or any
sanitizer report on stderr raises GatewayFailed, so every test also proves the
process shut down cleanly."""
import copy
import http.client
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import yaml

from harness.env import ENV
from harness.pki import Certificate
from harness.ports import free_port, free_udp_port

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)


class GatewayFailed(AssertionError):
    """The gateway process misbehaved (did not become ready, crashed, exited non-zero)."""


def base_config(
    state_dir: Path,
    certificates: list[tuple[list[str], Certificate]],
    upstream_port: int,
    federation_port: int | None = None,
    admin_port: int | None = None,
    workers: int = 1,
) -> dict:
    """The shipped example config (deploy/examples/bordergate.yaml) with test
    ports, absolute test paths and small limits. Tests change the dict freely.

    Discovery never reaches the system resolver: `no_dns_discovery()` points it at
    an unused loopback port, so a lookup a test forgot to route (static route or
    dnsmasq) fails at once instead of leaking a query out of the machine."""
    return {
        "version": 1,
        "server_name": certificates[0][0][0] if certificates else "core.bordergate.test",
        "state_dir": str(state_dir),
        "workers": workers,
        "listeners": {
            "federation": [{
                "address": "127.0.0.1",
                "port": federation_port or free_port(),
                "tls": {
                    "min_version": "1.2",
                    "certificates": [
                        {"server_names": list(names), "certificate": str(c.cert),
                         "private_key": str(c.key)}
                        for names, c in certificates
                    ],
                },
            }],
            "admin": {"address": "127.0.0.1", "port": admin_port or free_port()},
        },
        "upstream": {
            "host": "127.0.0.1",
            "port": upstream_port,
            "tls": {"enabled": False},
            "connect_timeout": "5s",
            "response_timeout": "30s",
            "max_idle_connections": 8,
        },
        "limits": {
            "max_header_bytes": 16384,
            "max_headers": 100,
            "max_body_bytes": 13107200,
            "header_timeout": "10s",
            "body_timeout": "30s",
            "idle_timeout": "60s",
            "max_connections": 1024,
        },
        "shutdown": {"drain_timeout": "20s"},
        "logging": {"level": "info"},
        "discovery": no_dns_discovery(),
        # Most tests exercise the proxy itself; enforcing tests call with_policy().
        "inbound_enforcement": "pass_through",
    }


def with_policy(config: dict, policy_path) -> dict:
    """Turns a base_config() into an enforcing one: names the policy file and drops
    the pass-through switch (the gateway refuses a config holding both)."""
    config.pop("inbound_enforcement", None)
    config["policy"] = str(policy_path)
    return config


def no_dns_discovery() -> dict:
    """A `discovery:` section whose only resolver is a loopback port nothing listens on
    (queries are refused by the kernel: lookups fail fast and stay on this machine)."""
    return {"resolvers": [f"127.0.0.1:{free_udp_port()}"], "dns_timeout": "2s",
            "connect_timeout": "3s", "request_timeout": "10s"}


def assert_loopback_discovery(config: dict):
    """The guard behind "no test resolves through the system DNS": a config without
    loopback resolvers would make the gateway read /etc/resolv.conf."""
    resolvers = (config.get("discovery") or {}).get("resolvers") or []
    if not resolvers:
        raise AssertionError("test config without discovery.resolvers: the gateway would use "
                             "the system resolver (use harness.gateway.no_dns_discovery())")
    for r in resolvers:
        host = r.rsplit(":", 1)[0] if not r.startswith("[") else r[1:r.index("]")]
        if not (host.startswith("127.") or host == "::1"):
            raise AssertionError(f"test resolver {r} is not on loopback")


def sanitizer_env() -> dict:
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:"
                                   "check_initialization_order=1:strict_init_order=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.setdefault("LSAN_OPTIONS", "report_objects=0")
    # The resolver reads the hosts file before DNS (c-ares' CARES_HOSTS replaces /etc/hosts):
    # tests see only the hosts files they write, never the machine's.
    env.setdefault("CARES_HOSTS", "/dev/null")
    return env


def run_cli(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs `bordergate ARGS...` to completion (check-config, version, ...)."""
    return subprocess.run([str(ENV.bordergate), *args], capture_output=True, text=True,
                          timeout=ENV.timeout(timeout), env=sanitizer_env())


def sanitizer_reports(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


class Gateway:
    def __init__(self, workdir: Path, config: dict, name: str = "gateway",
                 env: dict | None = None):
        self.dir = Path(workdir)
        self.extra_env = dict(env or {})  # added to the environment of every start
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.config_path = self.dir / f"{name}.yaml"
        self.stderr_path = self.dir / f"{name}.stderr"
        self.config = copy.deepcopy(config)
        self.proc: subprocess.Popen | None = None
        self.stop_requested = False  # SIGTERM/SIGINT already sent
        self._lines: list[str] = []
        self._lines_lock = threading.Condition()
        self._reader: threading.Thread | None = None
        self.write_config()

    # ---- configuration ---------------------------------------------------
    def write_config(self, config: dict | None = None, text: str | None = None):
        """Writes the YAML the gateway reads (atomically: rename over the old file,
        so a SIGHUP never sees a half-written file)."""
        if config is not None:
            self.config = copy.deepcopy(config)
        if text is None:
            assert_loopback_discovery(self.config)
        body = text if text is not None else yaml.safe_dump(self.config, sort_keys=False)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(body)
        tmp.replace(self.config_path)

    @property
    def port(self) -> int:
        return self.config["listeners"]["federation"][0]["port"]

    @property
    def admin_port(self) -> int:
        return self.config["listeners"]["admin"]["port"]

    # ---- lifecycle -------------------------------------------------------
    def start(self, wait: bool | str = True, extra_args: list[str] | None = None) -> "Gateway":
        """wait: True/"ready" waits for /readyz 200 (which needs a reachable Core);
        "listening" only for /healthz 200 and the `listening` log event (for tests
        whose upstream is down on purpose); False returns at once."""
        if not ENV.bordergate.exists():
            raise GatewayFailed(f"binary not found: {ENV.bordergate} (set BORDERGATE)")
        self.proc = subprocess.Popen(
            [str(ENV.bordergate), "serve", "--config", str(self.config_path), *(extra_args or [])],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**sanitizer_env(), **self.extra_env},
        )
        self.stop_requested = False
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if wait == "listening":
            self.wait_listening()
        elif wait:
            self.wait_ready()
        return self

    def _read_stderr(self):
        with open(self.stderr_path, "w", encoding="utf-8", errors="replace") as out:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                out.write(line + "\n")
                out.flush()
                with self._lines_lock:
                    self._lines.append(line)
                    self._lines_lock.notify_all()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float = 15.0):
        deadline = time.monotonic() + ENV.timeout(timeout)
        last = None
        while time.monotonic() < deadline:
            if not self.running():
                self._join_reader()
                raise GatewayFailed(f"{self.name} exited with {self.proc.returncode} before ready:\n"
                                    + self.stderr_tail())
            try:
                status, _, _ = self.admin("/readyz", timeout=1.0)
                if status == 200:
                    return
                last = f"/readyz answered {status}"
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        raise GatewayFailed(f"{self.name} not ready after {ENV.timeout(timeout)}s ({last}):\n"
                            + self.stderr_tail())

    def wait_listening(self, timeout: float = 15.0):
        deadline = time.monotonic() + ENV.timeout(timeout)
        while time.monotonic() < deadline:
            if not self.running():
                self._join_reader()
                raise GatewayFailed(f"{self.name} exited with {self.proc.returncode} before listening:\n"
                                    + self.stderr_tail())
            if any(r.get("event") == "listening" for r in self.log_records()):
                try:
                    if self.admin("/healthz", timeout=1.0)[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise GatewayFailed(f"{self.name} not listening after {ENV.timeout(timeout)}s:\n"
                            + self.stderr_tail())

    def send_signal(self, sig: int):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.stop_requested = True
        self.proc.send_signal(sig)

    def reload(self, config: dict | None = None, text: str | None = None):
        """Optionally rewrites the config, then sends SIGHUP."""
        if config is not None or text is not None:
            self.write_config(config, text)
        self.send_signal(signal.SIGHUP)

    def wait_exit(self, timeout: float = 30.0) -> int:
        try:
            rc = self.proc.wait(ENV.timeout(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._join_reader()
            raise GatewayFailed(f"{self.name} did not exit within {ENV.timeout(timeout)}s:\n"
                                + self.stderr_tail())
        self._join_reader()
        return rc

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM, check: bool = True) -> int:
        """SIGTERM and wait. With check, fails unless the exit was clean (status 0,
        no signal death, no sanitizer report)."""
        if self.proc is None:
            return 0
        # A second SIGTERM forces an immediate stop (death by signal): if the test
        # already asked for a drain, only wait for it to finish.
        if self.proc.poll() is None and not self.stop_requested:
            self.send_signal(sig)
        rc = self.wait_exit(timeout)
        if check:
            self.check_clean_exit(rc)
        return rc

    def check_clean_exit(self, rc: int):
        reports = sanitizer_reports(self.stderr())
        if reports:
            raise GatewayFailed(f"{self.name}: sanitizer report:\n" + self.stderr_tail(200))
        if rc < 0:
            raise GatewayFailed(f"{self.name} died by signal {-rc}:\n" + self.stderr_tail())
        if rc != 0:
            raise GatewayFailed(f"{self.name} exited with status {rc}:\n" + self.stderr_tail())

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()
        self._join_reader()

    def _join_reader(self):
        if self._reader is not None:
            self._reader.join(timeout=10)
            if not self._reader.is_alive() and self.proc.stderr and not self.proc.stderr.closed:
                self.proc.stderr.close()

    # ---- logs ------------------------------------------------------------
    def stderr(self) -> str:
        with self._lines_lock:
            return "\n".join(self._lines)

    def stderr_tail(self, n: int = 40) -> str:
        with self._lines_lock:
            return "\n".join(self._lines[-n:])

    def log_records(self) -> list[dict]:
        """Every stderr line that is a JSON object (the structured log)."""
        out = []
        with self._lines_lock:
            lines = list(self._lines)
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def non_json_lines(self) -> list[str]:
        with self._lines_lock:
            lines = list(self._lines)
        bad = []
        for line in lines:
            try:
                if isinstance(json.loads(line), dict):
                    continue
            except ValueError:
                pass
            bad.append(line)
        return bad

    def wait_for_log(self, predicate, timeout: float = 10.0, start: int = 0) -> dict:
        """Waits for a JSON log record (from record number `start` on) matching predicate."""
        deadline = time.monotonic() + ENV.timeout(timeout)
        while True:
            recs = self.log_records()[start:]
            for rec in recs:
                if predicate(rec):
                    return rec
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching log record:\n" + self.stderr_tail())
            with self._lines_lock:
                self._lines_lock.wait(min(left, 0.2))

    # ---- admin -----------------------------------------------------------
    def admin(self, path: str, timeout: float = 5.0) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=ENV.timeout(timeout))
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def readiness(self) -> tuple[int, dict]:
        """/readyz: its status and its JSON body (reason, inbound_enforcement)."""
        status, _, body = self.admin("/readyz")
        return status, json.loads(body)

    def metrics_text(self) -> str:
        status, _, body = self.admin("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return body.decode()
