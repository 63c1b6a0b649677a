#!/usr/bin/python3
"""Requests go through the gateway to the upstream and back unchanged where
they must be (URI, Host, Authorization, bodies) and changed where they must be
(hop-by-hop headers removed, X-Forwarded-For/-Proto set by the gateway)."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GatewayTestCase, main  # noqa: E402
from harness.upstream import pattern_bytes  # noqa: E402

MiB = 1024 * 1024
HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "upgrade", "trailer",
              "x-named-in-connection")


class ForwardingTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.gw = self.gateway_for(self.up)

    def put_body(self, size: int):
        data = pattern_bytes(size)
        path = self.tmp / f"body-{size}"
        path.write_bytes(data)
        r = self.curl(self.gw, "/_matrix/federation/v1/send/txn1", "-X", "PUT",
                      "--data-binary", f"@{path}", "-H", "Content-Type: application/octet-stream",
                      "-H", "X-Test-Echo-Body: 1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.status, 200)
        got = self.up.last()
        self.assertEqual(got.method, "PUT")
        self.assertEqual(len(got.body), size)
        self.assertEqual(hashlib.sha256(got.body).digest(), hashlib.sha256(data).digest())
        self.assertEqual(len(r.body), size)
        self.assertEqual(hashlib.sha256(r.body).digest(), hashlib.sha256(data).digest())

    def test_body_0_bytes(self):
        self.put_body(0)

    def test_body_1_kib(self):
        self.put_body(1024)

    def test_body_12_mib(self):
        self.put_body(12 * MiB)

    def test_get_without_body(self):
        r = self.curl(self.gw, "/_matrix/federation/v1/version")
        self.assertEqual(r.status, 200, r.stderr)
        echo = r.json()
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["body_length"], 0)
        self.assertEqual(r.header("X-Upstream"), "upstream")

    def test_chunked_response_streams_back_whole(self):
        size = 300_000 + 17
        r = self.curl(self.gw, "/_matrix/federation/v1/state/x", "-H", "X-Test-Chunked: 1",
                      "-H", f"X-Test-Response-Bytes: {size}", "-H", "X-Test-Chunk-Size: 7001")
        self.assertEqual(r.status, 200, r.stderr)
        self.assertEqual(r.body, pattern_bytes(size))

    def test_chunked_json_response(self):
        r = self.curl(self.gw, "/_matrix/federation/v1/query/profile?user_id=%40a%3Ab",
                      "-H", "X-Test-Chunked: 1", "-H", "X-Test-Chunk-Size: 5")
        self.assertEqual(r.status, 200, r.stderr)
        self.assertEqual(r.json()["uri"], "/_matrix/federation/v1/query/profile?user_id=%40a%3Ab")

    def test_chunked_request_body_reaches_upstream_whole(self):
        raw = self.raw(self.gw)
        body = b'{"pdus":[],"edus":[]}'
        req = (b"PUT /_matrix/federation/v1/send/t2 HTTP/1.1\r\nHost: core.bordergate.test\r\n"
               b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 4]), body[i:i + 4])
                          for i in range(0, len(body), 4)) + b"0\r\n\r\n")
        raw.send(req)
        resp = raw.read_response()
        self.assertEqual(resp.status, 200)
        got = self.up.last()
        self.assertEqual(got.body, body)
        self.assertFalse(got.header_all("Transfer-Encoding") and got.header_all("Content-Length"))

    def test_interim_100_continue_from_upstream_handled(self):
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/t4", body=b'{"pdus":[]}',
                         headers=[("X-Test-Interim", "100"), ("Expect", "100-continue")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body"], '{"pdus":[]}')
        # The connection stays usable: the interim answer was not taken as the final one.
        again = self.request(self.gw, "GET", "/_matrix/federation/v1/version")
        self.assertEqual(again.status, 200)
        self.assertEqual(again.json()["uri"], "/_matrix/federation/v1/version")

    def test_upstream_status_and_headers_pass_through(self):
        r = self.curl(self.gw, "/_matrix/federation/v1/event/%24e", "-H", "X-Test-Status: 404",
                      "-H", "X-Test-Response-Header: X-Core-Trace: abc123")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("X-Core-Trace"), "abc123")
        self.assertEqual(r.header("X-Upstream"), "upstream")

    def test_response_hop_by_hop_headers_removed(self):
        r = self.curl(self.gw, "/_matrix/federation/v1/version",
                      "-H", "X-Test-Response-Header: Connection: X-Hop-Response",
                      "-H", "X-Test-Response-Header: X-Hop-Response: secret",
                      "-H", "X-Test-Response-Header: Keep-Alive: timeout=99",
                      "-H", "X-Test-Response-Header: Proxy-Connection: keep-alive",
                      "-H", "X-Test-Response-Header: X-End-To-End: kept")
        self.assertEqual(r.status, 200)
        names = {k.lower() for k, _ in r.headers}
        self.assertNotIn("x-hop-response", names)
        self.assertNotIn("proxy-connection", names)
        self.assertNotEqual(r.header("Keep-Alive"), "timeout=99")
        self.assertEqual(r.header("X-End-To-End"), "kept")

    def test_keep_alive_one_upstream_connection_for_one_client_connection(self):
        paths = [f"/_matrix/federation/v1/query/directory?room_alias=%23r{i}%3Ax" for i in range(5)]
        r = self.curl(self.gw, paths[0], urls=paths)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([i["http_code"] for i in r.info["all"]], [200] * 5)
        self.assertEqual(sum(i["num_connects"] for i in r.info["all"]), 1, "curl reconnected")
        reqs = self.up.wait_for_requests(5)
        self.assertEqual([q.uri for q in reqs], paths)
        self.assertEqual(self.up.connections, 1, "gateway opened more than one upstream connection")
        self.assertEqual([q.index for q in reqs], [1, 2, 3, 4, 5])

    def test_keep_alive_pool_shared_across_client_connections(self):
        # workers: 1, so all client connections share one worker and its pool.
        for i in range(4):
            r = self.request(self.gw, "GET", f"/_matrix/federation/v1/version?n={i}")
            self.assertEqual(r.status, 200)
        self.assertEqual(self.up.connections, 1, "upstream connections were not reused")
        self.assertEqual(self.up.last().index, 4)

    def test_uri_forwarded_byte_for_byte(self):
        uris = [
            "/_matrix/federation/v1/query/directory?room_alias=%23room%3Aexample.org",
            "/_matrix/federation/v1/state/%21room%3Aexample.org?event_id=%24abc%2Fdef",
            "/_matrix/federation/v1/media/a%2Fb/../c/./d?z=1&a=2&z=0",
            "/_matrix//federation/v1/x?q=%2f%2F&empty=&flag&%E2%9C%93=%e2%9c%93",
            "/_matrix/federation/v1/user/devices/%40alice%3Aexample.org?b=2&a=1&b=1",
            "/_matrix/key/v2/server?x=a+b%20c",
        ]
        c = self.client(self.gw)
        for uri in uris:
            r = c.request("GET", uri)
            self.assertEqual(r.status, 200)
            self.assertEqual(self.up.last().uri, uri)
            self.assertEqual(r.json()["uri"], uri)

    def test_hop_by_hop_request_headers_removed(self):
        raw = self.raw(self.gw)
        raw.send(b"GET /_matrix/federation/v1/version HTTP/1.1\r\n"
                 b"Host: core.bordergate.test\r\n"
                 b"Connection: keep-alive, X-Named-In-Connection\r\n"
                 b"X-Named-In-Connection: drop me\r\n"
                 b"Keep-Alive: timeout=5\r\n"
                 b"Proxy-Connection: keep-alive\r\n"
                 b"TE: trailers\r\n"
                 b"Trailer: X-Checksum\r\n"
                 b"Upgrade: websocket\r\n"
                 b"X-End-To-End: yes\r\n\r\n")
        resp = raw.read_response()
        self.assertEqual(resp.status, 200)
        got = self.up.last()
        names = [k.lower() for k, _ in got.headers]
        for hop in HOP_BY_HOP:
            if hop == "connection":
                # The gateway may send its own Connection header, but nothing copied from ours.
                for v in got.header_all("Connection"):
                    self.assertNotIn("x-named-in-connection", v.lower())
                continue
            self.assertNotIn(hop, names, f"{hop} reached the upstream: {got.headers}")
        self.assertEqual(got.header_all("X-End-To-End"), ["yes"])

    def test_forwarded_headers_set_and_incoming_ones_not_trusted(self):
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version", headers=[
            ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "198.51.100.1"),
            ("X-Forwarded-Proto", "http")])
        self.assertEqual(r.status, 200)
        got = self.up.last()
        self.assertEqual(got.header_all("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(got.header_all("X-Forwarded-Proto"), ["https"])

    def test_several_authorization_headers_preserved_as_separate_lines(self):
        auth1 = ('X-Matrix origin="a.example",destination="core.bordergate.test",'
                 'key="ed25519:1",sig="c2lnbmF0dXJlMQ"')
        auth2 = ('X-Matrix origin="a.example",destination="core.bordergate.test",'
                 'key="ed25519:2",sig="c2lnbmF0dXJlMg"')
        r = self.request(self.gw, "PUT", "/_matrix/federation/v1/send/t3", body=b"{}",
                         headers=[("Authorization", auth1), ("Authorization", auth2),
                                  ("Content-Type", "application/json")])
        self.assertEqual(r.status, 200)
        got = self.up.last()
        self.assertEqual(got.header_all("Authorization"), [auth1, auth2])
        self.assertEqual(got.body, b"{}")

    def test_host_preserved(self):
        for host in ["core.bordergate.test", f"core.bordergate.test:{self.gw.port}",
                     "Core.BorderGate.Test:8448"]:
            r = self.request(self.gw, "GET", "/_matrix/federation/v1/version", headers=[("Host", host)])
            self.assertEqual(r.status, 200)
            self.assertEqual(self.up.last().header_all("Host"), [host])

    def test_methods_forwarded(self):
        for method in ("GET", "PUT", "POST", "DELETE", "OPTIONS"):
            body = b'{"m":1}' if method in ("PUT", "POST") else None
            r = self.request(self.gw, method, "/_matrix/federation/v1/x", body=body)
            self.assertEqual(r.status, 200, method)
            self.assertEqual(self.up.last().method, method)
            if body:
                self.assertEqual(self.up.last().body, body)


if __name__ == "__main__":
    main()
