#!/usr/bin/python3
"""Quarantine, release and the audit chain of inbound enforcement, end to end: a test homeserver
sends a signed /send transaction the policy holds back; the gateway stores it intact, answers
200 with an error per PDU and forwards nothing; a retry gets the same answer and is stored once;
`bordergate quarantine release` delivers the original bytes, whose X-Matrix signature still
verifies at the Core; `bordergate audit verify` accepts the run's chain and rejects a tampered
copy."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import with_policy  # noqa: E402
from harness import ENV, GatewayTestCase, main  # noqa: E402
from signedjson.key import get_verify_key  # noqa: E402
from signedjson.sign import verify_signed_json  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402
import matrix_events_helper as ev  # noqa: E402

GOOD = TestHomeserver("good.example")

HOLD_RULES = """  - id: hold-unusual
    federation: partners
    direction: inbound
    event_types: [com.example.unusual]
    action: quarantine
  - id: shadow-reactions
    federation: partners
    direction: inbound
    event_types: [m.reaction]
    action: report
"""


class InboundEvidenceTest(GatewayTestCase):
    SERVER_NAME = CORE

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        policy = self.tmp / "policy.yaml"
        policy.write_text(policy_yaml(HOLD_RULES))
        config = self.make_config(self.up.port)
        with_policy(config, policy)
        config["keys"] = {"pinned": {GOOD.name: GOOD.pinned()}}
        config["audit"] = {"fsync": "always"}
        self.gw = self.start_gateway(config)
        self.state = self.tmp / "state"

    def cli(self, *args, expect=0):
        out = subprocess.run([str(ENV.bordergate), *args], capture_output=True,
                             timeout=ENV.timeout(60))
        if expect is not None:
            self.assertEqual(out.returncode, expect, f"{args}: {out.stdout!r} {out.stderr!r}")
        return out

    def send(self, txn, txn_id):
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = GOOD.signed_request("PUT", uri, txn)
        return uri, body, headers, self.request(self.gw, "PUT", uri, body, headers)

    def audit_lines(self):
        return [json.loads(line) for line in (self.state / "audit.log").read_text().splitlines()]

    def test_quarantine_retry_release_and_audit_chain(self):
        ok = GOOD.event()
        held = GOOD.event("com.example.unusual", {"x": 1})
        txn = GOOD.transaction([ok, held])
        uri, body, headers, r = self.send(txn, "q1")
        self.assertEqual(r.status, 200, r.body)
        answer = r.json()
        ids = {ev.event_id(ok, "10"), ev.event_id(held, "10")}
        self.assertEqual(set(answer["pdus"]), ids)
        for entry in answer["pdus"].values():
            self.assertIn("error", entry)
        self.assertEqual(self.up.requests, [], "a held transaction is never forwarded")

        # The origin retries: same answer, stored once.
        _, _, _, again = self.send(txn, "q1")
        self.assertEqual(again.status, 200)
        self.assertEqual(again.json(), answer)
        self.assertEqual(self.up.requests, [])
        cfg = str(self.gw.config_path)
        listing = self.cli("quarantine", "--config", cfg, "list").stdout.decode()
        qids = re.findall(r"^(q-[0-9a-f]+)\s", listing, re.M)
        self.assertEqual(len(qids), 1, listing)
        self.assertIn("hold-unusual", listing)

        # An allowed transaction and a reported one are forwarded.
        _, _, _, r = self.send(GOOD.transaction([GOOD.event()]), "ok1")
        self.assertEqual(r.status, 200)
        _, _, _, r = self.send(GOOD.transaction([GOOD.event("m.reaction", {})]), "rep1")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(self.up.requests), 2)

        # Release: the Core gets the original bytes and the signature still verifies.
        self.cli("quarantine", "--config", cfg, "release", qids[0])
        self.assertEqual(len(self.up.requests), 3)
        got = self.up.requests[2]
        self.assertEqual(got.body, body)
        self.assertEqual(got.uri, uri)
        auth = got.header("Authorization")
        self.assertEqual(auth, headers[0][1])
        sig = re.search(r'sig="([^"]+)"', auth).group(1)
        signed = {"method": "PUT", "uri": uri, "origin": GOOD.name, "destination": CORE,
                  "content": json.loads(got.body),
                  "signatures": {GOOD.name: {GOOD.key_id: sig}}}
        verify_signed_json(signed, GOOD.name, get_verify_key(GOOD.key))  # raises if not

        # The audit chain: one decision per request, verifiable; a tampered copy is not.
        self.gw.stop()
        lines = self.audit_lines()
        decisions = [l for l in lines if l.get("type") == "decision"]
        actions = [(d.get("txn_id"), d["action"]) for d in decisions]
        self.assertEqual(actions, [("q1", "quarantine"), ("q1", "quarantine"),
                                   ("ok1", "forward"), ("rep1", "report")])
        q = decisions[0]
        self.assertEqual(q["origin"], GOOD.name)
        self.assertEqual(q["endpoint"], "send")
        self.assertEqual(q["rule_id"], "hold-unusual")
        self.assertEqual(q["quarantine_id"], qids[0])
        self.assertEqual(sorted(q["event_ids"]), sorted(ids))
        self.assertIn("com.example.unusual", q["event_types"])
        text = (self.state / "audit.log").read_text()
        self.assertNotIn(re.search(r'sig="([^"]+)"', headers[0][1]).group(1), text)
        self.assertNotIn('"x":1', text)
        self.assertTrue(any(l.get("type") == "quarantine_release" for l in lines))
        self.cli("audit", "verify", str(self.state / "audit.log"))
        tampered = self.tmp / "tampered.log"
        tampered.write_text(text.replace('"action":"forward"', '"action":"deny"', 1))
        out = self.cli("audit", "verify", str(tampered), expect=None)
        self.assertNotEqual(out.returncode, 0)

    def test_head_from_audit_log_closed_verifies_after_a_restart(self):
        # The operator stores the head the gateway logs at shutdown; the restarted gateway
        # appends behind it. That head must still verify the longer chain, and must not once the
        # chain is cut before it.
        _, _, _, r = self.send(GOOD.transaction([GOOD.event()]), "before")
        self.assertEqual(r.status, 200, r.body)
        self.gw.stop()
        closed = [rec for rec in self.gw.log_records() if rec.get("event") == "audit_log_closed"]
        self.assertEqual(len(closed), 1, self.gw.stderr_tail())
        head, head_seq = closed[0]["head"], closed[0]["last_seq"]
        log = str(self.state / "audit.log")
        self.assertIn(f"head {head}", self.cli("audit", "verify", log).stdout.decode())

        self.gw = self.start_gateway(self.gw.config, name="restarted")
        _, _, _, r = self.send(GOOD.transaction([GOOD.event()]), "after")
        self.assertEqual(r.status, 200, r.body)
        self.gw.stop()
        lines = (self.state / "audit.log").read_text().splitlines(keepends=True)
        self.assertEqual([json.loads(l).get("txn_id") for l in lines].count("after"), 1)
        self.assertGreater(json.loads(lines[-1])["seq"], head_seq)

        out = self.cli("audit", "verify", "--expect-head", head, log).stdout.decode()
        self.assertIn(f"expected head: seq {head_seq}, {len(lines) - 1 - head_seq} record(s) "
                      "after it", out)
        report = json.loads(self.cli("audit", "verify", "--json", "--expect-head", head,
                                     log).stdout)
        self.assertEqual((report["intact"], report["expected_head_seq"]), (True, head_seq))

        # The chain cut just before the recorded record: still a valid chain, but not through it.
        cut = self.tmp / "cut.log"
        cut.write_text("".join(lines[:head_seq]))
        self.cli("audit", "verify", str(cut))
        bad = self.cli("audit", "verify", "--expect-head", head, str(cut), expect=1)
        self.assertIn("head_mismatch", bad.stdout.decode())

    def test_retry_gets_the_stored_answer_after_a_policy_change(self):
        # The store is asked before inspection: a retried held transaction is answered as the
        # first time, even when a reloaded policy would now let it through.
        held = GOOD.transaction([GOOD.event("com.example.unusual", {"y": 2})])
        _, _, _, first = self.send(held, "p1")
        self.assertEqual(first.status, 200, first.body)
        policy = self.tmp / "policy.yaml"
        policy.write_text(policy_yaml(""))
        mark = len(self.gw.log_records())
        self.gw.reload()
        self.gw.wait_for_log(lambda r: r.get("event") == "config_reloaded", start=mark)
        _, _, _, again = self.send(held, "p1")
        self.assertEqual(again.status, 200, again.body)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(self.up.requests, [], "a retry of a held transaction is not forwarded")
        # The same content under a new txnId meets the new policy and is forwarded.
        _, _, _, fresh = self.send(held, "p2")
        self.assertEqual(fresh.status, 200, fresh.body)
        self.assertEqual(len(self.up.requests), 1)
        # A retry with other bytes under the held txnId still gets the stored answer.
        _, _, _, other = self.send(GOOD.transaction([GOOD.event()]), "p1")
        self.assertEqual(other.json(), first.json())
        self.assertEqual(len(self.up.requests), 1)
        cfg = str(self.gw.config_path)
        listing = self.cli("quarantine", "--config", cfg, "list").stdout.decode()
        self.assertEqual(len(re.findall(r"^(q-[0-9a-f]+)\s", listing, re.M)), 1, listing)
        self.gw.stop()
        decisions = [l for l in self.audit_lines() if l.get("type") == "decision"]
        got = [(d.get("txn_id"), d["action"], d.get("rule_id"), d.get("note")) for d in decisions]
        self.assertEqual(got, [
            ("p1", "quarantine", "hold-unusual", None),
            ("p1", "quarantine", "hold-unusual", "retry of a held transaction"),
            ("p2", "forward", "partners-all", None),
            ("p1", "quarantine", "hold-unusual",
             "retry of a held transaction with a different body"),
        ])
        self.cli("audit", "verify", str(self.state / "audit.log"))

    def raw_send(self, txn, txn_id) -> bytes:
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = GOOD.signed_request("PUT", uri, txn)
        head = f"PUT {uri} HTTP/1.1\r\nHost: {CORE}\r\n"
        for k, v in headers:
            head += f"{k}: {v}\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    def test_clients_leaving_while_suspended(self):
        # Each request suspends (key lookup, and for held transactions the fsynced put); the
        # client is gone before the answer. Nothing may crash or leak (the ASan build runs this
        # too and the harness fails on any sanitizer report), and the gateway keeps serving.
        held = GOOD.transaction([GOOD.event("com.example.unusual", {"n": 1})])
        for i in range(20):
            txn = held if i % 2 else GOOD.transaction([GOOD.event(ts=1700000000000 + i)])
            c = self.raw(self.gw)
            c.send(self.raw_send(txn, f"gone{i}"))
            c.close()
        # A held transaction whose client left was stored; its retry gets the stored answer.
        _, _, _, r = self.send(held, "gone1")
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("pdus", r.json())
        _, _, _, r = self.send(GOOD.transaction([GOOD.event()]), "after")
        self.assertEqual(r.status, 200)
        self.gw.stop()  # clean exit, no sanitizer report

    def test_requests_refused_while_read_are_audited(self):
        # Framing errors, size limits and read timeouts are answered before any phase runs;
        # each is still one denial in the audit chain, with the gateway's own words and none
        # of the peer's bytes. A second gateway on the same state (so the chain spans a restart)
        # has a short header timeout.
        self.gw.stop()
        config = self.make_config(self.up.port)
        with_policy(config, self.tmp / "policy.yaml")
        config["keys"] = {"pinned": {GOOD.name: GOOD.pinned()}}
        config["limits"]["header_timeout"] = "2s"
        gw = self.start_gateway(config, name="gateway2")
        host = b"Host: core.bordergate.test\r\n"
        put = b"PUT /_matrix/federation/v1/send/s1 HTTP/1.1\r\n" + host
        secret = b"X-Secret-Token: " + b"k" * 16500 + b"\r\n"
        cases = [
            (put + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
             400, "http_malformed"),
            (put + b"Content-Length: 20000000\r\n\r\n", 413, "http_too_large"),
            (b"GET /_matrix/federation/v1/version HTTP/1.1\r\n" + host + secret + b"\r\n",
             431, "http_too_large"),
            (b"PROPFIND /_matrix/federation/v1/version HTTP/1.1\r\n" + host + b"\r\n",
             405, "http_method_unrecognized"),
            (put + b"Content-Length: 2\r\nExpect: 200-ok\r\n\r\n", 417, "http_unsupported"),
            (b"GET /_matrix/federation/v1/version HTTP/1.1\r\n" + host, 408, "http_timeout"),
        ]
        for data, status, _ in cases:
            raw = self.raw(gw)
            raw.send(data)
            self.assertEqual(raw.read_response(timeout=30).status, status)
            self.assertTrue(raw.closed_by_peer(10))
        self.assertEqual(self.up.requests, [])
        gw.stop()
        denials = [l for l in self.audit_lines() if l.get("type") == "decision"]
        got = [(d["direction"], d["endpoint"], d["action"], d["reason"], d["status"])
               for d in denials]
        self.assertEqual(got, [("inbound", "unrecognized", "deny", reason, status)
                               for _, status, reason in cases])
        self.assertTrue(denials[0]["note"].startswith("Malformed HTTP"), denials[0])
        self.assertEqual(denials[-1]["note"], "Timed out reading the request headers")
        self.assertTrue(all(d["remote_addr"] == "127.0.0.1" for d in denials))
        text = (self.state / "audit.log").read_text()
        self.assertNotIn("X-Secret-Token", text)
        self.assertNotIn("kkkk", text)
        self.cli("audit", "verify", str(self.state / "audit.log"))

    def test_denials_and_metrics_per_peer(self):
        self.request(self.gw, "GET", "/_matrix/client/v3/sync")
        self.send(GOOD.transaction([GOOD.event("m.widget", {})]), "w1")
        self.send(GOOD.transaction([GOOD.event()]), "a1")
        expected = [
            'bordergate_inbound_decisions_total{peer="good.example",endpoint="send",'
            'decision="deny"} 1',
            'bordergate_inbound_decisions_total{peer="good.example",endpoint="send",'
            'decision="forward"} 1',
            'bordergate_inbound_decisions_total{peer="unknown",endpoint="unrecognized",'
            'decision="deny"} 1',
        ]
        # A request is recorded just after its answer is written: poll.
        deadline = time.monotonic() + ENV.timeout(10)
        while True:
            text = self.gw.metrics_text()
            if all(e in text for e in expected) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        for e in expected:
            self.assertIn(e, text)
        self.assertIn("bordergate_quarantine_held", text)


if __name__ == "__main__":
    main()
