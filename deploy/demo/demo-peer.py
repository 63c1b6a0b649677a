#!/usr/bin/python3
"""A demo external homeserver for `make run`: it signs its federation requests with its own
ed25519 key (python3-signedjson) and sends a few allowed and a few forbidden ones through the
gateway, then prints what the gateway answered.

It calls itself opendesk.stadt-a.example, one of the restricted peers of
deploy/examples/policy.yaml. Its key is generated on first use under the state directory, and
its verify key is written to <state>/demo-peer-pinned.json, which the example configuration
pins (keys.pinned_file): a closed federation never fetches keys.

Usage:
  deploy/demo/demo-peer.py init --state .state      # key + pinned-keys file (idempotent)
  deploy/demo/demo-peer.py run --state .state [--port 8448] [--host 127.0.0.1]
"""
import argparse
import base64
import copy
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import time

from canonicaljson import encode_canonical_json
from signedjson.key import (encode_verify_key_base64, generate_signing_key, get_verify_key,
                            read_signing_keys, write_signing_keys)
from signedjson.sign import sign_json

NAME = "opendesk.stadt-a.example"
CORE = "core.bordergate.test"
ROOM = "!kooperation-verwaltung:core.bordergate.test"
KEY_FILE = "demo-peer.key"
PINNED_FILE = "demo-peer-pinned.json"

# Keys an event keeps when redacted (room versions 10/11 share them for non-state events).
KEPT = {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
        "depth", "prev_events", "auth_events", "origin_server_ts"}


def load_key(state: str):
    with open(os.path.join(state, KEY_FILE)) as f:
        return read_signing_keys(f)[0]


def init(state: str) -> None:
    os.makedirs(state, exist_ok=True)
    path = os.path.join(state, KEY_FILE)
    if not os.path.exists(path):
        key = generate_signing_key("demo1")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            write_signing_keys(f, [key])
    key = load_key(state)
    pinned = {NAME: {f"ed25519:{key.version}": encode_verify_key_base64(get_verify_key(key))}}
    tmp = os.path.join(state, PINNED_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(pinned, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(state, PINNED_FILE))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def signed_event(key, event_type: str, content: dict, ts: int) -> dict:
    """A room version 10 PDU: content hash, then the signature over the redacted form."""
    event = {"type": event_type, "room_id": ROOM, "sender": f"@alice:{NAME}", "content": content,
             "origin_server_ts": ts, "depth": 5, "prev_events": ["$demo-prev-event-0000000000000000000000000"],
             "auth_events": ["$demo-auth-event-0000000000000000000000000"]}
    event["hashes"] = {"sha256": b64(hashlib.sha256(encode_canonical_json(event)).digest())}
    redacted = {k: v for k, v in copy.deepcopy(event).items() if k in KEPT}
    redacted["content"] = {}
    event["signatures"] = sign_json(redacted, NAME, key)["signatures"]
    return event


def authorization(key, method: str, uri: str, content) -> str:
    obj = {"method": method, "uri": uri, "origin": NAME, "destination": CORE}
    if content is not None:
        obj["content"] = content
    sig = sign_json(obj, NAME, key)["signatures"][NAME][f"ed25519:{key.version}"]
    return f'X-Matrix origin="{NAME}",destination="{CORE}",key="ed25519:{key.version}",sig="{sig}"'


def run(state: str, host: str, port: int) -> int:
    key = load_key(state)
    ctx = ssl.create_default_context(cafile=os.path.join(state, "pki", "ca.crt"))
    now = int(time.time() * 1000)
    txn = lambda n: f"demo-{now}-{n}"  # noqa: E731 - unique per run, so reruns are new transactions

    def transaction(*pdus, edus=()):
        return {"origin": NAME, "origin_server_ts": now, "pdus": list(pdus), "edus": list(edus)}

    message = signed_event(key, "m.room.message", {"msgtype": "m.text", "body": "Hallo Kooperation"}, now)
    widget = signed_event(key, "im.vector.modular.widgets", {"url": "https://widget.example/"}, now)
    requests = [
        # (what, method, uri, body, signed, the status deploy/examples/policy.yaml must give)
        ("allowed: a signed /send with one message", "PUT", f"/_matrix/federation/v1/send/{txn(1)}",
         transaction(message), True, 200),
        ("quarantined: a /send with a widget event (rule opendesk-unusual-events)", "PUT",
         f"/_matrix/federation/v1/send/{txn(2)}", transaction(widget), True, 200),
        ("denied: a /send with an unknown EDU type (rule opendesk-unknown-edus)", "PUT",
         f"/_matrix/federation/v1/send/{txn(3)}",
         transaction(edus=[{"edu_type": "com.example.tracking", "content": {}}]), True, 403),
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
            headers["Authorization"] = authorization(key, method, uri, body)
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
