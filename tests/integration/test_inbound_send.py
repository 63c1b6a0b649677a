#!/usr/bin/python3
"""Inbound enforcement of /send through the real gateway: Python test homeservers sign their
requests and PDUs with python3-signedjson, the gateway has their keys pinned, and the echo
upstream (the Core) records exactly what reached it."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import with_policy  # noqa: E402
from harness import GatewayTestCase, free_port, main  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
OTHER = TestHomeserver("other.example")
STRANGER = TestHomeserver("stranger.example")  # pinned, but not in the policy
UNPINNED = TestHomeserver("good.example", "k2")  # a key of good.example the gateway does not know


class InboundSendTest(GatewayTestCase):
    SERVER_NAME = CORE

    def start(self, policy: str | None = None, upstream_port: int | None = None, wait=True):
        self.up = None
        if upstream_port is None:
            self.up = self.start_upstream()
            upstream_port = self.up.port
        path = self.tmp / "policy.yaml"
        path.write_text(policy or policy_yaml())
        config = self.make_config(upstream_port)
        with_policy(config, path)
        config["keys"] = {"pinned": {s.name: s.pinned() for s in (GOOD, OTHER, STRANGER)}}
        self.gw = self.start_gateway(config, wait=wait)
        return self.gw

    def send(self, peer, txn, txn_id="t1", uri=None, **auth):
        uri = uri or f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = peer.signed_request("PUT", uri, txn, **auth)
        return self.request(self.gw, "PUT", uri, body, headers)

    def assertNothingForwarded(self):
        self.assertEqual(self.up.requests, [], "the Core must not see this request")

    def assertRefused(self, resp, status, errcode):
        self.assertMatrixError(resp, status, errcode)
        self.assertNothingForwarded()

    def assertDeniedAndStored(self, resp, txn, rule, reason, txn_id="t1"):
        """Answered 200 per PDU and stored as denied; nothing reaches the Core."""
        self.assertStoredVerdict(resp, self.gw, txn_id, reason, rule, pdus=len(txn["pdus"]))
        self.assertNothingForwarded()

    # ---- allowed ------------------------------------------------------------
    def test_allowed_transaction_reaches_the_core_unchanged(self):
        self.start()
        pdu = GOOD.event()
        edus = [{"edu_type": "m.typing", "content": {"room_id": "!room:good.example",
                                                     "user_id": "@alice:good.example",
                                                     "typing": True}},
                {"edu_type": "m.receipt", "content": {"!room:good.example": {"m.read": {
                    "@alice:good.example": {"event_ids": ["$x"], "data": {"ts": 1}}}}}}]
        txn = GOOD.transaction([pdu], edus)
        uri = "/_matrix/federation/v1/send/t1"
        body, headers = GOOD.signed_request("PUT", uri, txn)
        r = self.request(self.gw, "PUT", uri, body, headers)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)
        got = self.up.requests[0]
        self.assertEqual(got.body, body)  # byte for byte
        self.assertEqual(got.uri, uri)
        self.assertEqual(got.header("Authorization"), headers[0][1])
        line = self.gw.wait_for_log(lambda rec: rec.get("event") == "request")
        self.assertEqual(line["decision"], "forward")
        self.assertEqual(line["origin"], "good.example")
        self.assertEqual(line["federation_endpoint"], "send")
        self.assertNotIn("sig=", json.dumps(line))

    def test_relayed_pdu_of_another_server_is_verified_with_its_key(self):
        self.start()
        r = self.send(GOOD, GOOD.transaction([OTHER.event(room_id="!room:good.example")]))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)

    def test_relayed_pdu_of_a_server_in_no_federation_is_refused_per_policy(self):
        # stranger.example is in no federation: its event, relayed by an allowed peer, meets a
        # rule on the sender's server (its key is pinned, so the event itself verifies).
        self.start(policy_yaml("""  - id: no-relays-from-outside
    federation: partners
    direction: inbound
    event_types: ["*"]
    sender_outside_federations: all
    action: deny
