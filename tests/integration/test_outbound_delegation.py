#!/usr/bin/python3
"""Delegated destinations through the Core's outbound proxy, the way Synapse reaches them with
https_proxy (docs/outbound.md, "Delegated destinations"): the Core fetches the well-known
through `CONNECT <name>:443`, resolves SRV itself (here: a raw DNS query to the test's dnsmasq),
CONNECTs to the SRV target with SNI and Host the delegated host, and signs for the original
server name. The gateway admits such a tunnel only as "pending delegation" (the CONNECT host is
on `outbound.delegation_hosts`) and binds it at the first request to its OWN discovery of the
X-Matrix destination: the CONNECT target among the discovered targets, SNI = tls_name, Host =
host_header, else 403 and nothing is forwarded. Peers live on random 127.64.0.0/10 addresses;
the well-known is served on port 443 (root only, as in test_discovery_routes)."""
import json
import os
import random
import socket
import ssl
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ENV, main  # noqa: E402
from federation_peers import MatrixPeer  # noqa: E402
from outbound_core import ProxyRefused, RecordingPeer  # noqa: E402
from outbound_rig import CORE, Z, OutboundRig, typing_transaction  # noqa: E402

POLICY = f"""version: 1
server_name: {CORE}
default: deny
federations:
  partners:
    servers: [wk.{Z}, srvm.{Z}, plain.{Z}]
rules:
  - id: out-partners
    federation: partners
    direction: outbound
    endpoints: ["@all"]
    action: allow
"""


