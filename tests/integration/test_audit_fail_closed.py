#!/usr/bin/python3
"""The audit trail fails closed (docs/operations.md, "When the audit log cannot write"): the disk
under the audit log fills up (the gateway's RLIMIT_FSIZE lowered from outside with prlimit, so
the next write fails with EFBIG as on a full disk). A request already admitted is forwarded and
its record waits in the queue; then /readyz turns 503 and says why, new requests get 503
M_UNAVAILABLE with Retry-After and are not forwarded, and the gateway keeps answering without
blocking. When the disk takes writes again it recovers by itself: ready, forwarding, and every
forwarded request has its record in a chain that verifies, with no gap. With
audit.on_failure: forward it keeps forwarding and every record it cannot keep is accounted for by
a gap line that `audit verify` reports. A shutdown on a full disk logs the records it could not
write, and the head it reports is the last record on disk."""
import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import run_cli, with_policy  # noqa: E402
from harness import GatewayTestCase, main  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
OTHER = TestHomeserver("other.example")


class AuditFailClosedTest(GatewayTestCase):
    SERVER_NAME = CORE

    def start(self, **audit):
        self.up = self.start_upstream()
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml())
        config = self.make_config(self.up.port)
        with_policy(config, path)
        config["keys"] = {"pinned": {s.name: s.pinned() for s in (GOOD, OTHER)}}
        config["audit"] = {"fsync": "always", **audit}
        self.gw = self.start_gateway(config)
        self.log = self.tmp / "state" / "audit.log"
        self.txn = 0

    def send(self, peer=GOOD):
        self.txn += 1
        uri = f"/_matrix/federation/v1/send/t{self.txn}"
        body, headers = peer.signed_request("PUT", uri, peer.transaction([peer.event()]))
        return self.request(self.gw, "PUT", uri, body, headers)

    def fill_disk(self):
        """The audit log's file may not grow any more (the gateway ignores SIGXFSZ: the write
        fails with EFBIG, as on a full disk), once the records so far are on it."""
        def written():
            return sum('"type":"decision"' in line for line in self.log.read_text().splitlines())
        self.wait_for("the records so far", lambda: written() == len(self.up.requests))
        size = self.log.stat().st_size
        resource.prlimit(self.gw.proc.pid, resource.RLIMIT_FSIZE,
                         (size + 64, resource.RLIM_INFINITY))

    def free_disk(self):
        resource.prlimit(self.gw.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def records(self):
        ok = run_cli("audit", "verify", str(self.log))
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return ok.stdout, lines

    def test_a_full_disk_refuses_new_work_and_recovers_by_itself(self):
        self.start()
        for _ in range(3):
            self.assertEqual(self.send().status, 200)
        self.fill_disk()
        # Admitted before the failure is known: forwarded, its record waits in the queue.
        self.assertEqual(self.send().status, 200)
        status, ready = self.wait_for("readiness to turn 503",
                                      lambda: (lambda r: r if r[0] == 503 else None)(
                                          self.gw.readiness()))
        self.assertIn("audit log write failing", ready["reason"])
        forwarded = len(self.up.requests)
        # New work is refused, from any peer, without blocking: nothing is forwarded.
        for peer in (GOOD, OTHER, GOOD):
            r = self.send(peer)
            body = self.assertMatrixError(r, 503, "M_UNAVAILABLE")
            self.assertIn("cannot record", body["error"])
            self.assertEqual(r.header("Retry-After"), "5")
        self.assertEqual(len(self.up.requests), forwarded)
        m = self.metrics(self.gw)
        self.assertEqual(metric_sum(m, "bordergate_audit_accepting"), 0)
        self.assertGreaterEqual(metric_sum(m, "bordergate_audit_refused_total"), 3)
        self.assertGreaterEqual(metric_sum(m, "bordergate_audit_write_errors_total"), 1)
        self.assertTrue(any(r.get("event") == "audit_write_failed" for r in self.gw.log_records()))

        self.free_disk()
        self.wait_for("readiness to return", lambda: self.gw.readiness()[0] == 200)
        self.assertEqual(self.send().status, 200)
        self.assertTrue(any(r.get("event") == "audit_write_recovered"
                            for r in self.gw.log_records()))
        self.gw.stop()
        verdict, lines = self.records()
        decisions = [r for r in lines if r.get("type") == "decision"]
        # Every forwarded request has its record, each once; the refused ones have none.
        self.assertEqual(len(decisions), len(self.up.requests))
        self.assertEqual(len({r["txn_id"] for r in decisions}), len(decisions))
        self.assertFalse([r for r in lines if r.get("type") == "records_dropped"])
        self.assertNotIn("gap", verdict)
        closed = [r for r in self.gw.log_records() if r.get("event") == "audit_log_closed"][-1]
        self.assertEqual(closed["last_seq"], lines[-1]["seq"])

    def test_forward_mode_keeps_forwarding_and_accounts_for_every_lost_record(self):
        self.start(on_failure="forward", queue_records=16)
        self.assertEqual(self.send().status, 200)
        self.fill_disk()
        self.assertEqual(self.send().status, 200)
        self.wait_for("the write failure",
                      lambda: metric_sum(self.metrics(self.gw), "bordergate_audit_accepting") == 0)
        self.assertEqual(self.gw.readiness()[0], 200)  # the operator chose availability
        for _ in range(30):
            self.assertEqual(self.send().status, 200)
        lost = metric_sum(self.metrics(self.gw), "bordergate_audit_records_dropped_total")
        self.assertGreater(lost, 0)
        self.free_disk()
        self.wait_for("recovery",
                      lambda: metric_sum(self.metrics(self.gw), "bordergate_audit_accepting") == 1)
        self.gw.stop()
        verdict, lines = self.records()
        decisions = [r for r in lines if r.get("type") == "decision"]
        gaps = [r for r in lines if r.get("type") == "records_dropped"]
        self.assertTrue(gaps)
        counted = sum(int(g["note"].split()[0]) for g in gaps)
        self.assertEqual(counted, lost)
        self.assertEqual(len(decisions) + counted, len(self.up.requests))
        self.assertIn("a gap:", verdict)
        self.assertIn("the audit queue was full", verdict)

    def test_a_shutdown_on_a_full_disk_reports_the_last_record_on_disk(self):
        self.start()
        self.assertEqual(self.send().status, 200)
        self.fill_disk()
        self.assertEqual(self.send().status, 200)  # forwarded; its record cannot be written
        self.wait_for("the write failure", lambda: self.gw.readiness()[0] == 503)
        self.gw.stop(timeout=60)
        lost = [r for r in self.gw.log_records() if r.get("event") == "audit_records_lost"]
        self.assertEqual([r["records"] for r in lost], [1])
        _, lines = self.records()
        closed = [r for r in self.gw.log_records() if r.get("event") == "audit_log_closed"][-1]
        self.assertEqual(closed["last_seq"], lines[-1]["seq"])
        self.assertEqual(lost[0]["after_seq"], lines[-1]["seq"])


if __name__ == "__main__":
    main()
