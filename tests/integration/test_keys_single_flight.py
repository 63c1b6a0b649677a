#!/usr/bin/python3
"""Single-flight and metrics through the gateway's real federation wiring: 100 concurrent key
lookups for one unknown server, spread over 4 worker loops, make exactly one request to the
peer's key server (driven by the keystore_flight_probe test binary, not by a hook in the
production binary); the gateway exports the key store and discovery counters on /metrics and
replays the persistent key cache at start."""
import json
import os
import random
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml  # noqa: E402

from harness import GatewayTestCase, main, metric_sum, parse_metrics  # noqa: E402
from harness.env import ENV  # noqa: E402
from harness.gateway import run_cli, sanitizer_env, sanitizer_reports  # noqa: E402
from federation_peers import Dnsmasq, MatrixPeer, discovery_config  # noqa: E402


def random_loopback() -> str:
    return f"127.{random.randint(64, 127)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


class KeysSingleFlightTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ip = random_loopback()
        cls.dns = Dnsmasq([f"--host-record=origin.bg.test,{cls.ip}"])
        cls.origin_cert = cls.pki.server("origin.bg.test")

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        # Slow answers keep the fetch in flight while all 100 lookups arrive.
        self.peer = MatrixPeer(self.origin_cert, "", host=self.ip, response_delay=0.5)
        self.peer.server_name = f"origin.bg.test:{self.peer.port}"

    def tearDown(self):
        self.peer.stop()
        super().tearDown()

    def config_file(self, config):
        path = self.tmp / "gw.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def base(self):
        return discovery_config(self.make_config(1), self.dns, self.pki.ca.cert, ["127.64.0.0/10"],
                                keys={"cache_file": str(self.tmp / "keys.sqlite"),
                                      "fetch_mode": "direct"})

    def test_one_fetch_for_100_concurrent_lookups(self):
        probe = Path(os.environ.get("BG_BUILD_DIR", ENV.bordergate.parents[2])) / \
            "tests" / "unit" / "keystore" / "keystore_flight_probe"
        if not probe.exists():
            raise unittest.SkipTest(f"{probe} not built")
        r = subprocess.run([str(probe), str(self.config_file(self.base())), self.peer.server_name,
                            self.peer.key_id, "100", "4"], capture_output=True, text=True,
                           timeout=ENV.timeout(60), env=sanitizer_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sanitizer_reports(r.stderr), [], r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["answered"], 100, out)
        self.assertEqual(out["outcomes"], {"ok": 100}, out)
        self.assertEqual(out["fetches_started"], 1, out)
        self.assertEqual(self.peer.count("/_matrix/key/v2/server"), 1)

    def test_metrics_export_and_persistent_cache_replay(self):
        config = self.base()
        path = self.config_file(config)
        # Warm the cache file through the CLI (same store code), then start the gateway on it.
        r = run_cli("keys", "fetch", self.peer.server_name, "--config", str(path),
                    "--key-id", self.peer.key_id)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        gw = self.start_gateway(config)
        metrics = parse_metrics(gw.metrics_text())
        self.assertEqual(metric_sum(metrics, "bordergate_key_persisted_responses_total",
                                    result="loaded"), 1)
        self.assertEqual(metric_sum(metrics, "bordergate_key_fetches_total", result="started"), 0)
        self.assertEqual(metric_sum(metrics, "bordergate_discovery_results_total"), 0)
        text = gw.metrics_text()
        for family in ("bordergate_key_lookups_total", "bordergate_discovery_well_known_total",
                       "bordergate_discovery_duration_seconds"):
            self.assertIn(f"# TYPE {family}", text)


if __name__ == "__main__":
    main()
