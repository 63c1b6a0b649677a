#!/usr/bin/python3
"""What the Core fetches through the outbound proxy besides federation requests proper: remote
media and server keys (Synapse sends both through `https_proxy`).

Media (docs/outbound.md, "Answers"): the Core fetches media
with the authenticated federation media API through CONNECT, as Synapse does; the gateway judges
the request against the media policy towards the destination before anything is dialled, and
the destination's `multipart/mixed` answer (size, content type) before the Core sees a byte.
Covers: an allowed download delivered byte for byte (the peer verified the Core's signature);
an answer over `media.max_bytes` refused 413 M_TOO_LARGE; a content type outside
`media.content_types` refused 403 M_FORBIDDEN (policy refusals are 4xx: Synapse backs a server
off after any 5xx); a malformed multipart answer refused 502; media towards
a server the policy denies media refused 403 with nothing sent; every decision audited with its
rule and reason, and the audit chain verifies.

Keys: the Core's key fetches (`/_matrix/key/v2/server`, signed as Synapse signs every federation
request, and unsigned) and notary queries (`/_matrix/key/v2/query`) reach the destination and
come back byte for byte when the policy allows `@keys` towards it and the answer verifies (the
destination's own keys, self-signed; notary entries self-signed and signed by the destination);
a key answer changed after signing is refused 502 and audited; requests where a rule denies
`@keys` are refused 403 with nothing sent."""
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from matrix_events_helper import new_key, server_keys_response  # noqa: E402
from outbound_core import read_response  # noqa: E402
from outbound_rig import POLICY as RIG_POLICY, Z, OutboundRig  # noqa: E402
from signedjson.sign import sign_json  # noqa: E402

OTHER = f"other.{Z}"
BOUNDARY = "6b2a0f1e9c3d"

# The rig's policy (the partners may receive everything) plus: media from the partners are
# images of at most 1 KiB, and `other` may not serve the Core media at all.
POLICY = RIG_POLICY + f"""  - id: out-no-media-other
    servers: [{OTHER}]
    direction: outbound
    endpoints: ["@media"]
    action: deny
  - id: out-no-keys-other
    servers: [{OTHER}]
    direction: outbound
    endpoints: ["@keys"]
    action: deny
settings:
  - id: partner-media
    federation: partners
    direction: outbound
    media: {{allowed: true, max_bytes: 1KiB, content_types: [image/*]}}
"""


