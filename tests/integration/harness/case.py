"""GatewayTestCase: the unittest base class of the integration tests.

Per class it makes a temp dir and a test PKI (a CA plus a certificate for
SERVER_NAME); per test a temp dir and helpers that start upstreams and
gateways which are torn down after the test. Stopping a gateway is checked:
a crash, a non-zero exit or a sanitizer report fails the test.
Set BG_KEEP_TMP=1 to keep the temp dirs (configs, logs) for inspection."""
import copy
import os
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

from harness.clients import HttpsClient, RawConnection, curl, https_request, s_client
from harness.env import ENV
from harness.gateway import Gateway, GatewayFailed, base_config
from harness.ports import free_port
from harness.metrics import parse_metrics
from harness.pki import TestPKI
from harness.upstream import EchoUpstream


class GatewayTestCase(unittest.TestCase):
    SERVER_NAME = "core.bordergate.test"
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.class_dir = Path(tempfile.mkdtemp(prefix=f"bg-{cls.__name__}-"))
        cls.pki = TestPKI(cls.class_dir / "pki")
        cls.cert = cls.pki.server(cls.SERVER_NAME)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("BG_KEEP_TMP"):
            shutil.rmtree(cls.class_dir, ignore_errors=True)
        else:
            print(f"kept {cls.class_dir}", file=sys.stderr)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix=self._testMethodName[:40] + "-", dir=self.class_dir))

    # ---- peers -------------------------------------------------------------
    def wait_for(self, what: str, predicate, timeout: float = 20):
        """Polls predicate until it returns something true (returned), failing the test with
        `what` after `timeout` seconds (scaled for sanitizer builds)."""
        deadline = time.monotonic() + ENV.timeout(timeout)
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")

    def start_upstream(self, name: str = "upstream", **kwargs) -> EchoUpstream:
        up = EchoUpstream(name, **kwargs).start()
        self.addCleanup(up.stop)
        return up

    def make_config(self, upstream_port: int, certificates=None, workers: int = 1) -> dict:
        certs = certificates if certificates is not None else [([self.SERVER_NAME], self.cert)]
        return base_config(self.tmp / "state", certs, upstream_port, workers=workers)

    def start_gateway(self, config: dict, wait: bool | str = True, name: str = "gateway",
                      env: dict | None = None) -> Gateway:
        # A free port can be taken by another process (ctest runs tests in
        # parallel) between free_port() and the gateway's bind: then the
        # gateway logs listen_failed and exits, and we retry on new ports.
        for attempt in range(3):
            gw = Gateway(self.tmp, config, name=name, env=env)
            try:
                gw.start(wait=wait)
            except GatewayFailed:
                gw.kill()
                lost_race = any(r.get("event") == "listen_failed" for r in gw.log_records())
                if not lost_race or attempt == 2:
                    raise
                config = copy.deepcopy(config)
                for listener in config["listeners"]["federation"]:
                    listener["port"] = free_port()
                config["listeners"]["admin"]["port"] = free_port()
                continue
            self.addCleanup(self._finish_gateway, gw)
            return gw
        raise AssertionError("unreachable")

    def gateway_for(self, upstream: EchoUpstream, configure=None, workers: int = 1) -> Gateway:
        """The common case: one gateway with the class certificate in front of `upstream`.
        `configure(config)` may edit the config dict before start."""
        config = self.make_config(upstream.port, workers=workers)
        if configure is not None:
            configure(config)
        return self.start_gateway(config)

    @staticmethod
    def _finish_gateway(gw: Gateway):
        if gw.proc is None:
            return
        if gw.proc.poll() is not None:
            gw._join_reader()
            gw.check_clean_exit(gw.proc.returncode)
            return
        gw.stop()

    # ---- clients -----------------------------------------------------------
    def curl(self, gw: Gateway, path: str, *args: str, server_name: str | None = None, **kw):
        return curl(gw.port, path, server_name or self.SERVER_NAME, self.pki.ca.cert, *args,
                    workdir=self.tmp, **kw)

    def request(self, gw: Gateway, method: str, path: str, body: bytes | None = None,
                headers=None, server_name: str | None = None, timeout: float = 30.0):
        return https_request(gw.port, server_name or self.SERVER_NAME, self.pki.ca.cert,
                             method, path, body, headers, timeout)

    def client(self, gw: Gateway, server_name: str | None = None) -> HttpsClient:
        c = HttpsClient(gw.port, server_name or self.SERVER_NAME, self.pki.ca.cert)
        self.addCleanup(c.close)
        return c

    def raw(self, gw: Gateway, server_name: str | None = None, tls: bool = True,
            timeout: float = 10.0) -> RawConnection:
        c = RawConnection(gw.port, server_name or self.SERVER_NAME, self.pki.ca.cert, tls, timeout)
        self.addCleanup(c.close)
        return c

    def s_client(self, gw: Gateway, server_name: str | None, *args: str):
        return s_client(gw.port, server_name, self.pki.ca.cert, *args)

    def metrics(self, gw: Gateway) -> dict:
        return parse_metrics(gw.metrics_text())

    def metrics_when(self, gw: Gateway, condition, timeout: float = 10.0) -> dict:
        """Metrics once condition(metrics) holds. The gateway records a request
        after its response is written, so a client can be a moment ahead of
        /metrics: poll instead of reading once. Returns the last metrics read
        either way; the caller asserts on them."""
        deadline = time.monotonic() + ENV.timeout(timeout)
        while True:
            m = self.metrics(gw)
            if condition(m) or time.monotonic() > deadline:
                return m
            time.sleep(0.02)

    # ---- assertions --------------------------------------------------------
    def assertMatrixError(self, resp, status: int, errcode: str | None = None):
        """resp is an HttpResponse or CurlResult: status, JSON content type, Matrix body."""
        self.assertEqual(resp.status, status, f"body: {resp.body[:300]!r}")
        ctype = resp.header("Content-Type") or ""
        self.assertTrue(ctype.startswith("application/json"), f"Content-Type {ctype!r}")
        body = resp.json()
        self.assertIsInstance(body.get("errcode"), str, body)
        self.assertTrue(body["errcode"].startswith("M_"), body)
        self.assertIsInstance(body.get("error"), str, body)
        if errcode is not None:
            self.assertEqual(body["errcode"], errcode, body)
        return body

    def assertStoredVerdict(self, resp, gw: Gateway, txn_id: str, reason: str,
                            rule: str | None = None, pdus: int | None = None,
                            decision: str = "deny"):
        """A content verdict on /send (docs/inbound.md): answered 200 with an error for every
        PDU, so the sender's queue moves on; the request log line names the decision, the rule,
        the reason and the quarantine entry the transaction was stored as. Returns the line."""
        self.assertEqual(resp.status, 200, f"body: {resp.body[:300]!r}")
        answer = resp.json()
        self.assertEqual(set(answer), {"pdus"}, answer)
        if pdus is not None:
            self.assertEqual(len(answer["pdus"]), pdus, answer)
        verb = "Refused" if decision == "deny" else "Held back"
        for result in answer["pdus"].values():
            self.assertEqual(set(result), {"error"}, answer)
            self.assertTrue(result["error"].startswith(verb), answer)
        line = gw.wait_for_log(lambda rec: rec.get("event") == "request"
                               and rec.get("path", "").endswith("/send/" + txn_id))
        self.assertEqual((line["decision"], line["reason"]), (decision, reason), line)
        if rule is not None:
            self.assertEqual(line["rule"], rule, line)
        self.assertTrue(line["quarantine_id"].startswith("q-"), line)
        return line


def main():
    """Entry point of every test file: unittest with a verbose summary."""
    if not ENV.bordergate.exists():
        print(f"bordergate binary not found at {ENV.bordergate}; set BORDERGATE", file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)
