#!/usr/bin/python3
"""deploy/systemd/bordergate.service is a valid, hardened Type=notify unit:
`systemd-analyze verify` accepts it without a single warning (skipped where
systemd-analyze is missing), and the hardening options operators expect are set."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, main  # noqa: E402
from harness.gateway import run_cli  # noqa: E402

UNIT = ENV.source_dir / "deploy" / "systemd" / "bordergate.service"

REQUIRED = {
    "Type": "notify",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
    "SystemCallFilter": "@system-service",
    "ExecReload": "/bin/kill -HUP $MAINPID",
}


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out.setdefault(k.strip(), []).append(v.strip())
    return out


class SystemdUnitTest(unittest.TestCase):
    def setUp(self):
        self.text = UNIT.read_text()
        self.d = directives(self.text)

    def test_hardening_directives(self):
        for key, value in REQUIRED.items():
            with self.subTest(key):
                self.assertIn(value, self.d.get(key, []), f"{key}={value} missing")
        self.assertTrue(self.d.get("DynamicUser") == ["yes"] or self.d.get("User"),
                        "needs DynamicUser=yes or a dedicated User=")
        self.assertTrue(self.d.get("LimitNOFILE"), "LimitNOFILE missing")
        self.assertTrue(self.d.get("ReadWritePaths"), "ReadWritePaths missing")
        families = " ".join(self.d.get("RestrictAddressFamilies", []))
        self.assertIn("AF_INET", families)
        self.assertNotIn("AF_PACKET", families)

    def test_exec_lines_use_real_subcommands(self):
        start = self.d["ExecStart"][0].split()
        self.assertEqual(start[1:3], ["serve", "--config"])
        config = start[3]
        # The subcommand line the unit uses must parse with the real binary.
        proc = run_cli("check-config", "--config", "/nonexistent/bordergate.yaml")
        self.assertNotIn("The following argument was not expected", proc.stderr)
        self.assertNotIn("RequiredError", proc.stderr)
        self.assertTrue(config.startswith("/etc/bordergate/"), config)

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.skipTest("systemd-analyze not installed: unit not verified")
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp) / "bordergate.service"
            # verify checks that ExecStart binaries exist: point them at the build.
            unit.write_text(self.text.replace("/usr/local/bin/bordergate", str(ENV.bordergate)))
            proc = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True,
                                  timeout=60)
        ours = [l for l in (proc.stdout + proc.stderr).splitlines() if "bordergate.service" in l]
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(ours, [], "systemd-analyze warnings about the unit")


if __name__ == "__main__":
    main()
