#!/usr/bin/python3
"""Chaos through the real binary (docs/operations.md, "What an operator sees when something
fails"). The disk fails under the gateway through a preloaded shim (faults/faultfs.c: writes and
fsyncs of one file fail with a chosen errno, hang, or tear a line), the Core and a key server go
away and come back, and the gateway is killed with SIGKILL in the middle of a write. Every test
keeps one ledger of what each request was answered and holds the gateway to one rule at the end:
nothing was answered 200 that the Core did not receive or the quarantine does not hold; and the
audit chain verifies, with every forwarded request recorded once and no gap without a gap record.
"""
import concurrent.futures
import json
import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.env import ENV  # noqa: E402
from harness.gateway import no_dns_discovery, run_cli, with_policy  # noqa: E402
from harness import GatewayTestCase, free_port, main  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from harness.upstream import EchoUpstream  # noqa: E402
from federation_peers import MatrixPeer  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
OTHER = TestHomeserver("other.example")

HOLD = """  - id: hold-unusual
    federation: partners
    direction: inbound
    event_types: [com.example.unusual]
    action: quarantine
"""


class ChaosTest(GatewayTestCase):
    SERVER_NAME = CORE

    def setUp(self):
        super().setUp()
        if not ENV.faultfs.exists():
            self.fail(f"the failing-disk shim is not built: {ENV.faultfs}")
        self.control = self.tmp / "faults"
        self.state = self.tmp / "state"
        self.upstreams = []
        self.ledger = {}  # txn id -> status answered (None: no answer, the connection broke)
        self.ledger_lock = threading.Lock()
        self.txn = 0
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()
        super().tearDown()

    # ---- set-up -----------------------------------------------------------
    def start(self, audit=None, keys=None, discovery=None, upstream_port=None):
        if not self.upstreams:
            self.upstreams.append(self.start_upstream())
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml(HOLD))
        config = self.make_config(upstream_port or self.upstreams[0].port)
        with_policy(config, path)
        config["keys"] = keys or {"pinned": {s.name: s.pinned() for s in (GOOD, OTHER)}}
        if discovery:
            config["discovery"] = discovery
        config["audit"] = {"fsync": "always", **(audit or {})}
        env = {"LD_PRELOAD": str(ENV.faultfs), "BG_FAULTFS_CONTROL": str(self.control)}
        if ENV.sanitize:
            # The shim is preloaded ahead of the sanitizer runtime the binary links.
            env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "detect_leaks=1") +
                                   ":verify_asan_link_order=0")
        self.config = config
        self.gw = self.start_gateway(config, env=env)
        return self.gw

    def fault(self, rule: str | None):
        """rule: "<path part> <errno|OK|TEAR> [delay ms]" (faults/faultfs.c), None for a sound
        disk. Written atomically: the shim rereads the file when it changes."""
        if rule is None:
            self.control.unlink(missing_ok=True)
            return
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(rule + "\n")
        tmp.replace(self.control)

    # ---- traffic ----------------------------------------------------------
    def send(self, peer=GOOD, event_type="m.room.message", timeout=30.0):
        with self.ledger_lock:
            self.txn += 1
            txn_id = f"c{self.txn}"
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        txn = peer.transaction([peer.event(event_type, content={"body": txn_id})])
        body, headers = peer.signed_request("PUT", uri, txn)
        try:
            r = self.request(self.gw, "PUT", uri, body, headers, timeout=timeout)
        except OSError:
            r = None
        with self.ledger_lock:
            self.ledger[txn_id] = (peer.name, event_type, r.status if r else None)
        return r

    def forwarded_txns(self) -> set[str]:
        seen = set()
        for up in self.upstreams:
            for req in up.requests:
                if "/send/" in req.uri:
                    seen.add(req.uri.rsplit("/", 1)[1])
        return seen

    def held_txns(self) -> set[str]:
        db = self.state / "quarantine.db"
        if not db.exists():
            return set()
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            # Stored as the bytes of the request (a BLOB).
            return {bytes(row[0]).decode() if isinstance(row[0], bytes) else row[0]
                    for row in con.execute("SELECT txn_id FROM entries")}
        finally:
            con.close()

    # ---- the rule every test ends with ------------------------------------
    def assert_nothing_answered_200_falsely(self):
        forwarded = self.forwarded_txns()
        held = self.held_txns()
        false_200 = sorted(t for t, (_, _, status) in self.ledger.items()
                           if status == 200 and t not in forwarded and t not in held)
        self.assertEqual(false_200, [], "answered 200 but neither forwarded nor held")
        # And nothing the Core received was answered with a refusal by the gateway itself.
        refused_yet_forwarded = sorted(t for t, (_, _, status) in self.ledger.items()
                                       if status == 503 and t in forwarded)
        self.assertEqual(refused_yet_forwarded, [])
        return forwarded, held

    def audit_chain(self, expect_gap=False):
        """Verifies the chain; every forwarded request has exactly one decision record."""
        log = self.state / "audit.log"
        ok = run_cli("audit", "verify", str(log))
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        if not expect_gap:
            self.assertNotIn("gap", ok.stdout)
        lines = []
        for line in log.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                lines.append({"type": "torn line", "text": line})
        decisions = [r for r in lines if r.get("type") == "decision" and r.get("txn_id")]
        by_txn = {}
        for r in decisions:
            by_txn.setdefault(r["txn_id"], []).append(r)
        return ok.stdout, lines, by_txn

    # ---- the disk under the audit log -------------------------------------
    def test_audit_io_error_refuses_new_work_and_recovers(self):
        self.start()
        for _ in range(3):
            self.assertEqual(self.send().status, 200)
        self.wait_for("the records so far", lambda: len(self.audit_chain()[2]) == 3)
        self.fault("audit.log EIO")
        self.assertEqual(self.send().status, 200)  # admitted before the failure is known
        status, ready = self.wait_for(
            "readiness to turn 503",
            lambda: (lambda r: r if r[0] == 503 else None)(self.gw.readiness()))
        self.assertIn("audit log write failing", ready["reason"])
        self.assertIn("Input/output error", ready["reason"])
        before = len(self.forwarded_txns())
        for peer in (GOOD, OTHER):
            r = self.send(peer)
            self.assertMatrixError(r, 503, "M_UNAVAILABLE")
            self.assertEqual(r.header("Retry-After"), "5")
        self.assertEqual(len(self.forwarded_txns()), before)
        failed = [r for r in self.gw.log_records() if r.get("event") == "audit_write_failed"]
        self.assertTrue(failed)
        self.assertIn("Input/output error", json.dumps(failed[0]))

        self.fault(None)
        self.wait_for("readiness to return", lambda: self.gw.readiness()[0] == 200)
        self.assertEqual(self.send().status, 200)
        self.gw.stop()
        forwarded, _ = self.assert_nothing_answered_200_falsely()
        _, lines, by_txn = self.audit_chain()
        self.assertEqual(set(by_txn), forwarded)
        self.assertTrue(all(len(v) == 1 for v in by_txn.values()))
        closed = [r for r in self.gw.log_records() if r.get("event") == "audit_log_closed"][-1]
        self.assertEqual(closed["last_seq"], lines[-1]["seq"])

    def test_a_hanging_audit_disk_fills_the_queue_without_blocking_the_loop(self):
        self.start(audit={"queue_records": 16})
        keepalive = self.client(self.gw)
        uri = "/_matrix/federation/v1/send/ka0"
        body, headers = OTHER.signed_request("PUT", uri, OTHER.transaction([OTHER.event()]))
        self.assertEqual(keepalive.request("PUT", uri, body, headers).status, 200)
        self.ledger["ka0"] = (OTHER.name, "m.room.message", 200)

        self.fault("audit.log OK 8000")  # every write of the audit log takes 8 s
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: self.send(timeout=60), range(40)))
            self.wait_for("the queue to fill", lambda: self.gw.readiness()[0] == 503)
            # Another peer's request on a connection it holds open is answered at once: the
            # event loop never waits for the disk (a blocked loop would take 8 s and more).
            for i in (1, 2, 3):
                uri = f"/_matrix/federation/v1/send/ka{i}"
                body, headers = OTHER.signed_request("PUT", uri,
                                                     OTHER.transaction([OTHER.event(ts=i)]))
                t0 = time.monotonic()
                r = keepalive.request("PUT", uri, body, headers)
                elapsed = time.monotonic() - t0
                self.ledger[f"ka{i}"] = (OTHER.name, "m.room.message", r.status)
                self.assertMatrixError(r, 503, "M_UNAVAILABLE")
                self.assertLess(elapsed, min(ENV.timeout(1.0), 4.0))
        statuses = [a.status for a in answers]
        self.assertEqual(set(statuses) - {200, 503}, set())
        self.assertIn(503, statuses)
        self.assertEqual(self.gw.readiness()[1]["reason"], "audit queue full")
        self.assertGreater(metric_sum(self.metrics(self.gw), "bordergate_audit_refused_total"), 0)

        self.fault(None)
        self.wait_for("the queue to drain", lambda: self.gw.readiness()[0] == 200, timeout=60)
        self.gw.stop()
        forwarded, _ = self.assert_nothing_answered_200_falsely()
        self.assertEqual(len(forwarded), statuses.count(200) + 1)
        _, _, by_txn = self.audit_chain()
        self.assertEqual(set(by_txn), forwarded)

    # ---- the disk under the quarantine ------------------------------------
    def test_a_full_quarantine_disk_refuses_held_work_and_serves_the_rest(self):
        self.start()
        self.fault("quarantine.db ENOSPC")
        r = self.send(event_type="com.example.unusual")
        self.assertMatrixError(r, 503, "M_UNAVAILABLE")
        self.assertEqual(r.header("Retry-After"), "5")
        refused = f"c{self.txn}"
        # Traffic that needs no quarantine keeps flowing.
        self.assertEqual(self.send().status, 200)
        self.assertEqual(self.gw.readiness()[0], 200)
        self.assertNotIn(refused, self.forwarded_txns())
        m = self.metrics(self.gw)
        self.assertGreaterEqual(metric_sum(m, "bordergate_quarantine_puts_total",
                                           result="failed"), 1)
        failed = [r for r in self.gw.log_records() if r.get("event") == "quarantine_write_failed"]
        self.assertEqual([(r["origin"], r["txn_id"]) for r in failed], [(GOOD.name, refused)])
        self.assertIn("disk", failed[0]["detail"].lower())

        self.fault(None)
        # The origin's retry of the same transaction is held now, and answered 200.
        uri = f"/_matrix/federation/v1/send/{refused}"
        txn = GOOD.transaction([GOOD.event("com.example.unusual", content={"body": refused})])
        body, headers = GOOD.signed_request("PUT", uri, txn)
        r = self.request(self.gw, "PUT", uri, body, headers)
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("Held back", json.dumps(r.json()))
        self.ledger[refused] = (GOOD.name, "com.example.unusual", 200)
        self.gw.stop()
        _, held = self.assert_nothing_answered_200_falsely()
        self.assertEqual(held, {refused})
        _, _, by_txn = self.audit_chain()
        # Both attempts are on record: the refusal, then the hold.
        first, second = by_txn[refused]
        self.assertEqual((first["action"], first["reason"], first["status"]),
                         ("deny", "quarantine_unavailable", 503))
        self.assertEqual((second["action"], second["status"]), ("quarantine", 200))

    # ---- the Core and the key server --------------------------------------
    def test_core_down_and_back_under_load(self):
        self.start()
        port = self.upstreams[0].port
        stop = threading.Event()

        def load():
            while not stop.is_set():
                self.send()

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            workers = [pool.submit(load) for _ in range(4)]
            self.wait_for("traffic", lambda: len(self.forwarded_txns()) >= 20)
            self.upstreams[0].stop()
            self.wait_for("answers while the Core is down",
                          lambda: sum(s == 502 for _, _, s in self.ledger.values()) >= 20)
            back = EchoUpstream("core-back")
            back.port = port
            back.start()
            self.addCleanup(back.stop)
            self.upstreams.append(back)
            self.wait_for("the Core to be served again", lambda: len(back.requests) >= 20)
            stop.set()
            for w in workers:
                w.result()
        statuses = {s for _, _, s in self.ledger.values()}
        self.assertEqual(statuses - {200, 502}, set(), statuses)
        self.gw.stop()
        forwarded, _ = self.assert_nothing_answered_200_falsely()
        _, _, by_txn = self.audit_chain()
        # Every request has its record, the refused ones too, with what was answered.
        self.assertEqual(set(by_txn), set(self.ledger))
        for txn_id, (_, _, status) in self.ledger.items():
            self.assertEqual(by_txn[txn_id][-1].get("status"), status, txn_id)

    def test_a_key_server_down_with_a_warm_cache(self):
        good_cert = self.pki.server("good.example")
        ks = MatrixPeer(good_cert, GOOD.name)
        ks.signing_key = GOOD.key
        ks.key_id = GOOD.key_id
        ks.verify_key_b64 = GOOD.pinned()[GOOD.key_id]
        self.peers.append(ks)
        discovery = no_dns_discovery()
        discovery.update({
            "static_routes": {
                "good.example": {"target": f"127.0.0.1:{ks.port}", "tls_name": "good.example"},
                "other.example": {"target": f"127.0.0.1:{free_port()}",
                                  "tls_name": "other.example"}},
            "allowed_ranges": ["127.0.0.0/8"],
            "ca_file": str(self.pki.ca.cert),
        })
        keys = {"fetch_mode": "direct", "cache_file": str(self.tmp / "keys.sqlite")}
        self.start(keys=keys, discovery=discovery)
        self.assertEqual(self.send().status, 200)  # fetches and caches good.example's key
        ks.stop()
        # good.example's key server is gone: its key is still known, requests still verify.
        for _ in range(3):
            self.assertEqual(self.send().status, 200)
        # A peer whose key was never fetched is refused, and nothing of it is forwarded.
        r = self.send(OTHER)
        self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        refused = self.gw.wait_for_log(
            lambda x: x.get("event") == "request" and x.get("status") == 401)
        self.assertEqual(refused["reason"], "key_unavailable")
        # The cache outlives a restart: the key server is still down.
        self.gw.stop()
        self.gw.start()
        self.assertEqual(self.send().status, 200)
        self.gw.stop()
        forwarded, _ = self.assert_nothing_answered_200_falsely()
        self.assertEqual(len(forwarded), 5)
        self.assertNotIn(f"c{5}", forwarded)  # OTHER's
        self.audit_chain()

    # ---- SIGKILL in the middle of writing ---------------------------------
    def test_sigkill_mid_write_loses_nothing_that_was_answered(self):
        self.start()
        for _ in range(3):
            self.assertEqual(self.send().status, 200)
        self.wait_for("the records so far", lambda: len(self.audit_chain()[2]) == 3)
        # The next write of the audit log gets half its bytes onto the disk, then the disk
        # hangs: the process dies with a torn line in the file.
        self.fault("audit.log TEAR")
        self.assertEqual(self.send().status, 200)
        log = self.state / "audit.log"
        self.wait_for("a torn line", lambda: not log.read_bytes().endswith(b"\n"))
        # A transaction to be held hangs in the quarantine's disk when the process dies.
        waiting = self.control.with_name(self.control.name + ".waiting")
        waiting.unlink()  # the audit writer made it; it stays stuck in its torn write
        self.fault("quarantine.db OK 600000")
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self.send, GOOD, "com.example.unusual")
            self.wait_for("the held transaction to reach the disk", waiting.exists)
            self.gw.kill()  # SIGKILL
            r = pending.result()
        self.assertTrue(r is None or r.status != 200)
        self.fault(None)

        killed = self.gw.proc.pid
        self.gw.start()
        # The torn line is terminated and accounted for, and so is what the killed writer still
        # had in memory (here the torn record: its request was forwarded and answered): the
        # chain verifies and audit verify names the possible gap.
        verdict, lines, by_txn = self.audit_chain(expect_gap=True)
        recovery = [x for x in lines if x.get("type") == "recovery"]
        self.assertEqual(len(recovery), 1)
        self.assertGreater(recovery[0]["torn_bytes"], 0)
        unclean = [x for x in lines if x.get("type") == "unclean_shutdown"]
        self.assertEqual(len(unclean), 1)
        self.assertIn(f"pid {killed}", unclean[0]["note"])
        self.assertIn("a possible gap", verdict)
        self.assertEqual(self.forwarded_txns() - set(by_txn), {"c4"})
        self.assertTrue(any(r.get("event") == "audit_unclean_shutdown" and
                            r.get("previous_pid") == killed for r in self.gw.log_records()))
        # The quarantine opens (SQLite rolled the interrupted write back) and takes the retry.
        interrupted = f"c{self.txn}"
        uri = f"/_matrix/federation/v1/send/{interrupted}"
        txn = GOOD.transaction([GOOD.event("com.example.unusual", content={"body": interrupted})])
        body, headers = GOOD.signed_request("PUT", uri, txn)
        r = self.request(self.gw, "PUT", uri, body, headers)
        self.assertEqual(r.status, 200, r.body)
        self.ledger[interrupted] = (GOOD.name, "com.example.unusual", 200)
        self.assertEqual(self.send().status, 200)
        self.gw.stop()
        forwarded, held = self.assert_nothing_answered_200_falsely()
        self.assertEqual(held, {interrupted})
        # A clean stop leaves nothing to report at the next start.
        self.gw.start()
        self.gw.stop()
        _, lines, _ = self.audit_chain(expect_gap=True)
        self.assertEqual(len([x for x in lines if x.get("type") == "unclean_shutdown"]), 1)


if __name__ == "__main__":
    main()
