#!/usr/bin/python3
"""The Core's proxy behind TLS (`outbound.listen_tls`, https_proxy=https://user:pass@gw:port):
the Core opens TLS to the gateway with the gateway's proxy certificate, sends CONNECT and its
credentials inside it, and runs the tunnel's own TLS inside that. A Python Core (TLS-in-TLS with
ssl.SSLObject over memory BIOs) and curl (--proxy https://...) use it against TLS peers behind
dnsmasq names on random 127.64.0.0/10 addresses. Covers: an allowed /send delivered byte for byte
with the peer's own signature check, beside the plain listener; 407 for missing/wrong
credentials; 403 at CONNECT outside every federation with nothing dialled; a plain-HTTP proxy
request inside the TLS refused; bytes that are not TLS
on the TLS listener closed and audited, non-TLS bytes after CONNECT inside it and an SNI other
than the CONNECT host closed; a `tunnel`
egress entry spliced to its destination and an `intercept` one terminated; a TLS-only
configuration; check-config on the proxy certificate; metrics and audit records naming the
listener `connect_tls` (the CONNECT and gate records and those of every inner request, allowed or
refused, while the plain listener's records carry no note)."""
import json
import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from harness.env import ENV, require_tool  # noqa: E402
from harness.gateway import Gateway, run_cli  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from outbound_core import ProxyRefused, read_head, read_response  # noqa: E402
from outbound_rig import Z, TlsProxyRig, typing_transaction  # noqa: E402

PEER = f"peer.{Z}"


