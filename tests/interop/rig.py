"""The interop rig: two real Synapse homeservers, one of them (the Core) behind bordergate in
both directions, set up exactly as docs/deployment.md tells an operator.

    opendesk.test (Synapse, TLS on PEER_IP:8448)
        |  inbound: resolves core.bund.test -> CORE_IP, port 8448 (no SRV, no .well-known)
        v
    bordergate  federation listener CORE_IP:8448 ----> Core's federation listener (plain HTTP,
        ^                                               127.0.0.1, x_forwarded, federation+media)
        |  outbound: https_proxy=http://core:<pw>@127.0.0.1:<proxy port> in the Core's environment,
        |            the interception CA in federation_custom_ca_list
    core.bund.test (Synapse)

Names: a dnsmasq with no upstream on NET.1:53 answers for *.test; both homeservers run in a mount
namespace whose /etc/resolv.conf names only it and whose /etc/hosts names both servers, so every
lookup stays on 127.0.0.0/8. The gateway resolves through the same dnsmasq (discovery.resolvers)
with the test network in discovery.allowed_ranges: the peer's keys are fetched, never pinned."""
import json
import random
import socket
import sqlite3
import time
from pathlib import Path

import signedjson.key

from harness.gateway import Gateway, base_config, run_cli, with_policy
from harness.pki import TestPKI
from harness.ports import free_port
from federation_peers import Dnsmasq
from synapse import Homeserver, die_with_parent

CORE = "core.bund.test"
PEER = "opendesk.test"
# A stock Synapse in no federation of the policy: it federates with opendesk.test directly and
# shares rooms with it, so opendesk relays its events (and its members) towards the Core.
OUTSIDE = "outside.test"
PROXY_USER, PROXY_PASSWORD = "core", "interop-proxy-secret"

POLICY = """version: 1
server_name: core.bund.test
default: deny
defaults:
  limits:
    rate: {per_second: 500, burst: 2000}
  media:
    allowed: true
    max_bytes: 1MiB
    content_types: [image/*, text/plain]
federations:
  opendesk:
    description: the external OpenDesk deployment of the interop suite
    servers: [opendesk.test]
rules:
  - id: core-keys-public
    peer: unknown
    direction: inbound
    endpoints: [key.server, well_known, version]
    action: allow
  - id: core-media-legacy
    description: >
      Synapse before authenticated media (1.67 here) fetches the Core's media without X-Matrix
      (/_matrix/media/r0/download/core.bund.test/...): who asks is unknown, so the rule names
      the endpoints for unknown peers; the gateway still requires the Core's server name and
      allow_remote=false.
    peer: unknown
    direction: inbound
    endpoints: [media.legacy_download, media.legacy_thumbnail]
    action: allow
  - id: opendesk-base
    federation: opendesk
    direction: both
    endpoints: [send, "@room_read", "@membership", query.profile, "@e2ee", "@media", "@keys",
                "@discovery"]
    action: allow
  - id: opendesk-no-directory
    description: OpenDesk does not browse the Core's room directory, and vice versa.
    federation: opendesk
    direction: both
    endpoints: ["@directory"]
    action: deny
  - id: opendesk-hold-reviewed-type
    description: Events of this type from OpenDesk wait for a person (quarantine).
    federation: opendesk
    direction: inbound
    event_types: [org.bordergate.test.reviewed]
    action: quarantine
  - id: opendesk-deny-forbidden-type
    description: Events of this type from OpenDesk never reach the Core.
    federation: opendesk
    direction: inbound
    event_types: [org.bordergate.test.forbidden]
    action: deny
  - id: opendesk-no-relays-from-outside
    description: Events of servers in no federation, relayed by OpenDesk, do not reach the Core.
    federation: opendesk
    direction: inbound
    event_types: ["*"]
    sender_outside_federations: all
    action: deny
  - id: opendesk-no-joins-into-mixed-rooms
    description: Neither side joins a room with a member on a server in no federation.
    federation: opendesk
    direction: both
    endpoints: [make_join, send_join]
    room_members_outside_federations: all
    action: deny
  - id: core-keep-internal-type
    description: Events of this type stay inside the agency, whatever path would carry them out.
    federation: opendesk
    direction: outbound
    event_types: [org.bordergate.test.internal]
    action: deny
"""


