"""The demo federation of `make run`, shared by deploy/demo/demo-peer.py (an external server
sending to the Core through the gateway) and deploy/demo/demo-outbound.py (the Core sending to
that server through the gateway's outbound proxy): the names, the two signing keys, the
pinned-keys file the example configuration reads, and Matrix signing with python3-signedjson.

Both keys are generated on first use under the state directory (owner-only files) and both
verify keys are written to <state>/demo-pinned-keys.json (keys.pinned_file in
deploy/examples/bordergate.yaml): a closed federation never fetches keys. The Core's proxy
credentials (<state>/outbound-proxy.credentials, `core:<random>`) are made once too."""
import base64
import copy
import hashlib
import io
import json
import os
import secrets

from canonicaljson import encode_canonical_json
from signedjson.key import (encode_verify_key_base64, generate_signing_key, get_verify_key,
                            read_signing_keys, write_signing_keys)
from signedjson.sign import sign_json

CORE = "core.bordergate.test"
PEER = "opendesk.stadt-a.example"
ROOM = "!kooperation-verwaltung:core.bordergate.test"
KEY_FILES = {PEER: "demo-peer.key", CORE: "demo-core.key"}
PINNED_FILE = "demo-pinned-keys.json"
CREDENTIALS_FILE = "outbound-proxy.credentials"

# What the redaction algorithm of room versions 10/11 keeps: top-level keys, and per event type
# the content keys (the two types the demo sends).
KEPT = {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
        "depth", "prev_events", "auth_events", "origin_server_ts"}
KEPT_CONTENT = {"m.room.member": {"membership", "join_authorised_via_users_server"}}


def load_key(state: str, server: str):
    with open(os.path.join(state, KEY_FILES[server])) as f:
        return read_signing_keys(f)[0]


def verify_key_b64(state: str, server: str) -> str:
    return encode_verify_key_base64(get_verify_key(load_key(state, server)))


def create_secret_file(path: str, text: str) -> None:
    """Owner-only, written once: an existing file is kept."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(text)


def init(state: str) -> None:
    """Both signing keys and the proxy credentials (made once, kept afterwards) and the
    pinned-keys file (rewritten)."""
    os.makedirs(state, exist_ok=True)
    create_secret_file(os.path.join(state, CREDENTIALS_FILE), f"core:{secrets.token_hex(24)}\n")
    pinned = {}
    for server, name in KEY_FILES.items():
        text = io.StringIO()
        write_signing_keys(text, [generate_signing_key("demo1")])
        create_secret_file(os.path.join(state, name), text.getvalue())
        key = load_key(state, server)
        pinned[server] = {f"ed25519:{key.version}": verify_key_b64(state, server)}
    tmp = os.path.join(state, PINNED_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(pinned, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(state, PINNED_FILE))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def redacted(event: dict) -> dict:
    out = {k: v for k, v in copy.deepcopy(event).items() if k in KEPT}
    keep = KEPT_CONTENT.get(event["type"], set())
    out["content"] = {k: v for k, v in event.get("content", {}).items() if k in keep}
    return out


def signed_event(key, origin: str, event_type: str, content: dict, ts: int, sender: str,
                 state_key: str | None = None) -> dict:
    """A room version 10 PDU of `origin`: content hash, then the signature over the redacted
    form."""
    event = {"type": event_type, "room_id": ROOM, "sender": sender, "content": content,
             "origin_server_ts": ts, "depth": 5,
             "prev_events": ["$demo-prev-event-0000000000000000000000000"],
             "auth_events": ["$demo-auth-event-0000000000000000000000000"]}
    if state_key is not None:
        event["state_key"] = state_key
    event["hashes"] = {"sha256": b64(hashlib.sha256(encode_canonical_json(event)).digest())}
    event["signatures"] = sign_json(redacted(event), origin, key)["signatures"]
    return event


def event_id(event: dict) -> str:
    """The event id of room versions 4+: the reference hash, URL-safe unpadded base64."""
    ref = redacted(event)
    ref.pop("signatures", None)
    digest = hashlib.sha256(encode_canonical_json(ref)).digest()
    return "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorization(key, origin: str, destination: str, method: str, uri: str, content) -> str:
    """The X-Matrix Authorization header of a request from `origin` to `destination`."""
    obj = {"method": method, "uri": uri, "origin": origin, "destination": destination}
    if content is not None:
        obj["content"] = content
    sig = sign_json(obj, origin, key)["signatures"][origin][f"ed25519:{key.version}"]
    return (f'X-Matrix origin="{origin}",destination="{destination}",'
            f'key="ed25519:{key.version}",sig="{sig}"')
