#!/usr/bin/python3
"""The Core's outbound proxy end to end: a Python Core uses `bordergate serve` exactly as Synapse
does with https_proxy (CONNECT + Proxy-Authorization, TLS inside the tunnel trusting only the
interception CA, X-Matrix-signed requests) against TLS peers behind dnsmasq names on random
127.64.0.0/10 addresses. Covers: an allowed /send delivered byte for byte with a signature the
peer verifies; 407 for missing/wrong credentials; 403 at CONNECT outside every federation
(nothing dialled); SNI, Host and X-Matrix destination bound to the CONNECT target; non-TLS
bytes after CONNECT closed; plain-HTTP proxy requests refused; the egress allow list (a push
gateway tunnelled end to end with the Core's own TLS, another host refused); SSRF through
CONNECT to loopback addresses the configuration does not allow; the run's audit chain."""
import json
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import GatewayTestCase, main  # noqa: E402
import matrix_events_helper as ev  # noqa: E402
from harness.gateway import run_cli, with_policy  # noqa: E402
from harness.pki import TestPKI  # noqa: E402
from outbound_core import ProxyRefused, read_head  # noqa: E402
from outbound_rig import CORE, Z, OutboundRig, typing_transaction  # noqa: E402


POLICY = f"""version: 1
server_name: {CORE}
default: deny
federations:
  partners:
    servers: [peer.{Z}, other.{Z}]
  silent:
    servers: [mute.{Z}]
rules:
  - id: out-partners
    federation: partners
    direction: outbound
    endpoints: ["@all"]
    action: allow
  - id: out-no-backfill
    federation: partners
    direction: outbound
    endpoints: [backfill]
    action: deny
  - id: out-no-widgets
    federation: partners
    direction: outbound
    event_types: ["m.widget*"]
    action: deny
  - id: out-closed-room
    federation: partners
    direction: outbound
    rooms: ["!closed:{CORE}"]
    endpoints: ["@room_read"]
    action: deny
"""