def srv_lookup(dns_port: int, name: str) -> list[tuple[str, int]]:
    """What Synapse's SRV resolver does, by hand: (target, port) of `name`'s SRV records."""
    qid = random.randint(0, 0xffff)
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    query += struct.pack(">HH", 33, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(query, ("127.0.0.1", dns_port))
        data = s.recv(4096)

    def read_name(off):
        labels = []
        while True:
            n = data[off]
            if n & 0xc0 == 0xc0:
                labels.append(read_name(((n & 0x3f) << 8) | data[off + 1])[0])
                return ".".join(labels), off + 2
            off += 1
            if n == 0:
                return ".".join(labels), off
            labels.append(data[off:off + n].decode())
            off += n

    answers = struct.unpack(">H", data[6:8])[0]
    off = read_name(12)[1] + 4
    out = []
    for _ in range(answers):
        off = read_name(off)[1]
        rtype, _, _, length = struct.unpack(">HHIH", data[off:off + 10])
        off += 10
        if rtype == 33:
            port = struct.unpack(">H", data[off + 4:off + 6])[0]
            out.append((read_name(off + 6)[0], port))
        off += length
    return out


class OutboundDelegationTest(OutboundRig):
    NAMES = ("wk", "fed1", "fed2", "srvm", "plain", "deleg")
    POLICY = POLICY

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("serving the well-known needs port 443 on a loopback address")
        super().setUpClass()

    def start_peers(self):
        # wk.bg.test delegates to deleg.bg.test (well-known on :443), whose SRV record names
        # fed1.host.bg.test: that server answers as deleg.bg.test. srvm.bg.test has no
        # well-known; its SRV record names fed2.host.bg.test, answering as srvm.bg.test.
        self.wk = MatrixPeer(self.certs["wk"], f"wk.{Z}", host=self.ip["wk"], port=443,
                             well_known={"m.server": f"deleg.{Z}"})
        self.addCleanup(self.wk.stop)
        self.fed1 = RecordingPeer(self.certs["deleg"], self.ip["fed1"], f"deleg.{Z}",
                                  core=self.core, answer=(200, b'{"pdus": {}}'))
        self.addCleanup(self.fed1.stop)
        self.fed2 = RecordingPeer(self.certs["srvm"], self.ip["fed2"], f"srvm.{Z}",
                                  core=self.core, answer=(200, b'{"pdus": {}}'))
        self.addCleanup(self.fed2.stop)
        return {}

    def dns_records(self):
        records = [f"--host-record={n}.{Z},{self.ip[n]}" for n in ("wk", "srvm", "plain", "deleg")]
        return records + [
            f"--host-record=fed1.host.{Z},{self.ip['fed1']}",
            f"--host-record=fed2.host.{Z},{self.ip['fed2']}",
            f"--srv-host=_matrix-fed._tcp.deleg.{Z},fed1.host.{Z},{self.fed1.port},10,10",
            f"--srv-host=_matrix-fed._tcp.srvm.{Z},fed2.host.{Z},{self.fed2.port},10,10"]

    def setUp(self):
        super().setUp()
        self.gw = self.start_gateway(
            self.gateway_config(delegation_hosts=[f"deleg.{Z}", f"*.host.{Z}"]))

    def send(self, tunnel, host, destination, txn_id="t1"):
        txn = typing_transaction()
        return self.core.request(tunnel, "PUT", f"/_matrix/federation/v1/send/{txn_id}", host,
                                 destination=destination, body=txn), txn

    def synapse_connect(self, server_name):
        """Synapse's MatrixFederationAgent through a proxy: well-known via CONNECT name:443,
        then its own SRV lookup. Returns (CONNECT authority, SNI/Host)."""
        tunnel = self.core.tls(self.core.connect(f"{server_name}:443"), server_name)
        status, _, body = self.core.request(tunnel, "GET", "/.well-known/matrix/server",
                                            server_name, sign=False)
        tunnel.close()
        delegated = json.loads(body)["m.server"] if status == 200 else server_name
        srv = srv_lookup(self.dns.port, f"_matrix-fed._tcp.{delegated}")
        self.assertEqual(len(srv), 1, srv)
        return f"{srv[0][0]}:{srv[0][1]}", delegated

    def bound_tunnel(self, connect, sni):
        return self.core.tls(self.core.connect(connect), sni)

    def assert_closed_after(self, tunnel, headers):
        """A tunnel whose binding failed says Connection: close and then closes: the next read
        sees the end of the stream (or a reset), never another answer."""
        self.assertEqual(headers.get("connection"), "close", headers)
        tunnel.settimeout(ENV.timeout(10))
        try:
            self.assertEqual(tunnel.recv(1), b"")
        except (ssl.SSLError, ConnectionResetError):
            pass  # closed without a TLS close_notify: closed all the same
        tunnel.close()

    # ---- reached end to end -------------------------------------------------------------
    def test_well_known_delegation_to_an_srv_target_end_to_end(self):
        connect, delegated = self.synapse_connect(f"wk.{Z}")
        self.assertEqual((connect, delegated), (f"fed1.host.{Z}:{self.fed1.port}", f"deleg.{Z}"))
        self.assertEqual(self.wk.count("/.well-known/matrix/server"), 1)  # the Core's
        tunnel = self.bound_tunnel(connect, delegated)
        self.assertIn(("DNS", f"deleg.{Z}"), tunnel.getpeercert()["subjectAltName"])
        (status, _, body), txn = self.send(tunnel, delegated, f"wk.{Z}")
        self.assertEqual(status, 200, body)
        (status, _, body), _ = self.send(tunnel, delegated, f"wk.{Z}", "t2")  # keep-alive
        self.assertEqual(status, 200, body)
        tunnel.close()
        # The gateway ran its own discovery of wk.bg.test (well-known included) to bind.
        self.assertEqual(self.wk.count("/.well-known/matrix/server"), 2)
        self.assertEqual(len(self.fed1.requests), 2)
        sent = self.fed1.requests[0]
        self.assertEqual(sent["body"], json.dumps(txn).encode())
        self.assertTrue(sent["signature_ok"])
        headers = {k.lower(): v for k, v in sent["headers"]}
        self.assertEqual(headers["host"], f"deleg.{Z}")
        self.assertIn(f'destination="wk.{Z}"', headers["authorization"])

        records = [r for r in self.audit_records() if r.get("type") == "decision"]
        connects = [(r["server_name"], r["action"], r["reason"])
                    for r in records if r.get("endpoint") == "connect"]
        self.assertEqual(connects, [(f"wk.{Z}:443", "forward", "federation_destination"),
                                    (connect, "forward", "pending_delegation")])
        bindings = [r for r in records if r.get("rule_id") == "delegation_binding"]
        self.assertEqual([(r["destination"], r["server_name"], r["action"], r["reason"])
                          for r in bindings],
                         [(f"wk.{Z}", connect, "forward", "delegation_bound")])
        self.assertEqual(bindings[0]["note"], f"sni=deleg.{Z} host=deleg.{Z}")
        sends = [(r["destination"], r["action"], r.get("status"))
                 for r in records if r.get("endpoint") == "send"]
        self.assertEqual(sends, [(f"wk.{Z}", "forward", 200)] * 2)

    def test_srv_without_well_known_end_to_end(self):
        connect, delegated = self.synapse_connect(f"srvm.{Z}")
        self.assertEqual((connect, delegated), (f"fed2.host.{Z}:{self.fed2.port}", f"srvm.{Z}"))
        tunnel = self.bound_tunnel(connect, delegated)
        (status, _, body), _ = self.send(tunnel, delegated, f"srvm.{Z}")
        self.assertEqual(status, 200, body)
        tunnel.close()
        self.assertEqual(len(self.fed2.requests), 1)
        self.assertTrue(self.fed2.requests[0]["signature_ok"])
        self.assertEqual(self.fed1.connections, 0)

    # ---- refused: nothing forwarded -----------------------------------------------------
    def test_destination_that_does_not_delegate_there_is_refused(self):
        connect = f"fed1.host.{Z}:{self.fed1.port}"
        # srvm.bg.test is a member (its name is a valid SNI) but its SRV target is fed2.
        tunnel = self.bound_tunnel(connect, f"srvm.{Z}")
        (status, headers, body), _ = self.send(tunnel, f"srvm.{Z}", f"srvm.{Z}")
        self.assertEqual(status, 403, body)
        self.assertIn(b"connect_not_delegated", body)
        # The tunnel is dead: the refusal closes it, so a later request naming a destination
        # that does lead here never reaches the gateway's binding on this tunnel.
        self.assert_closed_after(tunnel, headers)
        # plain.bg.test does not delegate at all; stranger.bg.test is in no federation.
        for destination, reason in ((f"plain.{Z}", b"sni_not_delegated"),
                                    (f"stranger.{Z}", b"destination_not_member")):
            tunnel = self.bound_tunnel(connect, f"deleg.{Z}")
            (status, headers, body), _ = self.send(tunnel, f"deleg.{Z}", destination)
            self.assertEqual(status, 403, body)
            self.assertIn(reason, body)
            self.assert_closed_after(tunnel, headers)
        time.sleep(0.2)
        self.assertEqual(self.fed1.connections + self.fed2.connections, 0)
        refused = [(r["destination"], r["server_name"], r["reason"], r.get("status"))
                   for r in self.audit_records() if r.get("rule_id") == "delegation_binding"]
        self.assertEqual(refused, [(f"srvm.{Z}", connect, "connect_not_delegated", 403),
                                   (f"plain.{Z}", connect, "sni_not_delegated", 403),
                                   (f"stranger.{Z}", connect, "destination_not_member", 403)])

    def test_sni_differing_from_the_discovered_tls_name_is_refused(self):
        connect = f"fed1.host.{Z}:{self.fed1.port}"
        # On the delegation list, but wk.bg.test's discovery says the SNI is deleg.bg.test.
        tunnel = self.bound_tunnel(connect, f"fed1.host.{Z}")
        (status, headers, body), _ = self.send(tunnel, f"deleg.{Z}", f"wk.{Z}")
        self.assertEqual(status, 403, body)
        self.assertIn(b"sni_not_delegated", body)
        self.assert_closed_after(tunnel, headers)
        # Host differing from the discovered host_header.
        tunnel = self.bound_tunnel(connect, f"deleg.{Z}")
        (status, headers, body), _ = self.send(tunnel, f"fed1.host.{Z}", f"wk.{Z}")
        self.assertEqual(status, 403, body)
        self.assertIn(b"host_not_delegated", body)
        self.assert_closed_after(tunnel, headers)
        # An SNI neither on the list nor a member: closed at the gate, no leaf minted.
        sock = self.core.connect(connect)
        with self.assertRaises((ssl.SSLError, OSError)):
            self.core.tls(sock, f"stranger.{Z}")
        sock.close()
        # A CONNECT host neither in a federation nor on the list: 403 at CONNECT.
        with self.assertRaises(ProxyRefused) as refused:
            self.core.connect(f"stranger.{Z}:{self.fed1.port}")
        self.assertEqual(refused.exception.status, 403)
        time.sleep(0.2)
        self.assertEqual(self.fed1.connections + self.fed2.connections, 0)
        gate = [(r["server_name"], r["reason"]) for r in self.audit_records()
                if r.get("endpoint") == "tunnel" and r.get("rule_id") == "tunnel_gate"]
        self.assertEqual(gate, [(connect, "sni_not_delegation_host")])


if __name__ == "__main__":
    main()
