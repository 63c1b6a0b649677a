#!/usr/bin/python3
"""The outbound half of `make run`: the Core's federation traffic leaves through the gateway.

It plays both ends of the border at once:
- the Core (core.bordergate.test) as Synapse uses the gateway with `https_proxy`: CONNECT
  host:port with Proxy-Authorization, then TLS inside the tunnel trusting only the
  interception CA (.state/pki/interception-ca.crt), requests signed with the Core's key;
- the external server opendesk.stadt-a.example, a TLS server on 127.0.0.1 (the example
  configuration's discovery static route points its name there) that checks the Core's
  X-Matrix signature itself.

It sends a few allowed and a few forbidden requests through the proxy listener and prints what
came back, and whether the external server saw the request at all.

Usage:
  deploy/demo/demo-outbound.py --state .state [--proxy-port 8450] [--peer-port 8449]
"""
import argparse
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from signedjson.key import decode_verify_key_base64
from signedjson.sign import SignatureVerifyException, verify_signed_json

from demo_federation import (CORE, CREDENTIALS_FILE, PEER, ROOM, authorization, event_id, load_key,
                             signed_event, verify_key_b64)

TIMEOUT = 30


class Peer:
    """opendesk.stadt-a.example's federation endpoint: verifies the Core's signature, records
    what arrived and answers like a homeserver that accepted it."""

    def __init__(self, state: str, port: int):
        self.seen: list[tuple[str, str, bool]] = []  # (method, path, signature verified)
        core_key = decode_verify_key_base64("ed25519", "demo1", verify_key_b64(state, CORE))
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                peer.seen.append((self.command, self.path, peer.verified(self, body, core_key)))
                out = b'{"pdus": {}}' if "/send/" in self.path else b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_PUT = do_POST = handle_one

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pki = os.path.join(state, "pki")
        context.load_cert_chain(os.path.join(pki, f"{PEER}.crt"), os.path.join(pki, f"{PEER}.key"))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def verified(handler, body: bytes, core_key) -> bool:
        auth = handler.headers.get("Authorization", "")
        if not auth.startswith("X-Matrix "):
            return False
        params = dict(part.split("=", 1) for part in auth[len("X-Matrix "):].split(","))
        params = {k.strip(): v.strip().strip('"') for k, v in params.items()}
        obj = {"method": handler.command, "uri": handler.path, "origin": params.get("origin"),
               "destination": params.get("destination"),
               "signatures": {CORE: {params.get("key", ""): params.get("sig", "")}}}
        if body:
            obj["content"] = json.loads(body)
        try:
            verify_signed_json(obj, CORE, core_key)
            return params.get("origin") == CORE and params.get("destination") == PEER
        except (SignatureVerifyException, ValueError):
            return False

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def read_answer(sock) -> tuple[int, bytes]:
    """One HTTP/1.1 answer (Content-Length framing, as the gateway sends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body[:length]


class Core:
    """The Core as Synapse behaves with https_proxy=http://core:<password>@127.0.0.1:8450."""

    def __init__(self, state: str, proxy_port: int):
        self.key = load_key(state, CORE)
        self.proxy_port = proxy_port
        with open(os.path.join(state, CREDENTIALS_FILE)) as f:
            user_password = f.readline().strip()
        self.proxy_auth = "Basic " + base64.b64encode(user_password.encode()).decode()
        self.tls = ssl.create_default_context(
            cafile=os.path.join(state, "pki", "interception-ca.crt"))

    def connect(self, authority: str):
        """CONNECT; (the proxy's status, the open tunnel or None)."""
        sock = socket.create_connection(("127.0.0.1", self.proxy_port), timeout=TIMEOUT)
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
                     f"Proxy-Authorization: {self.proxy_auth}\r\n\r\n".encode())
        status, body = read_answer(sock)
        if status != 200:
            sock.close()
            return status, body, None
        return status, b"", sock

    def request(self, method: str, uri: str, body=None) -> tuple[int, bytes]:
        status, answer, sock = self.connect(f"{PEER}:8448")
        if sock is None:
            return status, answer
        with self.tls.wrap_socket(sock, server_hostname=PEER) as tunnel:
            data = b"" if body is None else json.dumps(body).encode()
            head = [f"{method} {uri} HTTP/1.1", f"Host: {PEER}",
                    "Authorization: " + authorization(self.key, CORE, PEER, method, uri, body)]
            if body is not None:
                head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
            tunnel.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            return read_answer(tunnel)


