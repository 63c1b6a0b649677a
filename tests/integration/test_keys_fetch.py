#!/usr/bin/python3
"""`bordergate keys fetch` against real TLS peers signing with python3-signedjson: direct fetch
after discovery, expired keys, a wrong self-signature, notary answers (good and badly signed),
an untrusted certificate, and a key server that is down while the persistent SQLite cache still
holds valid keys."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml  # noqa: E402

from harness import GatewayTestCase, TestPKI, main  # noqa: E402
from harness.gateway import run_cli, sanitizer_reports  # noqa: E402
from federation_peers import Dnsmasq, MatrixPeer, discovery_config  # noqa: E402


def random_loopback() -> str:
    return f"127.{random.randint(64, 127)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


class KeysFetchTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ip = {"origin": random_loopback(), "notary": random_loopback()}
        cls.dns = Dnsmasq([f"--host-record=origin.bg.test,{cls.ip['origin']}",
                           f"--host-record=notary.bg.test,{cls.ip['notary']}"])
        cls.origin_cert = cls.pki.server("origin.bg.test")
        cls.notary_cert = cls.pki.server("notary.bg.test")
        cls.multi_cert = cls.pki.server("multi.bg.test")
        cls.rogue = TestPKI(cls.class_dir / "rogue", "rogue CA").server("origin.bg.test")

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()
        super().tearDown()

    def origin(self, cert=None, **kwargs):
        p = MatrixPeer(cert or self.origin_cert, "", host=self.ip["origin"], **kwargs)
        p.server_name = f"origin.bg.test:{p.port}"  # the name it is asked for (explicit port)
        self.peers.append(p)
        return p

    def notary(self, **kwargs):
        p = MatrixPeer(self.notary_cert, "", host=self.ip["notary"], **kwargs)
        p.server_name = f"notary.bg.test:{p.port}"
        self.peers.append(p)
        return p

    def fetch(self, server, *args, keys=None, dns=None):
        config = discovery_config(self.make_config(1), dns or self.dns, self.pki.ca.cert,
                                  ["127.64.0.0/10"], keys=keys)
        path = self.tmp / "keys.yaml"
        path.write_text(yaml.safe_dump(config))
        r = run_cli("keys", "fetch", server, "--config", str(path), *args)
        self.assertEqual(sanitizer_reports(r.stderr), [], r.stderr)
        return r

    def test_direct_fetch_verifies_every_key(self):
        p = self.origin()
        r = self.fetch(p.server_name)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("route: explicit_port", r.stdout)
        self.assertIn(f"verify_key ed25519:a1 {p.verify_key_b64}: self-signature ok", r.stdout)
        self.assertIn("verification: ok", r.stdout)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 1)
        self.assertEqual(p.hits[-1][2], p.server_name)  # Host header

    def test_srv_targets_tried_in_order_until_one_answers(self):
        p = MatrixPeer(self.multi_cert, "multi.bg.test", host=self.ip["origin"])
        self.peers.append(p)
        dead = random_loopback()  # nothing listens there: connection refused
        dns = Dnsmasq([f"--host-record=dead.bg.test,{dead}",
                       f"--host-record=origin.bg.test,{self.ip['origin']}",
                       f"--srv-host=_matrix-fed._tcp.multi.bg.test,dead.bg.test,{p.port},10,10",
                       f"--srv-host=_matrix-fed._tcp.multi.bg.test,origin.bg.test,{p.port},20,10"])
        try:
            r = self.fetch("multi.bg.test", dns=dns)
        finally:
            dns.stop()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("route: srv", r.stdout)
        self.assertLess(r.stdout.index(f"connect: {dead}:{p.port}"),
                        r.stdout.index(f"connect: {self.ip['origin']}:{p.port}"))
        self.assertIn("verification: ok", r.stdout)
        self.assertEqual(p.hits[-1][2], "multi.bg.test")  # Host: the server name (SRV route)

    def test_expired_keys_fail(self):
        p = self.origin(valid_for_ms=-60_000)
        r = self.fetch(p.server_name)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("EXPIRED", r.stdout)

    def test_wrong_self_signature_fails(self):
        p = self.origin(bad_self_signature=True)
        r = self.fetch(p.server_name)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("bad_signature", r.stdout + r.stderr)
        self.assertNotIn("verification: ok", r.stdout)

    def test_untrusted_certificate_is_refused(self):
        p = self.origin(cert=self.rogue)
        r = self.fetch(p.server_name)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("tls_failed", r.stdout + r.stderr)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 0)

    def notary_args(self, n):
        return ["--mode", "notary", "--notary", n.server_name,
                "--notary-key", f"{n.key_id}:{n.verify_key_b64}"]

    def test_notary_answer_verified(self):
        p = self.origin()
        n = self.notary()
        n.notary_for[p.server_name] = p
        r = self.fetch(p.server_name, *self.notary_args(n))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("notary", r.stdout)
        self.assertIn("verification: ok", r.stdout)
        self.assertEqual(n.count("/_matrix/key/v2/query"), 1)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 0)  # only the notary was asked

    def test_notary_answer_with_bad_signature_fails(self):
        p = self.origin()
        n = self.notary()
        n.notary_for[p.server_name] = p
        n.bad_notary_signature = True
        r = self.fetch(p.server_name, *self.notary_args(n))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("bad_signature", r.stdout + r.stderr)

    def test_notary_configured_in_yaml(self):
        p = self.origin()
        n = self.notary()
        n.notary_for[p.server_name] = p
        keys = {"fetch_mode": "notary", "notary_servers": [
            {"server_name": n.server_name, "keys": {n.key_id: n.verify_key_b64}}]}
        r = self.fetch(p.server_name, keys=keys)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("verification: ok", r.stdout)

    def test_key_server_down_with_warm_persistent_cache(self):
        p = self.origin()
        cache = {"cache_file": str(self.tmp / "keys.sqlite")}
        r = self.fetch(p.server_name, "--key-id", p.key_id, keys=cache)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("fetched directly", r.stdout)
        self.assertIn(p.verify_key_b64, r.stdout)
        p.stop()
        self.peers.remove(p)
        # A new process, the key server gone: the persisted, still valid response answers.
        r = self.fetch(p.server_name, "--key-id", p.key_id, keys=cache)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("from cache", r.stdout)
        self.assertIn(p.verify_key_b64, r.stdout)
        # Without the cache the same lookup fails: the answer above really came from disk.
        r = self.fetch(p.server_name, "--key-id", p.key_id, "--no-cache", keys=cache)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("key_unavailable", r.stdout + r.stderr)

    def test_key_id_answered_from_pinned_file_first(self):
        # The peer publishes its real key; the pinned-keys file pins another one under the same
        # id. --key-id goes through the key store, where pinned keys come first: the pinned key
        # is the answer and the peer is never asked.
        p = self.origin()
        pinned_key = "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ"
        self.assertNotEqual(pinned_key, p.verify_key_b64)
        pinned_file = self.tmp / "pinned.json"
        pinned_file.write_text(json.dumps({p.server_name: {p.key_id: pinned_key}}))
        keys = {"pinned_file": str(pinned_file)}
        r = self.fetch(p.server_name, "--key-id", p.key_id, "--no-cache", keys=keys)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"{pinned_key} (pinned)", r.stdout)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 0)
        # A key id the file does not pin is refused, not fetched: a pinned server is never asked.
        r = self.fetch(p.server_name, "--key-id", "ed25519:other", "--no-cache", keys=keys)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unknown_key", r.stdout)
        self.assertEqual(p.count("/_matrix/key/v2/server"), 0)


if __name__ == "__main__":
    main()
