#!/usr/bin/python3
"""The README's quick start, on free ports: scripts/dev-pki makes the dev PKI,
deploy/demo/demo-core.py stands in for the Core, and the shipped example config
(only ports and state_dir changed) serves the README's curl through the gateway."""
import json
import os
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, GatewayTestCase, curl, free_port, main  # noqa: E402
from harness.ports import port_accepts  # noqa: E402

EXAMPLE = ENV.source_dir / "deploy" / "examples" / "bordergate.yaml"


class QuickStartTest(GatewayTestCase):
    def dev_pki(self, *names):
        env = dict(os.environ, BG_STATE_DIR=str(self.state))
        return subprocess.run([str(ENV.source_dir / "scripts" / "dev-pki"), *names], env=env,
                              capture_output=True, text=True, timeout=60)

    def setUp(self):
        super().setUp()
        self.state = self.tmp / "state"

    def test_dev_pki_is_idempotent_and_verifiable(self):
        first = self.dev_pki()
        self.assertEqual(first.returncode, 0, first.stderr)
        crt = self.state / "pki" / "core.bordergate.test.crt"
        before = crt.read_bytes()
        again = self.dev_pki("extra.bordergate.test")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(crt.read_bytes(), before, "dev-pki reissued a valid certificate")
        for name in ("core.bordergate.test", "extra.bordergate.test"):
            v = subprocess.run(["openssl", "verify", "-CAfile", str(self.state / "pki" / "ca.crt"),
                                str(self.state / "pki" / f"{name}.crt")], capture_output=True, text=True)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual((self.state / "pki" / "core.bordergate.test.key").stat().st_mode & 0o077, 0)
        self.assertNotEqual(self.dev_pki("bad name!").returncode, 0)

    def test_readme_curl_through_shipped_config(self):
        self.assertEqual(self.dev_pki().returncode, 0)
        core_port = free_port()
        core = subprocess.Popen(["/usr/bin/python3", str(ENV.source_dir / "deploy" / "demo" / "demo-core.py"),
                                 "--host", "127.0.0.1", "--port", str(core_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(core.wait, 10)
        self.addCleanup(core.terminate)
        deadline = time.monotonic() + 10
        while not port_accepts(core_port):
            self.assertLess(time.monotonic(), deadline, "demo Core did not start")
            time.sleep(0.05)

        config = yaml.safe_load(EXAMPLE.read_text())
        config["state_dir"] = str(self.state)
        config["listeners"]["federation"][0]["port"] = free_port()
        config["listeners"]["admin"]["port"] = free_port()
        config["upstream"]["port"] = core_port
        config["workers"] = 1
        gw = self.start_gateway(config)

        r = curl(gw.port, "/_matrix/federation/v1/version", "core.bordergate.test",
                 self.state / "pki" / "ca.crt", workdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"server": {"name": "bordergate-demo-core", "version": "1.0"}})

        r = curl(gw.port, "/_matrix/federation/v1/query/directory?room_alias=%23a%3Ab",
                 "core.bordergate.test", self.state / "pki" / "ca.crt", "-H", "Connection: X-Gone",
                 "-H", "X-Gone: 1", workdir=self.tmp)
        echo = r.json()
        self.assertEqual(echo["uri"], "/_matrix/federation/v1/query/directory?room_alias=%23a%3Ab")
        names = [h.split(":", 1)[0].lower() for h in echo["headers"]]
        self.assertNotIn("x-gone", names)
        self.assertIn("x-forwarded-for", names)


if __name__ == "__main__":
    main()
