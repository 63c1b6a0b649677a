#!/usr/bin/python3
"""The admin listener: /healthz, /readyz and Prometheus /metrics with the
metric families operators rely on, counters that follow traffic, and label
values that stay bounded whatever paths clients send."""
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, GatewayTestCase, free_port, main, metric_sum, parse_metrics  # noqa: E402

# name -> Prometheus type. The contract with dashboards and docs/operations.md.
REQUIRED = {
    "bordergate_requests_total": "counter",
    "bordergate_request_duration_seconds": "histogram",
    "bordergate_request_body_bytes_total": "counter",
    "bordergate_response_body_bytes_total": "counter",
    "bordergate_open_connections": "gauge",
    "bordergate_tls_handshake_failures_total": "counter",
    "bordergate_upstream_errors_total": "counter",
    "bordergate_config_reloads_total": "counter",
}


class AdminTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.gw = self.gateway_for(self.up)

    def test_healthz_and_readyz(self):
        for path in ("/healthz", "/readyz"):
            status, _, _ = self.gw.admin(path)
            self.assertEqual(status, 200, path)

    def test_readyz_not_ready_after_core_failed(self):
        gw = self.start_gateway(self.make_config(free_port()), wait="listening", name="nocore")
        # Readiness follows what real traffic sees: one failed forward marks the Core down.
        self.assertEqual(self.curl(gw, "/_matrix/federation/v1/version").status, 502)
        deadline = time.monotonic() + ENV.timeout(20)
        while True:
            status, _, body = gw.admin("/readyz")
            if status == 503:
                break
            self.assertLess(time.monotonic(), deadline, f"/readyz stayed {status} without a Core")
            time.sleep(0.1)
        self.assertEqual(json.loads(body).get("status"), "not_ready")
        self.assertEqual(gw.admin("/healthz")[0], 200, "liveness must not depend on the Core")

    def test_readyz_not_ready_while_draining(self):
        # A held request keeps the drain going while /readyz is asked.
        t = threading.Thread(target=lambda: self.request(self.gw, "GET", "/x", headers=[("X-Test-Hold", "d")]),
                             daemon=True)
        t.start()
        self.up.wait_for_requests(1)
        self.gw.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + ENV.timeout(10)
        status = 200
        while status == 200 and time.monotonic() < deadline:
            try:
                status = self.gw.admin("/readyz")[0]
            except OSError:
                status = -1  # admin listener already closed: also not ready
            time.sleep(0.05)
        self.assertNotEqual(status, 200, "/readyz still 200 while draining")
        self.up.release("d")
        t.join(ENV.timeout(30))

    def test_unknown_admin_path_is_404(self):
        status, headers, body = self.gw.admin("/_matrix/federation/v1/version")
        self.assertEqual(status, 404)
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        self.assertEqual(json.loads(body).get("errcode"), "M_UNRECOGNIZED")
        self.assertEqual(self.up.requests, [], "admin listener forwarded to the upstream")

    def test_metrics_families_present(self):
        self.assertEqual(self.curl(self.gw, "/_matrix/federation/v1/version").status, 200)
        status, headers, body = self.gw.admin("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        m = parse_metrics(body.decode())
        for name, kind in REQUIRED.items():
            with self.subTest(name):
                self.assertEqual(m["#types"].get(name), kind, f"{name} missing or wrong type")

    def test_request_counter_follows_traffic(self):
        before = metric_sum(self.metrics(self.gw), "bordergate_requests_total")
        for _ in range(3):
            self.assertEqual(self.curl(self.gw, "/_matrix/federation/v1/version").status, 200)
        after = self.metrics_when(
            self.gw, lambda m: metric_sum(m, "bordergate_requests_total") - before >= 3)
        self.assertEqual(metric_sum(after, "bordergate_requests_total") - before, 3)
        self.assertGreaterEqual(metric_sum(after, "bordergate_requests_total", code="200"), 3)
        self.assertGreaterEqual(metric_sum(after, "bordergate_request_duration_seconds_count"), 3)

    def test_byte_counters_follow_traffic(self):
        before = self.metrics(self.gw)
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/bytes", body=b"b" * 5000,
                         headers=[("X-Test-Response-Bytes", "7000")])
        self.assertEqual(r.status, 200)
        def grew(name, m=None):
            return metric_sum(m or after, name) - metric_sum(before, name)

        after = self.metrics_when(self.gw, lambda m: grew("bordergate_request_body_bytes_total", m) >= 5000
                                  and grew("bordergate_response_body_bytes_total", m) >= 7000)
        self.assertGreaterEqual(grew("bordergate_request_body_bytes_total"), 5000)
        self.assertGreaterEqual(grew("bordergate_response_body_bytes_total"), 7000)

    def test_open_connections_gauge(self):
        raw = self.raw(self.gw)
        raw.send(b"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.bordergate.test\r\n\r\n")
        self.assertEqual(raw.read_response().status, 200)
        self.assertGreaterEqual(metric_sum(self.metrics(self.gw), "bordergate_open_connections"), 1)

    def test_tls_handshake_failures_counted(self):
        before = metric_sum(self.metrics(self.gw), "bordergate_tls_handshake_failures_total")
        raw = self.raw(self.gw, tls=False)
        raw.send(b"\x16\x03\x01\x00\x05garbage-not-a-client-hello")
        raw.closed_by_peer(10)
        name = "bordergate_tls_handshake_failures_total"
        after = metric_sum(self.metrics_when(self.gw, lambda m: metric_sum(m, name) > before), name)
        self.assertGreaterEqual(after - before, 1)

    def test_one_request_log_record_per_request_without_query_or_body(self):
        start = len(self.gw.log_records())
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/logme?access_token=s3cr3t",
                         body=b'{"secret_body":"p4ss"}',
                         headers=[("Authorization", 'X-Matrix origin="a",sig="c2lnbmF0dXJl"')])
        self.assertEqual(r.status, 200)
        rec = self.gw.wait_for_log(lambda x: x.get("event") == "request", start=start)
        self.assertEqual(rec.get("status"), 200, rec)
        self.assertEqual(rec.get("method"), "PUT", rec)
        self.assertEqual(rec.get("path"), "/_matrix/federation/v1/send/logme", rec)
        for secret in ("s3cr3t", "p4ss", "c2lnbmF0dXJl"):
            self.assertNotIn(secret, self.gw.stderr(), "a secret reached the log")

    def test_label_values_bounded(self):
        for i in range(20):
            self.request(self.gw, "GET", f"/_matrix/federation/v1/unique-{i}-path?x={i}")
            self.request(self.gw, "PUT", f"/weird/{i}", body=b"{}")
        text = self.gw.metrics_text()
        self.assertNotIn("unique-", text)
        self.assertNotIn("/weird/", text)
        for name, samples in parse_metrics(text).items():
            if name == "#types":
                continue
            for labels, _ in samples:
                for key, value in labels.items():
                    self.assertLess(len(value), 64, f"{name}{{{key}={value!r}}}")


if __name__ == "__main__":
    main()
