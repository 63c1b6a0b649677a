"""The outbound rig shared by the outbound integration tests: a Python Core (TestHomeserver key
pinned at the gateway), TLS peers behind dnsmasq names on random 127.64.0.0/10 addresses, and one
gateway with an `outbound:` section. By default the peers are `peer` and `other` (the partners
federation may receive everything; `stranger` is in no federation); a test class may name more
hosts and peers, its own POLICY and extra DNS records."""
import json
import random
import ssl

from harness import GatewayTestCase
from harness.env import ENV
from harness.gateway import run_cli, with_policy
from harness.pki import TestPKI
from harness.ports import free_port
from federation_peers import Dnsmasq, discovery_config
from outbound_core import Core, RecordingPeer
from inbound_peer import TestHomeserver

CORE = "core.bordergate.test"
ALLOWED = ["127.64.0.0/10"]
Z = "bg.test"

POLICY = f"""version: 1
server_name: {CORE}
default: deny
federations:
  partners:
    servers: [peer.{Z}, other.{Z}]
rules:
  - id: out-partners
    federation: partners
    direction: outbound
    endpoints: ["@all"]
    action: allow
"""


def typing_transaction() -> dict:
    """The Core's /send body with one typing EDU of its own user: allowed towards the partners."""
    return {"origin": CORE, "origin_server_ts": 1700000000000, "pdus": [], "edus": [
        {"edu_type": "m.typing", "content": {"room_id": "!r:" + CORE, "user_id": "@a:" + CORE,
                                             "typing": True}}]}


def random_loopback() -> str:
    return f"127.{random.randint(64, 127)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


class OutboundRig(GatewayTestCase):
    NAMES = ("peer", "other", "push", "stranger")  # <name>.bg.test on the test DNS
    PEERS = ("peer", "other")                      # names with a RecordingPeer (setUp)
    POLICY = POLICY                                # written by gateway_config

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.interception = TestPKI(cls.class_dir / "interception", ca_name="bordergate interception CA")
        cls.ip = {n: random_loopback() for n in cls.NAMES}
        cls.certs = {n: cls.pki.server(f"{n}.{Z}") for n in cls.NAMES}

    def dns_records(self) -> list[str]:
        """dnsmasq options: one host record per name; a test class may add its own."""
        return [f"--host-record={n}.{Z},{self.ip[n]}" for n in self.ip]

    def setUp(self):
        super().setUp()
        self.core_port = free_port()
        self.core_hs = TestHomeserver(CORE, "c1")
        self.core = Core(CORE, self.core_port, str(self.interception.ca.cert),
                         ("synapse", "s3cret:pw"), key=self.core_hs.key)
        self.peers = self.start_peers()
        self.dns = Dnsmasq(self.dns_records())
        self.addCleanup(self.dns.stop)

    def start_peers(self) -> dict:
        """The external servers, started before the DNS (its records may name their ports)."""
        return {n: self.add_peer(n) for n in self.PEERS}

    def add_peer(self, name, **kwargs):
        p = RecordingPeer(self.certs[name], self.ip[name], f"{name}.{Z}", core=self.core, **kwargs)
        self.addCleanup(p.stop)
        return p

    def target(self, name: str) -> str:
        return f"{name}.{Z}:{self.peers[name].port}"

    def gateway_config(self, routes: dict | None = None, **outbound) -> dict:
        """The configuration: `outbound` keys override the section's defaults; `routes` are
        discovery static routes (server name -> host:port)."""
        upstream = self.start_upstream()
        keys = {"pinned": {CORE: self.core_hs.pinned()}}
        if "peer" in self.peers:  # `peer` signs the events it answers with
            self.peer_hs = TestHomeserver(self.target("peer"), "p1")
            keys["pinned"][self.target("peer")] = self.peer_hs.pinned()
        config = discovery_config(self.make_config(upstream.port), self.dns, self.pki.ca.cert,
                                  ALLOWED, static_routes=routes, keys=keys)
        policy = self.tmp / "policy.yaml"
        policy.write_text(self.POLICY)
        credentials = self.tmp / "outbound.credentials"
        credentials.write_text("synapse:s3cret:pw\n")
        credentials.chmod(0o600)  # a secret: the gateway refuses it readable by others
        with_policy(config, policy)
        config["outbound"] = {
            "listen": {"address": "127.0.0.1", "port": self.core_port},
            "credentials_file": str(credentials),
            "interception_ca": {"certificate": str(self.interception.ca.cert),
                                "key": str(self.interception.ca.key)},
        }
        config["outbound"].update(outbound)
        return config

    def assert_closed(self, sock):
        """The gateway closed the connection (end of stream or a reset), sending nothing more."""
        sock.settimeout(ENV.timeout(10))
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError, OSError):
            return
        self.assertEqual(data, b"")

    def audit_records(self, gw=None):
        """Stops the gateway (default self.gw), verifies the audit chain, returns its records."""
        (gw or self.gw).stop()
        path = self.tmp / "state" / "audit.log"
        ok = run_cli("audit", "verify", str(path))
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertTrue(ok.stdout.startswith("OK: "), ok.stdout)
        return [json.loads(line) for line in path.read_text().splitlines()]


from outbound_core import TlsProxyCore  # noqa: E402


class TlsProxyRig(OutboundRig):
    """OutboundRig with the proxy behind TLS (outbound.listen_tls): a proxy certificate for
    127.0.0.1 from its own CA, and a TlsProxyCore that reaches the TLS listener on `tls_port`.
    gateway_config() keeps the plain listener on `core_port` unless told otherwise."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proxy_pki = TestPKI(cls.class_dir / "proxy", ca_name="bordergate proxy CA")
        cls.proxy_cert = cls.proxy_pki.issue("proxy", "proxy.bordergate.test",
                                             ["proxy.bordergate.test"], ip_addresses=["127.0.0.1"])

    def setUp(self):
        super().setUp()
        self.tls_port = free_port()
        self.tls_core = TlsProxyCore(CORE, self.tls_port, str(self.interception.ca.cert),
                                     ("synapse", "s3cret:pw"), key=self.core_hs.key,
                                     proxy_ca=str(self.proxy_pki.ca.cert))

    def listen_tls(self) -> dict:
        return {"address": "127.0.0.1", "port": self.tls_port,
                "certificate": str(self.proxy_cert.cert), "private_key": str(self.proxy_cert.key)}
