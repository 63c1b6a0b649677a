"""Real loopback peers for the discovery and key tests: a dnsmasq serving the test zone
(A/AAAA/SRV) and TLS Matrix peers that serve /.well-known/matrix/server, /_matrix/key/v2/server
(signed with python3-signedjson) and a notary /_matrix/key/v2/query. Loopback only."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import signedjson.key
import signedjson.sign

from harness.env import ENV
from harness.ports import free_port

DNSMASQ = "/usr/sbin/dnsmasq"
ZONE = "bg.test"


class Dnsmasq:
    """dnsmasq authoritative-ish for one zone (default *.bg.test), never forwarding, without
    cache. By default on a free 127.0.0.1 port; `address` and `port` put it elsewhere on loopback
    (the interop suite needs port 53: Twisted's resolver always asks port 53)."""

    def __init__(self, records: list[str], address: str = "127.0.0.1", port: int | None = None,
                 zone: str = ZONE, preexec_fn=None):
        self.proc = None
        self.host = address
        self.zone = zone
        for _ in range(3):
            self.port = port or free_port()
            args = [DNSMASQ, "--keep-in-foreground", f"--port={self.port}",
                    f"--listen-address={address}", "--bind-interfaces", "--no-resolv", "--no-hosts",
                    "--conf-file=/dev/null", "--pid-file=", f"--local=/{zone}/",
                    "--no-negcache", "--cache-size=0", "--log-facility=/dev/null",
                    f"--host-record=ready.{zone},127.0.0.1", *records]
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=preexec_fn)
            if self._wait_ready():
                return
            self.stop()
            if port:
                break
        raise RuntimeError("dnsmasq did not start")

    def _wait_ready(self) -> bool:
        labels = b"".join(bytes([len(p)]) + p.encode() for p in f"ready.{self.zone}".split("."))
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x01\x00\x01"
        deadline = time.monotonic() + ENV.timeout(5)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                try:
                    s.sendto(query, (self.host, self.port))
                    if s.recv(512)[:2] == b"\x12\x34":
                        return True
                except OSError:
                    time.sleep(0.05)
        return False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


def _unpadded(key) -> str:
    return signedjson.key.encode_verify_key_base64(signedjson.key.get_verify_key(key))


class MatrixPeer:
    """A TLS HTTP/1.1 server acting as a Matrix server (and optionally a notary).

    `server_name`: the name in its key responses. `well_known`: body for /.well-known/matrix/server
    (a dict, raw bytes, or None for 404). Every request is recorded in `hits` (method, path, Host).
    """

    def __init__(self, cert, server_name: str, host: str = "127.0.0.1", port: int = 0,
                 well_known=None,
                 valid_for_ms: int = 3600_000, bad_self_signature: bool = False,
                 well_known_headers: dict | None = None, routes: dict | None = None,
                 response_delay: float = 0.0):
        self.server_name = server_name
        self.signing_key = signedjson.key.generate_signing_key("a1")
        self.key_id = "ed25519:a1"
        self.verify_key_b64 = _unpadded(self.signing_key)
        self.well_known = well_known
        self.well_known_headers = well_known_headers or {}
        self.valid_for_ms = valid_for_ms
        self.bad_self_signature = bad_self_signature
        self.routes = routes or {}
        self.response_delay = response_delay
        self.notary_for: dict[str, "MatrixPeer"] = {}  # server name -> peer whose keys we vouch
        self.bad_notary_signature = False
        self.hits: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                peer._handle(self)

            def do_POST(self):
                peer._handle(self)

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.httpd = Server((host, port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert), str(cert.key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def key_response(self) -> dict:
        body = {
            "server_name": self.server_name,
            "valid_until_ts": int(time.time() * 1000) + self.valid_for_ms,
            "verify_keys": {self.key_id: {"key": self.verify_key_b64}},
            "old_verify_keys": {},
        }
        signer = self.signing_key
        if self.bad_self_signature:  # signed by a different key under the published key id
            signer = signedjson.key.generate_signing_key("a1")
        return signedjson.sign.sign_json(body, self.server_name, signer)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, p, _ in self.hits if p == path)

    def _send(self, handler, status: int, body: bytes, headers: dict | None = None):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(body)

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        request_body = h.rfile.read(length) if length else b""
        with self.lock:
            self.hits.append((h.command, h.path, h.headers.get("Host", "")))
        if self.response_delay:
            time.sleep(self.response_delay)
        if h.path in self.routes:
            status, headers, body = self.routes[h.path]
            return self._send(h, status, body, headers)
        if h.path == "/.well-known/matrix/server" and self.well_known is not None:
            body = self.well_known if isinstance(self.well_known, bytes) else \
                json.dumps(self.well_known).encode()
            return self._send(h, 200, body, self.well_known_headers)
        if h.path == "/_matrix/key/v2/server" and h.command == "GET":
            return self._send(h, 200, json.dumps(self.key_response()).encode())
        if h.path == "/_matrix/key/v2/query" and h.command == "POST" and self.notary_for:
            query = json.loads(request_body or b"{}")
            answers = []
            for name in query.get("server_keys", {}):
                if name in self.notary_for:
                    entry = self.notary_for[name].key_response()
                    signer = self.signing_key
                    if self.bad_notary_signature:
                        signer = signedjson.key.generate_signing_key("a1")
                    answers.append(signedjson.sign.sign_json(entry, self.server_name, signer))
            return self._send(h, 200, json.dumps({"server_keys": answers}).encode())
        self._send(h, 404, b'{"errcode":"M_NOT_FOUND","error":"not here"}')

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def discovery_config(base: dict, dns: Dnsmasq, ca_file: Path, allowed: list[str],
                     static_routes: dict | None = None, keys: dict | None = None) -> dict:
    config = dict(base)
    config["discovery"] = {
        "resolvers": [dns.address],
        "allowed_ranges": allowed,
        "ca_file": str(ca_file),
        "dns_timeout": "3s",
        "connect_timeout": "3s",
        "request_timeout": "10s",
    }
    if static_routes:
        config["discovery"]["static_routes"] = static_routes
    if keys:
        config["keys"] = keys
    return config
