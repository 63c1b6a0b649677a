#!/usr/bin/python3
"""Which policy decided, as the audit chain proves it (issue 17, item 1).

Every policy the gateway loads, at start and on each SIGHUP, successful or refused, is a
policy_load record with the SHA-256 of the file's bytes (what `sha256sum` prints), the file, the
policy's own revision, the trigger and who sent it; every decision carries the digest of the
policy it was made under. `bordergate audit verify --policies` reports the policies in force over
a range of records, `policy check` and `policy report` print the digest. A policy refused at
start is recorded too, before the gateway exits."""
import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.gateway import Gateway, with_policy  # noqa: E402
from harness import ENV, GatewayTestCase, main  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class PolicyEvidenceTest(GatewayTestCase):
    SERVER_NAME = CORE

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.policy = self.tmp / "policy.yaml"
        self.policy.write_text(policy_yaml().replace("version: 1\n",
                                                     "version: 1\nrevision: \"first 2026-12-07\"\n"))
        self.config = self.make_config(self.up.port)
        with_policy(self.config, self.policy)
        self.config["keys"] = {"pinned": {GOOD.name: GOOD.pinned()}}
        self.config["audit"] = {"fsync": "always"}
        self.state = self.tmp / "state"

    def cli(self, *args, expect=0):
        out = subprocess.run([str(ENV.bordergate), *args], capture_output=True, text=True,
                             timeout=ENV.timeout(60))
        if expect is not None:
            self.assertEqual(out.returncode, expect, f"{args}: {out.stdout!r} {out.stderr!r}")
        return out

    def audit_records(self):
        return [json.loads(line) for line in (self.state / "audit.log").read_text().splitlines()]

    def send(self, gw, txn_id):
        uri = f"/_matrix/federation/v1/send/{txn_id}"
        body, headers = GOOD.signed_request("PUT", uri, GOOD.transaction([GOOD.event()]))
        r = self.request(gw, "PUT", uri, body, headers)
        self.assertEqual(r.status, 200, r.body)

    def reload_and_wait(self, gw, event: str):
        start = len(gw.log_records())
        gw.reload()
        gw.wait_for_log(lambda r: r.get("event") == event, start=start)

    def test_loads_and_decisions_name_the_policy(self):
        first = digest(self.policy)
        gw = self.start_gateway(self.config)
        self.send(gw, "t1")

        # A refused reload: the chain names what was refused, and who asked.
        good_text = self.policy.read_text()
        self.policy.write_text(good_text + "bogus: 1\n")
        refused = digest(self.policy)
        self.reload_and_wait(gw, "config_reload_failed")
        self.send(gw, "t2")  # still decided by the first policy

        # A successful one.
        self.policy.write_text(good_text.replace("first 2026-12-07", "second"))
        second = digest(self.policy)
        self.reload_and_wait(gw, "config_reloaded")
        reloaded = [r for r in gw.log_records() if r.get("event") == "config_reloaded"]
        self.assertEqual(reloaded[-1].get("policy_sha256"), second)
        self.send(gw, "t3")
        gw.stop()

        records = self.audit_records()
        loads = [r for r in records if r.get("type") == "policy_load"]
        self.assertEqual([(r["action"], r.get("policy_sha256"), r["trigger"]) for r in loads],
                         [("loaded", first, "start"), ("refused", refused, "SIGHUP"),
                          ("loaded", second, "SIGHUP")])
        self.assertEqual(loads[0]["policy_revision"], "first 2026-12-07")
        self.assertEqual(loads[2]["policy_revision"], "second")
        self.assertEqual({r["policy_file"] for r in loads}, {str(self.policy)})
        self.assertIn(f"uid {os.geteuid()}", loads[0]["actor"])
        # SIGHUP came from this test process: its pid and uid are named.
        for load in loads[1:]:
            self.assertIn(f"pid {os.getpid()}", load["actor"])
            self.assertIn(f"uid {os.geteuid()}", load["actor"])
        self.assertEqual(loads[1]["reason"], "policy_invalid")
        self.assertIn("unknown key `bogus`", loads[1]["note"])

        sends = [r for r in records if r.get("type") == "decision" and r.get("endpoint") == "send"]
        self.assertEqual([(r["txn_id"], r["policy_sha256"]) for r in sends],
                         [("t1", first), ("t2", first), ("t3", second)])

        # audit verify --policies: the loads, and which decisions each policy made.
        log = str(self.state / "audit.log")
        out = self.cli("audit", "verify", log, "--policies", "--json")
        report = json.loads(out.stdout)
        self.assertTrue(report["intact"])
        policies = report["policies"]
        self.assertIsNone(policies["in_force_at_start"])
        self.assertEqual([(l["result"], l.get("sha256")) for l in policies["loads"]],
                         [("loaded", first), ("refused", refused), ("loaded", second)])
        by_digest = {d["sha256"]: d for d in policies["decisions"]}
        self.assertEqual(set(by_digest), {first, second})
        self.assertEqual(by_digest[second]["loaded_by"]["seq"], loads[2]["seq"])
        self.assertEqual(by_digest[first]["loaded_by"]["seq"], loads[0]["seq"])
        decided_first = [r for r in records if r.get("policy_sha256") == first
                         and r.get("type") == "decision"]
        self.assertEqual(by_digest[first]["decisions"], len(decided_first))

        # A range that starts after the refused reload: the first policy was in force then.
        out = self.cli("audit", "verify", log, "--policies", "--json",
                       "--from-seq", str(loads[1]["seq"] + 1))
        policies = json.loads(out.stdout)["policies"]
        self.assertEqual(policies["in_force_at_start"]["sha256"], first)
        self.assertEqual([l["result"] for l in policies["loads"]], ["loaded"])
        text = self.cli("audit", "verify", log, "--policies").stdout
        self.assertIn(f"refused {refused}", text)
        self.assertIn(f"{second}: 1 decision(s)", text)
        # Range options without --policies, a malformed time and a missing file are input errors.
        self.cli("audit", "verify", "/nonexistent/audit.log", expect=2)
        self.cli("audit", "verify", log, "--from-seq", "3", expect=2)
        self.cli("audit", "verify", log, "--policies", "--since", "yesterday", expect=2)

        # The auditor's tools print the same digest for the file as it is now.
        check = self.cli("policy", "check", str(self.policy)).stdout
        self.assertIn(f"sha256 {second}", check)
        report_md = self.cli("policy", "report", str(self.policy)).stdout
        self.assertIn(second, report_md)
        self.assertIn("revision second", report_md)

    def test_a_policy_refused_at_start_is_recorded(self):
        self.policy.write_text(policy_yaml().replace(f"server_name: {CORE}",
                                                     "server_name: someone-else.example"))
        refused = digest(self.policy)
        gw = Gateway(self.tmp, self.config, name="refused")
        gw.start(wait=False)
        self.assertNotEqual(gw.wait_exit(), 0)
        self.assertIn("someone-else.example", gw.stderr())
        loads = [r for r in self.audit_records() if r.get("type") == "policy_load"]
        self.assertEqual(len(loads), 1, loads)
        self.assertEqual((loads[0]["action"], loads[0]["reason"], loads[0]["policy_sha256"]),
                         ("refused", "policy_server_name", refused))
        self.assertEqual(self.up.requests, [])
        out = self.cli("audit", "verify", str(self.state / "audit.log"), "--policies")
        self.assertIn("refused", out.stdout)


if __name__ == "__main__":
    main()
