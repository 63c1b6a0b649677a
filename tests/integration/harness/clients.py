"""Clients that talk to the gateway: curl and `openssl s_client` (real,
independent TLS/HTTP implementations), a keep-alive HTTPS client built on
http.client, and RawConnection for bytes no well-behaved client would send
(smuggling attempts, slowloris trickles)."""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.env import ENV, require_tool


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)


# ---- curl -------------------------------------------------------------------
@dataclass
class CurlResult:
    returncode: int
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    info: dict          # curl's -w '%{json}' (num_connects, ssl_verify_result, ...)
    stderr: str

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)


def curl(port: int, path: str, server_name: str, ca: Path, *args: str,
         urls: list[str] | None = None, timeout: float = 30.0, workdir: Path | None = None) -> CurlResult:
    """Runs curl against https://server_name:port/path resolved to 127.0.0.1.
    `urls` (paths) makes one curl invocation fetch several URLs, reusing its
    connection. --path-as-is keeps curl from normalising the path."""
    tool = require_tool("curl")
    out_dir = Path(workdir) if workdir else Path("/tmp")
    stamp = f"{os.getpid()}-{time.monotonic_ns()}"
    head_file = out_dir / f"curl-{stamp}.head"
    base = f"https://{server_name}:{port}"
    targets = [base + p for p in (urls or [path])]
    body_files = [out_dir / f"curl-{stamp}-{i}.body" for i in range(len(targets))]
    outputs = [a for f in body_files for a in ("-o", str(f))]
    cmd = [tool, "-sS", "--path-as-is", "--cacert", str(ca),
           "--resolve", f"{server_name}:{port}:127.0.0.1",
           "-D", str(head_file), "-w", "%{json}\n",
           "--max-time", str(ENV.timeout(timeout)), *args, *outputs, *targets]
    proc = subprocess.run(cmd, capture_output=True, timeout=ENV.timeout(timeout) + 10)
    infos = [json.loads(l) for l in proc.stdout.decode().splitlines() if l.startswith("{")]
    bodies = [f.read_bytes() if f.exists() else b"" for f in body_files]
    head = head_file.read_bytes().decode("latin-1") if head_file.exists() else ""
    for f in [head_file, *body_files]:
        f.unlink(missing_ok=True)
    blocks = [b for b in head.split("\r\n\r\n") if b.strip()]
    headers = []
    if blocks:
        for line in blocks[-1].split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.append((k.strip(), v.strip()))
    info = infos[-1] if infos else {}
    info["all"] = infos
    body = bodies[-1] if bodies else b""
    return CurlResult(proc.returncode, int(info.get("http_code", 0) or 0), headers, body, info,
                      proc.stderr.decode(errors="replace"))


# ---- openssl s_client ---------------------------------------------------------
@dataclass
class SClientResult:
    returncode: int
    subject: str | None       # leaf subject as printed by s_client (e.g. "CN = a.test")
    verify_ok: bool           # handshake completed and the chain verified against the CA
    protocol: str | None      # negotiated version, None if no handshake completed
    output: str


def s_client(port: int, server_name: str | None, ca: Path, *args: str, timeout: float = 20.0) -> SClientResult:
    """One TLS handshake with `openssl s_client`, sending `server_name` as SNI
    (None: no SNI at all)."""
    cmd = [require_tool("openssl"), "s_client", "-connect", f"127.0.0.1:{port}",
           "-CAfile", str(ca), *args]
    cmd += ["-servername", server_name] if server_name else ["-noservername"]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=ENV.timeout(timeout))
    out = proc.stdout + proc.stderr
    m = re.search(r"^subject=(.*)$", out, re.M)
    # "New, <cipher's version>, Cipher is X" names a real cipher only after a
    # completed handshake; a refused one prints "New, (NONE), Cipher is (NONE)"
    # and still a "Protocol : TLSv1.1" line in its SSL-Session block, so the
    # negotiated version counts only when a cipher was agreed.
    completed = re.search(r"^New, (\S+), Cipher is (?!\(NONE\))\S+", out, re.M)
    protocol = None
    if completed:
        session = re.search(r"^\s*Protocol\s*:\s*(\S+)", out, re.M)
        # TLS 1.3 output may lack the session block; its ciphers are 1.3-only.
        protocol = session.group(1) if session else completed.group(1)
    subject = m.group(1).strip() if m else None
    verified = completed is not None and subject is not None and "Verify return code: 0 (ok)" in out
    return SClientResult(proc.returncode, subject, verified, protocol, out)


