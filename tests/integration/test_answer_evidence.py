#!/usr/bin/python3
"""The original of an event a content rule refused in an answer is kept as evidence
(docs/audit-and-quarantine.md): the Core answers a peer's backfill with an event an outbound
rule keeps inside, the peer gets it redacted (checked against the independent Python
redaction), and the quarantine store holds the original once per event, status `evidence`,
named by the request that was answered. `quarantine show` prints it, `release` refuses (it
cannot be released into that answer later), `drop` removes it; the audit record names the entry."""
import base64
import json
import os
import subprocess
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.env import ENV  # noqa: E402
from harness.gateway import with_policy  # noqa: E402
from harness import GatewayTestCase, main  # noqa: E402
import matrix_events_helper as ev  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
CORE_HS = TestHomeserver(CORE, "c1")  # signs the Core's events; its key is pinned
ROOM = f"!room:{CORE}"

RULE = """  - id: keep-internal-inside
    federation: partners
    direction: outbound
    event_types: [org.example.internal]
    action: deny
"""


class AnswerEvidenceTest(GatewayTestCase):
    SERVER_NAME = CORE

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml(RULE))
        config = self.make_config(self.up.port)
        with_policy(config, path)
        config["keys"] = {"pinned": {s.name: s.pinned() for s in (GOOD, CORE_HS)}}
        self.gw = self.start_gateway(config)

    def cli(self, *args, expect=0):
        out = subprocess.run([str(ENV.bordergate), "quarantine", "--config",
                              str(self.gw.config_path), *args],
                             capture_output=True, text=True, timeout=ENV.timeout(60))
        if expect is not None:
            self.assertEqual(out.returncode, expect, out.stdout + out.stderr)
        return out

    def backfill(self, answer: dict):
        uri = f"/_matrix/federation/v1/backfill/{quote(ROOM, safe='')}?v=%24x&limit=10"
        _, headers = GOOD.signed_request("GET", uri)
        headers.append(("X-Test-Response-B64", base64.b64encode(json.dumps(answer).encode()).decode()))
        headers.append(("X-Test-Content-Type", "application/json"))
        return self.request(self.gw, "GET", uri, None, headers)

    def audit_record(self, n: int) -> dict:
        """The n-th backfill record (0-based), once the audit writer has it."""
        deadline = time.monotonic() + ENV.timeout(10)
        while True:
            path = self.tmp / "state" / "audit.log"
            records = [json.loads(line) for line in path.read_text().splitlines()] \
                if path.exists() else []
            found = [r for r in records if r.get("endpoint") == "backfill"]
            if len(found) > n:
                return found[n]
            if time.monotonic() > deadline:
                self.fail(f"no audit record for backfill {n}")
            time.sleep(0.02)

    def test_the_original_of_a_redacted_answer_event_is_kept_as_evidence(self):
        internal = CORE_HS.event("org.example.internal", {"body": "stays inside"}, room_id=ROOM,
                                 sender=f"@alice:{CORE}", ts=1700000000001)
        plain = CORE_HS.event(room_id=ROOM, sender=f"@alice:{CORE}", ts=1700000000002)
        answer = {"origin": CORE, "origin_server_ts": 1700000000000, "pdus": [internal, plain]}
        r = self.backfill(answer)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["pdus"], [ev.redact(internal, "10"), plain])

        entries = self.cli("list", "--status", "evidence").stdout.splitlines()[1:]
        self.assertEqual(len(entries), 1, entries)
        qid = entries[0].split()[0]
        self.assertIn("keep-internal-inside", entries[0])
        self.assertIn("redacted_in_answer", entries[0])
        shown = self.cli("show", qid).stdout
        self.assertIn("status:      evidence", shown)
        self.assertIn("event_id:    " + ev.event_id(internal, "10"), shown)
        self.assertIn("verdict:     redacted", shown)
        self.assertIn("direction:   outbound", shown)
        self.assertIn("destination: good.example", shown)
        self.assertIn("GET /_matrix/federation/v1/backfill/", shown)
        body = self.cli("show", qid, "--body").stdout
        self.assertEqual(json.loads(body), internal)
        record = self.audit_record(0)
        self.assertEqual(record["answer_event_verdicts"], ["redacted", "forward"])
        self.assertIn("originals kept as evidence: " + qid, record["note"])

        # The same event in a later answer is kept once.
        self.assertEqual(self.backfill(answer).status, 200)
        self.assertIn("originals kept as evidence: " + qid, self.audit_record(1)["note"])
        self.assertEqual(len(self.cli("list", "--status", "evidence").stdout.splitlines()), 2)

        # Evidence only: never released into the answer; a person may drop it.
        out = self.cli("release", qid, expect=1)
        self.assertIn("cannot be released into that answer later", out.stdout + out.stderr)
        self.cli("drop", qid)
        self.assertIn("status:      dropped", self.cli("show", qid).stdout)
        self.assertEqual(self.up.requests[0].uri.split("?")[0],
                         f"/_matrix/federation/v1/backfill/{quote(ROOM, safe='')}")


if __name__ == "__main__":
    main()
