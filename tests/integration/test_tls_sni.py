#!/usr/bin/python3
"""TLS on the federation listener: SNI picks the certificate (checked with
`openssl s_client`), the first certificate is the default, TLS below 1.2 is
refused, and curl verifies each name end to end."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GatewayTestCase, main  # noqa: E402

OTHER = "other.example.test"
ALIAS = "alias.example.test"


class SniTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.pki.server(OTHER, ALIAS)
        cls.rsa = cls.pki.server("rsa.example.test", key="rsa")

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        certs = [([self.SERVER_NAME], self.cert), ([OTHER, ALIAS], self.other),
                 (["rsa.example.test"], self.rsa)]
        self.gw = self.start_gateway(self.make_config(self.up.port, certificates=certs))

    def assertSubject(self, server_name, expected_cn, *args):
        r = self.s_client(self.gw, server_name, *args)
        self.assertIsNotNone(r.subject, r.output[-2000:])
        self.assertTrue(r.subject.replace(" ", "").endswith(f"CN={expected_cn}"), r.subject)
        self.assertTrue(r.verify_ok, r.output[-2000:])
        return r

    def test_sni_selects_certificate(self):
        self.assertSubject(self.SERVER_NAME, self.SERVER_NAME)
        self.assertSubject(OTHER, OTHER)
        self.assertSubject("rsa.example.test", "rsa.example.test")

    def test_second_san_name_selects_same_certificate(self):
        self.assertSubject(ALIAS, OTHER)

    def test_unknown_sni_gets_first_certificate(self):
        self.assertSubject("unknown.example.test", self.SERVER_NAME)

    def test_no_sni_gets_first_certificate(self):
        self.assertSubject(None, self.SERVER_NAME)

    def test_tls12_and_tls13_accepted(self):
        r = self.assertSubject(OTHER, OTHER, "-tls1_2")
        self.assertEqual(r.protocol, "TLSv1.2", r.output[-1500:])
        r = self.assertSubject(OTHER, OTHER, "-tls1_3")
        self.assertEqual(r.protocol, "TLSv1.3", r.output[-1500:])

    def test_tls11_refused(self):
        # SECLEVEL=0 lets our client offer TLS 1.1, so a refusal comes from the gateway.
        r = self.s_client(self.gw, OTHER, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertNotEqual(r.returncode, 0, r.output[-1500:])
        self.assertIsNone(r.protocol, "a TLS 1.1 handshake completed")
        self.assertIsNone(r.subject, "a TLS 1.1 handshake completed")

    def test_weak_tls12_cipher_refused(self):
        # RSA key exchange + CBC: only possible with the RSA certificate, refused by a modern list.
        r = self.s_client(self.gw, "rsa.example.test", "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0")
        self.assertNotEqual(r.returncode, 0, r.output[-1500:])
        self.assertIsNone(r.protocol, "a handshake with a non-forward-secret CBC suite completed")

    def test_curl_verifies_each_name_and_reaches_upstream(self):
        for name in (self.SERVER_NAME, OTHER, ALIAS, "rsa.example.test"):
            r = self.curl(self.gw, "/_matrix/federation/v1/version", server_name=name)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.info.get("ssl_verify_result"), 0)
            self.assertEqual(self.up.last().header("Host"), f"{name}:{self.gw.port}")

    def test_plain_http_on_tls_port_gets_no_http_answer(self):
        raw = self.raw(self.gw, tls=False)
        raw.send(b"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(raw.closed_by_peer(10), "gateway kept a non-TLS connection open")
        self.assertNotIn(b"HTTP/1.1 200", raw.buf)
        self.assertEqual(self.up.connections, 0)


if __name__ == "__main__":
    main()
