"""Helpers for the outbound proxy tests: a Python "Core" that uses the gateway exactly as Synapse
does with `https_proxy` (CONNECT host:port with Proxy-Authorization Basic, then TLS inside the
tunnel trusting only the interception CA, X-Matrix-signed requests made with python3-signedjson),
and external TLS test peers that record the exact bytes they receive and check the Core's
signature themselves. Loopback only."""
from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import signedjson.key
import signedjson.sign

from harness.env import ENV


class ProxyRefused(Exception):
    def __init__(self, status: int, head: bytes):
        super().__init__(f"proxy answered {status}")
        self.status = status
        self.head = head


def read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_response(sock) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response with Content-Length framing (what the gateway sends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        body += chunk
    return status, headers, body


class Core:
    """The Core homeserver as a proxy client: its name, signing key and proxy credentials."""

    def __init__(self, name: str, proxy_port: int, interception_ca: str,
                 credentials: tuple[str, str], key=None):
        self.name = name
        self.proxy_port = proxy_port
        self.interception_ca = interception_ca
        self.credentials = credentials
        self.key = key or signedjson.key.generate_signing_key("c1")
        self.key_id = f"{self.key.alg}:{self.key.version}"
        self.verify_key = signedjson.key.get_verify_key(self.key)

    def proxy_authorization(self, credentials=None) -> str:
        user, password = credentials or self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def connect(self, target: str, credentials=None, auth: bool = True,
                raw_head: bytes | None = None) -> socket.socket:
        """CONNECT `target` (host:port); returns the open tunnel or raises ProxyRefused."""
        sock = self.open_proxy()
        if raw_head is None:
            head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
            if auth:
                head += f"Proxy-Authorization: {self.proxy_authorization(credentials)}\r\n"
            raw_head = (head + "\r\n").encode()
        sock.sendall(raw_head)
        answer = read_head(sock)
        status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        if status != 200:
            sock.close()
            raise ProxyRefused(status, answer)
        return sock

    def open_proxy(self) -> socket.socket:
        """The connection to the proxy listener (plain here; TlsProxyCore wraps it in TLS)."""
        return socket.create_connection(("127.0.0.1", self.proxy_port), timeout=ENV.timeout(10))

    def tls(self, sock: socket.socket, server_hostname: str, ca: str | None = None):
        context = ssl.create_default_context(cafile=ca or self.interception_ca)
        return context.wrap_socket(sock, server_hostname=server_hostname)

    def authorization(self, method: str, uri: str, destination: str, content=None,
                      origin: str | None = None) -> str:
        origin = origin or self.name
        obj = {"method": method, "uri": uri, "origin": origin, "destination": destination}
        if content is not None:
            obj["content"] = content
        sig = signedjson.sign.sign_json(obj, origin, self.key)["signatures"][origin][self.key_id]
        return (f'X-Matrix origin="{origin}",destination="{destination}",'
                f'key="{self.key_id}",sig="{sig}"')

    def request(self, tls_sock, method: str, uri: str, host: str, destination: str | None = None,
                body=None, extra_headers=(), sign: bool = True, origin: str | None = None):
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {uri} HTTP/1.1", f"Host: {host}"]
        if sign:
            lines.append("Authorization: " + self.authorization(
                method, uri, destination or host, body, origin=origin))
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        lines += list(extra_headers)
        tls_sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        return read_response(tls_sock)


class RecordingPeer:
    """An external Matrix server over TLS: records method, path, headers and exact body bytes of
    every request and checks the X-Matrix signature against the Core's key itself."""

    def __init__(self, cert, host: str, server_name: str, core: Core | None = None,
                 answer: tuple = (200, b"{}")):
        self.server_name = server_name
        self.core = core
        self.answer = answer
        self.after_answer = None  # called once an answer is written whole
        self.chunked = False  # answer with Transfer-Encoding: chunked (no declared length)
        self.requests: list[dict] = []
        self.connections = 0
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = {"method": self.command, "path": self.path,
                          "headers": [(k, v) for k, v in self.headers.items()], "body": body,
                          "signature_ok": peer._verify(self, body)}
                with peer.lock:
                    peer.requests.append(record)
                # (status, body) or (status, body, content type): media answers are multipart.
                status, out, *rest = peer.answer
                self.send_response(status)
                self.send_header("Content-Type", rest[0] if rest else "application/json")
                try:
                    if peer.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for i in range(0, len(out), 65536):
                            piece = out[i:i + 65536]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send_header("Content-Length", str(len(out)))
                        self.end_headers()
                        self.wfile.write(out)
                except (ConnectionError, ssl.SSLError):
                    # The gateway may refuse an answer half way (too large) and close.
                    self.close_connection = True
                    return
                if peer.after_answer is not None:
                    peer.after_answer()

            do_GET = do_PUT = do_POST = handle_one

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = super().get_request()
                with peer.lock:
                    peer.connections += 1
                return sock, address

        self.httpd = Server((host, 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert), str(cert.key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _verify(self, handler, body: bytes) -> bool:
        if self.core is None:
            return False
        auth = handler.headers.get("Authorization", "")
        if not auth.startswith("X-Matrix "):
            return False
        params = {}
        for part in auth[len("X-Matrix "):].split(","):
            k, v = part.split("=", 1)
            params[k.strip()] = v.strip().strip('"')
        obj = {"method": handler.command, "uri": handler.path, "origin": params["origin"],
               "destination": params["destination"],
               "signatures": {params["origin"]: {params["key"]: params["sig"]}}}
        if body:
            obj["content"] = json.loads(body)
        try:
            signedjson.sign.verify_signed_json(obj, self.core.name, self.core.verify_key)
            return True
        except signedjson.sign.SignatureVerifyException:
            return False

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- The Core behind an https:// proxy URL (outbound.listen_tls) ------------------------------
class InnerTls:
    """TLS inside the proxy's own TLS, as a socket-like object (sendall/recv/getpeercert/close):
    an ssl.SSLObject over memory BIOs whose records travel through the outer ssl.SSLSocket
    (Python cannot wrap an SSLSocket in a second SSLSocket)."""

    def __init__(self, outer: ssl.SSLSocket, context: ssl.SSLContext, server_hostname: str):
        self.outer = outer
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    raise ssl.SSLEOFError("the proxy closed the tunnel during the inner handshake")

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.outer.sendall(data)

    def _fill(self) -> bool:
        chunk = self.outer.recv(65536)
        if not chunk:
            self.incoming.write_eof()
            return False
        self.incoming.write(chunk)
        return True

    def sendall(self, data: bytes):
        view = memoryview(data)
        while view:
            written = self.obj.write(view)
            view = view[written:]
            self._flush()

    def recv(self, size: int) -> bytes:
        while True:
            try:
                return self.obj.read(size)
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def getpeercert(self):
        return self.obj.getpeercert()

    def settimeout(self, timeout):
        self.outer.settimeout(timeout)

    def close(self):
        self.outer.close()


class TlsProxyCore(Core):
    """The Core with https_proxy=https://user:pass@gateway:port: it opens TLS to the gateway's
    TLS proxy listener first (trusting `proxy_ca`, checking `proxy_name`), sends CONNECT and its
    credentials inside it, and runs the tunnel's TLS inside that (InnerTls)."""

    def __init__(self, *args, proxy_ca: str, proxy_name: str = "127.0.0.1", **kwargs):
        super().__init__(*args, **kwargs)
        self.proxy_ca = proxy_ca
        self.proxy_name = proxy_name

    def open_proxy(self) -> ssl.SSLSocket:
        sock = socket.create_connection(("127.0.0.1", self.proxy_port), timeout=ENV.timeout(10))
        context = ssl.create_default_context(cafile=self.proxy_ca)
        return context.wrap_socket(sock, server_hostname=self.proxy_name)

    def tls(self, sock, server_hostname: str, ca: str | None = None):
        context = ssl.create_default_context(cafile=ca or self.interception_ca)
        return InnerTls(sock, context, server_hostname)
