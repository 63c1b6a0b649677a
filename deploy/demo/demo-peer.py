#!/usr/bin/python3
"""A demo external homeserver for `make run`: it signs its federation requests with its own
ed25519 key (python3-signedjson) and sends a few allowed and a few forbidden ones through the
gateway, then prints what the gateway answered.

It calls itself opendesk.stadt-a.example, one of the restricted peers of
deploy/examples/policy.yaml. Its key is generated on first use under the state directory, and
its verify key is written to <state>/demo-pinned-keys.json, which the example configuration
pins (keys.pinned_file): a closed federation never fetches keys (deploy/demo/demo_federation.py).

Usage:
  deploy/demo/demo-peer.py init --state .state      # keys + pinned-keys file (idempotent)
  deploy/demo/demo-peer.py run --state .state [--port 8448] [--host 127.0.0.1]
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import sys
import time

from demo_federation import CORE, PEER, authorization, init, load_key, signed_event


def run(state: str, host: str, port: int) -> int:
    key = load_key(state, PEER)
    ctx = ssl.create_default_context(cafile=os.path.join(state, "pki", "ca.crt"))
    now = int(time.time() * 1000)
    txn = lambda n: f"demo-{now}-{n}"  # noqa: E731 - unique per run, so reruns are new transactions

    def transaction(*pdus, edus=()):
        return {"origin": PEER, "origin_server_ts": now, "pdus": list(pdus), "edus": list(edus)}

    alice = f"@alice:{PEER}"
    message = signed_event(key, PEER, "m.room.message",
                           {"msgtype": "m.text", "body": "Hallo Kooperation"}, now, alice)
    widget = signed_event(key, PEER, "im.vector.modular.widgets",
                          {"url": "https://widget.example/"}, now, alice)
    requests = [
        # (what, method, uri, body, signed, the status deploy/examples/policy.yaml must give)
        ("allowed: a signed /send with one message", "PUT", f"/_matrix/federation/v1/send/{txn(1)}",
         transaction(message), True, 200),
        ("quarantined: a /send with a widget event (rule opendesk-unusual-events)", "PUT",
         f"/_matrix/federation/v1/send/{txn(2)}", transaction(widget), True, 200),
        ("denied: a /send with an unknown EDU type (rule opendesk-unknown-edus; stored, the "
         "origin's queue moves on)", "PUT", f"/_matrix/federation/v1/send/{txn(3)}",
         transaction(edus=[{"edu_type": "com.example.tracking", "content": {}}]), True, 200),
        ("denied: unsigned request", "GET",
         f"/_matrix/federation/v1/query/profile?user_id=%40alice%3A{CORE}", None, False, 401),
        ("denied: room directory (rule opendesk-no-directory)", "GET",
         "/_matrix/federation/v1/publicRooms", None, True, 403),
    ]
    failures = 0
    for what, method, uri, body, sign, expected in requests:
        conn = None
        raw = json.dumps(body).encode() if body is not None else None
        headers = {"Host": CORE}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        if sign:
            headers["Authorization"] = authorization(key, PEER, CORE, method, uri, body)
        try:
            # TLS to the loopback address, SNI and certificate check for the Core's name.
            conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.sock = ctx.wrap_socket(socket.create_connection((host, port), 30),
                                        server_hostname=CORE)
            conn.request(method, uri, body=raw, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode(errors="replace")
            status = resp.status
        except OSError as e:
            status, text = 0, str(e)
        finally:
            if conn is not None:
                conn.close()
        summary = text.strip().replace("\n", " ")
        mark = "" if status == expected else f"  UNEXPECTED (policy says {expected})"
        failures += status != expected
        print(f"demo-peer: {status}  {what}{mark}\n           {method} {uri.split('?')[0]}\n"
              f"           -> {summary[:160]}")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["init", "run"])
    ap.add_argument("--state", default=".state")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8448)
    a = ap.parse_args()
    if a.command == "init":
        init(a.state)
        return 0
    return run(a.state, a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
