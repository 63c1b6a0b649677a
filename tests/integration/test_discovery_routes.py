#!/usr/bin/python3
"""`bordergate discover` against real loopback peers: dnsmasq for the test zone, TLS peers with
certificates from the test CA. Each branch of federation-notes §1.3, well-known caching, errors
and redirects, SRV priorities, and the SSRF guard refusing loopback addresses the config does not
allow (127.0.0.99, ::1, ::ffff:127.0.0.1). Peers live on random 127.64.0.0/10 addresses (allowed)
so the well-known can be served on port 443 without colliding with parallel tests."""
import json
import os
import random
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml  # noqa: E402

from harness import GatewayTestCase, main  # noqa: E402
from harness.gateway import run_cli, sanitizer_reports  # noqa: E402
from federation_peers import Dnsmasq, MatrixPeer, discovery_config  # noqa: E402

ALLOWED = ["127.64.0.0/10"]


def random_loopback() -> str:
    return f"127.{random.randint(64, 127)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


class DiscoveryRoutesTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise unittest.SkipTest("serving the well-known needs port 443 on a loopback address")
        cls.ip = {name: random_loopback() for name in
                  ("wk", "deleg", "srvhi", "srvlo", "plain", "port", "redir", "ssrf", "bad")}
        z = "bg.test"
        records = [
            f"--host-record=wk.{z},{cls.ip['wk']}",
            f"--host-record=deleg.{z},{cls.ip['deleg']}",
            f"--host-record=srvhi.{z},{cls.ip['srvhi']}",
            f"--host-record=srvlo.{z},{cls.ip['srvlo']}",
            f"--host-record=plain.{z},{cls.ip['plain']}",
            f"--host-record=port.{z},{cls.ip['port']}",
            f"--host-record=redir.{z},{cls.ip['redir']}",
            f"--host-record=bad.{z},{cls.ip['bad']}",
            f"--host-record=srv.{z},{cls.ip['srvlo']}",
            # SSRF: names whose answers point at loopback addresses outside the allowed range.
            f"--host-record=evil-a.{z},127.0.0.99",
            f"--host-record=evil-aaaa.{z},::1",
            f"--host-record=evil-mapped.{z},::ffff:127.0.0.1",
            f"--host-record=evil-target.{z},127.0.0.99",
            f"--srv-host=_matrix-fed._tcp.evil-srv.{z},evil-target.{z},8448,10,10",
        ]
        cls.records = records
        cls.pki_certs = {n: cls.pki.server(f"{n}.{z}") for n in
                         ("wk", "deleg", "srv", "plain", "port", "redir", "bad", "evil-wk")}
        cls.ca = cls.pki.ca.cert

    def setUp(self):
        super().setUp()
        self.peers = []
        self.dns = None

    def tearDown(self):
        for p in self.peers:
            p.stop()
        if self.dns:
            self.dns.stop()
        super().tearDown()

    def peer(self, cert_name, host, port, **kwargs):
        p = MatrixPeer(self.pki_certs[cert_name], f"{cert_name}.bg.test", host=host, port=port,
                       **kwargs)
        self.peers.append(p)
        return p

    def start_dns(self, extra=()):
        self.dns = Dnsmasq(self.records + list(extra))

    def discover(self, *servers, allowed=ALLOWED, json_out=True):
        config = discovery_config(self.make_config(1), self.dns, self.ca, allowed)
        path = self.tmp / "discover.yaml"
        path.write_text(yaml.safe_dump(config))
        r = run_cli("discover", *servers, "--config", str(path),
                    *(["--json"] if json_out else []))
        self.assertEqual(sanitizer_reports(r.stderr), [], r.stderr)
        if not json_out:
            return r, r.stdout
        lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        return r, (lines[0] if len(servers) == 1 and lines else lines)

    def test_explicit_port_on_a_dns_name(self):
        self.start_dns()
        p = self.peer("port", self.ip["port"], 0)
        r, out = self.discover(f"port.bg.test:{p.port}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "explicit_port")
        self.assertEqual(out["targets"], [f"{self.ip['port']}:{p.port}"])
        self.assertEqual(out["tls_name"], "port.bg.test")
        self.assertEqual(out["host_header"], f"port.bg.test:{p.port}")

    def test_ip_literal_allowed_and_refused(self):
        self.start_dns()
        r, out = self.discover(f"{self.ip['plain']}:8448")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "ip_literal")
        self.assertEqual(out["tls_ip"], self.ip["plain"])
        r, out = self.discover("127.0.0.99:8448")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(out["error"], "ssrf_refused")

    def test_well_known_delegation_to_explicit_port_is_cached(self):
        self.start_dns()
        d = self.peer("deleg", self.ip["deleg"], 0)
        wk = self.peer("wk", self.ip["wk"], 443,
                       well_known={"m.server": f"deleg.bg.test:{d.port}"},
                       well_known_headers={"Cache-Control": "max-age=3600"})
        r, both = self.discover("wk.bg.test", "wk.bg.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(both), 2)
        out, again = both
        self.assertEqual(out, {**again, "steps": out["steps"], "elapsed_ms": out["elapsed_ms"]})
        self.assertTrue(any("cache" in s for s in again["steps"]), again["steps"])
        self.assertEqual(out["route"], "delegated_explicit_port")
        self.assertEqual(out["targets"], [f"{self.ip['deleg']}:{d.port}"])
        self.assertEqual(out["tls_name"], "deleg.bg.test")
        self.assertEqual(out["host_header"], f"deleg.bg.test:{d.port}")
        # The second lookup used the cached delegation: one fetch in total.
        self.assertEqual(wk.count("/.well-known/matrix/server"), 1)
        self.assertEqual(wk.hits[0][2], "wk.bg.test")  # Host of the well-known GET

    def test_well_known_error_falls_back_to_srv_then_default_port(self):
        self.start_dns([f"--srv-host=_matrix-fed._tcp.bad.bg.test,srvhi.bg.test,8448,10,10"])
        wk = self.peer("bad", self.ip["bad"], 443, well_known=b"{not json")
        r, out = self.discover("bad.bg.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "srv")
        self.assertEqual(out["targets"], [f"{self.ip['srvhi']}:8448"])
        self.assertEqual(out["tls_name"], "bad.bg.test")
        self.assertEqual(wk.count("/.well-known/matrix/server"), 1)
        self.assertTrue(any("well_known_invalid_json" in s or "JSON" in s for s in out["steps"]),
                        out["steps"])

    def test_default_port_without_well_known_or_srv(self):
        self.start_dns()
        r, out = self.discover("plain.bg.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "default_port")
        self.assertEqual(out["targets"], [f"{self.ip['plain']}:8448"])
        self.assertEqual(out["host_header"], "plain.bg.test")

    def test_srv_priorities_order_targets(self):
        self.start_dns([
            "--srv-host=_matrix-fed._tcp.srv.bg.test,srvlo.bg.test,8449,20,10",
            "--srv-host=_matrix-fed._tcp.srv.bg.test,srvhi.bg.test,8448,10,10",
        ])
        r, out = self.discover("srv.bg.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "srv")
        self.assertEqual(out["targets"],
                         [f"{self.ip['srvhi']}:8448", f"{self.ip['srvlo']}:8449"])
        self.assertEqual(out["tls_name"], "srv.bg.test")

    def test_redirect_followed_and_limit_enforced(self):
        self.start_dns()
        d = self.peer("deleg", self.ip["deleg"], 0)
        self.peer("redir", self.ip["redir"], 443, routes={
            "/.well-known/matrix/server": (302, {"Location": "/hop1"}, b""),
            "/hop1": (200, {}, json.dumps({"m.server": f"deleg.bg.test:{d.port}"}).encode()),
            "/loop": (302, {"Location": "/loop"}, b""),
        })
        r, out = self.discover("redir.bg.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "delegated_explicit_port")
        # A loop is cut by the redirect limit: discovery falls back (default port here).
        for p in self.peers:
            if p.server_name == "redir.bg.test":
                p.routes["/.well-known/matrix/server"] = (302, {"Location": "/loop"}, b"")
        r, out = self.discover("redir.bg.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["route"], "default_port")
        self.assertTrue(any("redirect" in s for s in out["steps"]), out["steps"])

    def test_ssrf_dns_answers_outside_allowed_ranges_are_refused(self):
        self.start_dns()
        for name in ("evil-a.bg.test", "evil-aaaa.bg.test", "evil-mapped.bg.test",
                     "evil-a.bg.test:8448", "evil-srv.bg.test"):
            r, out = self.discover(name)
            self.assertEqual(r.returncode, 1, (name, out))
            self.assertEqual(out["error"], "ssrf_refused", (name, out))
        # The operator allows the range: the same name resolves.
        r, out = self.discover("evil-a.bg.test", allowed=ALLOWED + ["127.0.0.99/32"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(out["targets"], ["127.0.0.99:8448"])

    def test_hosts_file_before_dns_and_guarded(self):
        # A/AAAA read the hosts file first (CARES_HOSTS names a temporary one instead of
        # /etc/hosts): it answers names DNS does not know and wins over DNS for names both know.
        # Its addresses pass the same SSRF guard as DNS answers.
        self.start_dns()
        hosts_ip = random_loopback()
        hosts = self.tmp / "hosts"
        hosts.write_text(f"{hosts_ip} hosts-only.bg.test plain.bg.test\n"
                         "127.0.0.99 evil-hosts.bg.test\n")
        with mock.patch.dict(os.environ, {"CARES_HOSTS": str(hosts)}):
            r, out = self.discover("hosts-only.bg.test:8448", "plain.bg.test:8448",
                                   "evil-hosts.bg.test:8448")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual([o.get("targets") for o in out[:2]],
                             [[f"{hosts_ip}:8448"], [f"{hosts_ip}:8448"]])
            self.assertEqual(out[2]["error"], "ssrf_refused", out[2])
            r, out = self.discover("evil-hosts.bg.test:8448", allowed=ALLOWED + ["127.0.0.99/32"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(out["targets"], ["127.0.0.99:8448"])
        # Without the file the same names are DNS's again.
        r, out = self.discover("hosts-only.bg.test:8448", "plain.bg.test:8448")
        self.assertEqual(out[0]["ok"], False, out[0])
        self.assertEqual(out[1]["targets"], [f"{self.ip['plain']}:8448"])

    def test_ssrf_well_known_delegation_to_refused_address(self):
        self.start_dns()
        self.peer("wk", self.ip["wk"], 443, well_known={"m.server": "127.0.0.99:8448"})
        r, out = self.discover("wk.bg.test")
        self.assertEqual(r.returncode, 1, out)
        self.assertEqual(out["error"], "ssrf_refused")
        self.peers[-1].well_known = {"m.server": "[::1]:8448"}
        r, out = self.discover("wk.bg.test")
        self.assertEqual(out["error"], "ssrf_refused", out)

    def test_text_output_names_the_steps(self):
        self.start_dns()
        r, out = self.discover("plain.bg.test", json_out=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("route: default_port", out)
        self.assertIn(f"connect: {self.ip['plain']}:8448", out)
        self.assertIn("step:", out)


if __name__ == "__main__":
    main()
