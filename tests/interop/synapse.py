"""A real Synapse homeserver (1.67.0, from the source tarball in shared/synapse) as a test peer.

Nothing is downloaded: the tarball is unpacked once into the build folder and runs from Debian's
Python packages (scripts/install-deps installs them). Synapse refuses to start unless the
installed metadata of `matrix-synapse` lists its requirements, so `prepare_source` writes a
`matrix_synapse-<version>.dist-info` translated from the tarball's own pyproject.toml: Synapse's
start-up check then really runs against Debian's versions.

Every homeserver runs in a private mount namespace (`unshare -m`) whose /etc/hosts names the test's
servers and whose /etc/resolv.conf names the test's own dnsmasq on a loopback address: Synapse's
SRV lookups (Twisted's resolver reads resolv.conf) and its getaddrinfo calls never leave
127.0.0.0/8, and the machine's own files are never touched."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import signedjson.key
import yaml

PYTHON = "/usr/bin/python3"
TARBALL_NAME = "synapse-1.67.0.tar.gz"


def die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies, however it dies (a ctest
    timeout kills only the test), so no homeserver outlives its suite."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def find_tarball(source_dir: Path) -> Path | None:
    """BG_SYNAPSE_TARBALL wins; otherwise shared/synapse beside the project (CI has it, a
    user's fresh clone does not)."""
    override = os.environ.get("BG_SYNAPSE_TARBALL")
    if override:
        path = Path(override)
        return path if path.is_file() else None
    candidate = source_dir.parent / "shared" / "synapse" / TARBALL_NAME
    return candidate if candidate.is_file() else None


def missing_python_modules() -> list[str]:
    """Modules Synapse and the E2E clients import, checked with Debian's python3."""
    modules = ["twisted", "treq", "nacl", "signedjson", "canonicaljson", "unpaddedbase64",
               "jsonschema", "frozendict", "yaml", "pyasn1", "pyasn1_modules", "OpenSSL",
               "service_identity", "msgpack", "phonenumbers", "PIL", "bleach", "jinja2",
               "prometheus_client", "attr", "netaddr", "bcrypt", "pymacaroons",
               "sortedcontainers", "typing_extensions", "ijson", "matrix_common",
               "cryptography", "idna", "pydantic", "packaging", "nio", "olm"]
    code = ("import importlib.util,sys;"
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))")
    out = subprocess.run([PYTHON, "-c", code, *modules], capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def _caret(version: str) -> str:
    """Poetry's ^x.y.z as a PEP 440 specifier."""
    parts = [int(p) for p in version.split(".")]
    for i, p in enumerate(parts):
        if p != 0 or i == len(parts) - 1:
            upper = parts[:i] + [p + 1]
            break
    return f">={version},<{'.'.join(map(str, upper))}"


def _specifier(constraint: str) -> str:
    constraint = constraint.strip()
    if constraint == "*":
        return ""
    if constraint.startswith("^"):
        return _caret(constraint[1:])
    if constraint[0].isdigit():
        return "==" + constraint
    return constraint


def requirements_metadata(pyproject: dict) -> str:
    """METADATA for matrix-synapse: Requires-Dist and Provides-Extra from [tool.poetry]."""
    poetry = pyproject["tool"]["poetry"]
    extras: dict[str, list[str]] = poetry.get("extras", {})
    lines = ["Metadata-Version: 2.1", f"Name: {poetry['name']}", f"Version: {poetry['version']}"]
    lines += [f"Provides-Extra: {name}" for name in extras]
    for name, spec in poetry["dependencies"].items():
        if name == "python":
            continue
        markers = []
        if isinstance(spec, str):
            version, optional = spec, False
        else:
            version, optional = spec.get("version", "*"), spec.get("optional", False)
            if "python" in spec:  # backports for old interpreters: never needed here
                continue
            if "markers" in spec:
                markers.append(f"({spec['markers']})")
        base = name + (f" ({_specifier(version)})" if _specifier(version) else "")
        if optional:
            for extra, members in extras.items():
                if extra != "all" and name in members:
                    lines.append(f"Requires-Dist: {base}; extra == \"{extra}\""
                                 + "".join(f" and {m}" for m in markers))
        else:
            lines.append(f"Requires-Dist: {base}" + (f"; {' and '.join(markers)}" if markers else ""))
    return "\n".join(lines) + "\n"


def prepare_source(tarball: Path, cache_dir: Path) -> Path:
    """Unpacks the tarball once (keyed by its SHA-256) and writes the dist-info beside it.
    Returns the folder to put on PYTHONPATH."""
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
    root = cache_dir / f"synapse-{digest}"
    done = root / ".prepared"
    if done.exists():
        return root / "src"
    if root.exists():
        shutil.rmtree(root)
    (root / "src").mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():  # Debian's 3.11 predates extraction filters
            if member.name.startswith("/") or ".." in Path(member.name).parts or not (
                    member.isfile() or member.isdir()):
                raise RuntimeError(f"{tarball}: unexpected member {member.name!r}")
        tar.extractall(root / "unpacked")
    top = next((root / "unpacked").iterdir())
    shutil.move(str(top / "synapse"), str(root / "src" / "synapse"))
    pyproject = tomllib.loads((top / "pyproject.toml").read_text())
    version = pyproject["tool"]["poetry"]["version"]
    info = root / "src" / f"matrix_synapse-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(requirements_metadata(pyproject))
    (info / "top_level.txt").write_text("synapse\n")
    shutil.copy(top / "LICENSE", root / "src" / "SYNAPSE-LICENSE")
    shutil.rmtree(root / "unpacked")
    done.write_text(str(tarball) + "\n")
    return root / "src"


class ClientError(AssertionError):
    def __init__(self, status: int, body: dict, what: str):
        super().__init__(f"{what}: HTTP {status} {body}")
        self.status = status
        self.body = body


class Homeserver:
    """One Synapse: its folder, configuration, process and a client-server API client on its
    loopback client listener (plain HTTP, never through the gateway)."""

    def __init__(self, name: str, server_name: str, folder: Path, source: Path, *,
                 client_port: int, federation: dict, hosts_file: Path, resolv_conf: Path,
                 ca_file: Path, env: dict | None = None, extra_config: dict | None = None):
        self.name = name
        self.server_name = server_name
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.client_port = client_port
        self.base = f"http://127.0.0.1:{client_port}"
        self.hosts_file = hosts_file
        self.resolv_conf = resolv_conf
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "homeserver.log"
        key = signedjson.key.generate_signing_key("a_" + name[:4])
        with open(self.dir / "signing.key", "w") as f:
            signedjson.key.write_signing_keys(f, [key])
        self.signing_key = key
        self.config = self._config(federation, ca_file)
        for k, v in (extra_config or {}).items():
            self.config[k] = v
        (self.dir / "homeserver.yaml").write_text(yaml.safe_dump(self.config, sort_keys=False))
        (self.dir / "log.yaml").write_text(yaml.safe_dump(self._log_config(), sort_keys=False))

    # ---- configuration -------------------------------------------------------------------
    def _config(self, federation: dict, ca_file: Path) -> dict:
        generous = {"per_second": 1000, "burst_count": 1000}
        return {
            "server_name": self.server_name,
            "pid_file": str(self.dir / "homeserver.pid"),
            "public_baseurl": self.base + "/",
            "listeners": [
                {"port": self.client_port, "bind_addresses": ["127.0.0.1"], "type": "http",
                 "tls": False, "x_forwarded": False,
                 "resources": [{"names": ["client"], "compress": False}]},
                federation,
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.dir / "homeserver.db")}},
            "log_config": str(self.dir / "log.yaml"),
            "media_store_path": str(self.dir / "media"),
            "signing_key_path": str(self.dir / "signing.key"),
            "report_stats": False,
            "enable_metrics": False,
            "enable_registration": True,
            "enable_registration_without_verification": True,
            "macaroon_secret_key": os.urandom(16).hex(),
            "form_secret": os.urandom(16).hex(),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_verify_certificates": True,
            "federation_custom_ca_list": [str(ca_file)],
            "ip_range_whitelist": ["127.0.0.0/8"],
            "federation_ip_range_blacklist": [],
            "url_preview_enabled": False,
            # Synapse would refuse its directory to other servers by itself; open it, so that a
            # refusal the suite sees is the gateway's policy and nothing else.
            "allow_public_rooms_over_federation": True,
            "presence": {"enabled": True},
            "rc_message": generous, "rc_registration": generous, "rc_joins":
                {"local": generous, "remote": generous},
            "rc_login": {"address": generous, "account": generous, "failed_attempts": generous},
            "rc_invites": {"per_room": generous, "per_user": generous, "per_issuer": generous},
            "rc_federation": {"window_size": 1000, "sleep_limit": 1000, "sleep_delay": 1,
                              "reject_limit": 1000, "concurrent": 100},
            "rc_key_requests": generous,
            "rc_3pid_validation": generous,
            "rc_admin_redaction": generous,
            "rc_joins_per_room": generous,
        }

    def _log_config(self) -> dict:
        return {
            "version": 1,
            "formatters": {"precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - "
                                                 "%(levelname)s - %(request)s - %(message)s"}},
            "filters": {"context": {"()": "synapse.logging.context.LoggingContextFilter",
                                    "request": ""}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "precise",
                                  "filename": str(self.log_path), "filters": ["context"]}},
            "loggers": {"synapse.storage.SQL": {"level": "WARNING"},
                        "twisted": {"level": "WARNING"}},
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    # ---- process -------------------------------------------------------------------------
    def start(self):
        inner = ("mount --bind \"$1\" /etc/hosts && mount --bind \"$2\" /etc/resolv.conf && "
                 "shift 2 && exec \"$@\"")
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("https_proxy", "http_proxy", "no_proxy", "all_proxy")}
        env.update({"PYTHONPATH": str(self.source), "SYNAPSE_ASYNC_IO_REACTOR": "0",
                    "PYTHONDONTWRITEBYTECODE": "1"})
        env.update(self.env)
        self.stdout = open(self.dir / "stdout.log", "ab")
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", inner, "synapse",
             str(self.hosts_file), str(self.resolv_conf),
             PYTHON, "-m", "synapse.app.homeserver", "-c", str(self.dir / "homeserver.yaml")],
            cwd=self.dir, env=env, stdout=self.stdout, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent)

    def wait_ready(self, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: Synapse exited with {self.proc.returncode}:\n"
                                   + self.tail())
            try:
                with urllib.request.urlopen(self.base + "/_matrix/client/versions", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"{self.name}: Synapse not ready after {timeout} s:\n" + self.tail())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "stdout", None):
            self.stdout.close()
            self.stdout = None

    def restart(self):
        self.stop()
        self.start()
        self.wait_ready()

    def tail(self, lines: int = 60) -> str:
        text = ""
        for p in (self.dir / "stdout.log", self.log_path):
            if p.exists():
                text += f"--- {p.name} ---\n" + "\n".join(
                    p.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- client-server API ---------------------------------------------------------------
    def call(self, method: str, path: str, body=None, token: str | None = None,
             ok=(200,), raw: bytes | None = None, content_type: str = "application/json",
             timeout: float = 30) -> dict:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        try:
            parsed = json.loads(payload) if payload else {}
        except ValueError:
            parsed = {"raw": payload}
        if status not in ok:
            raise ClientError(status, parsed, f"{self.name} {method} {path}")
        return parsed

    def register(self, localpart: str, password: str = "interop-password") -> "User":
        body = {"username": localpart, "password": password, "auth": {"type": "m.login.dummy"},
                "inhibit_login": False, "initial_device_display_name": "interop"}
        answer = self.call("POST", "/_matrix/client/v3/register", body)
        return User(self, answer["user_id"], answer["access_token"], answer["device_id"], password)


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class User:
    """A logged-in user of one homeserver."""

    def __init__(self, hs: Homeserver, user_id: str, token: str, device_id: str, password: str):
        self.hs, self.user_id, self.token, self.device_id = hs, user_id, token, device_id
        self.password = password
        self._txn = 0

    def call(self, method: str, path: str, body=None, **kw) -> dict:
        return self.hs.call(method, path, body, token=self.token, **kw)

    def create_room(self, **body) -> str:
        return self.call("POST", "/_matrix/client/v3/createRoom", body)["room_id"]

    def invite(self, room_id: str, user_id: str, **kw):
        return self.call("POST", f"/_matrix/client/v3/rooms/{q(room_id)}/invite",
                         {"user_id": user_id}, **kw)

    def join(self, room_id: str, via: str | None = None, **kw) -> dict:
        path = f"/_matrix/client/v3/join/{q(room_id)}" + (f"?server_name={q(via)}" if via else "")
        return self.call("POST", path, {}, **kw)

    def leave(self, room_id: str):
        return self.call("POST", f"/_matrix/client/v3/rooms/{q(room_id)}/leave", {})

    def send(self, room_id: str, body: str, event_type: str = "m.room.message",
             content: dict | None = None) -> str:
        self._txn += 1
        content = content if content is not None else {"msgtype": "m.text", "body": body}
        path = (f"/_matrix/client/v3/rooms/{q(room_id)}/send/{q(event_type)}/"
                f"t{self._txn}-{time.monotonic_ns()}")
        return self.call("PUT", path, content)["event_id"]

    def typing(self, room_id: str, typing: bool = True):
        return self.call("PUT", f"/_matrix/client/v3/rooms/{q(room_id)}/typing/{q(self.user_id)}",
                         {"typing": typing, "timeout": 30000})

    def receipt(self, room_id: str, event_id: str):
        return self.call("POST", f"/_matrix/client/v3/rooms/{q(room_id)}/receipt/m.read/"
                                 f"{q(event_id)}", {})

    def set_presence(self, presence: str, status_msg: str = ""):
        return self.call("PUT", f"/_matrix/client/v3/presence/{q(self.user_id)}/status",
                         {"presence": presence, "status_msg": status_msg})

    def presence_of(self, user_id: str) -> dict:
        return self.call("GET", f"/_matrix/client/v3/presence/{q(user_id)}/status")

    def set_displayname(self, name: str):
        return self.call("PUT", f"/_matrix/client/v3/profile/{q(self.user_id)}/displayname",
                         {"displayname": name})

    def profile_of(self, user_id: str, **kw) -> dict:
        return self.call("GET", f"/_matrix/client/v3/profile/{q(user_id)}", **kw)

    def event(self, room_id: str, event_id: str, **kw) -> dict:
        return self.call("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/event/{q(event_id)}", **kw)

    def messages(self, room_id: str, limit: int = 100) -> list[dict]:
        answer = self.call("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/messages?dir=b"
                                  f"&limit={limit}")
        return answer.get("chunk", [])

    def members(self, room_id: str) -> dict:
        answer = self.call("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/joined_members")
        return answer.get("joined", {})

    def sync(self, since: str | None = None, timeout_ms: int = 0, filter_json: str | None = None):
        path = f"/_matrix/client/v3/sync?timeout={timeout_ms}"
        if since:
            path += f"&since={q(since)}"
        if filter_json:
            path += f"&filter={q(filter_json)}"
        return self.call("GET", path, timeout=timeout_ms / 1000 + 30)

    def fresh_token(self) -> str:
        """A sync token of now. An initial sync (no `since`) may come from Synapse's sync
        response cache (minutes old); one incremental sync from it gives a current token."""
        first = self.sync()["next_batch"]
        return self.sync(since=first)["next_batch"]

    def wait_sync(self, what: str, predicate, since: str | None = None, timeout: float = 30):
        """Incremental long-polling syncs from `since` (default: now) until predicate(sync)
        is truthy; returns its value. Each sync only holds what happened after the last."""
        since = since or self.fresh_token()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.sync(since=since, timeout_ms=1000)
            since = answer["next_batch"]
            value = predicate(answer)
            if value:
                return value
        raise AssertionError(f"{self.user_id}: timed out after {timeout} s waiting for {what}")

    def upload(self, data: bytes, content_type: str, filename: str = "file.bin") -> str:
        answer = self.call("POST", f"/_matrix/media/v3/upload?filename={q(filename)}",
                           raw=data, content_type=content_type)
        return answer["content_uri"]

    def download(self, mxc: str, timeout: float = 30) -> tuple[int, bytes, str]:
        server, media_id = re.fullmatch(r"mxc://([^/]+)/(.+)", mxc).groups()
        req = urllib.request.Request(
            f"{self.hs.base}/_matrix/media/v3/download/{q(server)}/{q(media_id)}")
        req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("Content-Type", "")
