#!/usr/bin/python3
"""`bordergate check-config` (and its newer name `config check`) accepts good files (the shipped
example included) and rejects bad ones with a non-zero exit and a file:line:col message that
points at the offending key; `bordergate version` prints the version. The command line keeps one
convention everywhere: usage errors exit 2 (never CLI11's own 105, 106, 109), --help and
--version exit 0, and a group's options are taken after its subcommand too."""
import os
import re
import shutil
import subprocess
import sys

import yaml
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, GatewayTestCase, main  # noqa: E402
from harness.gateway import run_cli, sanitizer_reports  # noqa: E402


class CheckConfigTest(GatewayTestCase):
    def write(self, text: str, name: str = "bordergate.yaml"):
        path = self.tmp / name
        path.write_text(text)
        return path

    def good_text(self) -> str:
        return yaml.safe_dump(self.make_config(8008), sort_keys=False)

    def check(self, path):
        proc = run_cli("check-config", str(path))
        self.assertEqual(sanitizer_reports(proc.stderr), [], proc.stderr)
        self.assertGreaterEqual(proc.returncode, 0, f"died by signal: {proc.stderr}")
        return proc

    def assertRejectedAt(self, text: str, line: int, col: int, *words: str):
        path = self.write(text)
        proc = self.check(path)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 1, out)
        self.assertRegex(out, rf"(?<![0-9]){line}:{col}(?![0-9])", f"expected {line}:{col} in:\n{out}")
        for w in words:
            self.assertIn(w, out)

    @staticmethod
    def position_of(text: str, needle: str) -> tuple[int, int]:
        """1-based line and column of the first occurrence of needle."""
        for n, line in enumerate(text.splitlines(), 1):
            col = line.find(needle)
            if col >= 0:
                return n, col + 1
        raise AssertionError(f"{needle!r} not in text")

    def test_good_config_exit_0(self):
        path = self.write(self.good_text())
        proc = self.check(path)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn(f"{path}: OK", proc.stdout)
        # --config is accepted too (the systemd unit's ExecStartPre uses it).
        self.assertEqual(run_cli("check-config", "--config", str(path)).returncode, 0)

    def test_shipped_example_config_is_valid(self):
        # The example resolves state_dir ../../.state against its own folder: give
        # it that layout with what `make run` creates in place: the dev PKI (certificates,
        # the interception CA), the demo keys and the proxy credentials.
        src = ENV.source_dir / "deploy" / "examples" / "bordergate.yaml"
        conf_dir = self.tmp / "deploy" / "examples"
        conf_dir.mkdir(parents=True)
        shutil.copy(src, conf_dir / "bordergate.yaml")
        shutil.copy(src.parent / "policy.yaml", conf_dir / "policy.yaml")
        init = subprocess.run(["/usr/bin/python3", str(ENV.source_dir / "deploy" / "demo" / "demo-peer.py"),
                               "init", "--state", str(self.tmp / ".state")],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(init.returncode, 0, init.stderr)
        pki = subprocess.run([str(ENV.source_dir / "scripts" / "dev-pki")],
                             env=dict(os.environ, BG_STATE_DIR=str(self.tmp / ".state")),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(pki.returncode, 0, pki.stderr)
        proc = self.check(conf_dir / "bordergate.yaml")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_unknown_top_level_key(self):
        text = self.good_text() + "surprise: 1\n"
        line, col = self.position_of(text, "surprise")
        self.assertRejectedAt(text, line, col, "surprise")

    def test_unknown_nested_key(self):
        text = self.good_text().replace("  max_headers: 100\n", "  max_headers: 100\n  max_hedaers: 5\n")
        line, col = self.position_of(text, "max_hedaers")
        self.assertRejectedAt(text, line, col, "max_hedaers")

    def test_wrong_type(self):
        text = self.good_text().replace("  max_headers: 100\n", "  max_headers: lots\n")
        line, col = self.position_of(text, "lots")
        self.assertRejectedAt(text, line, col, "max_headers")

    def test_port_out_of_range(self):
        cfg = self.make_config(70000)
        text = yaml.safe_dump(cfg, sort_keys=False)
        line, col = self.position_of(text, "70000")
        self.assertRejectedAt(text, line, col)

    def test_bad_duration(self):
        text = self.good_text().replace("header_timeout: 10s", "header_timeout: ten seconds")
        line, col = self.position_of(text, "ten seconds")
        self.assertRejectedAt(text, line, col, "header_timeout")

    def test_yaml_syntax_error(self):
        text = "version: 1\nlisteners:\n  federation: [\n    {port: 1\n"
        proc = self.check(self.write(text))
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(out, r"\d+:\d+", out)

    def test_bad_tls_min_version(self):
        text = self.good_text().replace("min_version: '1.2'", "min_version: '1.0'")
        self.assertNotEqual(text, self.good_text())
        line, col = self.position_of(text, "'1.0'")
        self.assertRejectedAt(text, line, col, "min_version")

    def test_missing_required_key(self):
        cfg = self.make_config(8008)
        del cfg["upstream"]["port"]
        proc = self.check(self.write(yaml.safe_dump(cfg, sort_keys=False)))
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 1, out)
        self.assertIn("port", out)

    def test_missing_certificate_file(self):
        cfg = self.make_config(8008)
        cfg["listeners"]["federation"][0]["tls"]["certificates"][0]["certificate"] = "/nonexistent/x.crt"
        proc = self.check(self.write(yaml.safe_dump(cfg, sort_keys=False)))
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 1, out)
        self.assertIn("/nonexistent/x.crt", out)

    def test_a_private_key_others_can_read_is_refused(self):
        cfg = self.make_config(8008)
        entry = cfg["listeners"]["federation"][0]["tls"]["certificates"][0]
        key = self.tmp / "readable.key"
        key.write_bytes(Path(entry["private_key"]).read_bytes())
        key.chmod(0o644)
        entry["private_key"] = str(key)
        path = self.write(yaml.safe_dump(cfg, sort_keys=False))
        proc = self.check(path)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 1, out)
        self.assertIn(f"TLS private key {key} is accessible to group or others (mode 0644)", out)
        self.assertIn("chmod 600", out)
        key.chmod(0o600)
        self.assertEqual(self.check(path).returncode, 0)

    def test_missing_file(self):
        # Nothing to check: an input error (2), not a finding (1).
        proc = self.check(self.tmp / "nope.yaml")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("nope.yaml", proc.stdout + proc.stderr)

    def test_serve_refuses_bad_config(self):
        path = self.write(self.good_text() + "surprise: 1\n")
        proc = run_cli("serve", "--config", str(path), timeout=30)
        self.assertEqual(proc.returncode, 2)  # an unusable configuration is an input error
        self.assertIn("surprise", proc.stdout + proc.stderr)

    def test_config_check_is_check_config(self):
        good = self.write(self.good_text())
        bad = self.write(self.good_text() + "surprise: 1\n", "bad.yaml")
        for path, rc in ((good, 0), (bad, 1)):
            old = run_cli("check-config", str(path))
            new = run_cli("config", "check", str(path))
            self.assertEqual((new.returncode, new.stdout, new.stderr),
                             (old.returncode, old.stdout, old.stderr))
            self.assertEqual(new.returncode, rc, new.stderr)

    def test_usage_errors_exit_2_and_help_exits_0(self):
        table = [
            ([], 2),                                     # a subcommand is required
            (["nonsense"], 2),                           # unknown subcommand
            (["policy", "check"], 2),                    # missing argument
            (["policy", "check", "--bogus", "x"], 2),    # unknown option
            (["quarantine"], 2),                         # a group without its subcommand
            (["config"], 2),
            (["quarantine", "list", "--limit", "many"], 2),  # not a number
            (["--help"], 0),
            (["policy", "--help"], 0),
            (["quarantine", "list", "--help"], 0),
            (["--version"], 0),
        ]
        for args, rc in table:
            with self.subTest(args=args):
                proc = run_cli(*args)
                self.assertEqual(proc.returncode, rc, proc.stdout + proc.stderr)

    def test_group_options_come_before_or_after_the_subcommand(self):
        path = self.write(self.good_text())
        before = run_cli("quarantine", "--config", str(path), "list")
        after = run_cli("quarantine", "list", "--config", str(path))
        self.assertEqual(after.returncode, before.returncode, after.stderr)
        self.assertEqual(after.stdout, before.stdout)
        self.assertNotIn("required", after.stderr)

    def test_version(self):
        proc = run_cli("version")
        self.assertEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout, r"^bordergate \d+\.\d+\.\d+")


if __name__ == "__main__":
    main()
