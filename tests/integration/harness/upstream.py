"""A configurable HTTP/1.1 upstream standing in for the Core homeserver.

It parses requests itself (not http.server) so that tests see exactly the
bytes the gateway sent: request line, header names and order, duplicates and
body framing. By default it answers with a JSON echo of the request. Request
headers named X-Test-* steer the answer, so that two concurrent requests can
ask for different behaviour:

  X-Test-Status: 201            status code of the answer
  X-Test-Delay: 1.5             sleep before answering
  X-Test-Hold: NAME             block until the test calls release(NAME)
  X-Test-Echo-Body: 1           answer with the request body itself
  X-Test-Response-Bytes: N      answer with N bytes of a fixed pattern
  X-Test-Response-B64: B        answer with these bytes (base64), e.g. a multipart media answer
  X-Test-Content-Type: T        the answer's Content-Type instead of the default for its body
  X-Test-Chunked: 1             use Transfer-Encoding: chunked for the answer
  X-Test-Chunk-Size: N          chunk size (default 4096)
  X-Test-Response-Header: K: V  add a header to the answer (may repeat)
  X-Test-Interim: 100           send an interim 1xx response before the answer
  X-Test-Close: abrupt          close without answering
  X-Test-Close: mid-body        send headers and half the body, then close
  X-Test-Close: after-response  answer fully, then close (no Connection: close)
"""
import hashlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.env import ENV
from harness.pki import Certificate

MAX_HEAD = 1 << 20


@dataclass
class ReceivedRequest:
    connection: int          # 1-based id of the upstream-side TCP connection
    index: int               # 1-based number of this request on that connection
    method: str
    uri: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    framing: str             # "content-length", "chunked" or "none"
    head: bytes              # the raw request line and headers
    client_subject: str | None = None

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def echo(self, upstream_name: str) -> dict:
        return {
            "upstream": upstream_name,
            "connection": self.connection,
            "index": self.index,
            "method": self.method,
            "uri": self.uri,
            "version": self.version,
            "headers": [[k, v] for k, v in self.headers],
            "framing": self.framing,
            "body_length": len(self.body),
            "body_sha256": hashlib.sha256(self.body).hexdigest(),
            "body": self.body.decode("latin-1") if len(self.body) <= 65536 else None,
            "client_subject": self.client_subject,
        }


def pattern_bytes(n: int) -> bytes:
    """Deterministic, non-repeating-looking payload so truncation or reordering shows."""
    block = b"".join(i.to_bytes(2, "big") for i in range(32768))  # 64 KiB
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


class _Closed(Exception):
    pass


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def until(self, marker: bytes, limit: int) -> bytes:
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("head too large")
            self._fill()
        head, self.buf = self.buf.split(marker, 1)
        return head

    def exactly(self, n: int) -> bytes:
        parts, have = [], 0
        if self.buf:
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            parts.append(take)
            have = len(take)
        while have < n:
            chunk = self.sock.recv(min(1 << 20, n - have))
            if not chunk:
                raise _Closed()
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)