def multipart(content_type: str, data: bytes) -> tuple[int, bytes, str]:
    """A federation media answer (spec: multipart/mixed, JSON metadata first, then the bytes)."""
    body = (f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
            f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n").encode()
    body += data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return 200, body, f"multipart/mixed; boundary={BOUNDARY}"


class OutboundFetchTest(OutboundRig):
    def setUp(self):
        super().setUp()
        config = self.gateway_config()
        (self.tmp / "policy.yaml").write_text(POLICY)
        self.gw = self.start_gateway(config)

    def download(self, name: str, media_id: str):
        target = self.target(name)
        tunnel = self.core.tls(self.core.connect(target), f"{name}.{Z}")
        try:
            return self.core.request(
                tunnel, "GET", f"/_matrix/federation/v1/media/download/{media_id}", target)
        finally:
            tunnel.close()

    def media_records(self):
        return [(r["action"], r.get("rule_id"), r.get("reason"), r.get("status"))
                for r in self.audit_records(self.gw)
                if r.get("type") == "decision" and r.get("endpoint") == "media.download"]

    def test_allowed_media_passes_byte_for_byte(self):
        picture = bytes(range(256)) * 3  # 768 bytes, under the 1 KiB limit
        answer = multipart("image/png", picture)
        self.peers["peer"].answer = answer
        status, headers, body = self.download("peer", "pic1")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, answer[1])  # exactly what the peer sent
        self.assertTrue(headers["content-type"].startswith("multipart/mixed"))
        sent = self.peers["peer"].requests
        self.assertEqual([r["path"] for r in sent], ["/_matrix/federation/v1/media/download/pic1"])
        self.assertTrue(sent[0]["signature_ok"], "the peer could not verify the Core's signature")
        self.assertEqual(self.media_records(), [("forward", "out-partners", "allowed_by_rule", 200)])

    def test_answers_outside_the_media_policy_are_refused(self):
        cases = [  # (answer, status, errcode, words in the error, audited reason)
            (multipart("image/png", b"\x89PNG" + b"x" * 2048), 413, "M_TOO_LARGE",
             "larger than the policy allows (1024)", "media_too_large"),
            (multipart("text/html", b"<script>x</script>"), 403, "M_FORBIDDEN", "text/html",
             "media_content_type_not_allowed"),
            ((200, b"--nope\r\n", f"multipart/mixed; boundary={BOUNDARY}"), 502, "M_UNKNOWN", "",
             "response_malformed"),
        ]
        for n, (answer, want, errcode, words, _) in enumerate(cases):
            with self.subTest(errcode=errcode):
                self.peers["peer"].answer = answer
                status, _, body = self.download("peer", f"m{n}")
                self.assertEqual(status, want, body)
                error = json.loads(body)
                self.assertEqual(error["errcode"], errcode, error)
                self.assertIn(words, error["error"])
                self.assertNotIn(b"<script>", body)
        self.assertEqual(len(self.peers["peer"].requests), 3)  # each was fetched, then judged
        # The request was allowed by its rule; the answer was refused: a deny with the answer's
        # reason, the rule that let the request out, and the status the Core got.
        self.assertEqual(self.media_records(),
                         [("deny", "out-partners", reason, want)
                          for _, want, *_, reason in cases])

    def test_media_from_a_server_denied_media_is_refused_before_dialling(self):
        self.peers["other"].answer = multipart("image/png", b"tiny")
        status, _, body = self.download("other", "pic2")
        self.assertEqual(status, 403, body)
        self.assertEqual(json.loads(body)["errcode"], "M_FORBIDDEN")
        self.assertEqual(self.peers["other"].requests, [])  # nothing reached the destination
        self.assertEqual(self.media_records(), [("deny", "out-no-media-other", "denied_by_rule", 403)])

    # ---- legacy media paths: Synapse's fallback ------------------------------------------------
    def legacy(self, name: str, path: str):
        """GET `path` (a /_matrix/media/... path) through a tunnel to `name`, signed for it."""
        target = self.target(name)
        tunnel = self.core.tls(self.core.connect(target), f"{name}.{Z}")
        try:
            return self.core.request(tunnel, "GET", path, target)
        finally:
            tunnel.close()

    def test_legacy_media_fallback_the_way_synapse_does_it(self):
        # Synapse (federation_client.py, federation_download_media) asks the federation media API
        # first; "unknown endpoint" (404/400 M_UNRECOGNIZED) makes it fall back to
        # /_matrix/media/v3/download/{serverName}/{mediaId}, whose answer is the media itself.
        peer = self.peers["peer"]
        target = self.target("peer")
        peer.answer = (404, b'{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}')
        status, _, body = self.download("peer", "pic3")
        self.assertEqual(status, 404, body)
        self.assertEqual(json.loads(body)["errcode"], "M_UNRECOGNIZED")
        picture = bytes(range(256)) * 2
        peer.answer = (200, picture, "image/png")
        legacy = f"/_matrix/media/v3/download/{target}/pic3"
        query = "?allow_remote=false&timeout_ms=20000&allow_redirect=true"
        status, headers, body = self.legacy("peer", legacy + query)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, picture)
        self.assertEqual(headers["content-type"], "image/png")
        # Thumbnails and the r0 family (Synapse's fallback from v3) go the same way.
        thumbnail = f"/_matrix/media/r0/thumbnail/{target}/pic3?width=32&height=32&method=crop"
        status, _, body = self.legacy("peer", thumbnail)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, picture)
        sent = peer.requests
        self.assertEqual([r["path"] for r in sent],
                         ["/_matrix/federation/v1/media/download/pic3", legacy + query, thumbnail])
        self.assertTrue(all(r["signature_ok"] for r in sent))
        records = [(r["endpoint"], r["action"], r.get("rule_id"), r.get("status"),
                    r.get("server_name", ""), r.get("note", ""))
                   for r in self.audit_records(self.gw) if r.get("type") == "decision"
                   and r.get("endpoint", "").startswith("media.")]
        self.assertEqual(records, [
            ("media.download", "forward", "out-partners", 404, "", ""),
            ("media.download", "forward", "out-partners", 200, target,
             "legacy media path (/_matrix/media/v3)"),
            ("media.thumbnail", "forward", "out-partners", 200, target,
             "legacy media path (/_matrix/media/r0)")])

    def test_legacy_media_is_held_to_the_media_policy(self):
        peer = self.peers["peer"]
        target = self.target("peer")
        cases = [  # (answer, status, errcode, words in the error, audited reason)
            ((200, b"\x89PNG" + b"x" * 2048, "image/png"), 413, "M_TOO_LARGE",
             "larger than the policy allows (1024)", "media_too_large"),
            ((200, b"<script>x</script>", "text/html"), 403, "M_FORBIDDEN", "text/html",
             "media_content_type_not_allowed"),
        ]
        for n, (answer, want, errcode, words, _) in enumerate(cases):
            with self.subTest(errcode=errcode):
                peer.answer = answer
                status, _, body = self.legacy("peer", f"/_matrix/media/v3/download/{target}/m{n}")
                self.assertEqual(status, want, body)
                error = json.loads(body)
                self.assertEqual(error["errcode"], errcode, error)
                self.assertIn(words, error["error"])
                self.assertNotIn(b"<script>", body)
        self.assertEqual(len(peer.requests), 2)
        # Media of another server through this tunnel, and the legacy API's write and preview
        # paths: refused before anything is sent.
        other = self.target("other")
        for path, want in ((f"/_matrix/media/v3/download/{other}/x", 403),
                           (f"/_matrix/media/v3/thumbnail/{other}/x?width=1", 403),
                           ("/_matrix/media/v3/preview_url?url=https://a.example/", 404),
                           ("/_matrix/media/v3/config", 404)):
            status, _, body = self.legacy("peer", path)
            self.assertEqual(status, want, (path, body))
        # `other` may not serve the Core media: the legacy path is the same endpoint for policy.
        status, _, body = self.legacy("other", f"/_matrix/media/v3/download/{other}/x")
        self.assertEqual(status, 403, body)
        self.assertEqual(len(peer.requests), 2)
        self.assertEqual(self.peers["other"].requests, [])
        records = [(r["action"], r.get("reason"), r.get("status"))
                   for r in self.audit_records(self.gw) if r.get("type") == "decision"
                   and r.get("endpoint") in ("media.download", "media.thumbnail")]
        self.assertEqual(records[:2], [("deny", reason, want) for _, want, *_, reason in cases])
        self.assertEqual([r[1] for r in records[2:4]], ["media_server_not_destination"] * 2)
        self.assertEqual(records[4][0], "deny")

    def test_the_federation_listener_denies_legacy_media_paths_by_default(self):
        # Inbound, the legacy paths are explicit-only endpoints: this policy names none of them,
        # so they are denied (test_inbound_legacy.py opens them); never forwarded.
        for path in ("/_matrix/media/v3/download/core.bordergate.test/abc?allow_remote=false",
                     "/_matrix/media/r0/thumbnail/core.bordergate.test/abc?width=1"
                     "&allow_remote=false"):
            r = self.request(self.gw, "GET", path)
            self.assertEqual(r.status, 403, path)
            self.assertEqual(r.json()["errcode"], "M_FORBIDDEN")
        for path in ("/_matrix/media/v3/upload", "/_matrix/media/r0/config"):
            r = self.request(self.gw, "GET", path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json()["errcode"], "M_UNRECOGNIZED")

    KEY_REQUESTS = (("GET", "/_matrix/key/v2/server", None, True),
                    ("GET", "/_matrix/key/v2/server", None, False),
                    ("POST", "/_matrix/key/v2/query", {"server_keys": {f"x.{Z}": {}}}, False))

    def key_requests(self, name: str, only: int | None = None):
        """The Core's key requests to `name`, each in its own tunnel: [(status, body)], or the
        one answer of KEY_REQUESTS[only]."""
        target = self.target(name)
        out = []
        requests = self.KEY_REQUESTS if only is None else self.KEY_REQUESTS[only:only + 1]
        for method, uri, body, sign in requests:
            tunnel = self.core.tls(self.core.connect(target), f"{name}.{Z}")
            try:
                status, _, answer = self.core.request(tunnel, method, uri, target, body=body,
                                                      sign=sign)
            finally:
                tunnel.close()
            out.append((status, answer))
        return out if only is None else out[0]

    def test_key_fetches_follow_the_keys_policy(self):
        peer = self.target("peer")
        until = int(time.time() * 1000) + 3600_000
        own = server_keys_response(peer, self.peer_hs.key, until)
        # A notary answer: another server's self-signed keys, vouched for by the destination.
        vouched = sign_json(server_keys_response(f"x.{Z}", new_key("x1"), until), peer,
                            self.peer_hs.key)
        answers = [json.dumps(own).encode(), json.dumps(own).encode(),
                   json.dumps({"server_keys": [vouched]}).encode()]
        got = []
        for answer, request in zip(answers, range(3)):
            self.peers["peer"].answer = (200, answer)
            got.append(self.key_requests("peer", only=request))
        self.assertEqual(got, [(200, a) for a in answers])
        self.assertEqual([(r["method"], r["path"]) for r in self.peers["peer"].requests],
                         [("GET", "/_matrix/key/v2/server"), ("GET", "/_matrix/key/v2/server"),
                          ("POST", "/_matrix/key/v2/query")])
        self.assertTrue(self.peers["peer"].requests[0]["signature_ok"])

        # Keys changed after signing never reach the Core.
        forged = copy.deepcopy(own)
        forged["valid_until_ts"] += 365 * 24 * 3600_000
        self.peers["peer"].answer = (200, json.dumps(forged).encode())
        status, body = self.key_requests("peer", only=0)
        self.assertEqual(status, 502, body)
        self.assertEqual(json.loads(body)["errcode"], "M_UNKNOWN")

        refused = self.key_requests("other")
        self.assertEqual([status for status, _ in refused], [403] * 3, refused)
        self.assertEqual(self.peers["other"].requests, [])
        decisions = [(r.get("destination"), r["endpoint"], r["action"], r.get("rule_id"),
                      r.get("reason"))
                     for r in self.audit_records(self.gw)
                     if r.get("type") == "decision" and r.get("endpoint", "").startswith("key.")]
        other = self.target("other")
        self.assertEqual([d[:4] for d in decisions], [
            (peer, "key.server", "forward", "out-partners"),
            (peer, "key.server", "forward", "out-partners"),
            (peer, "key.query", "forward", "out-partners"),
            (peer, "key.server", "deny", "out-partners"),
            (other, "key.server", "deny", "out-no-keys-other"),
            (other, "key.server", "deny", "out-no-keys-other"),
            (other, "key.query", "deny", "out-no-keys-other"),
        ])
        self.assertEqual(decisions[3][4], "response_keys_invalid")

    # ---- key endpoints by key id (Synapse up to 1.73), HEAD inside the tunnel ----------------
    def test_key_id_forms_are_checked_like_the_keyless_ones(self):
        peer = self.target("peer")
        until = int(time.time() * 1000) + 3600_000
        own = json.dumps(server_keys_response(peer, self.peer_hs.key, until)).encode()
        about_x = sign_json(server_keys_response(f"x.{Z}", new_key("x1"), until), peer,
                            self.peer_hs.key)
        about_y = sign_json(server_keys_response(f"y.{Z}", new_key("y1"), until), peer,
                            self.peer_hs.key)
        key_path = "/_matrix/key/v2/server/ed25519%3Aa_LSoT"
        notary_path = f"/_matrix/key/v2/query/x.{Z}/ed25519%3Ax1"
        cases = [(key_path, own, 200),
                 (notary_path, json.dumps({"server_keys": [about_x]}).encode(), 200),
                 # A notary answer holding keys of a server the Core did not ask about.
                 (notary_path, json.dumps({"server_keys": [about_x, about_y]}).encode(), 502)]
        for path, answer, status in cases:
            self.peers["peer"].answer = (200, answer)
            tunnel = self.core.tls(self.core.connect(peer), f"peer.{Z}")
            try:
                got, _, body = self.core.request(tunnel, "GET", path, peer)
            finally:
                tunnel.close()
            self.assertEqual(got, status, body)
            if status == 200:
                self.assertEqual(body, answer)
        self.assertEqual([r["path"] for r in self.peers["peer"].requests],
                         [key_path, notary_path, notary_path])
        self.assertTrue(self.peers["peer"].requests[0]["signature_ok"])

        # HEAD then GET on one tunnel: the HEAD's 405 has no body, the GET is framed right.
        self.peers["peer"].answer = (200, own)
        tunnel = self.core.tls(self.core.connect(peer), f"peer.{Z}")
        try:
            request = []
            for method in ("HEAD", "GET"):
                request.append(f"{method} {key_path} HTTP/1.1\r\nHost: {peer}\r\n"
                               f"Authorization: {self.core.authorization(method, key_path, peer)}"
                               "\r\n\r\n")
            tunnel.sendall("".join(request).encode())
            head = read_head_only(tunnel)
            status, headers, body = read_response(tunnel)
        finally:
            tunnel.close()
        self.assertTrue(head.startswith(b"HTTP/1.1 405 "), head)
        self.assertIn(b"Content-Length: ", head)
        self.assertEqual((status, body), (200, own))

        # A HEAD to the proxy listener itself: 405, no body.
        with self.core.open_proxy() as s:
            s.sendall(b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 405 "), data)
        self.assertIn(b"Content-Length: ", head)
        self.assertEqual(rest, b"")

        decisions = [(r["endpoint"], r["action"], r.get("status"))
                     for r in self.audit_records(self.gw)
                     if r.get("type") == "decision" and r.get("endpoint", "").startswith("key.")]
        self.assertEqual(decisions, [("key.server", "forward", 200), ("key.query", "forward", 200),
                                     ("key.query", "deny", 502), ("key.server", "forward", 200)])


def read_head_only(sock) -> bytes:
    """Exactly one response head, byte by byte, leaving what follows it on the socket."""
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError(f"closed inside a head: {data!r}")
        data += chunk
    return data


if __name__ == "__main__":
    main()
