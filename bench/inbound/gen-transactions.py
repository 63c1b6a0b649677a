#!/usr/bin/python3
"""Pre-signed /send transactions for bench/inbound/run-inbound-bench: a test homeserver
(remote.example, python3-signedjson key) signs COUNT transactions of PDUS room-version-10 PDUs
each (content hash + signature per PDU, X-Matrix per request). Line 0 carries the room's create
event, which run-inbound-bench sends once before the load so the gateway learns the room version
(send.lua leaves it out of the cycle). Output: one request
per line, "path<TAB>Authorization<TAB>body", read by send.lua; the verify key goes to a pinned
keys file.
With SIGNED_FILE, every transaction's signed messages go there too, one JSON line per transaction
(create first): [[signature, message], ...], the X-Matrix signed object's canonical JSON first,
then each PDU's redacted canonical form: exactly the bytes the gateway verifies, so the bench's
second ceiling hashes messages of the real size (ed25519 hashes the whole message).

Usage: gen-transactions.py OUT KEY_FILE PINNED_FILE PDUS COUNT [SIGNED_FILE]
       (KEY_FILE is made if missing)"""
import base64
import copy
import hashlib
import json
import os
import sys

from canonicaljson import encode_canonical_json
from signedjson.key import (encode_verify_key_base64, generate_signing_key, get_verify_key,
                            read_signing_keys, write_signing_keys)
from signedjson.sign import sign_json

ORIGIN, DEST, ROOM = "remote.example", "bench.bordergate.test", "!bench:remote.example"
KEPT = {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
        "depth", "prev_events", "auth_events", "origin_server_ts"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def sign(obj, key):
    """Signs obj (adds its signatures) and returns (unpadded base64 signature, signed bytes)."""
    message = encode_canonical_json(obj)
    sig = sign_json(obj, ORIGIN, key)["signatures"][ORIGIN][f"ed25519:{key.version}"]
    return sig, message.decode()


def event(key, etype, content, ts, signed, state_key=None):
    e = {"type": etype, "room_id": ROOM, "sender": f"@user:{ORIGIN}", "content": content,
         "origin_server_ts": ts, "depth": 3, "prev_events": [], "auth_events": []}
    if state_key is not None:
        e["state_key"] = state_key
    e["hashes"] = {"sha256": b64(hashlib.sha256(encode_canonical_json(e)).digest())}
    r = {k: v for k, v in copy.deepcopy(e).items() if k in KEPT}
    # Redaction (room version 10) keeps a create event's creator; a message's content goes.
    r["content"] = {"creator": content["creator"]} if etype == "m.room.create" else {}
    sig, message = sign(r, key)
    e["signatures"] = r["signatures"]
    signed.append([sig, message])
    return e


def request_line(key, txn_id, pdus, signed):
    path = f"/_matrix/federation/v1/send/{txn_id}"
    body = {"origin": ORIGIN, "origin_server_ts": 1700000000000, "pdus": pdus, "edus": []}
    obj = {"method": "PUT", "uri": path, "origin": ORIGIN, "destination": DEST, "content": body}
    sig, message = sign(obj, key)
    signed.insert(0, [sig, message])
    auth = f'X-Matrix origin="{ORIGIN}",destination="{DEST}",key="ed25519:{key.version}",sig="{sig}"'
    return f"{path}\t{auth}\t{json.dumps(body, separators=(',', ':'))}\n"


def main():
    out, key_file, pinned = sys.argv[1:4]
    pdus, count = int(sys.argv[4]), int(sys.argv[5])
    signed_out = open(sys.argv[6], "w") if len(sys.argv) > 6 else None
    if not os.path.exists(key_file):
        with open(key_file, "w") as f:
            write_signing_keys(f, [generate_signing_key("bench")])
    with open(key_file) as f:
        key = read_signing_keys(f)[0]
    with open(pinned, "w") as f:
        json.dump({ORIGIN: {f"ed25519:{key.version}": encode_verify_key_base64(get_verify_key(key))}}, f)
    def write(f, txn_id, make_pdus):
        signed = []
        f.write(request_line(key, txn_id, make_pdus(signed), signed))
        if signed_out:
            signed_out.write(json.dumps(signed, separators=(",", ":")) + "\n")

    with open(out, "w") as f:
        write(f, f"create-{pdus}", lambda signed: [
            event(key, "m.room.create", {"creator": f"@user:{ORIGIN}", "room_version": "10"},
                  1700000000000, signed, state_key="")])
        for i in range(count):
            ts = 1700000000001 + i * pdus
            write(f, f"bench-{pdus}-{i}", lambda signed: [
                event(key, "m.room.message", {"msgtype": "m.text", "body": f"message {i}.{j}"},
                      ts + j, signed) for j in range(pdus)])
    if signed_out:
        signed_out.close()


if __name__ == "__main__":
    main()
