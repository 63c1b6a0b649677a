#!/usr/bin/python3
"""When the upstream fails the gateway answers with Matrix JSON errors: 502
when it is down or breaks the connection, 504 when it does not answer within
upstream.response_timeout, and it recovers once the upstream is back."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GatewayTestCase, free_port, main, metric_sum  # noqa: E402
from harness.upstream import EchoUpstream  # noqa: E402


class UpstreamErrorsTest(GatewayTestCase):
    def test_upstream_down_gives_502(self):
        port = free_port()  # nothing listens here
        gw = self.start_gateway(self.make_config(port), wait="listening")
        r = self.curl(gw, "/_matrix/federation/v1/version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertMatrixError(r, 502)
        # The client connection survives a 502 (it was the upstream that failed).
        r = self.curl(gw, "/a", urls=["/a", "/b"])
        self.assertEqual([i["http_code"] for i in r.info["all"]], [502, 502])

    def test_recovers_when_upstream_comes_back(self):
        port = free_port()
        gw = self.start_gateway(self.make_config(port), wait="listening")
        self.assertMatrixError(self.curl(gw, "/_matrix/federation/v1/version"), 502)
        up = EchoUpstream("late")
        up.port = port
        up.start()
        self.addCleanup(up.stop)
        r = self.curl(gw, "/_matrix/federation/v1/version")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Upstream"), "late")

    def test_upstream_closing_without_answer_gives_502(self):
        up = self.start_upstream()
        gw = self.gateway_for(up)
        r = self.curl(gw, "/_matrix/federation/v1/send/t", "-X", "PUT", "--data-binary", "{}",
                      "-H", "X-Test-Close: abrupt")
        self.assertMatrixError(r, 502)
        self.assertEqual(self.curl(gw, "/_matrix/federation/v1/version").status, 200)

    def test_upstream_slow_gives_504(self):
        up = self.start_upstream()
        gw = self.gateway_for(up, configure=lambda c: c["upstream"].update(response_timeout="1s"))
        r = self.curl(gw, "/_matrix/federation/v1/version", "-H", "X-Test-Hold: slow")
        self.assertMatrixError(r, 504)
        up.release("slow")
        r = self.curl(gw, "/_matrix/federation/v1/version")
        self.assertEqual(r.status, 200)

    def test_upstream_breaking_mid_body_is_not_passed_off_as_complete(self):
        up = self.start_upstream()
        gw = self.gateway_for(up)
        r = self.curl(gw, "/_matrix/federation/v1/state/x", "-H", "X-Test-Close: mid-body",
                      "-H", "X-Test-Response-Bytes: 200000")
        # Either the gateway noticed before sending the head (502) or the client
        # sees a truncated transfer; never a complete 200 with half a body.
        if r.status == 200:
            self.assertNotEqual(r.returncode, 0, "truncated body delivered as complete")
            self.assertLess(len(r.body), 200000)
        else:
            self.assertMatrixError(r, 502)
        self.assertEqual(self.curl(gw, "/_matrix/federation/v1/version").status, 200)

    def test_upstream_errors_counted_in_metrics(self):
        gw = self.start_gateway(self.make_config(free_port()), wait="listening")
        for _ in range(3):
            self.assertEqual(self.curl(gw, "/_matrix/federation/v1/version").status, 502)
        m = self.metrics_when(gw, lambda m: metric_sum(m, "bordergate_upstream_errors_total") >= 3
                              and metric_sum(m, "bordergate_requests_total", code="502") >= 3)
        self.assertGreaterEqual(metric_sum(m, "bordergate_upstream_errors_total"), 3, gw.metrics_text())
        self.assertGreaterEqual(metric_sum(m, "bordergate_requests_total", code="502"), 3)


if __name__ == "__main__":
    main()
