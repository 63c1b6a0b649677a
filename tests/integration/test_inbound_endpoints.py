#!/usr/bin/python3
"""Inbound enforcement of the other endpoint families: classification and path smuggling, key
endpoints without X-Matrix, invites, membership handshakes, media, user queries and a policy
reload on SIGHUP. Test homeservers sign with python3-signedjson; their keys are pinned."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import with_policy  # noqa: E402
from harness import GatewayTestCase, main  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
OTHER = TestHomeserver("other.example")

INVITE_RULES = """  - id: no-invites-to-leadership
    federation: partners
    direction: inbound
    endpoints: [invite]
    invite_targets: ["@leitung-*:core.bordergate.test"]
    action: deny
"""


class InboundEndpointsTest(GatewayTestCase):
    SERVER_NAME = CORE

    def start(self, policy: str | None = None):
        self.up = self.start_upstream()
        self.policy_path = self.tmp / "policy.yaml"
        self.policy_path.write_text(policy or policy_yaml(INVITE_RULES))
        config = self.make_config(self.up.port)
        with_policy(config, self.policy_path)
        config["keys"] = {"pinned": {s.name: s.pinned() for s in (GOOD, OTHER)}}
        self.gw = self.start_gateway(config)
        return self.gw

    def signed(self, peer, method, uri, body=None, core_answer=None, **auth):
        """A signed request; core_answer (JSON) is what the test Core answers (X-Test-* headers
        are not signed)."""
        data, headers = peer.signed_request(method, uri, body, **auth)
        if core_answer is not None:
            headers.append(("X-Test-Response-B64",
                            base64.b64encode(json.dumps(core_answer).encode()).decode()))
            headers.append(("X-Test-Content-Type", "application/json"))
        return self.request(self.gw, method, uri, data, headers)

    def forwarded(self) -> int:
        return len(self.up.requests)

    # ---- classification -------------------------------------------------------
    def test_smuggling_attempts_never_reach_the_core(self):
        self.start()
        cases = [
            ("GET", "/_matrix/client/v3/sync", 404),
            ("GET", "/_synapse/admin/v1/users", 404),
            ("GET", "/metrics", 404),
            ("GET", "/_matrix/federation/v1/../../_synapse/admin/v1/users", 404),
            ("GET", "/_matrix/federation/v1/%2e%2e/%2e%2e/_synapse/admin/v1/users", 404),
            ("GET", "/_matrix/federation/v1//version", 404),
            ("GET", "/_matrix%2Ffederation%2Fv1%2Fversion", 404),
            ("GET", "/x/_matrix/federation/v1/version", 404),
            ("GET", "/_matrix/client/v3/sync?/_matrix/federation/v1/version", 404),
            ("PUT", "/_matrix/federation/v1/send/a%00b", 404),
            ("PUT", "/_matrix/federation/v1/send/a%zz", 404),
            ("POST", "/_matrix/federation/v1/version", 405),
            ("GET", "/_matrix/federation/v1/send/t1", 405),
        ]
        for method, path, status in cases:
            # Signed correctly: authentication is not what stops them.
            r = self.signed(GOOD, method, path)
            self.assertMatrixError(r, status, "M_UNRECOGNIZED")
        self.assertEqual(self.forwarded(), 0)

    def test_key_endpoints_pass_without_xmatrix_subject_to_policy(self):
        self.start()
        r = self.request(self.gw, "GET", "/_matrix/key/v2/server")
        self.assertEqual(r.status, 200, r.body)
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.forwarded(), 2)
        # The Core is no notary for strangers: key.query is not allowed for unknown origins.
        r = self.request(self.gw, "GET", "/_matrix/key/v2/query/other.example")
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertEqual(self.forwarded(), 2)

    def test_signed_read_endpoints(self):
        self.start()
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/state_ids/%21room%3Agood.example"
                                     "?event_id=%24abc")
        self.assertEqual(r.status, 200, r.body)
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/state_ids/%21closed%3Agood.example")
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertEqual(self.forwarded(), 1)

    # ---- invites ----------------------------------------------------------------
    def invite(self, peer, event, room_version="10", eid=None):
        import matrix_events_helper as ev
        eid = eid or ev.event_id(event, room_version)
        uri = "/_matrix/federation/v2/invite/%s/%s" % (
            event["room_id"].replace("!", "%21").replace(":", "%3A"), eid.replace("$", "%24"))
        body = {"room_version": room_version, "event": event, "invite_room_state": []}
        return self.signed(peer, "PUT", uri, body)

    def member(self, peer, membership, state_key, sender=None, version="10"):
        return peer.event("m.room.member", {"membership": membership}, version=version,
                          state_key=state_key, sender=sender)

    def test_invite_allowed(self):
        self.start()
        r = self.invite(GOOD, self.member(GOOD, "invite", "@bob:" + CORE))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.forwarded(), 1)

    def test_invite_v1_body_is_the_event(self):
        import matrix_events_helper as ev
        self.start()
        e = self.member(GOOD, "invite", "@bob:" + CORE)
        uri = "/_matrix/federation/v1/invite/%21room%3Agood.example/" + \
            ev.event_id(e, "10").replace("$", "%24")
        r = self.signed(GOOD, "PUT", uri, e)
        self.assertEqual(r.status, 200, r.body)
        e = self.member(GOOD, "invite", "@leitung-2:" + CORE)
        uri = "/_matrix/federation/v1/invite/%21room%3Agood.example/" + \
            ev.event_id(e, "10").replace("$", "%24")
        r = self.signed(GOOD, "PUT", uri, e)
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertEqual(self.forwarded(), 1)

    def test_invite_rules(self):
        self.start()
        # The sender is not on the origin (other.example signs its own event, good.example sends).
        r = self.invite(GOOD, self.member(OTHER, "invite", "@bob:" + CORE))
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        # The invitee is not a local user.
        r = self.invite(GOOD, self.member(GOOD, "invite", "@bob:elsewhere.example"))
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        # Invite rules of the policy.
        r = self.invite(GOOD, self.member(GOOD, "invite", "@leitung-1:" + CORE))
        body = self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertIn("no-invites-to-leadership", body["error"])
        # Not an invite.
        r = self.invite(GOOD, self.member(GOOD, "join", "@bob:" + CORE))
        self.assertMatrixError(r, 400, "M_INVALID_PARAM")
        # The path names another event.
        r = self.invite(GOOD, self.member(GOOD, "invite", "@bob:" + CORE), eid="$other")
        self.assertMatrixError(r, 400, "M_INVALID_PARAM")
        # Tampered after signing.
        e = self.member(GOOD, "invite", "@bob:" + CORE)
        e["content"]["displayname"] = "added"
        r = self.invite(GOOD, e)
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertEqual(self.forwarded(), 0)

    # ---- membership handshakes -----------------------------------------------------
    def test_make_join_user_must_be_on_origin(self):
        self.start()
        base = "/_matrix/federation/v1/make_join/%21room%3Agood.example/"
        r = self.signed(GOOD, "GET", base + "%40alice%3Agood.example?ver=10")
        self.assertEqual(r.status, 200, r.body)
        r = self.signed(GOOD, "GET", base + "%40bob%3Aother.example?ver=10")
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertEqual(self.forwarded(), 1)

    def test_room_version_learnt_from_make_join_answers(self):
        # A PDU of a room the gateway has not seen is checked under every rule family and
        # recorded as room_version "unknown"; once the Core's make_join answer named the room's
        # version, the next PDU of that room is checked under it.
        self.start()
        room = "!learnt:good.example"

        def send(txn_id, ts):
            txn = GOOD.transaction([GOOD.event(room_id=room, ts=ts)])
            r = self.signed(GOOD, "PUT", f"/_matrix/federation/v1/send/{txn_id}", txn)
            self.assertEqual(r.status, 200, r.body)

        send("before", 1700000000001)
        uri = "/_matrix/federation/v1/make_join/%21learnt%3Agood.example/%40alice%3Agood.example"
        _, headers = GOOD.signed_request("GET", uri + "?ver=10")
        # The test Core answers with the room's version.
        r = self.request(self.gw, "GET", uri + "?ver=10", None,
                         headers + [("X-Test-Response-Json",
                                     json.dumps({"room_version": "10", "event": {}}))])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["room_version"], "10")
        send("after", 1700000000002)
        self.gw.stop()
        decisions = [json.loads(l) for l in (self.tmp / "state" / "audit.log").read_text().splitlines()]
        versions = {d.get("txn_id"): d.get("room_version") for d in decisions
                    if d.get("endpoint") == "send"}
        self.assertEqual(versions, {"before": "unknown", "after": "10"})

    def test_send_join(self):
        self.start()
        import matrix_events_helper as ev
        join = self.member(GOOD, "join", "@alice:good.example")
        uri = "/_matrix/federation/v2/send_join/%21room%3Agood.example/" + \
            ev.event_id(join, "10").replace("$", "%24")
        answer = {"origin": CORE, "state": [], "auth_chain": [], "event": join}
        r = self.signed(GOOD, "PUT", uri, join, core_answer=answer)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), answer)  # no event in it the rules refuse: as the Core said
        # The Core's answer to send_join carries events: one that is not a send_join answer
        # cannot be judged, so it does not cross (502, the Core's fault).
        r = self.signed(GOOD, "PUT", uri, join, core_answer={"not": "a send_join answer"})
        self.assertMatrixError(r, 502, "M_UNKNOWN")
        # state_key != sender
        bad = self.member(GOOD, "join", "@carol:good.example")
        uri = "/_matrix/federation/v2/send_join/%21room%3Agood.example/" + \
            ev.event_id(bad, "10").replace("$", "%24")
        r = self.signed(GOOD, "PUT", uri, bad)
        self.assertMatrixError(r, 400, "M_INVALID_PARAM")
        self.assertEqual(self.forwarded(), 2)

    # ---- media, user queries ------------------------------------------------------
    def test_media_disallowed_by_policy(self):
        self.start(policy_yaml(INVITE_RULES, media_allowed=False))
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/media/download/abc")
        body = self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertIn("media", body["error"])
        self.assertEqual(self.forwarded(), 0)

    def test_media_allowed(self):
        self.start()
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/media/thumbnail/abc?width=32")
        self.assertEqual(r.status, 200, r.body)

    def test_user_devices_only_for_local_users(self):
        self.start()
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/user/devices/%40bob%3A" + CORE)
        self.assertEqual(r.status, 200, r.body)
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/user/devices/%40bob%3Aother.example")
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        self.assertEqual(self.forwarded(), 1)

    # ---- reload -------------------------------------------------------------------
    def test_sighup_reloads_the_policy(self):
        self.start()
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/state_ids/%21room%3Agood.example")
        self.assertEqual(r.status, 200)
        self.policy_path.write_text(policy_yaml(INVITE_RULES).replace(
            "servers: [good.example, other.example]", "servers: [other.example]"))
        self.gw.reload()
        self.gw.wait_for_log(lambda rec: rec.get("event") == "config_reloaded")
        r = self.signed(GOOD, "GET", "/_matrix/federation/v1/state_ids/%21room%3Agood.example")
        self.assertMatrixError(r, 403, "M_FORBIDDEN")
        # An invalid policy keeps the one in force.
        self.policy_path.write_text("version: 1\nnot_a_key: [\n")
        self.gw.reload()
        self.gw.wait_for_log(lambda rec: rec.get("event") == "config_reload_failed")
        r = self.signed(OTHER, "GET", "/_matrix/federation/v1/state_ids/%21room%3Agood.example")
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    main()