class OutboundProxyTest(OutboundRig):
    NAMES = ("peer", "other", "push", "nopush", "stranger", "preview")
    PEERS = ("peer", "other", "push", "preview")
    POLICY = POLICY

    def dns_records(self):
        return super().dns_records() + [
            f"--host-record=evil.{Z},127.0.0.99", f"--host-record=evil6.{Z},::1",
            f"--host-record=mute.{Z},{self.ip['other']}"]

    def setUp(self):
        super().setUp()
        self.peer, self.other = self.peers["peer"], self.peers["other"]
        self.push, self.preview = self.peers["push"], self.peers["preview"]
        self.peer.answer = (200, b'{"pdus": {}}')
        self.push.answer = (200, b'{"rejected": []}')
        self.preview.answer = (200, b"<html>preview</html>")
        # A listener on a loopback address the configuration does not allow: nothing may reach it.
        self.forbidden = socket.socket()
        self.forbidden.bind(("127.0.0.99", 0))
        self.forbidden.listen(8)
        self.forbidden.settimeout(0)
        self.forbidden_port = self.forbidden.getsockname()[1]
        self.addCleanup(self.forbidden.close)
        self.gw = self.start_gateway(self.gateway_config(
            max_response_bytes=4096,
            egress=[
                {"host": f"push.{Z}", "mode": "tunnel", "ports": [self.push.port]},
                {"host": f"preview.{Z}", "mode": "intercept", "ports": [self.preview.port]},
                {"host": f"evil.{Z}", "mode": "tunnel", "ports": [self.forbidden_port]},
                {"host": f"evil6.{Z}", "mode": "tunnel", "ports": [self.forbidden_port]},
            ]))

    def tunnel_refusals(self):
        """(server_name, rule_id, reason) of every tunnel the gateway closed, from a verified chain."""
        return [(r.get("server_name"), r.get("rule_id"), r.get("reason"))
                for r in self.audit_records() if r.get("endpoint") == "tunnel"]

    def assert_nothing_dialled(self):
        try:
            conn, _ = self.forbidden.accept()
            conn.close()
            self.fail("a connection reached a loopback address the configuration does not allow")
        except BlockingIOError:
            pass

    # ---- allowed traffic -----------------------------------------------------------------
    def test_allowed_send_end_to_end_and_audit_chain(self):
        target = self.target("peer")
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        # The leaf is minted for exactly the CONNECT host by the interception CA.
        cert = tunnel.getpeercert()
        self.assertIn(("DNS", f"peer.{Z}"), cert["subjectAltName"])
        txn = typing_transaction()
        uri = "/_matrix/federation/v1/send/txn1"
        status, _, body = self.core.request(tunnel, "PUT", uri, target, body=txn)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, b'{"pdus": {}}')
        # Keep-alive: a second request in the same tunnel.
        status, _, _ = self.core.request(tunnel, "GET", "/_matrix/federation/v1/version", target)
        self.assertEqual(status, 200)
        # Policy per inner request: backfill is denied outbound to the partners.
        status, _, body = self.core.request(
            tunnel, "GET", "/_matrix/federation/v1/backfill/!r:x?v=%24e&limit=1", target)
        self.assertEqual(status, 403, body)
        self.assertIn(b"out-no-backfill", body)
        tunnel.close()
        self.assertEqual(len(self.peer.requests), 2)
        sent = self.peer.requests[0]
        self.assertEqual(sent["method"], "PUT")
        self.assertEqual(sent["path"], uri)
        self.assertEqual(sent["body"], json.dumps(txn).encode())  # exactly the Core's bytes
        self.assertTrue(sent["signature_ok"], "the peer could not verify the Core's signature")
        headers = {k.lower(): v for k, v in sent["headers"]}
        self.assertEqual(headers["host"], target)
        self.assertNotIn("proxy-authorization", headers)

        records = self.audit_records()
        decisions = [r for r in records if r.get("type") == "decision"]
        connects = [r for r in decisions if r.get("endpoint") == "connect"]
        self.assertEqual(len(connects), 1)
        self.assertEqual(connects[0]["action"], "forward")
        self.assertEqual(connects[0]["direction"], "outbound")
        inner = [r for r in decisions if r.get("endpoint") in ("send", "version", "backfill")]
        self.assertEqual([(r["endpoint"], r["action"], r.get("status")) for r in inner],
                         [("send", "forward", 200), ("version", "forward", 200),
                          ("backfill", "deny", 403)])
        self.assertEqual(inner[0]["rule_id"], "out-partners")
        self.assertEqual(inner[2]["rule_id"], "out-no-backfill")
        text = (self.tmp / "state" / "audit.log").read_text()
        self.assertNotIn("s3cret", text)
        self.assertNotIn("X-Matrix", text)

    # ---- refusals at CONNECT --------------------------------------------------------------
    def test_proxy_credentials_missing_or_wrong_get_407(self):
        for kwargs in ({"auth": False}, {"credentials": ("synapse", "wrong")},
                       {"credentials": ("other", "s3cret:pw")}):
            with self.assertRaises(ProxyRefused) as refused:
                self.core.connect(self.target("peer"), **kwargs)
            self.assertEqual(refused.exception.status, 407, kwargs)
            self.assertIn(b"Proxy-Authenticate: Basic", refused.exception.head)
        self.assertEqual(self.peer.connections, 0)

    def test_destination_outside_every_federation_refused_before_dialling(self):
        for name in ("stranger", "nopush"):
            with self.assertRaises(ProxyRefused) as refused:
                self.core.connect(f"{name}.{Z}:{self.peer.port}")
            self.assertEqual(refused.exception.status, 403)
        # In a federation, but no rule lets anything out to it.
        with self.assertRaises(ProxyRefused) as refused:
            self.core.connect(f"mute.{Z}:{self.other.port}")
        self.assertEqual(refused.exception.status, 403)
        self.assertEqual(self.other.connections, 0)
        self.assertEqual(self.peer.connections, 0)

    def test_plain_http_proxy_request_refused(self):
        sock = socket.create_connection(("127.0.0.1", self.core_port), timeout=10)
        sock.sendall(f"GET http://{self.target('peer')}/_matrix/federation/v1/version HTTP/1.1\r\n"
                     f"Host: {self.target('peer')}\r\nProxy-Authorization: "
                     f"{self.core.proxy_authorization()}\r\n\r\n".encode())
        self.assertTrue(read_head(sock).startswith(b"HTTP/1.1 403 "))
        sock.close()
        self.assertEqual(self.peer.connections, 0)

    def test_ssrf_through_connect_refused(self):
        # An IP-literal target on a loopback address outside the allowed ranges: 403 at once.
        with self.assertRaises(ProxyRefused) as refused:
            self.core.connect(f"127.0.0.99:{self.forbidden_port}")
        self.assertEqual(refused.exception.status, 403)
        # Names on the egress list whose DNS answers are loopback addresses the configuration
        # does not allow: the tunnel opens, the resolution is refused, the tunnel closes.
        for name in ("evil", "evil6"):
            sock = self.core.connect(f"{name}.{Z}:{self.forbidden_port}")
            with self.assertRaises((ssl.SSLError, OSError)):
                self.core.tls(sock, f"{name}.{Z}", ca=str(self.pki.ca.cert))
            sock.close()
        time.sleep(0.2)
        self.assert_nothing_dialled()
        port = self.forbidden_port
        self.assertEqual(self.tunnel_refusals(), [(f"evil.{Z}:{port}", "ssrf", "ssrf_refused"),
                                                  (f"evil6.{Z}:{port}", "ssrf", "ssrf_refused")])

    # ---- the tunnel is held to its CONNECT target ----------------------------------------
    def test_non_tls_bytes_after_connect_close_the_tunnel(self):
        sock = self.core.connect(self.target("peer"))
        sock.sendall(f"GET /_matrix/federation/v1/version HTTP/1.1\r\nHost: "
                     f"{self.target('peer')}\r\n\r\n".encode())
        self.assert_closed(sock)
        sock.close()
        self.assertEqual(self.peer.connections, 0)
        self.assertEqual(self.tunnel_refusals(), [(self.target("peer"), "tunnel_gate", "not_tls")])

    def test_sni_different_from_connect_target_refused(self):
        sock = self.core.connect(self.target("peer"))
        with self.assertRaises((ssl.SSLError, OSError)):
            self.core.tls(sock, f"other.{Z}")
        sock.close()
        self.assertEqual(self.peer.connections + self.other.connections, 0)
        self.assertEqual(self.tunnel_refusals(),
                         [(self.target("peer"), "tunnel_gate", "sni_mismatch")])

    def test_host_or_xmatrix_destination_different_from_connect_target_refused(self):
        target = self.target("peer")
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        uri = "/_matrix/federation/v1/version"
        status, _, body = self.core.request(tunnel, "GET", uri, self.target("other"),
                                            destination=target)
        self.assertEqual(status, 403, body)
        tunnel.close()
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        status, _, body = self.core.request(tunnel, "GET", uri, target,
                                            destination=self.target("other"))
        self.assertEqual(status, 403, body)
        tunnel.close()
        # The origin must be the Core itself.
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        status, _, body = self.core.request(tunnel, "GET", uri, target, origin="other.example")
        self.assertEqual(status, 403, body)
        tunnel.close()
        self.assertEqual(self.peer.requests, [])
        self.assertEqual(self.other.requests, [])
        refused = [(r["endpoint"], r["rule_id"], r["reason"], r["status"])
                   for r in self.audit_records() if r.get("endpoint") == "version"]
        self.assertEqual(refused, [("version", "tunnel_binding", "host_mismatch", 403),
                                   ("version", "tunnel_binding", "xmatrix_destination_mismatch", 403),
                                   ("version", "tunnel_binding", "xmatrix_origin_not_core", 403)])

    # ---- egress allow list -----------------------------------------------------------------
    def test_push_gateway_on_the_egress_list_is_tunnelled(self):
        target = self.target("push")
        # A tunnel, not an interception: the Core talks TLS with the push gateway itself.
        tunnel = self.core.tls(self.core.connect(target), f"push.{Z}", ca=str(self.pki.ca.cert))
        status, _, body = self.core.request(tunnel, "POST", "/_matrix/push/v1/notify", target,
                                            body={"notification": {"counts": {"unread": 1}}},
                                            sign=False)
        self.assertEqual(status, 200)
        self.assertEqual(body, b'{"rejected": []}')
        tunnel.close()
        self.assertEqual(self.push.requests[0]["path"], "/_matrix/push/v1/notify")
        # A host that is not on the list (and in no federation) is refused.
        with self.assertRaises(ProxyRefused) as refused:
            self.core.connect(f"nopush.{Z}:{self.push.port}")
        self.assertEqual(refused.exception.status, 403)
        records = self.audit_records()
        connects = [(r.get("server_name"), r["action"], r.get("rule_id")) for r in records
                    if r.get("endpoint") == "connect"]
        self.assertEqual(connects, [(target, "forward", f"egress:push.{Z}"),
                                    (f"nopush.{Z}:{self.push.port}", "deny", "default")])

    def test_intercept_egress_is_terminated_and_each_request_audited(self):
        target = self.target("preview")
        # Intercepted: the Core sees a leaf from the interception CA, not the real server's.
        tunnel = self.core.tls(self.core.connect(target), f"preview.{Z}")
        self.assertEqual(dict(x[0] for x in tunnel.getpeercert()["issuer"])["commonName"],
                         "bordergate interception CA")
        status, _, body = self.core.request(tunnel, "GET", "/page?x=1", target, sign=False)
        self.assertEqual((status, body), (200, b"<html>preview</html>"))
        # Bound to the CONNECT target like a federation tunnel.
        status, _, _ = self.core.request(tunnel, "GET", "/page", self.target("peer"), sign=False)
        self.assertEqual(status, 403)
        tunnel.close()
        self.assertEqual([r["path"] for r in self.preview.requests], ["/page?x=1"])
        inner = [(r["endpoint"], r["action"], r["rule_id"], r.get("status"))
                 for r in self.audit_records() if r.get("endpoint") == "egress"]
        self.assertEqual(inner, [("egress", "forward", f"egress:preview.{Z}", 200),
                                 ("egress", "deny", "tunnel_binding", 403)])

    def test_destination_failures_are_gateway_errors(self):
        uri = "/_matrix/federation/v1/version"
        # An answer above outbound.max_response_bytes never reaches the Core.
        self.other.answer = (200, b"x" * 8192)
        target = self.target("other")
        tunnel = self.core.tls(self.core.connect(target), f"other.{Z}")
        status, _, body = self.core.request(tunnel, "GET", uri, target)
        self.assertEqual(status, 502, body)
        self.assertNotIn(b"xxxx", body)
        tunnel.close()
        # A federation member whose address has no listener: 502, not a hang.
        with socket.socket() as s:
            s.bind((self.ip["other"], 0))
            closed_port = s.getsockname()[1]
        target = f"other.{Z}:{closed_port}"
        tunnel = self.core.tls(self.core.connect(target), f"other.{Z}")
        status, _, body = self.core.request(tunnel, "GET", uri, target)
        self.assertEqual(status, 502, body)
        tunnel.close()

    # ---- outbound inspection and response checks (the inbound phases with a direction) -----
    def test_disallowed_room_and_event_type_refused(self):
        target = self.target("peer")
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        status, _, body = self.core.request(
            tunnel, "GET", f"/_matrix/federation/v1/state/!closed:{CORE}?event_id=%24e", target)
        self.assertEqual(status, 403, body)
        widget = self.core_hs.event("m.widget", {"url": "https://x"}, room_id=f"!open:{CORE}",
                                    sender=f"@alice:{CORE}")
        normal = self.core_hs.event(room_id=f"!open:{CORE}", sender=f"@alice:{CORE}")
        for pdu, allowed in ((normal, True), (widget, False)):
            txn = self.core_hs.transaction([pdu])
            uri = f"/_matrix/federation/v1/send/t{int(allowed)}"
            status, _, body = self.core.request(tunnel, "PUT", uri, target, body=txn)
            if allowed:
                self.assertEqual(status, 200, body)
            else:
                # Refused or withheld: either way the peer never sees it.
                self.assertIn(status, (200, 403), body)
                if status == 200:
                    self.assertIn(b"error", body)
        tunnel.close()
        self.assertEqual([r["path"] for r in self.peer.requests], ["/_matrix/federation/v1/send/t1"])
        decisions = [(r["endpoint"], r["action"], r["rule_id"]) for r in self.audit_records()
                     if r.get("endpoint") in ("state", "send")]
        self.assertEqual(decisions[0], ("state", "deny", "out-closed-room"))
        self.assertEqual(decisions[1], ("send", "forward", "out-partners"))
        self.assertEqual(decisions[2][2], "out-no-widgets")
        self.assertIn(decisions[2][1], ("deny", "quarantine"))

    def test_events_in_an_answer_are_filtered_or_passed_redacted(self):
        # A forged signature removes the event; content that no longer matches its hash (with
        # valid signatures: what an event redacted at its origin looks like) passes in its
        # redacted form, as Synapse keeps it. The redaction is checked against the independent
        # Python implementation (matrix_events_helper).
        room = f"!open:{CORE}"
        sender = f"@bob:{self.target('peer')}"
        good = self.peer_hs.event(room_id=room, sender=sender, ts=1700000000001)
        changed = self.peer_hs.event(room_id=room, sender=sender, ts=1700000000002)
        changed["content"]["body"] = "changed after signing"
        forged = self.peer_hs.event(room_id=room, sender=sender, ts=1700000000003)
        forged["signatures"] = {"other.example": forged["signatures"][self.target("peer")]}
        self.peer.answer = (200, json.dumps({"events": [good, changed, forged]}).encode())
        target = self.target("peer")
        tunnel = self.core.tls(self.core.connect(target), f"peer.{Z}")
        status, _, body = self.core.request(
            tunnel, "POST", f"/_matrix/federation/v1/get_missing_events/{room}", target,
            body={"earliest_events": [], "latest_events": ["$x"], "limit": 10})
        tunnel.close()
        self.assertEqual(status, 200, body)
        events = json.loads(body)["events"]
        self.assertEqual(events, [good, ev.redact(changed, "10")])
        record = [r for r in self.audit_records() if r.get("endpoint") == "get_missing_events"]
        self.assertEqual(len(record), 1)
        self.assertEqual(record[0]["action"], "forward")
        note = record[0].get("note", "")
        self.assertIn("missing_signature", note)
        self.assertIn("1 events arrived redacted", note)


