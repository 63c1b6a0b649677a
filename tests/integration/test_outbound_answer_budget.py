#!/usr/bin/python3
"""An external server's answer to the Core is held whole to be judged, and charged to the
process-wide buffer budget (limits.max_buffered_bytes) while it is: an answer that declares
more than fits is refused at its headers, one without a declared length when it stops fitting.
Either way the Core gets 503 M_UNAVAILABLE with Retry-After (Synapse retries those), nothing of
the answer, the refusal is counted under kind="answer", the bytes are given back, and the next
answer that fits passes byte for byte. Through the real binary, with a TLS peer."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main, metric_sum  # noqa: E402
from outbound_rig import Z, OutboundRig  # noqa: E402

BUDGET = 1 << 20  # the smallest budget the configuration takes
BIG = 3 << 20


def profile(size: int) -> bytes:
    """A JSON answer of about `size` bytes."""
    return json.dumps({"displayname": "x" * size}).encode()


class OutboundAnswerBudgetTest(OutboundRig):
    def setUp(self):
        super().setUp()
        config = self.gateway_config()
        config["limits"] = {"max_buffered_bytes": BUDGET}
        self.gw = self.start_gateway(config)

    def ask(self):
        target = self.target("peer")
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        try:
            return self.core.request(
                tunnel, "GET", "/_matrix/federation/v1/query/profile?user_id=%40a%3Apeer", target)
        finally:
            tunnel.close()

    def refused(self) -> float:
        return metric_sum(self.metrics(self.gw), "bordergate_buffered_bytes_refused_total", kind="answer")

    def test_answers_over_the_budget_are_refused_and_the_budget_recovers(self):
        small = profile(1000)
        self.peers["peer"].answer = (200, small)
        status, _, body = self.ask()
        self.assertEqual((status, body), (200, small))

        for chunked in (False, True):
            before = self.refused()
            self.peers["peer"].chunked = chunked
            self.peers["peer"].answer = (200, profile(BIG))
            status, headers, body = self.ask()
            self.assertEqual(status, 503, (chunked, body[:200]))
            self.assertEqual(json.loads(body)["errcode"], "M_UNAVAILABLE", chunked)
            self.assertIn("retry-after", headers, chunked)
            self.assertGreater(self.refused(), before, chunked)

        # Everything was given back: an answer that fits passes again, byte for byte.
        self.peers["peer"].chunked = False
        self.peers["peer"].answer = (200, small)
        status, _, body = self.ask()
        self.assertEqual((status, body), (200, small))
        # The answer's charge ends with its exchange (the tunnel closing), a moment after the
        # Core has read it.
        self.wait_for("answer bytes given back",
                      lambda: metric_sum(self.metrics(self.gw), "bordergate_buffered_bytes",
                                         kind="answer") == 0)

        statuses = [r.get("status") for r in self.audit_records()
                    if r.get("type") == "decision" and r.get("endpoint") == "query.profile"]
        self.assertEqual(statuses, [200, 503, 503, 200])


if __name__ == "__main__":
    main()