# ---- http.client over TLS with explicit SNI ----------------------------------
def client_tls_context(ca: Path, cert=None, minimum=ssl.TLSVersion.TLSv1_2, maximum=None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca))
    ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx


class _SniHTTPSConnection(http.client.HTTPSConnection):
    """Connects to 127.0.0.1:port but presents `server_name` (SNI + Host)."""

    def __init__(self, port: int, server_name: str, ctx: ssl.SSLContext, timeout: float):
        super().__init__(server_name, port, context=ctx, timeout=timeout)
        self._sni_ctx = ctx

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._sni_ctx.wrap_socket(sock, server_hostname=self.host)


class HttpsClient:
    """A keep-alive HTTPS client to the gateway: several requests, one connection."""

    def __init__(self, port: int, server_name: str, ca: Path, timeout: float = 30.0):
        self.conn = _SniHTTPSConnection(port, server_name, client_tls_context(ca), ENV.timeout(timeout))

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: list[tuple[str, str]] | dict | None = None) -> HttpResponse:
        items = list(headers.items() if isinstance(headers, dict) else (headers or []))
        own_host = any(k.lower() == "host" for k, _ in items)
        self.conn.putrequest(method, path, skip_host=own_host, skip_accept_encoding=True)
        for k, v in items:
            self.conn.putheader(k, v)
        if body is not None:
            self.conn.putheader("Content-Length", str(len(body)))
        self.conn.endheaders(body)
        r = self.conn.getresponse()
        data = r.read()
        return HttpResponse(r.status, r.reason, list(r.getheaders()), data)

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def https_request(port: int, server_name: str, ca: Path, method: str, path: str,
                  body: bytes | None = None, headers=None, timeout: float = 30.0) -> HttpResponse:
    with HttpsClient(port, server_name, ca, timeout) as c:
        return c.request(method, path, body, headers)


# ---- raw bytes ---------------------------------------------------------------
class RawConnection:
    """A TLS (or plain) socket for sending arbitrary bytes and reading what comes back."""

    def __init__(self, port: int, server_name: str | None = None, ca: Path | None = None,
                 tls: bool = True, timeout: float = 10.0):
        self.timeout = ENV.timeout(timeout)
        sock = socket.create_connection(("127.0.0.1", port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            sock = client_tls_context(ca).wrap_socket(sock, server_hostname=server_name)
        self.sock = sock
        self.buf = b""
        self.eof = False

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _recv(self, deadline: float) -> bool:
        """Reads once; returns False at EOF/reset. Raises TimeoutError at the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the gateway")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise TimeoutError("no data from the gateway")
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, ssl.SSLEOFError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, timeout: float | None = None, head_request: bool = False) -> HttpResponse:
        """Reads one response (Content-Length, chunked or close-delimited)."""
        deadline = time.monotonic() + (ENV.timeout(timeout) if timeout else self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._recv(deadline):
                raise ConnectionError(f"connection closed before a response (got {self.buf[:200]!r})")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
        resp = HttpResponse(int(status), reason[0] if reason else "", headers, b"", version)
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if head_request or resp.status in (204, 304) or 100 <= resp.status < 200:
            return resp
        if "chunked" in te:
            resp.body = self._read_chunked(deadline)
        elif cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                if not self._recv(deadline):
                    raise ConnectionError("connection closed inside the body")
            resp.body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while self._recv(deadline):
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def _read_chunked(self, deadline: float) -> bytes:
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                if not self._recv(deadline):
                    raise ConnectionError("closed inside chunked body")
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while b"\r\n" not in self.buf:
                    self._recv(deadline)
                while not self.buf.startswith(b"\r\n"):
                    _, self.buf = self.buf.split(b"\r\n", 1)
                    while b"\r\n" not in self.buf:
                        self._recv(deadline)
                self.buf = self.buf[2:]
                return out
            while len(self.buf) < size + 2:
                if not self._recv(deadline):
                    raise ConnectionError("closed inside a chunk")
            out += self.buf[:size]
            self.buf = self.buf[size + 2:]

    def closed_by_peer(self, timeout: float = 10.0) -> bool:
        """Waits until the gateway closes the connection; True if it did in time.
        Any bytes arriving first are kept in self.buf."""
        deadline = time.monotonic() + ENV.timeout(timeout)
        if self.eof:
            return True
        try:
            while self._recv(deadline):
                pass
            return True
        except TimeoutError:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
