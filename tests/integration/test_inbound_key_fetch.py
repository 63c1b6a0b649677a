#!/usr/bin/python3
"""Inbound enforcement with keys the gateway fetches itself: the peers are not pinned, so the
gateway's shared key store (gateway/proxy/federation.h) fetches /_matrix/key/v2/server over TLS
from Python peers that sign with python3-signedjson, reached through static routes on loopback
(no DNS at all). Covers: fetched and then cached keys, a key id the peer does not publish, the
peer's key server down, an expired key, a PDU dated after its key's validity (refused in room
v10, accepted in room v4, which ignores valid_until_ts, refused where the room's version is
unknown), pinned keys winning over fetching, and pinned keys rotated by a reload (SIGHUP re-reads
keys.pinned_file) while a change of the discovery settings is refused until a restart."""
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import no_dns_discovery, with_policy  # noqa: E402
from harness import ENV, GatewayTestCase, free_port, main, metric_sum  # noqa: E402
from federation_peers import MatrixPeer  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
ROGUE_KEY = TestHomeserver("good.example", "k9")  # a key id good.example does not publish


def now_ms() -> int:
    return int(time.time() * 1000)


class InboundKeyFetchTest(GatewayTestCase):
    SERVER_NAME = CORE

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.good_cert = cls.pki.server("good.example")

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()
        super().tearDown()

    def key_server(self, **kwargs) -> MatrixPeer:
        """good.example's key server, publishing GOOD's key (ed25519:k1)."""
        p = MatrixPeer(self.good_cert, GOOD.name, **kwargs)
        p.signing_key = GOOD.key
        p.key_id = GOOD.key_id
        p.verify_key_b64 = GOOD.pinned()[GOOD.key_id]
        self.peers.append(p)
        return p

    def start(self, port: int, pinned: dict | None = None, pinned_file: dict | None = None):
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml())
        config = with_policy(self.make_config(self.up.port), path)
        discovery = no_dns_discovery()
        discovery.update({
            "static_routes": {"good.example": {"target": f"127.0.0.1:{port}",
                                               "tls_name": "good.example"}},
            "allowed_ranges": ["127.0.0.0/8"],
            "ca_file": str(self.pki.ca.cert),
        })
        config["discovery"] = discovery
        config["keys"] = {"fetch_mode": "direct", "cache_file": str(self.tmp / "keys.sqlite")}
        if pinned:
            config["keys"]["pinned"] = pinned
        if pinned_file:
            path = self.tmp / "pinned.json"
            path.write_text(json.dumps(pinned_file))
            config["keys"]["pinned_file"] = str(path)
        self.gw = self.start_gateway(config)
        return self.gw

    def send(self, peer, txn, txn_id):
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = peer.signed_request("PUT", uri, txn)
        return self.request(self.gw, "PUT", uri, body, headers)

    def fetches(self, **labels) -> float:
        return metric_sum(self.metrics(self.gw), "bordergate_key_fetches_total", **labels)

    def test_fetched_keys_verify_and_are_cached(self):
        p = self.key_server()
        self.start(p.port)
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "t1")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 1)
        self.assertEqual(p.hits[-1][2], "good.example")  # Host: the server name
        self.assertEqual(self.fetches(result="started"), 1)
        self.assertEqual(self.fetches(result="ok_direct"), 1)
        hits = metric_sum(self.metrics(self.gw), "bordergate_key_lookups_total", result="cache_hit")

        # The next request is answered from the cache: no second fetch.
        r = self.send(GOOD, GOOD.transaction([GOOD.event(ts=1700000000001)]), "t2")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 2)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 1)
        self.assertEqual(self.fetches(result="started"), 1)
        self.assertGreater(metric_sum(self.metrics(self.gw), "bordergate_key_lookups_total",
                                      result="cache_hit"), hits)

    def test_key_id_the_peer_does_not_publish_is_401(self):
        p = self.key_server()
        self.start(p.port)
        r = self.send(ROGUE_KEY, ROGUE_KEY.transaction([ROGUE_KEY.event()]), "t1")
        body = self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertIn("ed25519:k9", body["error"])
        self.assertEqual(self.up.requests, [])
        self.assertEqual(p.count("/_matrix/key/v2/server"), 1)  # it was asked, and said no

    def test_key_server_down_is_401_and_nothing_is_forwarded(self):
        self.start(free_port())  # nothing listens there: the fetch is refused
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "t1")
        body = self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertIn("could not be obtained", body["error"])
        self.assertEqual(self.up.requests, [])
        self.assertGreaterEqual(self.fetches(result="transport_error"), 1)

    def test_expired_key_is_401(self):
        p = self.key_server(valid_for_ms=-60_000)  # valid_until_ts a minute ago
        self.start(p.port)
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "t1")
        body = self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertIn("expired", body["error"])
        self.assertEqual(self.up.requests, [])

    def test_pdu_after_its_key_validity_follows_the_room_version(self):
        p = self.key_server(valid_for_ms=3600_000)  # valid now, for one hour
        self.start(p.port)
        now = now_ms()
        creates = [GOOD.event("m.room.create", {"creator": "@alice:good.example",
                                                "room_version": v}, version=v, state_key="",
                              room_id=f"!v{v}:good.example", ts=now - 1000)
                   for v in ("10", "4")]
        r = self.send(GOOD, GOOD.transaction(creates), "create")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)

        later = now + 2 * 3600_000  # after the key's valid_until_ts
        # Room v10 enforces key validity (v5+): the PDU's signature does not count.
        r = self.send(GOOD, GOOD.transaction([GOOD.event(version="10", room_id="!v10:good.example",
                                                         ts=later)]), "late10")
        self.assertStoredVerdict(r, self.gw, "late10", "pdu_signatures_check_failed",
                                 pdus=1)
        self.assertEqual(len(self.up.requests), 1)
        # Room v4 ignores valid_until_ts for event signatures: the same lateness passes.
        r = self.send(GOOD, GOOD.transaction([GOOD.event(version="4", room_id="!v4:good.example",
                                                         ts=later)]), "late4")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 2)
        # The key was fetched once; the late lookups were answered from what it said.
        self.assertEqual(p.count("/_matrix/key/v2/server"), 1)

    def test_pdu_after_its_key_validity_in_a_room_of_unknown_version_is_refused(self):
        # Without the room's create event the gateway cannot know that the lax v1-v4 rule
        # applies: every candidate family enforces key validity, so the v4-shaped PDU that a
        # known v4 room accepts is refused here.
        p = self.key_server(valid_for_ms=3600_000)
        self.start(p.port)
        later = now_ms() + 2 * 3600_000
        r = self.send(GOOD, GOOD.transaction([GOOD.event(version="4", room_id="!unseen:good.example",
                                                         ts=later)]), "late_unknown")
        self.assertStoredVerdict(r, self.gw, "late_unknown", "pdu_signatures_check_failed",
                                 pdus=1)
        self.assertEqual(self.up.requests, [])
        # The same PDU dated inside the key's validity passes under the candidate rules.
        r = self.send(GOOD, GOOD.transaction([GOOD.event(version="4", room_id="!unseen:good.example",
                                                         ts=now_ms())]), "ok_unknown")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)

    def test_pinned_keys_win_over_fetching(self):
        p = self.key_server()
        p.verify_key_b64 = ROGUE_KEY.pinned()[ROGUE_KEY.key_id]  # publishes another key as k1
        self.start(p.port, pinned={GOOD.name: GOOD.pinned()})
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "t1")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 0)  # a pinned server is never fetched
        r = self.send(ROGUE_KEY, ROGUE_KEY.transaction(), "t2")
        self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertEqual(p.count("/_matrix/key/v2/server"), 0)
        self.assertEqual(len(self.up.requests), 1)
        self.assertGreaterEqual(metric_sum(self.metrics(self.gw), "bordergate_key_lookups_total",
                                           result="pinned"), 2)

    def test_pinned_key_with_valid_until_ts(self):
        """Key rotation in a closed federation: the pinned-keys file ends a key's validity."""
        key = GOOD.pinned()[GOOD.key_id]
        self.start(free_port(), pinned_file={GOOD.name: {GOOD.key_id: {
            "key": key, "valid_until_ts": now_ms() - 60_000}}})
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "t1")
        body = self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertIn("expired", body["error"])
        self.assertEqual(self.up.requests, [])
        self.assertEqual(self.fetches(result="started"), 0)  # pinned: never fetched
        self.gw.stop()

        self.start(free_port(), pinned_file={GOOD.name: {GOOD.key_id: {
            "key": key, "valid_until_ts": now_ms() + 3600_000}}})
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "t2")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(self.up.requests), 1)

    def test_start_log_counts_pinned_file_servers(self):
        # The start-up record counts what the key store holds: `keys.pinned` and the servers of
        # `keys.pinned_file` together (it once counted `keys.pinned` alone and said 0 here).
        other = TestHomeserver("other.example")
        self.start(free_port(), pinned_file={GOOD.name: GOOD.pinned()})
        rec = self.gw.wait_for_log(lambda r: r.get("event") == "inbound_enforcement")
        self.assertEqual(rec.get("pinned_servers"), 1, rec)
        self.gw.stop()

        self.start(free_port(), pinned={other.name: other.pinned()},
                   pinned_file={GOOD.name: GOOD.pinned()})
        rec = self.gw.wait_for_log(lambda r: r.get("event") == "inbound_enforcement")
        self.assertEqual(rec.get("pinned_servers"), 2, rec)

    def reload_and_wait(self, config: dict, result: str):
        before = metric_sum(self.metrics(self.gw), "bordergate_config_reloads_total", result=result)
        self.gw.reload(config)
        deadline = time.monotonic() + ENV.timeout(10)
        while metric_sum(self.metrics(self.gw), "bordergate_config_reloads_total",
                         result=result) <= before:
            self.assertLess(time.monotonic(), deadline, self.gw.stderr_tail())
            time.sleep(0.05)

    def test_pinned_keys_rotate_on_reload(self):
        # Closed federation: the peer rotates to a new key (k9); the operator rewrites the pinned
        # keys file and reloads. Before: the new key is refused; after: it verifies and the old
        # one no longer does. Nothing is ever fetched.
        self.start(free_port(), pinned_file={GOOD.name: GOOD.pinned()})
        r = self.send(ROGUE_KEY, ROGUE_KEY.transaction([ROGUE_KEY.event()]), "r1")
        self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        (self.tmp / "pinned.json").write_text(json.dumps({GOOD.name: ROGUE_KEY.pinned()}))
        self.reload_and_wait(self.gw.config, "success")
        r = self.send(ROGUE_KEY, ROGUE_KEY.transaction([ROGUE_KEY.event()]), "r2")
        self.assertEqual(r.status, 200, r.body)
        r = self.send(GOOD, GOOD.transaction([GOOD.event()]), "r3")
        self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertEqual(len(self.up.requests), 1)
        self.assertEqual(self.fetches(result="started"), 0)
        self.assertTrue(any(rec.get("event") == "config_reloaded" and rec.get("pinned_servers") == 1
                            for rec in self.gw.log_records()), self.gw.stderr_tail())

        # Discovery is bound at start: a reload that changes it fails whole, so the pinned keys
        # written with it are not taken either.
        (self.tmp / "pinned.json").write_text(json.dumps({GOOD.name: GOOD.pinned()}))
        changed = copy.deepcopy(self.gw.config)
        changed["discovery"]["dns_timeout"] = "7s"
        self.reload_and_wait(changed, "failure")
        r = self.send(ROGUE_KEY, ROGUE_KEY.transaction([ROGUE_KEY.event()]), "r4")
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(any("discovery settings only change on restart" in str(rec.get("error"))
                            for rec in self.gw.log_records()), self.gw.stderr_tail())


if __name__ == "__main__":
    main()