class EchoUpstream:
    """Threaded upstream on 127.0.0.1:<free port>. Use as a context manager or
    call start()/stop(). With `tls` it speaks HTTPS; with `client_ca` as well it
    requires a client certificate signed by that CA."""

    def __init__(self, name: str = "upstream", tls: Certificate | None = None,
                 client_ca: Path | None = None, host: str = "127.0.0.1"):
        self.name = name
        self.host = host
        self._tls_ctx = None
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(tls.cert), str(tls.key))
            if client_ca is not None:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(str(client_ca))
            self._tls_ctx = ctx
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._holds: dict[str, threading.Event] = {}
        self._socks: set[socket.socket] = set()
        self.requests: list[ReceivedRequest] = []
        self.connections = 0          # TCP connections accepted so far
        self.handshake_failures = 0   # TLS handshakes that failed
        self.errors: list[str] = []   # malformed requests the gateway sent us
        self._listener: socket.socket | None = None
        self._stopping = False
        self.port = 0

    # ---- lifecycle -------------------------------------------------------
    def start(self) -> "EchoUpstream":
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, self.port))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True).start()
        return self

    def stop(self):
        """Stops listening and closes every open connection (port stays free)."""
        self._stopping = True
        for ev in list(self._holds.values()):
            ev.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- test controls ---------------------------------------------------
    def release(self, hold: str):
        """Lets every request carrying `X-Test-Hold: hold` answer."""
        self._hold(hold).set()

    def _hold(self, name: str) -> threading.Event:
        with self._lock:
            return self._holds.setdefault(name, threading.Event())

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Blocks until at least `count` requests have arrived (deadline scaled for ASan)."""
        deadline = time.monotonic() + ENV.timeout(timeout)
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: {len(self.requests)} of {count} requests arrived")
                self._cond.wait(left)
            return list(self.requests)

    def last(self) -> ReceivedRequest:
        with self._lock:
            return self.requests[-1]

    # ---- serving ---------------------------------------------------------
    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                conn_id = self.connections
            threading.Thread(target=self._serve, args=(sock, conn_id),
                             name=f"{self.name}-conn{conn_id}", daemon=True).start()

    def _serve(self, sock: socket.socket, conn_id: int):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        subject = None
        if self._tls_ctx is not None:
            try:
                sock.settimeout(ENV.timeout(10))
                sock = self._tls_ctx.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
            except (ssl.SSLError, OSError):
                with self._lock:
                    self.handshake_failures += 1
                sock.close()
                return
            peer = sock.getpeercert()
            if peer:
                subject = ",".join(f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn)
        with self._lock:
            self._socks.add(sock)
        reader = _Reader(sock)
        index = 0
        try:
            while not self._stopping:
                index += 1
                req = self._read_request(reader, conn_id, index)
                req.client_subject = subject
                with self._cond:
                    self.requests.append(req)
                    self._cond.notify_all()
                if not self._respond(sock, req):
                    break
        except _Closed:
            pass
        except (OSError, ssl.SSLError):
            pass
        except ValueError as e:
            with self._lock:
                self.errors.append(str(e))
            try:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
        finally:
            with self._lock:
                self._socks.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _read_request(self, reader: _Reader, conn_id: int, index: int) -> ReceivedRequest:
        head = reader.until(b"\r\n\r\n", MAX_HEAD)
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            raise ValueError(f"bad request line {lines[0]!r}")
        method, uri, version = (p.decode("latin-1") for p in parts)
        headers = []
        for line in lines[1:]:
            if b":" not in line or line[:1] in (b" ", b"\t"):
                raise ValueError(f"bad header line {line!r}")
            k, v = line.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        te = [v.lower() for k, v in headers if k.lower() == "transfer-encoding"]
        cl = [v for k, v in headers if k.lower() == "content-length"]
        if te and cl:
            raise ValueError("gateway sent both Transfer-Encoding and Content-Length")
        if len(cl) > 1:
            raise ValueError("gateway sent several Content-Length headers")
        if te:
            if te != ["chunked"]:
                raise ValueError(f"unexpected Transfer-Encoding {te}")
            body, framing = self._read_chunked(reader), "chunked"
        elif cl:
            body, framing = reader.exactly(int(cl[0])), "content-length"
        else:
            body, framing = b"", "none"
        return ReceivedRequest(conn_id, index, method, uri, version, headers, body, framing,
                               head + b"\r\n\r\n")

    @staticmethod
    def _read_chunked(reader: _Reader) -> bytes:
        parts = []
        while True:
            size_line = reader.until(b"\r\n", 1024)
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                while reader.until(b"\r\n", MAX_HEAD):  # trailers
                    pass
                return b"".join(parts)
            parts.append(reader.exactly(size))
            if reader.exactly(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")

    def _respond(self, sock, req: ReceivedRequest) -> bool:
        """Sends the answer; returns whether the connection stays open."""
        hold = req.header("X-Test-Hold")
        if hold:
            self._hold(hold).wait(ENV.timeout(60))
        delay = req.header("X-Test-Delay")
        if delay:
            time.sleep(float(delay))
        close_mode = (req.header("X-Test-Close") or "").lower()
        if close_mode == "abrupt":
            sock.close()
            return False
        status = int(req.header("X-Test-Status") or 200)
        extra = [h.split(":", 1) for h in req.header_all("X-Test-Response-Header")]
        if req.header("X-Test-Echo-Body"):
            body, ctype = req.body, "application/octet-stream"
        elif req.header("X-Test-Response-Json"):
            body, ctype = req.header("X-Test-Response-Json").encode(), "application/json"
        elif req.header("X-Test-Response-B64"):
            import base64
            body = base64.b64decode(req.header("X-Test-Response-B64"))
            ctype = "application/octet-stream"
        elif req.header("X-Test-Response-Media-Bytes"):
            # A federation media answer (multipart/mixed: JSON metadata, then N bytes of PNG).
            n = int(req.header("X-Test-Response-Media-Bytes"))
            body = (b"--bgmedia\r\nContent-Type: application/json\r\n\r\n{}\r\n"
                    b"--bgmedia\r\nContent-Type: image/png\r\n\r\n" + pattern_bytes(n) +
                    b"\r\n--bgmedia--\r\n")
            ctype = "multipart/mixed; boundary=bgmedia"
        elif req.header("X-Test-Response-Bytes"):
            body, ctype = pattern_bytes(int(req.header("X-Test-Response-Bytes"))), "application/octet-stream"
        else:
            body = json.dumps(req.echo(self.name)).encode()
            ctype = "application/json"
        ctype = req.header("X-Test-Content-Type") or ctype
        if req.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        chunked = bool(req.header("X-Test-Chunked"))
        wants_close = any(v.lower() == "close" for v in req.header_all("Connection"))
        head = [f"HTTP/1.1 {status} {_reason(status)}", f"Content-Type: {ctype}",
                f"X-Upstream: {self.name}"]
        head += [f"{k.strip()}: {v.strip()}" for k, v in extra]
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
        if wants_close:
            head.append("Connection: close")
        out = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        interim = req.header("X-Test-Interim")
        if interim:
            out = f"HTTP/1.1 {interim} {_reason(int(interim))}\r\n\r\n".encode() + out
        if close_mode == "mid-body":
            sock.sendall(out + body[: len(body) // 2])
            sock.close()
            return False
        if chunked:
            size = int(req.header("X-Test-Chunk-Size") or 4096)
            sock.sendall(out)
            for off in range(0, len(body), size):
                piece = body[off:off + size]
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        else:
            sock.sendall(out + body)
        if close_mode == "after-response" or wants_close:
            sock.close()
            return False
        return True


def _reason(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"
