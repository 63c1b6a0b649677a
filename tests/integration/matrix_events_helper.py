"""Independent Python side of the event checks: builds, hashes, redacts and signs PDUs the way the
spec text describes (S2S "Signing Events", Rooms vN "Redactions"), using Debian's python3-signedjson
for Ed25519 and python3-canonicaljson for canonical JSON. Nothing here is taken from bordergate or
Synapse; the integration test compares bordergate's verdicts against what this module produces.
"""

import base64
import copy
import hashlib

from canonicaljson import encode_canonical_json
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

# Redaction families by room version (Rooms v1/v6/v8/v9/v11 "Redactions").
FAMILY = {"1": "v1", "2": "v1", "3": "v1", "4": "v1", "5": "v1", "6": "v6", "7": "v6",
          "8": "v8", "9": "v9", "10": "v9", "11": "v11", "12": "v11"}

TOP_LEVEL_V1 = {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
                "signatures", "depth", "prev_events", "prev_state", "auth_events", "origin",
                "origin_server_ts", "membership"}
TOP_LEVEL_V11 = TOP_LEVEL_V1 - {"origin", "membership", "prev_state"}

POWER_LEVEL_KEYS = {"ban", "events", "events_default", "kick", "redact", "state_default",
                    "users", "users_default"}


def b64(data: bytes, urlsafe: bool = False) -> str:
    text = base64.b64encode(data).decode("ascii").rstrip("=")
    return text.replace("+", "-").replace("/", "_") if urlsafe else text


def version_number(version: str) -> int:
    return int(version)


def redacted_content(family: str, event_type: str, content: dict) -> dict:
    """The content keys a family keeps for an event type, straight from the spec tables."""
    keep = set()
    if event_type == "m.room.member":
        keep = {"membership"}
        if family in ("v9", "v11"):
            keep.add("join_authorised_via_users_server")
    elif event_type == "m.room.create":
        if family == "v11":
            return dict(content)  # v11: the whole create content survives
        keep = {"creator"}
    elif event_type == "m.room.join_rules":
        keep = {"join_rule"}
        if family in ("v8", "v9", "v11"):
            keep.add("allow")
    elif event_type == "m.room.power_levels":
        keep = set(POWER_LEVEL_KEYS)
        if family == "v11":
            keep.add("invite")
    elif event_type == "m.room.history_visibility":
        keep = {"history_visibility"}
    elif event_type == "m.room.aliases" and family == "v1":
        keep = {"aliases"}
    elif event_type == "m.room.redaction" and family == "v11":
        keep = {"redacts"}
    out = {k: v for k, v in content.items() if k in keep}
    if family == "v11" and event_type == "m.room.member":
        tpi = content.get("third_party_invite")
        if isinstance(tpi, dict):
            out["third_party_invite"] = {"signed": tpi["signed"]} if "signed" in tpi else {}
    return out


def redact(event: dict, version: str) -> dict:
    family = FAMILY[version]
    top = TOP_LEVEL_V11 if family == "v11" else TOP_LEVEL_V1
    out = {k: copy.deepcopy(v) for k, v in event.items() if k in top and k != "content"}
    out["content"] = redacted_content(family, event["type"], event.get("content", {}))
    return out


def content_hash(event: dict) -> str:
    stripped = {k: v for k, v in event.items() if k not in ("unsigned", "signatures", "hashes")}
    return b64(hashlib.sha256(encode_canonical_json(stripped)).digest())


def reference_hash(event: dict, version: str) -> bytes:
    redacted = redact(event, version)
    redacted.pop("signatures", None)
    redacted.pop("unsigned", None)
    return hashlib.sha256(encode_canonical_json(redacted)).digest()


def event_id(event: dict, version: str) -> str:
    if version in ("1", "2"):
        return event["event_id"]
    return "$" + b64(reference_hash(event, version), urlsafe=version_number(version) >= 4)


def add_hash(event: dict) -> dict:
    event.setdefault("hashes", {})["sha256"] = content_hash(event)
    return event


def add_signature(event: dict, version: str, server: str, key) -> dict:
    """Signs the redacted copy with signedjson and copies its signatures back (S2S 'Adding hashes
    and signatures to outgoing events')."""
    redacted = redact(event, version)
    signed = sign_json(redacted, server, key)
    event["signatures"] = signed["signatures"]
    return event


def new_key(version: str = "k1"):
    return generate_signing_key(version)


def key_id(key) -> str:
    return "%s:%s" % (key.alg, key.version)


def plain_keys_file(entries) -> dict:
    """{"server": {"ed25519:v": "b64"}} from [(server, key), ...]; such keys never expire."""
    out = {}
    for server, key in entries:
        out.setdefault(server, {})[key_id(key)] = encode_verify_key_base64(get_verify_key(key))
    return out


def server_keys_response(server: str, key, valid_until_ts: int, old_keys=()) -> dict:
    """A self-signed /_matrix/key/v2/server response; old_keys = [(key, expired_ts), ...]."""
    response = {
        "server_name": server,
        "valid_until_ts": valid_until_ts,
        "verify_keys": {key_id(key): {"key": encode_verify_key_base64(get_verify_key(key))}},
        "old_verify_keys": {
            key_id(old): {"key": encode_verify_key_base64(get_verify_key(old)),
                          "expired_ts": expired}
            for old, expired in old_keys
        },
    }
    return sign_json(response, server, key)


def base_event(version: str, sender_server: str, event_type: str, content: dict,
               state_key=None, ts: int = 1700000000000) -> dict:
    """An unsigned PDU in the shape of the room version (v1/v2 ids and references, v12 room ids)."""
    n = version_number(version)
    event = {
        "type": event_type,
        "sender": "@alice:" + sender_server,
        "origin_server_ts": ts,
        "content": content,
        "depth": 7,
        "origin": sender_server,
        "unsigned": {"age": 42},
    }
    if state_key is not None:
        event["state_key"] = state_key
    if n >= 12:
        if not (event_type == "m.room.create" and state_key == ""):
            event["room_id"] = "!" + b64(hashlib.sha256(b"room").digest(), urlsafe=True)
    else:
        event["room_id"] = "!room:" + sender_server
    if n <= 2:
        event["event_id"] = "$ev%d:%s" % (ts, sender_server)
        event["prev_events"] = [["$p:" + sender_server, {"sha256": b64(b"p" * 32)}]]
        event["auth_events"] = [["$a:" + sender_server, {"sha256": b64(b"a" * 32)}]]
    else:
        event["prev_events"] = ["$prev"]
        event["auth_events"] = ["$auth"]
    return event
