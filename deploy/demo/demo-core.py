#!/usr/bin/python3
"""A stand-in for the Core homeserver so that `make run` serves out of the box.

It answers GET /_matrix/federation/v1/version like a homeserver does and echoes
every other request back as JSON (method, URI as received, headers, body), so a
newcomer can see exactly what the gateway forwarded. Not a Matrix server: it
stores nothing and checks nothing. Standard library only.

Usage: deploy/demo/demo-core.py [--host 127.0.0.1] [--port 8008]
"""
import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION_PATH = "/_matrix/federation/v1/version"
MAX_BODY = 64 * 1024 * 1024


class DemoCore(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's upstream pool expects
    server_version = "bordergate-demo-core/1"

    def _answer(self, status: int, doc: dict):
        body = json.dumps(doc, indent=2).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        if length is None:
            return b""
        n = int(length)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    def _handle(self):
        try:
            body = self._body()
        except ValueError as e:
            self.close_connection = True
            self._answer(400, {"errcode": "M_BAD_JSON", "error": str(e)})
            return
        if self.command == "GET" and self.path.split("?", 1)[0] == VERSION_PATH:
            self._answer(200, {"server": {"name": "bordergate-demo-core", "version": "1.0"}})
            return
        try:
            shown = body.decode("utf-8")
        except UnicodeDecodeError:
            shown = f"<{len(body)} bytes of binary>"
        self._answer(200, {
            "demo_core": "echo",
            "method": self.command,
            "uri": self.path,
            "headers": [f"{k}: {v}" for k, v in self.headers.items()],
            "body": shown,
        })

    do_GET = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PATCH = do_HEAD = _handle

    def log_message(self, fmt, *args):
        sys.stderr.write(json.dumps({"component": "demo-core", "client": self.client_address[0],
                                     "msg": fmt % args}) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8008)
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), DemoCore)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"component": "demo-core", "msg": f"listening on http://{args.host}:{args.port}"}),
          file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
