#!/usr/bin/python3
"""The README's quick start, on free ports: scripts/dev-pki makes the dev PKI,
deploy/demo/demo-core.py stands in for the Core, and the shipped example config
(only ports, state_dir and absolute paths changed) serves the README's curl through the
gateway; deploy/demo/demo-peer.py and deploy/demo/demo-outbound.py (what `make run` starts)
get the answers the example policy prescribes in both directions, and the audit lines the
README shows form a verifiable chain."""
import json
import os
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, GatewayTestCase, curl, free_port, main  # noqa: E402
from harness.gateway import no_dns_discovery  # noqa: E402
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
        self.assertEqual(self.dev_pki("opendesk.stadt-a.example").returncode, 0)
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
        # Never the system resolver (pinned keys; the demo peer through its static route).
        config["discovery"].update(no_dns_discovery())
        peer_port = free_port()
        config["discovery"]["static_routes"]["opendesk.stadt-a.example"]["target"] = \
            f"127.0.0.1:{peer_port}"
        outbound = config["outbound"]
        outbound["listen"]["port"] = free_port()
        outbound["credentials_file"] = str(self.state / "outbound-proxy.credentials")
        outbound["interception_ca"] = {"certificate": str(self.state / "pki" / "interception-ca.crt"),
                                       "key": str(self.state / "pki" / "interception-ca.key")}
        config["policy"] = str(ENV.source_dir / "deploy" / "examples" / "policy.yaml")
        init = subprocess.run(["/usr/bin/python3", str(ENV.source_dir / "deploy" / "demo" / "demo-peer.py"),
                               "init", "--state", str(self.state)], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(init.returncode, 0, init.stderr)
        gw = self.start_gateway(config)

        r = curl(gw.port, "/_matrix/federation/v1/version", "core.bordergate.test",
                 self.state / "pki" / "ca.crt", workdir=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"server": {"name": "bordergate-demo-core", "version": "1.0"}})

        # The demo peer: unsigned and disallowed requests are refused, the widget event held.
        peer = ENV.source_dir / "deploy" / "demo" / "demo-peer.py"
        run = subprocess.run(["/usr/bin/python3", str(peer), "run", "--state", str(self.state),
                              "--port", str(gw.port)], capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        statuses = [int(line.split()[1]) for line in run.stdout.splitlines()
                    if line.startswith("demo-peer: ")]
        self.assertEqual(statuses, [200, 200, 200, 401, 403], run.stdout)

        # The demo Core through the outbound proxy: the allowed /send reaches the peer, which
        # verifies the Core's signature; the rest is refused and never reaches it.
        out = subprocess.run(["/usr/bin/python3", str(peer.parent / "demo-outbound.py"),
                              "--state", str(self.state), "--proxy-port",
                              str(outbound["listen"]["port"]), "--peer-port", str(peer_port)],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        lines = [line for line in out.stdout.splitlines() if line.startswith("demo-outbound: ")]
        self.assertEqual([int(line.split()[1]) for line in lines], [200, 403, 403, 403, 403],
                         out.stdout)
        self.assertIn("which verified the Core's signature", out.stdout)
        self.assertEqual(out.stdout.count("nothing reached opendesk.stadt-a.example"), 2, out.stdout)

        audit = self.state / "audit.log"
        deadline = time.monotonic() + 30
        while True:
            records = [json.loads(line) for line in audit.read_text().splitlines()] \
                if audit.exists() else []
            decisions = [r for r in records if r.get("type") == "decision"]
            if len(decisions) >= 14 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        got = [(r.get("direction"), r.get("endpoint"), r.get("action"), r.get("rule_id"),
                r.get("status")) for r in decisions]
        self.assertEqual(got, [
            ("inbound", "version", "forward", "core-keys-public", 200),
            ("inbound", "send", "forward", "opendesk-base", 200),
            ("inbound", "send", "quarantine", "opendesk-unusual-events", 200),
            ("inbound", "send", "deny", "opendesk-unknown-edus", 200),
            ("inbound", "query.profile", "deny", None, 401),
            ("inbound", "publicRooms", "deny", "opendesk-no-directory", 403),
            # One tunnel per request (CONNECT admitted for the federation), then the request.
            ("outbound", "connect", "forward", "opendesk-base", 200),
            ("outbound", "send", "forward", "opendesk-base", 200),
            ("outbound", "connect", "forward", "opendesk-base", 200),
            ("outbound", "publicRooms", "deny", "opendesk-no-directory", 403),
            ("outbound", "connect", "forward", "opendesk-base", 200),
            ("outbound", "invite", "deny", "opendesk-no-invites-by-trainees", 403),
            ("outbound", "connect", "deny", "default", 403),  # matrix.org: in no federation
            ("outbound", "connect", "deny", "default", 403),  # push gateway: not on egress list
        ])
        self.assertEqual([r.get("destination") for r in decisions[6:12]],
                         ["opendesk.stadt-a.example"] * 6)
        self.assertTrue(all(r.get("origin") == "opendesk.stadt-a.example" for r in decisions[1:4]))
        self.assertIsNotNone(decisions[2].get("quarantine_id"))
        v = subprocess.run([str(ENV.bordergate), "audit", "verify", str(audit)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_demo_peer_init_is_idempotent(self):
        peer = ENV.source_dir / "deploy" / "demo" / "demo-peer.py"
        for _ in range(2):
            r = subprocess.run(["/usr/bin/python3", str(peer), "init", "--state", str(self.state)],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            if _ == 0:  # made once: the second init keeps every secret
                secrets = {n: (self.state / n).read_bytes()
                           for n in ("demo-peer.key", "demo-core.key", "outbound-proxy.credentials")}
        for name, first in secrets.items():
            self.assertEqual((self.state / name).read_bytes(), first, name)
            self.assertEqual((self.state / name).stat().st_mode & 0o077, 0, name)
        key = secrets["demo-peer.key"]
        pinned = json.loads((self.state / "demo-pinned-keys.json").read_text())
        self.assertEqual(sorted(pinned), ["core.bordergate.test", "opendesk.stadt-a.example"])
        key_id, = pinned["opendesk.stadt-a.example"]
        self.assertEqual(key_id, "ed25519:" + key.decode().split()[1])
        credentials = self.state / "outbound-proxy.credentials"
        self.assertRegex(credentials.read_text(), r"^core:[0-9a-f]{48}\n$")
        self.assertEqual(credentials.stat().st_mode & 0o077, 0)


if __name__ == "__main__":
    main()