def run(state: str, proxy_port: int, peer_port: int) -> int:
    peer = Peer(state, peer_port)
    core = Core(state, proxy_port)
    now = int(time.time() * 1000)
    message = signed_event(core.key, CORE, "m.room.message",
                           {"msgtype": "m.text", "body": "Antwort aus dem Core"}, now,
                           f"@bearbeiter:{CORE}")
    invite = signed_event(core.key, CORE, "m.room.member", {"membership": "invite"}, now,
                          f"@azubi-1:{CORE}", state_key=f"@bob:{PEER}")
    invite_uri = f"/_matrix/federation/v2/invite/{quote(ROOM)}/{quote(event_id(invite))}"
    steps = [
        # (what, request or CONNECT authority, the status deploy/examples/policy.yaml must give,
        #  whether the external server sees it)
        ("allowed: the Core's /send with one message to opendesk.stadt-a.example",
         ("PUT", f"/_matrix/federation/v1/send/demo-out-{now}",
          {"origin": CORE, "origin_server_ts": now, "pdus": [message], "edus": []}), 200, True),
        ("denied: opendesk's room directory (rule opendesk-no-directory)",
         ("GET", "/_matrix/federation/v1/publicRooms", None), 403, False),
        ("denied: an invite sent by a trainee (rule opendesk-no-invites-by-trainees)",
         ("PUT", invite_uri, {"event": invite, "room_version": "10", "invite_room_state": []}),
         403, False),
        ("refused at CONNECT: matrix.org is in no allowed federation", "matrix.org:8448", 403, False),
        ("refused at CONNECT: a push gateway not on the egress allow list",
         "push.example.org:443", 403, False),
    ]
    failures = 0
    try:
        for what, step, expected, reaches in steps:
            before = len(peer.seen)
            try:
                if isinstance(step, str):
                    status, answer, sock = core.connect(step)
                    if sock is not None:
                        sock.close()
                    shown = f"CONNECT {step}"
                else:
                    status, answer = core.request(*step)
                    shown = f"{step[0]} {step[1].split('?')[0]}"
            except OSError as e:
                status, answer, shown = 0, str(e).encode(), str(step)
            arrived = peer.seen[before:]
            verified = bool(arrived) and all(ok for _, _, ok in arrived)
            wrong = status != expected or bool(arrived) != reaches or (reaches and not verified)
            failures += wrong
            reached = ("; reached opendesk.stadt-a.example, which verified the Core's signature"
                       if verified else "; reached opendesk.stadt-a.example UNVERIFIED"
                       if arrived else "" if isinstance(step, str)
                       else "; nothing reached opendesk.stadt-a.example")
            mark = f"  UNEXPECTED (policy says {expected})" if wrong else ""
            summary = answer.decode(errors="replace").strip().replace("\n", " ")
            print(f"demo-outbound: {status}  {what}{mark}\n               {shown}\n"
                  f"               -> {summary[:120] or '(no body)'}{reached}")
    finally:
        peer.stop()
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", default=".state")
    ap.add_argument("--proxy-port", type=int, default=8450)
    ap.add_argument("--peer-port", type=int, default=8449)
    a = ap.parse_args()
    return run(a.state, a.proxy_port, a.peer_port)


if __name__ == "__main__":
    sys.exit(main())
