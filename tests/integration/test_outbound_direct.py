#!/usr/bin/python3
"""Direct mode end to end (docs/outbound.md): the Core's hosts file points federation names at
the gateway's `outbound.direct_listen` TLS listener, with no CONNECT; the ClientHello's SNI names
the destination. A Python Core connects there as Synapse would (TLS with the SNI of the server
name, trusting only the interception CA, X-Matrix-signed requests). Covers: an allowed /send
delivered byte for byte; an SNI outside every federation closed and audited; non-TLS bytes and a
ClientHello without SNI closed; Host or X-Matrix destination other than the SNI refused; a client
outside outbound.clients refused; egress names refused there; every decision audited (method TLS, endpoint direct) and
counted in the proxy metrics."""
import json
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from harness.env import ENV  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from harness.ports import free_port  # noqa: E402
from outbound_core import read_response  # noqa: E402
from outbound_rig import Z, OutboundRig, typing_transaction  # noqa: E402

PEER = f"peer.{Z}"


class DirectModeTest(OutboundRig):
    def start_direct(self, **outbound):
        self.direct_port = free_port()
        # The destination is the SNI's server name on port 8448; the test peers listen on random
        # ports, so discovery gets static routes (the SSRF guard still judges their addresses).
        routes = {f"{n}.{Z}": f"{n}.{Z}:{self.peers[n].port}" for n in self.peers}
        config = self.gateway_config(
            routes=routes, direct_listen={"address": "127.0.0.1", "port": self.direct_port},
            **outbound)
        self.gw = self.start_gateway(config)

    def dial(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.direct_port), timeout=ENV.timeout(10))

    def tls(self, sni: str):
        return self.core.tls(self.dial(), sni)

    def direct_records(self):
        return [(r.get("server_name"), r["action"], r.get("rule_id"), r.get("reason"))
                for r in self.audit_records(self.gw)
                if r.get("endpoint") == "direct" and r.get("method") == "TLS"]

    def test_allowed_send_end_to_end_and_audited(self):
        self.start_direct()
        self.peers["peer"].answer = (200, b'{"pdus": {}}')
        tunnel = self.tls(PEER)
        # The leaf is minted for exactly the SNI by the interception CA.
        self.assertIn(("DNS", PEER), tunnel.getpeercert()["subjectAltName"])
        txn = typing_transaction()
        uri = "/_matrix/federation/v1/send/txn1"
        status, _, body = self.core.request(tunnel, "PUT", uri, PEER, body=txn)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, b'{"pdus": {}}')
        status, _, _ = self.core.request(tunnel, "GET", "/_matrix/federation/v1/version", PEER)
        self.assertEqual(status, 200)
        tunnel.close()
        m = self.metrics_when(self.gw, lambda m: metric_sum(
            m, "bordergate_outbound_proxy_connections_open") == 0)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_connections_open"), 0)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_decisions_total",
                                    listener="direct", result="allowed",
                                    reason="federation_destination"), 1)
        sent = self.peers["peer"].requests
        self.assertEqual(len(sent), 2)
        self.assertEqual((sent[0]["method"], sent[0]["path"]), ("PUT", uri))
        self.assertEqual(sent[0]["body"], json.dumps(txn).encode())  # exactly the Core's bytes
        self.assertTrue(sent[0]["signature_ok"], "the peer could not verify the Core's signature")
        records = self.audit_records(self.gw)
        direct = [r for r in records if r.get("endpoint") == "direct"]
        self.assertEqual([(r["method"], r["action"], r["rule_id"], r["destination"], r["note"])
                          for r in direct],
                         [("TLS", "forward", "out-partners", PEER, "listener=direct")])
        # The admission and every inner request's record name direct mode.
        inner = [(r["endpoint"], r["action"], r.get("status"), r.get("note")) for r in records
                 if r.get("endpoint") in ("send", "version")]
        self.assertEqual(inner, [("send", "forward", 200, "listener=direct"),
                                 ("version", "forward", 200, "listener=direct")])

    def test_sni_outside_every_federation_closed(self):
        self.start_direct()
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            self.tls(f"stranger.{Z}")
        m = self.metrics_when(self.gw, lambda m: metric_sum(
            m, "bordergate_outbound_proxy_decisions_total", listener="direct") == 1)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_decisions_total",
                                    listener="direct", result="refused",
                                    reason="destination_in_no_federation"), 1)
        self.assertEqual(self.direct_records(),
                         [(f"stranger.{Z}:8448", "deny", "default", "destination_in_no_federation")])

    def test_non_tls_bytes_and_missing_sni_closed(self):
        self.start_direct()
        sock = self.dial()
        sock.sendall(f"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: {PEER}\r\n\r\n".encode())
        self.assert_closed(sock)
        sock.close()
        context = ssl.create_default_context(cafile=str(self.interception.ca.cert))
        context.check_hostname = False
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            context.wrap_socket(self.dial(), server_hostname=None)
        self.assertEqual(self.peers["peer"].connections, 0)
        reasons = [r[3] for r in self.direct_records()]
        self.assertEqual(reasons, ["not_tls", "sni_missing"])

    def test_host_or_xmatrix_destination_other_than_sni_refused(self):
        self.start_direct()
        tunnel = self.tls(PEER)
        other = f"other.{Z}"
        status, _, body = self.core.request(tunnel, "GET", "/_matrix/federation/v1/version", other)
        self.assertEqual(status, 403, body)
        self.assertIn(b"Host does not name", body)
        tunnel.close()
        tunnel = self.tls(PEER)
        status, _, body = self.core.request(tunnel, "GET", "/_matrix/federation/v1/version", PEER,
                                            destination=other)
        self.assertEqual(status, 403, body)
        self.assertIn(b"X-Matrix destination", body)
        tunnel.close()
        self.assertEqual(self.peers["peer"].requests, [])
        self.assertEqual(self.peers["other"].requests, [])
        reasons = [(r.get("rule_id"), r.get("reason")) for r in self.audit_records(self.gw)
                   if r.get("endpoint") == "version"]
        self.assertEqual(reasons, [("tunnel_binding", "host_mismatch"),
                                   ("tunnel_binding", "xmatrix_destination_mismatch")])

    def test_egress_names_are_not_reachable_directly(self):
        # On the egress list (even for port 8448), but direct mode reaches federation members
        # only: egress stays with the CONNECT listener, whose entries name their ports.
        self.start_direct(egress=[{"host": f"push.{Z}", "mode": "tunnel", "ports": [8448]}])
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            self.tls(f"push.{Z}")
        self.assertEqual(self.direct_records(),
                         [(f"push.{Z}:8448", "deny", f"egress:push.{Z}", "direct_not_federation")])

    def test_spliced_egress_bytes_are_counted(self):
        push = self.add_peer("push", answer=(200, b'{"rejected": []}'))
        self.start_direct(egress=[{"host": f"push.{Z}", "mode": "tunnel", "ports": [push.port]}])
        # CONNECT listener: the push gateway is tunnelled with the Core's own TLS (real CA).
        sock = self.core.connect(f"push.{Z}:{push.port}")
        tunnel = self.core.tls(sock, f"push.{Z}", ca=str(self.pki.ca.cert))
        status, _, body = self.core.request(tunnel, "POST", "/_matrix/push/v1/notify",
                                            f"push.{Z}", body={"notification": {}}, sign=False)
        self.assertEqual((status, body), (200, b'{"rejected": []}'))
        tunnel.close()
        m = self.metrics_when(self.gw, lambda m: metric_sum(
            m, "bordergate_outbound_proxy_connections_open") == 0)
        self.assertGreater(metric_sum(m, "bordergate_outbound_spliced_bytes_total",
                                      direction="to_destination"), 0)
        self.assertGreater(metric_sum(m, "bordergate_outbound_spliced_bytes_total",
                                      direction="to_core"), 0)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_decisions_total",
                                    listener="connect", result="allowed", reason="egress_tunnel"), 1)

    def test_client_outside_clients_refused(self):
        self.start_direct(clients=["127.0.0.2/32"])
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            tunnel = self.tls(PEER)
            tunnel.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(tunnel)
        self.assertEqual(self.peers["peer"].connections, 0)


if __name__ == "__main__":
    main()
