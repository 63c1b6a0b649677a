#!/usr/bin/python3
"""What a stock Synapse 1.67 peer needs on first contact, through the real binary: key endpoints
by key id, the legacy unauthenticated media paths (a policy choice, denied by default), the media
settings enforced on the Core's answers, and HEAD answers without a body on keep-alive
connections (federation and admin listeners)."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import with_policy  # noqa: E402
from harness import GatewayTestCase, main  # noqa: E402
from inbound_peer import CORE, TestHomeserver  # noqa: E402

GOOD = TestHomeserver("good.example")

POLICY = f"""version: 1
server_name: {CORE}
default: deny
defaults:
  limits: {{rate: {{per_second: 1000, burst: 1000}}}}
  media: {{allowed: true, max_bytes: 1KiB, content_types: ["image/*"]}}
federations:
  partners:
    servers: [good.example]
rules:
  - {{id: keys-public, peer: unknown, direction: inbound, endpoints: [key.server, version], action: allow}}
  - {{id: partners-all, federation: partners, direction: inbound, endpoints: ["@all"], action: allow}}
  - {{id: everyone-everything, peer: anyone, direction: inbound, endpoints: ["@all", "@unauthenticated", "@media"], action: allow}}
"""
LEGACY_RULE = """  - {id: legacy-media, peer: unknown, direction: inbound, endpoints: ["@legacy_media"], action: allow}
"""
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def multipart(second_part: bytes) -> bytes:
    return (b"--b0\r\nContent-Type: application/json\r\n\r\n{}\r\n--b0\r\n" + second_part +
            b"\r\n--b0--\r\n")


def answer(body: bytes, content_type: str) -> list[tuple[str, str]]:
    """Headers that make the test Core answer `body` typed `content_type`."""
    return [("X-Test-Response-B64", base64.b64encode(body).decode()),
            ("X-Test-Content-Type", content_type)]


class InboundLegacyTest(GatewayTestCase):
    SERVER_NAME = CORE

    def start(self, legacy_allowed: bool):
        self.up = self.start_upstream()
        policy = self.tmp / "policy.yaml"
        policy.write_text(POLICY + (LEGACY_RULE if legacy_allowed else ""))
        config = self.make_config(self.up.port)
        with_policy(config, policy)
        config["keys"] = {"pinned": {GOOD.name: GOOD.pinned()}}
        self.gw = self.start_gateway(config)

    def decisions(self):
        self.gw.stop()
        lines = (self.tmp / "state" / "audit.log").read_text().splitlines()
        return [d for d in map(json.loads, lines) if d.get("type") == "decision"]

    def forwarded_paths(self):
        return [r.uri for r in self.up.requests]

    # ---- 1. key endpoints by key id ----------------------------------------------------------
    def test_key_endpoints_by_key_id(self):
        self.start(legacy_allowed=False)
        r = self.request(self.gw, "GET", "/_matrix/key/v2/server/ed25519%3Aa_LSoT")
        self.assertEqual(r.status, 200, r.body)
        # The notary form is key.query (allowed here through @unauthenticated for anyone).
        r = self.request(self.gw, "GET", "/_matrix/key/v2/query/good.example/ed25519%3Aa_LSoT")
        self.assertEqual(r.status, 200, r.body)
        for bad in ("/_matrix/key/v2/server/ed25519", "/_matrix/key/v2/server/ed25519%3Aa-b",
                    "/_matrix/key/v2/server/ed25519%3Aa%2Fb", "/_matrix/key/v2/server/",
                    "/_matrix/key/v2/query/good.example/ed25519%3A"):
            self.assertMatrixError(self.request(self.gw, "GET", bad), 404, "M_UNRECOGNIZED")
        self.assertEqual(self.forwarded_paths(),
                         ["/_matrix/key/v2/server/ed25519%3Aa_LSoT",
                          "/_matrix/key/v2/query/good.example/ed25519%3Aa_LSoT"])
        records = [(d["endpoint"], d["action"], d.get("server_name")) for d in self.decisions()
                   if d.get("endpoint", "").startswith("key.")]
        self.assertEqual(records, [("key.server", "forward", None),
                                   ("key.query", "forward", "good.example")])

    # ---- 2. legacy media --------------------------------------------------------------------
    def test_legacy_media_is_denied_unless_named(self):
        # An allow rule for anyone over @all, @unauthenticated and @media does not open them.
        self.start(legacy_allowed=False)
        for path in (f"/_matrix/media/r0/download/{CORE}/m1?allow_remote=false",
                     f"/_matrix/media/v3/thumbnail/{CORE}/m1?width=8&height=8&allow_remote=false"):
            body = self.assertMatrixError(self.request(self.gw, "GET", path), 403, "M_FORBIDDEN")
            self.assertIn("default_deny", body["error"])
        self.assertEqual(self.forwarded_paths(), [])
        self.assertEqual([(d["endpoint"], d["action"], d["reason"]) for d in self.decisions()],
                         [("media.legacy_download", "deny", "default_deny"),
                          ("media.legacy_thumbnail", "deny", "default_deny")])

    def test_legacy_media_when_the_policy_allows_it(self):
        self.start(legacy_allowed=True)
        c = self.client(self.gw)  # one keep-alive connection throughout
        ok = f"/_matrix/media/r0/download/{CORE}/m1?allow_remote=false"
        r = c.request("GET", ok, headers=answer(PNG, "image/png"))
        self.assertEqual((r.status, r.body), (200, PNG))
        thumb = f"/_matrix/media/v3/thumbnail/{CORE}/m2?width=32&height=32&allow_remote=false"
        r = c.request("GET", thumb, headers=answer(PNG, "image/png"))
        self.assertEqual((r.status, r.body), (200, PNG))
        # Refused before the Core: another server's media, allow_remote not exactly false.
        refusals = [
            ("/_matrix/media/r0/download/other.example/m1?allow_remote=false", 403, "M_FORBIDDEN"),
            (f"/_matrix/media/r0/download/{CORE}/m1", 400, "M_INVALID_PARAM"),
            (f"/_matrix/media/r0/download/{CORE}/m1?allow_remote=true", 400, "M_INVALID_PARAM"),
            (f"/_matrix/media/r0/download/{CORE}/m1?allow_remote=false&allow_remote=true", 400,
             "M_INVALID_PARAM"),
            (f"/_matrix/media/r0/download/{CORE}/m1?allow_remote=false;allow%5Fremote=true", 400,
             "M_INVALID_PARAM"),
        ]
        for path, status, errcode in refusals:
            self.assertMatrixError(c.request("GET", path), status, errcode)
        # The Core's answers are held to the media settings: too large, a type off the list.
        # Policy refusals are 4xx: a real Synapse backs the Core off after any 5xx.
        too_large = c.request("GET", ok, headers=answer(bytes(1025), "image/png"))
        self.assertMatrixError(too_large, 413, "M_TOO_LARGE")
        chunked = c.request("GET", ok, headers=[("X-Test-Response-Bytes", "5000"),
                                                ("X-Test-Chunked", "1"), ("X-Test-Chunk-Size", "700"),
                                                ("X-Test-Content-Type", "image/png")])
        self.assertMatrixError(chunked, 413, "M_TOO_LARGE")
        html = c.request("GET", ok, headers=answer(b"<p>hi</p>", "text/html"))
        self.assertMatrixError(html, 403, "M_FORBIDDEN")
        # The Core's own error answers pass.
        r = c.request("GET", ok, headers=[("X-Test-Status", "404"),
                                          ("X-Test-Response-Json", '{"errcode":"M_NOT_FOUND"}')])
        self.assertEqual(r.status, 404, r.body)
        self.assertEqual(self.forwarded_paths(), [ok, thumb] + [ok] * 4)
        records = [(d["endpoint"], d["action"], d.get("rule_id"), d["reason"], d["status"])
                   for d in self.decisions()]
        self.assertEqual(records, [
            ("media.legacy_download", "forward", "legacy-media", "allowed_by_rule", 200),
            ("media.legacy_thumbnail", "forward", "legacy-media", "allowed_by_rule", 200),
            ("media.legacy_download", "deny", None, "media_server_not_destination", 403),
            ("media.legacy_download", "deny", None, "allow_remote_not_false", 400),
            ("media.legacy_download", "deny", None, "allow_remote_not_false", 400),
            ("media.legacy_download", "deny", None, "allow_remote_not_false", 400),
            ("media.legacy_download", "deny", None, "allow_remote_not_false", 400),
            ("media.legacy_download", "deny", "legacy-media", "media_too_large", 413),
            ("media.legacy_download", "deny", "legacy-media", "media_too_large", 413),
            ("media.legacy_download", "deny", "legacy-media", "media_content_type_not_allowed",
             403),
            ("media.legacy_download", "forward", "legacy-media", "allowed_by_rule", 404),
        ])

    # ---- 3. federation media answers --------------------------------------------------------
    def test_federation_media_answers_are_held_to_the_media_settings(self):
        self.start(legacy_allowed=False)
        c = self.client(self.gw)

        def fetch(uri, body, content_type="multipart/mixed; boundary=b0"):
            _, headers = GOOD.signed_request("GET", uri)
            return c.request("GET", uri, headers=headers + answer(body, content_type))

        download = "/_matrix/federation/v1/media/download/m1"
        thumbnail = "/_matrix/federation/v1/media/thumbnail/m1?width=8&height=8"
        good = multipart(b"Content-Type: image/png\r\n\r\n" + PNG)
        r = fetch(download, good)
        self.assertEqual((r.status, r.body), (200, good))
        self.assertEqual(r.header("Content-Length"), str(len(good)))
        self.assertMatrixError(fetch(download, multipart(b"Content-Type: image/png\r\n\r\n" +
                                                         bytes(1025))), 413, "M_TOO_LARGE")
        self.assertMatrixError(fetch(thumbnail, multipart(b"Content-Type: text/html\r\n\r\n<p>")),
                               403, "M_FORBIDDEN")
        self.assertMatrixError(fetch(download, PNG, "image/png"), 502, "M_UNKNOWN")
        r = fetch(thumbnail, good)
        self.assertEqual((r.status, r.body), (200, good))
        records = [(d["endpoint"], d["action"], d["reason"], d["status"], d.get("note", ""))
                   for d in self.decisions() if d["endpoint"].startswith("media.")]
        self.assertEqual(records, [
            ("media.download", "forward", "allowed_by_rule", 200, ""),
            ("media.download", "deny", "media_too_large", 413, "response refused: media_too_large"),
            ("media.thumbnail", "deny", "media_content_type_not_allowed", 403,
             "response refused: media_content_type_not_allowed"),
            ("media.download", "deny", "response_malformed", 502,
             "response refused: response_malformed"),
            ("media.thumbnail", "forward", "allowed_by_rule", 200, ""),
        ])

    # ---- 4. HEAD ----------------------------------------------------------------------------
    def test_head_answers_carry_no_body_on_keep_alive(self):
        self.start(legacy_allowed=False)
        raw = self.raw(self.gw)
        host = f"Host: {CORE}\r\n"
        for head_path in ("/_matrix/federation/v1/version", "/_matrix/client/v3/sync",
                          "/_matrix/key/v2/server/ed25519%3Aa"):
            raw.send(f"HEAD {head_path} HTTP/1.1\r\n{host}\r\n".encode() +
                     f"GET /_matrix/federation/v1/version HTTP/1.1\r\n{host}\r\n".encode())
            head = raw.read_response(head_request=True)
            self.assertIn(head.status, (404, 405), head_path)
            self.assertGreater(int(head.header("Content-Length")), 0)
            get = raw.read_response()
            # Were the HEAD's body sent, it would be read here as the GET's status line.
            self.assertEqual(get.status, 200, get.body)
            self.assertEqual(get.json()["method"], "GET")
        self.assertEqual(raw.buf, b"")
        self.assertEqual(len(self.up.requests), 3)

        # The admin listener answers one request per connection; still no body to a HEAD.
        import socket
        for path, status in (("/nope", 404), ("/healthz", 200)):
            with socket.create_connection(("127.0.0.1", self.gw.admin_port), 10) as s:
                s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(f"HTTP/1.1 {status} ".encode()), data)
            self.assertIn(b"Content-Length: ", head)
            self.assertEqual(rest, b"", path)


if __name__ == "__main__":
    main()
