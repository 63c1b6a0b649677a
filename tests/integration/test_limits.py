#!/usr/bin/python3
"""Configured limits hold: 413 over max_body_bytes, 431 over max_header_bytes or
max_headers, and connections that stall (slowloris headers, a body that never
completes, idle keep-alive) are cut off after their timeouts."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, GatewayTestCase, main  # noqa: E402

BODY_LIMIT = 4096
HEADER_LIMIT = 4096
MAX_HEADERS = 20


def small_limits(config):
    config["limits"].update(max_body_bytes=BODY_LIMIT, max_header_bytes=HEADER_LIMIT,
                            max_headers=MAX_HEADERS, header_timeout="1s", body_timeout="1s",
                            idle_timeout="1s")


class LimitsTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.gw = self.gateway_for(self.up, configure=small_limits)

    def test_body_at_limit_accepted(self):
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/a", body=b"x" * BODY_LIMIT)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(self.up.last().body), BODY_LIMIT)

    def test_body_over_limit_gives_413(self):
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/b", body=b"x" * (BODY_LIMIT + 1))
        self.assertMatrixError(r, 413, "M_TOO_LARGE")
        self.assertEqual(self.up.requests, [])

    def test_declared_length_over_limit_rejected_before_body(self):
        raw = self.raw(self.gw)
        raw.send(b"PUT /_matrix/federation/v1/send/c HTTP/1.1\r\nHost: core.bordergate.test\r\n"
                 b"Content-Length: 100000000\r\n\r\n")
        resp = raw.read_response()
        self.assertMatrixError(resp, 413, "M_TOO_LARGE")
        self.assertEqual(self.up.requests, [])

    def test_chunked_body_over_limit_gives_413(self):
        raw = self.raw(self.gw)
        chunk = b"y" * 1000
        # One write, so the gateway has read everything before it answers and
        # closes (unread data at close would make the kernel send a RST).
        raw.send(b"PUT /_matrix/federation/v1/send/d HTTP/1.1\r\nHost: core.bordergate.test\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n" + (b"3e8\r\n" + chunk + b"\r\n") * 10
                 + b"0\r\n\r\n")
        resp = raw.read_response()
        self.assertMatrixError(resp, 413, "M_TOO_LARGE")
        self.assertEqual(self.up.requests, [])

    def test_headers_over_byte_limit_give_431(self):
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version",
                         headers=[("X-Big", "a" * (HEADER_LIMIT + 100))])
        self.assertEqual(r.status, 431, r.body[:200])
        self.assertEqual(self.up.requests, [])

    def test_many_small_headers_over_byte_limit_give_431(self):
        headers = [(f"X-H{i}", "b" * 60) for i in range(MAX_HEADERS - 2)]
        headers.append(("X-Last", "c" * (HEADER_LIMIT - 60 * (MAX_HEADERS - 2))))
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version", headers=headers)
        self.assertEqual(r.status, 431, r.body[:200])

    def test_too_many_headers_give_431(self):
        headers = [(f"X-N{i}", "1") for i in range(MAX_HEADERS + 5)]
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version", headers=headers)
        self.assertEqual(r.status, 431, r.body[:200])
        self.assertEqual(self.up.requests, [])

    def test_huge_request_line_gives_431_or_414(self):
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/x?" + "q" * (HEADER_LIMIT + 10))
        self.assertIn(r.status, (414, 431), r.body[:200])
        self.assertEqual(self.up.requests, [])

    def test_within_header_limits_accepted(self):
        headers = [(f"X-N{i}", "1") for i in range(MAX_HEADERS - 5)]
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version", headers=headers)
        self.assertEqual(r.status, 200)

    def test_slowloris_cut_off_after_header_timeout(self):
        raw = self.raw(self.gw)
        request = (b"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.bordergate.test\r\n"
                   + b"".join(b"X-Slow-%d: %s\r\n" % (i, b"z" * 10) for i in range(40)))
        # One byte every 50 ms keeps the connection busy far longer than the
        # 1 s header timeout (the limit is total header time, not idle time).
        cut = False
        deadline = time.monotonic() + ENV.timeout(30)
        for i in range(len(request)):
            try:
                raw.send(request[i:i + 1])
            except OSError:
                cut = True
                break
            if raw.closed_by_peer(0.05 / ENV.slow):
                cut = True
                break
            if time.monotonic() > deadline:
                break
        self.assertTrue(cut or raw.closed_by_peer(5), "slowloris connection never cut off")
        self.assertNotIn(b" 200 ", raw.buf)
        self.assertEqual(self.up.requests, [])

    def test_stalled_body_cut_off_after_body_timeout(self):
        raw = self.raw(self.gw)
        raw.send(b"PUT /_matrix/federation/v1/send/e HTTP/1.1\r\nHost: core.bordergate.test\r\n"
                 b"Content-Length: 100\r\n\r\n" + b"x" * 10)
        self.assertTrue(raw.closed_by_peer(20), "stalled body kept open")
        self.assertEqual(self.up.requests, [])

    def test_idle_keep_alive_connection_closed_after_idle_timeout(self):
        raw = self.raw(self.gw)
        raw.send(b"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: core.bordergate.test\r\n\r\n")
        self.assertEqual(raw.read_response().status, 200)
        self.assertTrue(raw.closed_by_peer(20), "idle connection kept open past idle_timeout")


if __name__ == "__main__":
    main()