"""))
        txn = GOOD.transaction([STRANGER.event(room_id="!room:good.example")])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "no-relays-from-outside", "transaction_denied_by_content")
        # A member of the federation relayed the same way passes.
        r = self.send(GOOD, GOOD.transaction([OTHER.event(room_id="!room:good.example")]),
                      txn_id="t2")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)

    def test_unknown_room_version_is_verified_with_candidate_families(self):
        self.start()
        for i, version in enumerate(["3", "5", "11"]):
            r = self.send(GOOD, GOOD.transaction([GOOD.event(version=version)]), txn_id=f"v{i}")
            self.assertEqual(r.status, 200, (version, r.body))
        line = self.gw.wait_for_log(lambda rec: rec.get("event") == "request")
        self.assertTrue(line["room_version_unknown"])

    def test_create_event_in_a_transaction_teaches_the_room_version(self):
        # The benchmark once ran every PDU as room_version=unknown; the cause was the load
        # generator (the create transaction never left wrk), not the gateway. This pins the
        # gateway's half: a verified create event makes its room's later PDUs "known".
        self.start()
        room = "!learnt:good.example"
        create = GOOD.event("m.room.create", {"creator": "@alice:good.example",
                                              "room_version": "10"}, state_key="", room_id=room)
        r = self.send(GOOD, GOOD.transaction([create]), txn_id="c1")
        self.assertEqual(r.status, 200, r.body)
        for txn, pdu_room in (("m1", room), ("m2", "!other:good.example")):
            r = self.send(GOOD, GOOD.transaction([GOOD.event(room_id=pdu_room)]), txn_id=txn)
            self.assertEqual(r.status, 200, r.body)

        def request_line(txn):
            return self.gw.wait_for_log(lambda rec: rec.get("event") == "request"
                                        and rec.get("path", "").endswith("/send/" + txn))
        self.assertFalse(request_line("c1")["room_version_unknown"])
        self.assertFalse(request_line("m1")["room_version_unknown"])
        self.assertTrue(request_line("m2")["room_version_unknown"])  # a room never seen

    # ---- authentication -------------------------------------------------------
    def test_unsigned_request_is_401(self):
        self.start()
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/t1",
                         json.dumps(GOOD.transaction()).encode())
        self.assertRefused(r, 401, "M_UNAUTHORIZED")

    def test_wrong_destination_is_401(self):
        self.start()
        r = self.send(GOOD, GOOD.transaction(), destination="elsewhere.example")
        self.assertRefused(r, 401, "M_UNAUTHORIZED")

    def test_bad_signature_is_401(self):
        self.start()
        uri = "/_matrix/federation/v1/send/t1"
        body, headers = GOOD.signed_request("PUT", uri, GOOD.transaction())
        # Signed over another body than the one sent.
        other = json.dumps(GOOD.transaction([GOOD.event()])).encode()
        r = self.request(self.gw, "PUT", uri, other, headers)
        self.assertRefused(r, 401, "M_UNAUTHORIZED")
        # Signed by a key that is not good.example's pinned key under its id.
        r = self.send(GOOD, GOOD.transaction(), key=OTHER.key)
        self.assertRefused(r, 401, "M_UNAUTHORIZED")

    def test_unknown_key_is_401(self):
        self.start()
        r = self.send(UNPINNED, UNPINNED.transaction())
        body = self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertIn("ed25519:k2", body["error"])
        self.assertNothingForwarded()

    def test_one_bad_header_among_several_is_401(self):
        self.start()
        uri = "/_matrix/federation/v1/send/t1"
        txn = GOOD.transaction()
        body, headers = GOOD.signed_request("PUT", uri, txn)
        headers.append(("Authorization", UNPINNED.authorization("PUT", uri, txn)))
        r = self.request(self.gw, "PUT", uri, body, headers)
        self.assertRefused(r, 401, "M_UNAUTHORIZED")

    # ---- policy ---------------------------------------------------------------
    def test_disallowed_origin_is_403(self):
        self.start()
        r = self.send(STRANGER, STRANGER.transaction())
        body = self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertIn("default", body["error"])
        self.assertNothingForwarded()

    def test_disallowed_event_type_is_denied_with_200_and_stored(self):
        self.start()
        txn = GOOD.transaction([GOOD.event(), GOOD.event("m.widget", {"url": "x"})])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "no-widgets", "transaction_denied_by_content")
        # The retry (same txnId) gets the stored answer; nothing is stored or forwarded again.
        again = self.send(GOOD, txn)
        self.assertEqual((again.status, again.body), (r.status, r.body))
        self.assertNothingForwarded()

    def test_disallowed_room_is_denied_with_200(self):
        self.start()
        txn = GOOD.transaction([GOOD.event(room_id="!closed:good.example")])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "closed-room", "transaction_denied_by_content")

    def test_disallowed_edu_type_is_denied_with_200(self):
        self.start()
        txn = GOOD.transaction(edus=[{"edu_type": "com.example.forbidden", "content": {}}])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "no-custom-edus", "transaction_denied_by_content")

    def test_spoofed_edu_users_are_403(self):
        self.start()
        spoofed = [
            {"edu_type": "m.typing", "content": {"room_id": "!r:good.example",
                                                 "user_id": "@bob:other.example", "typing": True}},
            {"edu_type": "m.presence", "content": {"push": [{"user_id": "@bob:other.example",
                                                             "presence": "online"}]}},
            {"edu_type": "m.device_list_update", "content": {"user_id": "@bob:other.example",
                                                             "device_id": "D", "stream_id": 1}},
            {"edu_type": "m.direct_to_device", "content": {"sender": "@bob:other.example",
                                                           "type": "m.x", "message_id": "1",
                                                           "messages": {}}},
            {"edu_type": "m.receipt", "content": {"!r:good.example": {"m.read": {
                "@bob:other.example": {"event_ids": ["$x"], "data": {"ts": 1}}}}}},
            {"edu_type": "m.signing_key_update", "content": {"user_id": "@bob:other.example"}},
        ]
        for i, edu in enumerate(spoofed):
            txn = GOOD.transaction(edus=[edu])
            r = self.send(GOOD, txn, txn_id=f"s{i}")
            self.assertDeniedAndStored(r, txn, "checks", "edu_origin_binding_check_failed",
                                       txn_id=f"s{i}")

    def test_transaction_origin_must_be_the_signer(self):
        self.start()
        r = self.send(GOOD, GOOD.transaction(origin="other.example"))
        self.assertRefused(r, 403, "M_FORBIDDEN")

    # ---- PDU checks -------------------------------------------------------------
    def test_tampered_pdu_content_is_denied_with_200(self):
        self.start()
        pdu = GOOD.event()
        pdu["content"]["body"] = "changed after signing"
        txn = GOOD.transaction([pdu])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "checks", "pdu_hashes_check_failed")

    def test_pdu_signed_by_the_wrong_server_is_denied_with_200(self):
        self.start()
        pdu = GOOD.event(sign_as="other.example", key=OTHER.key)  # sender is on good.example
        txn = GOOD.transaction([pdu])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "checks", "pdu_signatures_check_failed")

    def test_oversize_event_is_denied_with_200(self):
        self.start()
        pdu = GOOD.event(content={"body": "x" * 70000, "msgtype": "m.text"})
        txn = GOOD.transaction([pdu])
        r = self.send(GOOD, txn)
        self.assertDeniedAndStored(r, txn, "checks", "pdu_too_large")

    def test_too_many_pdus_is_400(self):
        self.start()
        pdus = [GOOD.event(ts=1700000000000 + i) for i in range(51)]
        r = self.send(GOOD, GOOD.transaction(pdus))
        self.assertRefused(r, 400, "M_BAD_JSON")

    def test_policy_limits_are_413(self):
        self.start(policy_yaml() + """settings:
  - id: partner-limits
    federation: partners
    limits:
      max_pdus_per_transaction: 2
      max_edus_per_transaction: 1
