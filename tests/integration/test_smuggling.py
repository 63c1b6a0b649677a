#!/usr/bin/python3
"""Request smuggling is impossible: every ambiguous or malformed framing is
answered with 400 and the connection is closed, and nothing of it reaches the
upstream. Each case is sent as raw bytes over TLS."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GatewayTestCase, main  # noqa: E402

H = b"Host: core.bordergate.test\r\n"
P = b"PUT /_matrix/federation/v1/send/s HTTP/1.1\r\n"
G = b"GET /_matrix/federation/v1/version HTTP/1.1\r\n"
SMUGGLED = b"GET /_matrix/federation/v1/smuggled HTTP/1.1\r\n" + H + b"\r\n"

CASES = {
    "cl_and_te": P + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
    "te_and_cl": P + H + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n" + SMUGGLED,
    "duplicate_cl_different": P + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "duplicate_cl_same": P + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "cl_list": P + H + b"Content-Length: 5, 5\r\n\r\nhello",
    "cl_negative": P + H + b"Content-Length: -1\r\n\r\n",
    "cl_plus_sign": P + H + b"Content-Length: +5\r\n\r\nhello",
    "cl_not_a_number": P + H + b"Content-Length: 5x\r\n\r\nhello",
    "cl_hex": P + H + b"Content-Length: 0x5\r\n\r\nhello",
    "space_before_colon": P + H + b"Content-Length : 5\r\n\r\nhello",
    "obs_fold": G + H + b"X-Folded: first\r\n  second\r\n\r\n",
    "obs_fold_tab": G + H + b"X-Folded: first\r\n\tsecond\r\n\r\n",
    "bare_lf_everywhere": b"GET /_matrix/federation/v1/version HTTP/1.1\nHost: core.bordergate.test\n\n",
    "bare_lf_in_header": G + H + b"X-A: 1\nX-B: 2\r\n\r\n",
    "bare_cr_in_header": G + H + b"X-A: 1\rX-B: 2\r\n\r\n",
    "nul_in_header": G + H + b"X-A: a\x00b\r\n\r\n",
    "te_not_chunked": P + H + b"Transfer-Encoding: gzip\r\n\r\n",
    "te_chunked_not_last": P + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "te_identity": P + H + b"Transfer-Encoding: identity\r\n\r\n",
    "te_obfuscated": P + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "te_vertical_tab": P + H + b"Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n",
    "bad_chunk_size": P + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "chunk_size_0x": P + H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "chunk_size_overflow": P + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
    "chunk_size_negative": P + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    "chunk_data_too_long": P + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    "chunk_bare_lf": P + H + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
    "header_name_with_space": G + H + b"X Bad: 1\r\n\r\n",
    "empty_header_name": G + H + b": value\r\n\r\n",
    "request_line_extra_space": b"GET  /_matrix/federation/v1/version HTTP/1.1\r\n" + H + b"\r\n",
    "bad_version": b"GET /_matrix/federation/v1/version HTTP/1.7\r\n" + H + b"\r\n",
    "missing_host": G + b"\r\n",
    "duplicate_host": G + H + b"Host: evil.example\r\n\r\n",
}


class SmugglingTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.gw = self.gateway_for(self.up)

    def check_rejected(self, name: str, data: bytes):
        raw = self.raw(self.gw)
        raw.send(data)
        try:
            resp = raw.read_response()
        except ConnectionError:
            self.fail(f"{name}: connection closed without a 400 answer")
        self.assertEqual(resp.status, 400, f"{name}: {resp.status} {resp.body[:200]!r}")
        self.assertTrue(raw.closed_by_peer(10), f"{name}: connection left open after 400")
        self.assertEqual(raw.buf, b"", f"{name}: more bytes after the 400: {raw.buf[:200]!r}")
        self.assertEqual([r.uri for r in self.up.requests], [], f"{name}: reached the upstream")

    def test_cases(self):
        for name, data in CASES.items():
            with self.subTest(name):
                self.up.requests.clear()
                self.check_rejected(name, data)

    def test_smuggling_after_valid_request_on_same_connection(self):
        raw = self.raw(self.gw)
        raw.send(G + H + b"\r\n" + P + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\n" + SMUGGLED)
        first = raw.read_response()
        self.assertEqual(first.status, 200)
        second = raw.read_response()
        self.assertEqual(second.status, 400)
        self.assertTrue(raw.closed_by_peer(10))
        self.assertEqual([r.uri for r in self.up.requests], ["/_matrix/federation/v1/version"])

    def test_valid_pipelined_requests_all_answered_in_order(self):
        raw = self.raw(self.gw)
        raw.send(b"".join(b"GET /_matrix/federation/v1/version?n=%d HTTP/1.1\r\n" % i + H + b"\r\n"
                          for i in range(3)))
        uris = [raw.read_response().json()["uri"] for _ in range(3)]
        self.assertEqual(uris, [f"/_matrix/federation/v1/version?n={i}" for i in range(3)])

    def test_malformed_requests_counted_and_gateway_keeps_serving(self):
        for data in list(CASES.values())[:5]:
            with self.raw(self.gw) as raw:
                raw.send(data)
                raw.closed_by_peer(10)
        self.assertEqual(self.curl(self.gw, "/_matrix/federation/v1/version").status, 200)


if __name__ == "__main__":
    main()
