#!/usr/bin/python3
"""`bordergate policy replay AUDIT_LOG NEW_POLICY` (issue 17, item 3), end to end: real traffic
through the gateway leaves decision records with their facts; replaying the log against the
policy that made them changes nothing, against a stricter one it names every decision that
flips, with counts per rule and per peer, in text, JSON and HTML. Records that cannot be
replayed are counted with the reason; a tampered chain is not replayed past the break."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import with_policy  # noqa: E402
from harness import ENV, GatewayTestCase, main  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
OTHER = TestHomeserver("other.example")

STRICTER = """  - id: no-other-send
    servers: [other.example]
    direction: inbound
    endpoints: [send]
    action: deny
  - id: hold-notices
    federation: partners
    direction: inbound
    event_types: [m.notice.hostile]
    action: quarantine
"""


class PolicyReplayTest(GatewayTestCase):
    SERVER_NAME = CORE

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.policy = self.tmp / "policy.yaml"
        self.policy.write_text(policy_yaml())
        config = self.make_config(self.up.port)
        with_policy(config, self.policy)
        config["keys"] = {"pinned": {GOOD.name: GOOD.pinned(), OTHER.name: OTHER.pinned()}}
        config["audit"] = {"fsync": "always"}
        self.gw = self.start_gateway(config)
        self.log = self.tmp / "state" / "audit.log"
        self.traffic()
        self.gw.stop()

    def send(self, peer, txn_id, pdus=(), edus=()):
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = peer.signed_request("PUT", uri, peer.transaction(list(pdus), list(edus)))
        return self.request(self.gw, "PUT", uri, body, headers)

    def traffic(self):
        self.assertEqual(self.send(GOOD, "g1", [GOOD.event()]).status, 200)
        self.assertEqual(self.send(OTHER, "o1", [OTHER.event()]).status, 200)
        self.assertEqual(self.send(OTHER, "o2", [OTHER.event()]).status, 200)
        # A hostile event type: its name ends up in the replay's HTML, escaped.
        self.assertEqual(self.send(GOOD, "g2", [GOOD.event("m.notice.hostile",
                                                           {"body": "<b>x</b>"})]).status, 200)
        # Denied by a content rule of the policy in force (a widget event).
        self.send(GOOD, "g3", [GOOD.event("m.widget.x")])
        # A request without X-Matrix, decided by the policy as the unknown origin.
        self.assertEqual(self.request(self.gw, "GET", "/_matrix/key/v2/server").status, 200)
        # Refused before the policy was consulted: no valid X-Matrix.
        uri = "/_matrix/federation/v1/send/bad"
        body, headers = GOOD.signed_request("PUT", uri, GOOD.transaction([]))
        headers = [(k, v.replace("sig=\"", "sig=\"AAAA") if k.lower() == "authorization" else v)
                   for k, v in headers]
        self.assertEqual(self.request(self.gw, "PUT", uri, body, headers).status, 401)

    def replay(self, *args, expect=0):
        out = subprocess.run([str(ENV.bordergate), "policy", "replay", *map(str, args)],
                             capture_output=True, text=True, timeout=ENV.timeout(60))
        if expect is not None:
            self.assertEqual(out.returncode, expect, f"{args}: {out.stdout!r} {out.stderr!r}")
        return out

    def test_the_same_policy_changes_nothing(self):
        report = json.loads(self.replay(self.log, self.policy, "--format", "json").stdout)
        self.assertGreaterEqual(report["replayed"], 6, report)
        self.assertEqual(report["changed"], 0, report["changes"])
        self.assertEqual(report["rule_changed"], 0, report)
        self.assertEqual(report["unchanged"], report["replayed"])
        # Every decision is counted: replayed, or not with the reason.
        self.assertEqual(report["decisions"],
                         report["replayed"] + sum(report["not_replayable"].values()))
        self.assertTrue(any("before the policy was consulted" in why
                            for why in report["not_replayable"]), report["not_replayable"])
        digest = report["proposed"]["sha256"]
        self.assertEqual(list(report["recorded_policies"]), [digest])
        self.assertEqual(report["by_rule"]["no-widgets"], {"before": 1, "after": 1})

    def test_a_stricter_policy_names_every_flip(self):
        stricter = self.tmp / "stricter.yaml"
        stricter.write_text(policy_yaml(STRICTER))
        report = json.loads(self.replay(self.log, stricter, "--format", "json").stdout)
        changes = report["changes"]
        self.assertEqual(report["changed"], 3, changes)
        self.assertEqual(report["kinds"], {"allow -> deny": 2, "allow -> quarantine": 1})
        flips = sorted((c["peer"], c["kind"], c["to"]["rule"]) for c in changes)
        self.assertEqual(flips, [("good.example", "allow -> quarantine", "hold-notices"),
                                 ("other.example", "allow -> deny", "no-other-send"),
                                 ("other.example", "allow -> deny", "no-other-send")])
        self.assertEqual(report["by_peer"]["other.example"]["changed"], 2)
        self.assertEqual(report["by_peer"]["good.example"]["kinds"], {"allow -> quarantine": 1})
        self.assertEqual(report["by_rule"]["no-other-send"], {"before": 0, "after": 2})
        records = {json.loads(l)["seq"]: json.loads(l) for l in self.log.read_text().splitlines()}
        for c in changes:
            self.assertEqual(records[c["seq"]]["endpoint"], "send")
            self.assertEqual(records[c["seq"]]["action"], "forward")

        text = self.replay(self.log, stricter).stdout
        self.assertIn("allow -> deny: 2", text)
        self.assertIn("no-other-send: 0 -> 2", text)
        self.assertRegex(text, r"seq \d+ \S+ inbound other.example send: allow -> deny")
        self.replay(self.log, stricter, "--exit-code", expect=1)
        self.replay(self.log, self.policy, "--exit-code", expect=0)

        html_path = self.tmp / "replay.html"
        self.replay(self.log, stricter, "--format", "html", "-o", html_path)
        html = html_path.read_text()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertNotRegex(html, r"<script|<link|src=|href=|https?://")
        self.assertIn('<td class="quarantine">quarantine</td>', html)
        self.assertNotIn("<b>x</b>", html)  # content is never in the log, let alone the page

        # A range: only the records from the second send of other.example on.
        second = min(c["seq"] for c in changes if c["peer"] == "other.example") + 1
        ranged = json.loads(self.replay(self.log, stricter, "--format", "json",
                                        "--from-seq", second).stdout)
        self.assertEqual(ranged["changed"], 2, ranged["changes"])
        self.assertTrue(all(c["seq"] >= second for c in ranged["changes"]))

    def test_a_broken_chain_is_not_replayed_past_the_break(self):
        lines = self.log.read_text().splitlines(keepends=True)
        idx = next(i for i, l in enumerate(lines) if '"txn_id":"o1"' in l)
        lines[idx] = lines[idx].replace('"txn_id":"o1"', '"txn_id":"o9"')
        tampered = self.tmp / "tampered.log"
        tampered.write_text("".join(lines))
        out = self.replay(tampered, self.policy, expect=1)
        self.assertIn("CHAIN BROKEN", out.stdout)
        self.assertRegex(out.stdout, r"\d+ decision\(s\) after it not replayed")

    def test_usage_and_input_errors_exit_2(self):
        self.replay(self.log, expect=2)
        bad = self.tmp / "bad.yaml"
        bad.write_text(policy_yaml() + "bogus: 1\n")
        out = self.replay(self.log, bad, expect=2)
        self.assertIn("unknown key `bogus`", out.stderr)
        self.replay(self.tmp / "absent.log", self.policy, expect=2)
        self.replay(self.log, self.policy, "--since", "last week", expect=2)
        self.assertTrue(re.search(r"\S", self.replay(self.log, self.policy).stdout))


if __name__ == "__main__":
    main()
