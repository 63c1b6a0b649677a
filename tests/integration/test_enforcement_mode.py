#!/usr/bin/python3
"""Deny by default at the process level: a configuration without `policy:` is refused (serve and
check-config) with a message naming the explicit switch; `inbound_enforcement: pass_through` runs
a plain proxy, loudly: a warning at start and on every reload, a gauge, and the mode in /healthz
and /readyz. The mode only changes on restart."""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml  # noqa: E402

from harness import Gateway, GatewayTestCase, main, metric_sum  # noqa: E402
from harness.gateway import run_cli, with_policy  # noqa: E402
from inbound_peer import CORE, policy_yaml  # noqa: E402

GAUGE = "bordergate_inbound_enforcement_pass_through"
NO_POLICY = "no 'policy' configured"


class EnforcementModeTest(GatewayTestCase):
    SERVER_NAME = CORE

    def without_mode(self) -> dict:
        config = self.make_config(self.up.port)
        del config["inbound_enforcement"]
        return config

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()

    def pass_through_records(self, gw) -> list[dict]:
        return [r for r in gw.log_records() if r.get("event") == "inbound_enforcement_pass_through"]

    def test_no_policy_is_a_configuration_error(self):
        config = self.without_mode()
        path = self.tmp / "nopolicy.yaml"
        path.write_text(yaml.safe_dump(config))
        r = run_cli("check-config", str(path))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(NO_POLICY, r.stderr)
        self.assertIn("inbound_enforcement: pass_through", r.stderr)

        gw = Gateway(self.tmp, config, name="nopolicy")
        gw.start(wait=False)
        self.assertNotEqual(gw.wait_exit(), 0)
        self.assertIn(NO_POLICY, gw.stderr())
        self.assertEqual(self.up.requests, [])

    def test_pass_through_is_loud(self):
        gw = self.start_gateway(self.make_config(self.up.port))
        started = self.pass_through_records(gw)
        self.assertEqual([r.get("when") for r in started], ["start"])
        self.assertEqual(started[0].get("level"), "warn", started[0])
        self.assertEqual(metric_sum(self.metrics(gw), GAUGE), 1)
        for path in ("/healthz", "/readyz"):
            status, _, body = gw.admin(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(json.loads(body)["inbound_enforcement"], "pass_through", path)
        # Forwarded unchecked: no X-Matrix, no policy.
        self.assertEqual(self.request(gw, "GET", "/_matrix/federation/v1/query/profile").status,
                         200)
        self.assertEqual(len(self.up.requests), 1)

        gw.reload(copy.deepcopy(gw.config))
        gw.wait_for_log(lambda r: r.get("event") == "config_reloaded")
        self.assertEqual([r.get("when") for r in self.pass_through_records(gw)],
                         ["start", "reload"])

        r = run_cli("check-config", str(gw.config_path))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("pass_through", r.stderr)  # warned there too

    def test_enforcing_gateway_reports_policy_and_keeps_it_on_reload(self):
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml())
        gw = self.start_gateway(with_policy(self.make_config(self.up.port), path))
        self.assertEqual(self.pass_through_records(gw), [])
        self.assertEqual(metric_sum(self.metrics(gw), GAUGE), 0)
        self.assertEqual(json.loads(gw.admin("/healthz")[2])["inbound_enforcement"], "policy")
        self.assertEqual(json.loads(gw.admin("/readyz")[2])["inbound_enforcement"], "policy")

        # Switching to pass-through needs a restart: the reload is refused, enforcement stays.
        config = copy.deepcopy(gw.config)
        del config["policy"]
        config["inbound_enforcement"] = "pass_through"
        gw.reload(config)
        failed = gw.wait_for_log(lambda r: r.get("event") == "config_reload_failed")
        self.assertIn("only changes on restart", failed.get("error", ""))
        r = self.request(gw, "GET", "/_matrix/federation/v1/query/profile")
        self.assertMatrixError(r, 401, "M_UNAUTHORIZED")
        self.assertEqual(self.up.requests, [])
        self.assertEqual(metric_sum(self.metrics(gw), GAUGE), 0)


if __name__ == "__main__":
    main()
