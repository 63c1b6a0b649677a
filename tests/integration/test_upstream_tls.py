#!/usr/bin/python3
"""TLS to the upstream: the gateway verifies the Core's certificate against the
configured CA and name, presents its client certificate when configured, and
answers 502 when verification fails."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GatewayTestCase, TestPKI, main  # noqa: E402

CORE = "core.internal"


class UpstreamTlsTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.upstream_cert = cls.pki.upstream(CORE)
        cls.client_cert = cls.pki.client("bordergate-gateway")
        cls.rogue_pki = TestPKI(cls.class_dir / "rogue", "rogue CA")
        cls.rogue_cert = cls.rogue_pki.upstream(CORE)

    def tls_config(self, up, server_name=CORE, client=True):
        cfg = self.make_config(up.port)
        tls = {"enabled": True, "ca_file": str(self.pki.ca.cert), "server_name": server_name}
        if client:
            tls.update(client_certificate=str(self.client_cert.cert),
                       client_private_key=str(self.client_cert.key))
        cfg["upstream"]["tls"] = tls
        return cfg

    def test_forwards_over_verified_tls_with_client_certificate(self):
        up = self.start_upstream("tls", tls=self.upstream_cert, client_ca=self.pki.ca.cert)
        gw = self.start_gateway(self.tls_config(up))
        r = self.curl(gw, "/_matrix/federation/v1/version?x=%2F")
        self.assertEqual(r.status, 200, r.body)
        got = up.last()
        self.assertEqual(got.uri, "/_matrix/federation/v1/version?x=%2F")
        self.assertEqual(got.client_subject, "commonName=bordergate-gateway")
        self.assertEqual(up.handshake_failures, 0)

    def test_keep_alive_over_tls_upstream(self):
        up = self.start_upstream("tls", tls=self.upstream_cert)
        gw = self.start_gateway(self.tls_config(up, client=False))
        for _ in range(3):
            self.assertEqual(self.request(gw, "GET", "/_matrix/federation/v1/version").status, 200)
        self.assertEqual(up.connections, 1)

    def test_untrusted_upstream_certificate_gives_502(self):
        up = self.start_upstream("rogue", tls=self.rogue_cert)
        gw = self.start_gateway(self.tls_config(up, client=False))
        self.assertMatrixError(self.curl(gw, "/_matrix/federation/v1/version"), 502)
        self.assertEqual(up.requests, [])

    def test_wrong_upstream_name_gives_502(self):
        up = self.start_upstream("tls", tls=self.upstream_cert)
        gw = self.start_gateway(self.tls_config(up, server_name="not-the-core.internal", client=False))
        self.assertMatrixError(self.curl(gw, "/_matrix/federation/v1/version"), 502)
        self.assertEqual(up.requests, [])

    def test_plain_gateway_to_tls_upstream_gives_502(self):
        up = self.start_upstream("tls", tls=self.upstream_cert)
        gw = self.start_gateway(self.make_config(up.port))
        self.assertMatrixError(self.curl(gw, "/_matrix/federation/v1/version"), 502)


if __name__ == "__main__":
    main()