class OutboundConfigCheckTest(GatewayTestCase):
    """`bordergate check-config` loads the outbound section's files exactly as serve does."""

    def test_check_config_loads_the_interception_ca_and_credentials(self):
        pki = TestPKI(self.tmp / "interception", ca_name="bordergate interception CA")
        policy = self.tmp / "policy.yaml"
        policy.write_text(POLICY)
        credentials = self.tmp / "outbound.credentials"
        credentials.write_text("synapse:pw\n")
        credentials.chmod(0o600)
        config = self.make_config(1)
        with_policy(config, policy)
        config["outbound"] = {"credentials_file": str(credentials),
                              "interception_ca": {"certificate": str(pki.ca.cert),
                                                  "key": str(pki.ca.key)}}
        path = self.tmp / "ok.yaml"
        path.write_text(json.dumps(config))
        r = run_cli("check-config", str(path))
        self.assertEqual(r.returncode, 0, r.stderr)
        # A leaf is no CA; a missing credentials file; a mistake with its position.
        leaf = self.pki.server("leaf.example")
        for change, expected in (
                ({"interception_ca": {"certificate": str(leaf.cert), "key": str(leaf.key)}},
                 "outbound.interception_ca"),
                ({"credentials_file": str(self.tmp / "missing")}, "outbound.credentials_file"),
                ({"leaf_cache": 0}, "outbound.leaf_cache")):
            bad = json.loads(json.dumps(config))
            bad["outbound"].update(change)
            path.write_text(yaml_dump(bad))
            r = run_cli("check-config", str(path))
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(expected, r.stderr)
        self.assertRegex(r.stderr, r"ok\.yaml:\d+:\d+: ")


def yaml_dump(data) -> str:
    import yaml
    return yaml.safe_dump(data)


if __name__ == "__main__":
    main()
