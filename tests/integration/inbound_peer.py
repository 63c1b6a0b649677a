"""Python test homeservers for the inbound tests: each has an ed25519 key (python3-signedjson),
signs X-Matrix requests and builds signed PDUs and transactions with matrix_events_helper (an
implementation independent of bordergate). Its verify key goes into the gateway's pinned keys."""
import json

from signedjson.key import encode_verify_key_base64, get_verify_key
from signedjson.sign import sign_json

import matrix_events_helper as ev

CORE = "core.bordergate.test"


class TestHomeserver:
    def __init__(self, name: str, key_version: str = "k1"):
        self.name = name
        self.key = ev.new_key(key_version)

    @property
    def key_id(self) -> str:
        return ev.key_id(self.key)

    def pinned(self) -> dict:
        return {self.key_id: encode_verify_key_base64(get_verify_key(self.key))}

    def authorization(self, method: str, uri: str, content=None, destination: str | None = CORE,
                      origin: str | None = None, key=None) -> str:
        """The X-Matrix header value (S2S Request Authentication), signed with signedjson."""
        origin = origin or self.name
        key = key or self.key
        obj = {"method": method, "uri": uri, "origin": origin,
               "destination": destination if destination is not None else CORE}
        if content is not None:
            obj["content"] = content
        sig = sign_json(obj, origin, key)["signatures"][origin][ev.key_id(key)]
        params = [f'origin="{origin}"']
        if destination is not None:
            params.append(f'destination="{destination}"')
        params += [f'key="{ev.key_id(key)}"', f'sig="{sig}"']
        return "X-Matrix " + ",".join(params)

    def event(self, event_type="m.room.message", content=None, version="10", state_key=None,
              room_id=None, sender=None, ts=1700000000000, sign_as=None, key=None,
              depth=None) -> dict:
        e = ev.base_event(version, self.name, event_type,
                          content if content is not None else {"body": "hi", "msgtype": "m.text"},
                          state_key=state_key, ts=ts)
        if depth is not None:
            e["depth"] = depth
        if room_id is not None:
            e["room_id"] = room_id
        if sender is not None:
            e["sender"] = sender
        ev.add_hash(e)
        ev.add_signature(e, version, sign_as or self.name, key or self.key)
        return e

    def transaction(self, pdus=(), edus=(), origin=None) -> dict:
        return {"origin": origin or self.name, "origin_server_ts": 1700000000000,
                "pdus": list(pdus), "edus": list(edus)}

    def signed_request(self, method: str, uri: str, body=None, **auth):
        """(body bytes or None, headers) for a request signed by this server."""
        data = None if body is None else json.dumps(body).encode()
        headers = [("Authorization", self.authorization(method, uri, body, **auth))]
        if data is not None:
            headers.append(("Content-Type", "application/json"))
        return data, headers


def policy_yaml(extra_rules: str = "", rate: str = "{per_second: 1000, burst: 1000}",
                media_allowed: bool = True) -> str:
    return f"""version: 1
server_name: {CORE}
default: deny
defaults:
  limits:
    rate: {rate}
  media:
    allowed: {"true" if media_allowed else "false"}
federations:
  partners:
    servers: [good.example, other.example]
rules:
  - id: keys-public
    peer: unknown
    direction: inbound
    endpoints: [key.server, version]
    action: allow
  - id: partners-all
    federation: partners
    direction: inbound
    endpoints: ["@all"]
    action: allow
  - id: no-widgets
    federation: partners
    direction: inbound
    event_types: ["m.widget*"]
    action: deny
  - id: no-custom-edus
    federation: partners
    direction: inbound
    edu_types: [com.example.forbidden]
    action: deny
  - id: closed-room
    federation: partners
    direction: inbound
    rooms: ["!closed:good.example"]
    event_types: ["*"]
    action: deny
  - id: closed-room-requests
    federation: partners
    direction: inbound
    endpoints: ["@room_read", "@membership"]
    rooms: ["!closed:good.example"]
    action: deny
{extra_rules}"""
