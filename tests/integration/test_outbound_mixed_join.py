#!/usr/bin/python3
"""The Core joining a room through the outbound proxy (docs/policy.md, "Rooms with members
outside the federations"): the send_join answer names every member of the room, the gateway
records them, and a rule with room_members_outside_federations refuses the answer when a member's
server is in no federation (the Core gets 403 and never the room's state). The room is flagged as
mixed in the audit record, and the next make_join into it is refused before anything is sent."""
import json
import os
import sys
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
import matrix_events_helper as ev  # noqa: E402
from inbound_peer import TestHomeserver  # noqa: E402
from outbound_rig import CORE, POLICY as RIG_POLICY, Z, OutboundRig  # noqa: E402

POLICY = RIG_POLICY + """  - id: out-no-joins-into-mixed-rooms
    federation: partners
    direction: outbound
    endpoints: [make_join, send_join]
    room_members_outside_federations: all
    action: deny
"""
STRANGER = TestHomeserver(f"stranger.{Z}", "s1")  # in no federation; its key is pinned


class OutboundMixedJoinTest(OutboundRig):
    POLICY = POLICY

    def setUp(self):
        super().setUp()
        self.peer = self.peers["peer"]
        config = self.gateway_config()
        config["keys"]["pinned"][STRANGER.name] = STRANGER.pinned()
        self.gw = self.start_gateway(config)

    def join(self, room: str, members: list[dict]):
        """The Core's send_join into `room`, answered by the peer with `members` as the state."""
        target = self.target("peer")
        user = f"@alice:{CORE}"
        join = self.core_hs.event("m.room.member", {"membership": "join"}, state_key=user,
                                  room_id=room, sender=user)
        event_id = ev.event_id(join, "10")
        self.peer.answer = (200, json.dumps({"state": members, "auth_chain": []}).encode())
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        try:
            return self.core.request(
                tunnel, "PUT",
                f"/_matrix/federation/v2/send_join/{quote(room, safe='')}/"
                f"{quote(event_id, safe='')}", target, body=join)
        finally:
            tunnel.close()

    def member(self, hs, room, depth=5):
        user = f"@bob:{hs.name}"
        return hs.event("m.room.member", {"membership": "join"}, state_key=user, room_id=room,
                        sender=user, depth=depth)

    def make_join(self, room):
        target = self.target("peer")
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        try:
            return self.core.request(
                tunnel, "GET", f"/_matrix/federation/v1/make_join/{quote(room, safe='')}/"
                f"{quote('@alice:' + CORE, safe='')}?ver=10", target)
        finally:
            tunnel.close()

    def test_a_send_join_answer_naming_a_member_in_no_federation_is_refused(self):
        peer = self.target("peer")
        clean, mixed = f"!clean:{peer}", f"!mixed:{peer}"
        # Members of the federation only: the answer reaches the Core.
        status, _, body = self.join(clean, [self.member(self.peer_hs, clean)])
        self.assertEqual(status, 200, body)
        # A member on a server in no federation: the Core gets 403 and not the room's state.
        status, _, body = self.join(mixed, [self.member(self.peer_hs, mixed),
                                            self.member(STRANGER, mixed)])
        self.assertEqual(status, 403, body)
        answer = json.loads(body)
        self.assertEqual(answer["errcode"], "M_FORBIDDEN")
        self.assertIn("out-no-joins-into-mixed-rooms", answer["error"])
        # The room is known now: the next make_join is refused before anything is sent.
        sent = len(self.peer.requests)
        status, _, body = self.make_join(mixed)
        self.assertEqual(status, 403, body)
        self.assertEqual(len(self.peer.requests), sent)

        records = [r for r in self.audit_records()
                   if r.get("endpoint") in ("send_join", "make_join")]
        self.assertEqual([(r["endpoint"], r["action"], r["rule_id"]) for r in records],
                         [("send_join", "forward", "out-partners"),
                          ("send_join", "deny", "out-no-joins-into-mixed-rooms"),
                          ("make_join", "deny", "out-no-joins-into-mixed-rooms")])
        self.assertEqual(records[1]["mixed_room_ids"], [mixed])
        self.assertEqual(records[1]["mixed_room_servers"], [STRANGER.name])
        self.assertNotIn("mixed_room_ids", records[0])


if __name__ == "__main__":
    main()