class OutboundProxyTlsTest(TlsProxyRig):
    def start(self, **outbound):
        self.peers["push"] = self.add_peer("push", answer=(200, b'{"rejected": []}'))
        self.peers["stranger"] = self.add_peer("stranger", answer=(200, b"<html>preview</html>"))
        outbound.setdefault("listen_tls", self.listen_tls())
        outbound.setdefault("egress", [
            {"host": f"push.{Z}", "mode": "tunnel", "ports": [self.peers["push"].port]},
            {"host": f"stranger.{Z}", "mode": "intercept", "ports": [self.peers["stranger"].port]},
        ])
        self.gw = self.start_gateway(self.gateway_config(**outbound))
        return self.gw

    def proxy_records(self):
        return [r for r in self.audit_records(self.gw)
                if r.get("type") == "decision" and r.get("direction") == "outbound"]

    def curl(self, url: str, *args: str, proxy_ca: bool = True) -> subprocess.CompletedProcess:
        tool = require_tool("curl")
        cmd = [tool, "-sS", "--path-as-is", "-o", "-", "-w", "\n%{http_code} %{http_connect}",
               "--max-time", str(ENV.timeout(20)),
               "--proxy", f"https://127.0.0.1:{self.tls_port}",
               "--cacert", str(self.interception.ca.cert), *args]
        if proxy_ca:
            cmd += ["--proxy-cacert", str(self.proxy_pki.ca.cert)]
        return subprocess.run(cmd + [url], capture_output=True, text=True,
                              timeout=ENV.timeout(20) + 10)

    def refused_requests(self, core, tunnel, target: str, txn_id: str):
        """Two refusals in one tunnel (keep-alive goes on after each): a /send whose EDU names a
        user of the peer (the enforcement phases, outbound: a content verdict, stored as denied
        and answered 200 so the Core's queue moves on), and a /version whose X-Matrix
        destination is another server (the tunnel binding)."""
        txn = typing_transaction()
        txn["edus"][0]["content"]["user_id"] = "@mallory:" + PEER
        status, _, body = core.request(tunnel, "PUT", "/_matrix/federation/v1/send/" + txn_id,
                                       target, body=txn)
        self.assertEqual((status, json.loads(body)), (200, {"pdus": {}}), body)
        status, _, body = core.request(tunnel, "GET", "/_matrix/federation/v1/version", target,
                                       destination=self.target("other"))
        self.assertEqual(status, 403, body)

    # ---- allowed traffic -----------------------------------------------------------------
    def test_allowed_send_end_to_end_beside_the_plain_listener(self):
        self.start()
        peer = self.peers["peer"]
        peer.answer = (200, b'{"pdus": {}}')
        target = self.target("peer")
        outer = self.tls_core.connect(target)
        # The proxy presents its own certificate, not a minted leaf.
        self.assertIn(("IP Address", "127.0.0.1"), outer.getpeercert()["subjectAltName"])
        tunnel = self.tls_core.tls(outer, PEER)
        # Inside it, the leaf is minted for exactly the CONNECT host by the interception CA.
        self.assertIn(("DNS", PEER), tunnel.getpeercert()["subjectAltName"])
        txn = typing_transaction()
        uri = "/_matrix/federation/v1/send/txn1"
        status, _, body = self.tls_core.request(tunnel, "PUT", uri, target, body=txn)
        self.assertEqual((status, body), (200, b'{"pdus": {}}'))
        # Keep-alive inside both layers.
        status, _, _ = self.tls_core.request(tunnel, "GET", "/_matrix/federation/v1/version",
                                             target)
        self.assertEqual(status, 200)
        self.refused_requests(self.tls_core, tunnel, target, "txn2")
        tunnel.close()
        # The plain listener runs beside it.
        plain = self.core.tls(self.core.connect(target), PEER)
        status, _, _ = self.core.request(plain, "GET", "/_matrix/federation/v1/version", target)
        self.assertEqual(status, 200)
        self.refused_requests(self.core, plain, target, "txn3")
        plain.close()

        sent = peer.requests[0]
        self.assertEqual((sent["method"], sent["path"]), ("PUT", uri))
        self.assertEqual(sent["body"], json.dumps(txn).encode())  # exactly the Core's bytes
        self.assertTrue(sent["signature_ok"], "the peer could not verify the Core's signature")
        self.assertNotIn("proxy-authorization", {k.lower() for k, _ in sent["headers"]})
        self.assertEqual(len(peer.requests), 3)

        m = self.metrics_when(self.gw, lambda m: metric_sum(
            m, "bordergate_outbound_proxy_connections_open") == 0)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_decisions_total",
                                    listener="connect_tls", result="allowed",
                                    reason="federation_destination"), 1)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_decisions_total",
                                    listener="connect", result="allowed",
                                    reason="federation_destination"), 1)
        records = self.proxy_records()  # the chain verifies (audit_records)
        connects = [(r["action"], r.get("note")) for r in records if r.get("endpoint") == "connect"]
        self.assertEqual(connects, [("forward", "listener=connect_tls"), ("forward", None)])
        # Every record of a request inside the TLS listener's tunnel names the listener, whether
        # the phases or the tunnel binding wrote it; the plain listener's records have no note.
        inner = [(r["endpoint"], r["action"], r.get("status"),
                  r["reason"] if r["action"] == "deny" else None, r.get("note"))
                 for r in records if r.get("endpoint") in ("send", "version")]
        tls = "listener=connect_tls"
        stored = "denied transaction stored; answered 200 with per-PDU errors"
        self.assertEqual(inner, [
            ("send", "forward", 200, None, tls),
            ("version", "forward", 200, None, tls),
            ("send", "deny", 200, "edu_origin_binding_check_failed", stored + "; " + tls),
            ("version", "deny", 403, "xmatrix_destination_mismatch", tls),
            ("version", "forward", 200, None, None),
            ("send", "deny", 200, "edu_origin_binding_check_failed", stored),
            ("version", "deny", 403, "xmatrix_destination_mismatch", None)])
        text = (self.tmp / "state" / "audit.log").read_text()
        self.assertNotIn("s3cret", text)

    def test_malformed_inner_request_is_audited_on_both_listeners(self):
        # An inner request the gateway cannot parse never reaches the phases or the tunnel
        # binding; its refusal is audited all the same (outbound, endpoint unrecognized, the
        # gateway's own words), on the TLS listener with the listener named, and nothing is sent
        # to the destination.
        self.start()
        peer = self.peers["peer"]
        target = self.target("peer")
        smuggled = (b"PUT /_matrix/federation/v1/send/t1 HTTP/1.1\r\nHost: " + PEER.encode() +
                    b"\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX")
        for core in (self.tls_core, self.core):
            tunnel = core.tls(core.connect(target), PEER)
            tunnel.sendall(smuggled)
            status, _, body = read_response(tunnel)
            self.assertEqual(status, 400, body)
            self.assert_closed(tunnel)
        self.assertEqual(peer.requests, [])
        records = [r for r in self.proxy_records() if r.get("endpoint") == "unrecognized"]
        got = [(r["action"], r["reason"], r.get("status")) for r in records]
        self.assertEqual(got, [("deny", "http_malformed", 400)] * 2)
        tls, plain = (r["note"] for r in records)
        self.assertTrue(tls.startswith("Malformed HTTP") and tls.endswith("; listener=connect_tls"),
                        tls)
        self.assertEqual(plain, tls[:-len("; listener=connect_tls")])

    def test_curl_through_the_https_proxy(self):
        self.start()
        self.peers["peer"].answer = (200, b'{"server": {"name": "peer"}}')
        target = self.target("peer")
        uri = "/_matrix/federation/v1/version"
        auth = "Authorization: " + self.tls_core.authorization("GET", uri, target)
        url = f"https://{target}{uri}"
        ok = self.curl(url, "--proxy-user", "synapse:s3cret:pw", "-H", auth)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        body, _, codes = ok.stdout.rpartition("\n")
        self.assertEqual(codes, "200 200")
        self.assertEqual(body, '{"server": {"name": "peer"}}')
        # Wrong credentials: 407 at CONNECT, inside the proxy's TLS.
        wrong = self.curl(url, "--proxy-user", "synapse:wrong", "-H", auth)
        self.assertNotEqual(wrong.returncode, 0)
        self.assertTrue(wrong.stdout.endswith(" 407"), wrong.stdout)
        # A curl that does not trust the proxy's certificate never sends its CONNECT.
        untrusted = self.curl(url, "--proxy-user", "synapse:s3cret:pw", "-H", auth,
                              proxy_ca=False)
        self.assertNotEqual(untrusted.returncode, 0)
        self.assertEqual(len(self.peers["peer"].requests), 1)
        records = self.proxy_records()
        self.assertEqual([(r["endpoint"], r["action"], r.get("reason")) for r in records
                          if r.get("endpoint") in ("connect", "proxy_tls")],
                         [("connect", "forward", "federation_destination"),
                          ("connect", "deny", "proxy_credentials_invalid"),
                          ("proxy_tls", "deny", "proxy_tls_failed")])

    # ---- refusals at CONNECT, inside the proxy's TLS -----------------------------------------
    def test_credentials_missing_or_wrong_get_407(self):
        self.start()
        for kwargs in ({"auth": False}, {"credentials": ("synapse", "wrong")}):
            with self.assertRaises(ProxyRefused) as refused:
                self.tls_core.connect(self.target("peer"), **kwargs)
            self.assertEqual(refused.exception.status, 407, kwargs)
            self.assertIn(b"Proxy-Authenticate: Basic", refused.exception.head)
        self.assertEqual(self.peers["peer"].connections, 0)
        m = self.metrics(self.gw)
        self.assertEqual(metric_sum(m, "bordergate_outbound_proxy_decisions_total",
                                    listener="connect_tls", result="refused"), 2)

    def test_destination_outside_every_federation_refused_before_dialling(self):
        self.start(egress=[])
        with self.assertRaises(ProxyRefused) as refused:
            self.tls_core.connect(f"stranger.{Z}:{self.peers['stranger'].port}")
        self.assertEqual(refused.exception.status, 403)
        self.assertEqual(self.peers["stranger"].connections, 0)
        connects = [(r["action"], r.get("reason"), r.get("note")) for r in self.proxy_records()
                    if r.get("endpoint") == "connect"]
        self.assertEqual(connects,
                         [("deny", "destination_in_no_federation", "listener=connect_tls")])

    def test_plain_http_proxy_request_inside_tls_refused(self):
        # What Synapse sends for an http:// URL when http_proxy is the https:// proxy URL.
        self.start()
        sock = self.tls_core.open_proxy()
        sock.sendall(f"GET http://{self.target('peer')}/_matrix/federation/v1/version HTTP/1.1\r\n"
                     f"Host: {self.target('peer')}\r\nProxy-Authorization: "
                     f"{self.tls_core.proxy_authorization()}\r\n\r\n".encode())
        self.assertTrue(read_head(sock).startswith(b"HTTP/1.1 403 "))
        sock.close()
        self.assertEqual(self.peers["peer"].connections, 0)

    # ---- never a raw tunnel ----------------------------------------------------------------
    def test_bytes_that_are_not_tls_and_a_wrong_sni_are_closed(self):
        self.start()
        # Plain CONNECT on the TLS listener: the proxy's handshake fails, nothing is answered.
        sock = socket.create_connection(("127.0.0.1", self.tls_port), timeout=ENV.timeout(10))
        sock.sendall(f"CONNECT {self.target('peer')} HTTP/1.1\r\nProxy-Authorization: "
                     f"{self.tls_core.proxy_authorization()}\r\n\r\n".encode())
        sock.settimeout(ENV.timeout(10))
        try:
            answer = sock.recv(4096)
        except (ConnectionResetError, OSError):
            answer = b""
        self.assertFalse(answer.startswith(b"HTTP/"), answer)
        sock.close()
        # Inside the proxy's TLS, bytes after CONNECT that are not a ClientHello close it too.
        outer = self.tls_core.connect(self.target("peer"))
        outer.sendall(f"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: "
                      f"{self.target('peer')}\r\n\r\n".encode())
        self.assert_closed(outer)
        outer.close()
        # The tunnel's SNI must be the CONNECT host, inside the proxy's TLS as outside it.
        outer = self.tls_core.connect(self.target("peer"))
        with self.assertRaises((ssl.SSLError, OSError)):
            self.tls_core.tls(outer, f"other.{Z}")
        outer.close()
        self.assertEqual(self.peers["peer"].connections + self.peers["other"].connections, 0)
        refusals = [(r["endpoint"], r.get("rule_id"), r.get("reason"), r.get("note"))
                    for r in self.proxy_records() if r["action"] == "deny"]
        self.assertEqual(refusals, [("proxy_tls", "proxy_tls", "proxy_tls_failed",
                                     "listener=connect_tls"),
                                    ("tunnel", "tunnel_gate", "not_tls", "listener=connect_tls"),
                                    ("tunnel", "tunnel_gate", "sni_mismatch",
                                     "listener=connect_tls")])

    # ---- egress ----------------------------------------------------------------------------
    def test_egress_tunnel_and_intercept_through_the_tls_listener(self):
        self.start()
        push = self.peers["push"]
        target = self.target("push")
        # A `tunnel` entry: the decrypted stream of the proxy's TLS is spliced to the push
        # gateway, and the Core talks TLS with the push gateway itself (its real certificate).
        tunnel = self.tls_core.tls(self.tls_core.connect(target), f"push.{Z}",
                                   ca=str(self.pki.ca.cert))
        status, _, body = self.tls_core.request(tunnel, "POST", "/_matrix/push/v1/notify", target,
                                                body={"notification": {"counts": {"unread": 1}}},
                                                sign=False)
        self.assertEqual((status, body), (200, b'{"rejected": []}'))
        tunnel.close()
        self.assertEqual(push.requests[0]["path"], "/_matrix/push/v1/notify")
        # An `intercept` entry: the Core sees a minted leaf, each request is audited.
        preview = self.target("stranger")
        tunnel = self.tls_core.tls(self.tls_core.connect(preview), f"stranger.{Z}")
        self.assertEqual(dict(x[0] for x in tunnel.getpeercert()["issuer"])["commonName"],
                         "bordergate interception CA")
        status, _, body = self.tls_core.request(tunnel, "GET", "/page?x=1", preview, sign=False)
        self.assertEqual((status, body), (200, b"<html>preview</html>"))
        tunnel.close()
        m = self.metrics_when(self.gw, lambda m: metric_sum(
            m, "bordergate_outbound_proxy_connections_open") == 0)
        self.assertGreater(metric_sum(m, "bordergate_outbound_spliced_bytes_total",
                                      direction="to_core"), 0)
        records = self.proxy_records()
        connects = [(r.get("server_name"), r["action"], r.get("rule_id"), r.get("note"))
                    for r in records if r.get("endpoint") == "connect"]
        self.assertEqual(connects, [(target, "forward", f"egress:push.{Z}", "listener=connect_tls"),
                                    (preview, "forward", f"egress:stranger.{Z}",
                                     "listener=connect_tls")])
        inner = [(r["action"], r.get("status"), r.get("note")) for r in records
                 if r.get("endpoint") == "egress"]
        self.assertEqual(inner, [("forward", 200, "listener=connect_tls")])

    # ---- configuration -----------------------------------------------------------------------
    def test_tls_only_configuration_has_no_plain_listener(self):
        config = self.gateway_config(listen_tls=self.listen_tls())
        del config["outbound"]["listen"]
        self.gw = self.start_gateway(config)
        tunnel = self.tls_core.tls(self.tls_core.connect(self.target("peer")), PEER)
        status, _, _ = self.tls_core.request(tunnel, "GET", "/_matrix/federation/v1/version",
                                             self.target("peer"))
        self.assertEqual(status, 200)
        tunnel.close()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.core_port), timeout=ENV.timeout(5))

    def test_check_config_loads_the_proxy_certificate(self):
        config = self.gateway_config(listen_tls=self.listen_tls())
        gw = Gateway(self.tmp, config, name="check")  # writes the file, starts nothing
        ok = run_cli("check-config", str(gw.config_path))
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        # A key that does not belong to the certificate is found before anything listens.
        config["outbound"]["listen_tls"]["private_key"] = str(self.interception.ca.key)
        gw.write_config(config)
        bad = run_cli("check-config", str(gw.config_path))
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn("outbound.listen_tls", bad.stderr)
        self.assertIn("private key", bad.stderr)
        self.assertRegex(bad.stderr, rf"{gw.config_path}:\d+:\d+: ")


if __name__ == "__main__":
    main()
