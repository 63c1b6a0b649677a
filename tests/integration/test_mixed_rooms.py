#!/usr/bin/python3
"""Joins into mixed rooms (docs/policy.md, "Rooms with members outside the federations"): the
gateway learns who is in a room from the membership events crossing it, flags a room a server in
no federation joins (audit record, log, metric), and a rule with
room_members_outside_federations refuses joins into such a room. What it learnt survives a
restart (room_members.db); a leave makes the room unmixed again, and backfilled older history
does not undo the leave."""
import json
import os
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import with_policy  # noqa: E402
from harness import GatewayTestCase, main  # noqa: E402
from harness.env import ENV  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
OTHER = TestHomeserver("other.example")
STRANGER = TestHomeserver("stranger.example")  # pinned, but in no federation

MIXED = "!mixed:good.example"
CLEAN = "!clean:good.example"

RULE = """  - id: no-joins-into-mixed-rooms
    federation: partners
    direction: inbound
    endpoints: [make_join, send_join]
    room_members_outside_federations: all
    action: deny
"""


class MixedRoomsTest(GatewayTestCase):
    SERVER_NAME = CORE

    def start(self):
        self.up = self.start_upstream()
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml(RULE))
        config = self.make_config(self.up.port)
        with_policy(config, path)
        config["keys"] = {"pinned": {s.name: s.pinned() for s in (GOOD, OTHER, STRANGER)}}
        self.config = config
        self.gw = self.start_gateway(config)

    def member_event(self, server, membership, room=MIXED, depth=10, ts=1700000000000):
        return server.event("m.room.member", {"membership": membership},
                            state_key="@alice:" + server.name, room_id=room, depth=depth, ts=ts)

    def send(self, txn_id, pdus):
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = GOOD.signed_request("PUT", uri, GOOD.transaction(pdus))
        r = self.request(self.gw, "PUT", uri, body, headers)
        self.assertEqual(r.status, 200, r.body)
        return r

    def make_join(self, room):
        uri = (f"/_matrix/federation/v1/make_join/{quote(room, safe='')}/"
               f"{quote('@bob:good.example', safe='')}")
        _, headers = GOOD.signed_request("GET", uri)
        return self.request(self.gw, "GET", uri, None, headers)

    def audit_record(self, txn_id):
        """The audit record of /send txn_id (the audit writer is a moment behind the answer)."""
        deadline = time.monotonic() + ENV.timeout(10)
        while True:
            path = self.tmp / "state" / "audit.log"
            for line in (path.read_text().splitlines() if path.exists() else []):
                record = json.loads(line)
                if record.get("txn_id") == txn_id:
                    return record
            if time.monotonic() > deadline:
                self.fail(f"no audit record for /send {txn_id}")
            time.sleep(0.02)

    def test_a_join_into_a_room_a_server_in_no_federation_joined_is_refused(self):
        self.start()
        # Nothing known about the room yet: the condition cannot hold, the join is forwarded.
        self.assertEqual(self.make_join(MIXED).status, 200)
        # A partner's member joins: the room is known and not mixed.
        self.send("t1", [self.member_event(OTHER, "join", depth=5)])
        self.assertEqual(self.make_join(MIXED).status, 200)
        forwarded = len(self.up.requests)

        # The partner relays the join of a server in no federation: delivered (no content rule
        # refuses it), and the room is flagged as mixed.
        self.send("t2", [self.member_event(STRANGER, "join", depth=10)])
        self.assertEqual(len(self.up.requests), forwarded + 1)
        record = self.audit_record("t2")
        self.assertEqual(record["mixed_room_ids"], [MIXED])
        self.assertEqual(record["mixed_room_servers"], ["stranger.example"])
        line = self.gw.wait_for_log(lambda rec: rec.get("event") == "room_became_mixed")
        self.assertEqual((line["room_id"], line["server"]), (MIXED, "stranger.example"))
        m = self.metrics_when(self.gw, lambda m: metric_sum(
            m, "bordergate_rooms_mixed_total", direction="inbound") >= 1)
        self.assertEqual(metric_sum(m, "bordergate_rooms_mixed_total", direction="inbound"), 1)
        self.assertEqual(metric_sum(m, "bordergate_room_members_rooms"), 1)

        # Joins into the mixed room are refused by the rule; another room is not affected.
        r = self.make_join(MIXED)
        body = self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertIn("no-joins-into-mixed-rooms", body["error"])
        self.assertEqual(len(self.up.requests), forwarded + 1)
        self.assertEqual(self.make_join(CLEAN).status, 200)

        # What the gateway learnt survives a restart.
        self.gw.stop()
        self.gw = self.start_gateway(self.config)
        self.assertMatrixError(self.make_join(MIXED), 403, "M_FORBIDDEN")

        # The stranger leaves: the room is no longer mixed. Its older join, backfilled later
        # (lower depth), does not bring it back.
        self.send("t3", [self.member_event(STRANGER, "leave", depth=20)])
        self.assertEqual(self.make_join(MIXED).status, 200)
        self.send("t4", [self.member_event(STRANGER, "join", depth=10, ts=1700000000001)])
        self.assertEqual(self.make_join(MIXED).status, 200)
        self.assertNotIn("mixed_room_ids", self.audit_record("t4"))

    def test_a_membership_event_that_does_not_verify_teaches_nothing(self):
        self.start()
        forged = self.member_event(STRANGER, "join")
        forged["signatures"] = {"stranger.example": {STRANGER.key_id: "A" * 86}}
        uri = "/_matrix/federation/v1/send/t1"
        body, headers = GOOD.signed_request("PUT", uri, GOOD.transaction([forged]))
        self.request(self.gw, "PUT", uri, body, headers)
        self.assertEqual(self.make_join(MIXED).status, 200)
        self.assertNotIn("mixed_room_ids", self.audit_record("t1"))


if __name__ == "__main__":
    main()