def pick_network() -> str:
    """A /24 in 127.0.0.0/8 away from the integration tests' 127.64.0.0/10 and 127.0.0.1."""
    for _ in range(50):
        net = f"127.{random.randint(160, 250)}.{random.randint(0, 255)}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((f"{net}.1", 53))
            except OSError:
                continue
        return net
    raise RuntimeError("no free loopback /24 for the interop rig")


class InteropRig:
    """Starts everything in `start()`, stops everything in `stop()` (idempotent)."""

    def __init__(self, workdir: Path, source: Path, policy: str = POLICY):
        self.dir = workdir
        self.source = source
        self.policy_text = policy
        self.net = pick_network()
        self.ip = {"dns": f"{self.net}.1", CORE: f"{self.net}.2", PEER: f"{self.net}.3",
                   OUTSIDE: f"{self.net}.4"}
        self.pki = TestPKI(workdir / "pki", ca_name="interop federation CA")
        self.interception = TestPKI(workdir / "interception", ca_name="bordergate interception CA")
        self.gateway: Gateway | None = None
        self.core: Homeserver | None = None
        self.peer: Homeserver | None = None
        self.outside: Homeserver | None = None
        self.dns: Dnsmasq | None = None
        self.timings: dict[str, float] = {}

    # ---- set-up --------------------------------------------------------------------------
    def _name_files(self):
        hosts = self.dir / "hosts"
        hosts.write_text("127.0.0.1 localhost\n::1 localhost\n"
                         f"{self.ip[CORE]} {CORE}\n{self.ip[PEER]} {PEER}\n"
                         f"{self.ip[OUTSIDE]} {OUTSIDE}\n")
        resolv = self.dir / "resolv.conf"
        resolv.write_text(f"nameserver {self.ip['dns']}\noptions timeout:1 attempts:1\n")
        return hosts, resolv

    def start(self):
        t0 = time.monotonic()
        # Port 53: Twisted's resolver reads resolv.conf and always asks port 53.
        self.dns = Dnsmasq([f"--host-record={n},{self.ip[n]}" for n in (CORE, PEER, OUTSIDE)],
                           address=self.ip["dns"], port=53, zone="test",
                           preexec_fn=die_with_parent)
        hosts, resolv = self._name_files()
        core_cert = self.pki.server(CORE)
        peer_cert = self.pki.server(PEER)
        outside_cert = self.pki.server(OUTSIDE)
        self.proxy_port = free_port()
        self.core_fed_port = free_port()
        core_env = {"https_proxy": f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{self.proxy_port}/",
                    "no_proxy": ""}
        # The external peer: a stock Synapse terminating its own federation TLS on port 8448.
        self.peer = self._external("peer", PEER, peer_cert, hosts, resolv)
        # A server in no federation: it shares rooms with opendesk only.
        self.outside = self._external("outside", OUTSIDE, outside_cert, hosts, resolv)
        # The Core: its federation listener is the gateway's upstream (docs/deployment.md). Its
        # notary is opendesk.test: it gets the keys of servers it cannot reach itself (outside.test)
        # from there, so an event of outside.test verifies at the Core, and what keeps its content
        # out is the gateway's policy, nothing else.
        peer_key = signedjson.key.get_verify_key(self.peer.signing_key)
        self.core = Homeserver(
            "core", CORE, self.dir / "core", self.source, client_port=free_port(),
            federation={"port": self.core_fed_port, "bind_addresses": ["127.0.0.1"],
                        "type": "http", "tls": False, "x_forwarded": True,
                        "resources": [{"names": ["federation", "media"], "compress": False}]},
            hosts_file=hosts, resolv_conf=resolv, ca_file=self.interception.ca.cert, env=core_env,
            extra_config={"trusted_key_servers": [{
                "server_name": PEER,
                "verify_keys": {f"ed25519:{peer_key.version}":
                                signedjson.key.encode_verify_key_base64(peer_key)}}]})
        self.core.start()
        self.peer.start()
        self.outside.start()
        self.gateway = Gateway(self.dir / "gateway", self.gateway_config(core_cert))
        self.gateway.start()
        self.core.wait_ready()
        self.peer.wait_ready()
        self.outside.wait_ready()
        self.timings["start"] = time.monotonic() - t0

    def _external(self, name: str, server_name: str, cert, hosts, resolv) -> Homeserver:
        """A stock Synapse terminating its own federation TLS on its address, port 8448."""
        return Homeserver(
            name, server_name, self.dir / name, self.source, client_port=free_port(),
            federation={"port": 8448, "bind_addresses": [self.ip[server_name]], "type": "http",
                        "tls": True, "resources": [{"names": ["federation", "media"],
                                                    "compress": False}]},
            hosts_file=hosts, resolv_conf=resolv, ca_file=self.pki.ca.cert,
            extra_config={"tls_certificate_path": str(cert.cert),
                          "tls_private_key_path": str(cert.key)})

    def gateway_config(self, core_cert) -> dict:
        state = self.dir / "gateway" / "state"
        config = base_config(state, [([CORE], core_cert)], self.core_fed_port,
                             federation_port=8448, workers=1)
        config["listeners"]["federation"][0]["address"] = self.ip[CORE]
        policy = self.dir / "policy.yaml"
        policy.write_text(self.policy_text)
        with_policy(config, policy)
        credentials = self.dir / "outbound-proxy.credentials"
        credentials.write_text(f"{PROXY_USER}:{PROXY_PASSWORD}\n")
        credentials.chmod(0o600)
        core_key = signedjson.key.get_verify_key(self.core.signing_key)
        config["keys"] = {
            "cache_file": "keys.sqlite",
            # The Core is the gateway's own: its key is pinned. The peer's keys are fetched.
            "pinned": {CORE: {f"ed25519:{core_key.version}":
                              signedjson.key.encode_verify_key_base64(core_key)}},
        }
        config["discovery"] = {
            "resolvers": [self.dns.address],
            "allowed_ranges": [f"{self.net}.0/24"],
            "ca_file": str(self.pki.ca.cert),
            "dns_timeout": "3s", "connect_timeout": "3s", "request_timeout": "10s",
        }
        config["outbound"] = {
            "listen": {"address": "127.0.0.1", "port": self.proxy_port},
            "clients": ["127.0.0.1/32"],
            "credentials_file": str(credentials),
            "interception_ca": {"certificate": str(self.interception.ca.cert),
                                "key": str(self.interception.ca.key)},
        }
        return config

    # ---- tear-down -----------------------------------------------------------------------
    def stop(self):
        for hs in (self.outside, self.peer, self.core):
            if hs:
                hs.stop()
        if self.gateway and self.gateway.running():
            self.gateway.stop()
        if self.dns:
            self.dns.stop()

    def audit_verify(self) -> str:
        path = self.dir / "gateway" / "state" / "audit.log"
        result = run_cli("audit", "verify", str(path))
        if result.returncode != 0:
            raise AssertionError("audit verify failed: " + result.stdout + result.stderr)
        return result.stdout.strip()

    def audit_records(self) -> list[dict]:
        path = self.dir / "gateway" / "state" / "audit.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def cached_key_sources(self) -> dict[str, str]:
        """Server name -> how the gateway got its keys ("direct", "notary"), from its key cache."""
        path = self.dir / "gateway" / "state" / "keys.sqlite"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return dict(db.execute("SELECT server_name, source FROM server_key_responses"))
