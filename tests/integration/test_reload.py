#!/usr/bin/python3
"""SIGHUP reloads configuration and certificates atomically: a valid file takes
effect (new upstream, new certificate, new server name), an invalid one is
rejected, logged and counted while the old configuration keeps serving."""
import copy
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV, GatewayTestCase, main, metric_sum  # noqa: E402

RELOADS = "bordergate_config_reloads_total"


class ReloadTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.start_upstream("a")
        self.b = self.start_upstream("b")
        self.gw = self.gateway_for(self.a)

    def reload_count(self, result: str) -> float:
        return metric_sum(self.metrics(self.gw), RELOADS, result=result)

    def wait_reload(self, result: str, before: float):
        deadline = time.monotonic() + ENV.timeout(10)
        while self.reload_count(result) <= before:
            if time.monotonic() > deadline:
                self.fail(f"{RELOADS}{{result={result!r}}} did not increase:\n"
                          + self.gw.metrics_text() + "\n" + self.gw.stderr_tail())
            time.sleep(0.05)

    def upstream_of_new_request(self) -> str:
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version")
        self.assertEqual(r.status, 200)
        return r.header("X-Upstream")

    def test_valid_reload_switches_upstream(self):
        self.assertEqual(self.upstream_of_new_request(), "a")
        before = self.reload_count("success")
        cfg = copy.deepcopy(self.gw.config)
        cfg["upstream"]["port"] = self.b.port
        self.gw.reload(cfg)
        self.wait_reload("success", before)
        self.assertEqual(self.upstream_of_new_request(), "b")
        self.assertEqual(self.upstream_of_new_request(), "b")

    def test_valid_reload_rotates_certificate(self):
        first = self.s_client(self.gw, self.SERVER_NAME)
        self.assertTrue(first.subject.replace(" ", "").endswith(f"CN={self.SERVER_NAME}"), first.subject)
        rotated = self.pki.issue("core-rotated", "rotated.bordergate.test", [self.SERVER_NAME])
        cfg = copy.deepcopy(self.gw.config)
        entry = cfg["listeners"]["federation"][0]["tls"]["certificates"][0]
        entry.update(certificate=str(rotated.cert), private_key=str(rotated.key))
        before = self.reload_count("success")
        self.gw.reload(cfg)
        self.wait_reload("success", before)
        after = self.s_client(self.gw, self.SERVER_NAME)
        self.assertTrue(after.subject.replace(" ", "").endswith("CN=rotated.bordergate.test"),
                        after.subject)
        self.assertTrue(after.verify_ok)
        self.assertEqual(self.curl(self.gw, "/_matrix/federation/v1/version").status, 200)

    def test_valid_reload_adds_server_name(self):
        extra = self.pki.server("added.example.test")
        cfg = copy.deepcopy(self.gw.config)
        cfg["listeners"]["federation"][0]["tls"]["certificates"].append(
            {"server_names": ["added.example.test"], "certificate": str(extra.cert),
             "private_key": str(extra.key)})
        before = self.reload_count("success")
        self.gw.reload(cfg)
        self.wait_reload("success", before)
        r = self.s_client(self.gw, "added.example.test")
        self.assertTrue(r.subject.replace(" ", "").endswith("CN=added.example.test"), r.subject)
        r = self.curl(self.gw, "/_matrix/federation/v1/version", server_name="added.example.test")
        self.assertEqual(r.status, 200, r.stderr)

    def check_invalid_reload_keeps_old(self, text: str | None = None, cfg: dict | None = None):
        old_cert = self.s_client(self.gw, self.SERVER_NAME).subject
        before_fail = self.reload_count("failure")
        before_ok = self.reload_count("success")
        self.gw.reload(cfg, text)
        self.wait_reload("failure", before_fail)
        self.assertTrue(self.gw.running())
        self.assertEqual(self.reload_count("success"), before_ok)
        self.assertEqual(self.upstream_of_new_request(), "a")
        self.assertEqual(self.s_client(self.gw, self.SERVER_NAME).subject, old_cert)
        status, _, _ = self.gw.admin("/readyz")
        self.assertEqual(status, 200)

    def test_invalid_yaml_keeps_old_config(self):
        self.check_invalid_reload_keeps_old(text="version: 1\nlisteners: [\n  oops\n")

    def test_unknown_key_keeps_old_config(self):
        cfg = copy.deepcopy(self.gw.config)
        cfg["upstream"]["port"] = self.b.port
        cfg["upstream"]["no_such_key"] = True
        self.check_invalid_reload_keeps_old(cfg=cfg)

    def test_missing_certificate_file_keeps_old_config(self):
        cfg = copy.deepcopy(self.gw.config)
        cfg["upstream"]["port"] = self.b.port
        entry = cfg["listeners"]["federation"][0]["tls"]["certificates"][0]
        entry["certificate"] = str(self.tmp / "does-not-exist.crt")
        self.check_invalid_reload_keeps_old(cfg=cfg)

    def test_mismatched_key_keeps_old_config(self):
        other = self.pki.server("mismatch.example.test")
        cfg = copy.deepcopy(self.gw.config)
        cfg["upstream"]["port"] = self.b.port
        entry = cfg["listeners"]["federation"][0]["tls"]["certificates"][0]
        entry["private_key"] = str(other.key)  # key does not belong to the certificate
        self.check_invalid_reload_keeps_old(cfg=cfg)

    def test_invalid_then_valid_reload(self):
        self.check_invalid_reload_keeps_old(text="::: not yaml :::\n")
        cfg = copy.deepcopy(self.gw.config)
        cfg["upstream"]["port"] = self.b.port
        before = self.reload_count("success")
        self.gw.reload(cfg)
        self.wait_reload("success", before)
        self.assertEqual(self.upstream_of_new_request(), "b")

    def test_reload_failure_is_logged(self):
        start = len(self.gw.log_records())
        self.check_invalid_reload_keeps_old(text="version: 1\nbogus: [\n")
        rec = self.gw.wait_for_log(
            lambda r: "reload" in " ".join(str(v) for v in r.values()).lower()
            and r.get("level") in ("error", "warn", "warning"), start=start)
        self.assertIn("level", rec)


if __name__ == "__main__":
    main()