""")
        pdus = [GOOD.event(ts=1700000000000 + i) for i in range(3)]
        r = self.send(GOOD, GOOD.transaction(pdus))
        body = self.assertMatrixError(r, 413, "M_TOO_LARGE")
        self.assertIn("too_many_pdus", body["error"])
        typing = {"edu_type": "m.typing", "content": {"room_id": "!r:good.example",
                                                      "user_id": "@a:good.example"}}
        r = self.send(GOOD, GOOD.transaction(edus=[typing, typing]), txn_id="t2")
        self.assertMatrixError(r, 413, "M_TOO_LARGE")
        self.assertNothingForwarded()
        r = self.send(GOOD, GOOD.transaction(pdus[:2], [typing]), txn_id="t3")
        self.assertEqual(r.status, 200, r.body)

    def test_not_json_is_400(self):
        self.start()
        uri = "/_matrix/federation/v1/send/t1"
        r = self.request(self.gw, "PUT", uri, b"{not json",
                         [("Authorization", GOOD.authorization("PUT", uri))])
        self.assertRefused(r, 400, "M_NOT_JSON")

    # ---- rate limit, Core down ----------------------------------------------------
    def test_rate_limit_is_429_with_retry_after(self):
        self.start(policy_yaml(rate="{per_second: 0.01, burst: 2}"))
        statuses = [self.send(GOOD, GOOD.transaction(), txn_id=f"r{i}") for i in range(3)]
        self.assertEqual([r.status for r in statuses[:2]], [200, 200])
        body = self.assertMatrixError(statuses[2], 429, "M_LIMIT_EXCEEDED")
        self.assertGreater(body["retry_after_ms"], 0)
        self.assertTrue(statuses[2].header("Retry-After"))
        self.assertEqual(len(self.up.requests), 2)

    def test_core_down_gives_502_never_200(self):
        self.start(upstream_port=free_port(), wait="listening")
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]))
        self.assertMatrixError(r, 502)


if __name__ == "__main__":
    main()
