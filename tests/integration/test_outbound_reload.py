#!/usr/bin/python3
"""SIGHUP reloads the `outbound:` section (docs/operations.md): the proxy credentials file and
the egress allow list are read again and apply to connections accepted after the reload, while
a tunnel opened before it keeps working to its end; a reload whose outbound part is invalid (a
credentials file that is gone) fails whole and the running settings stay; moving a listener is
refused until a restart."""
import copy
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from harness.env import ENV  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from harness.ports import free_port  # noqa: E402
from outbound_core import ProxyRefused  # noqa: E402
from outbound_rig import Z, OutboundRig  # noqa: E402

RELOADS = "bordergate_config_reloads_total"
NEW = ("synapse", "rotated:pw2")


class OutboundReloadTest(OutboundRig):
    PEERS = ("peer", "push")

    def reload(self, config: dict, result: str):
        before = metric_sum(self.metrics(self.gw), RELOADS, result=result)
        self.gw.reload(config)
        deadline = time.monotonic() + ENV.timeout(10)
        while metric_sum(self.metrics(self.gw), RELOADS, result=result) <= before:
            self.assertLess(time.monotonic(), deadline, self.gw.stderr_tail())
            time.sleep(0.05)

    def refused(self, target: str, credentials=None) -> int:
        with self.assertRaises(ProxyRefused) as r:
            self.core.connect(target, credentials=credentials).close()
        return r.exception.status

    def send(self, tunnel, txn_id: str) -> int:
        target = self.target("peer")
        txn = {"origin": self.core.name, "origin_server_ts": 1, "pdus": [], "edus": []}
        status, _, _ = self.core.request(tunnel, "PUT", f"/_matrix/federation/v1/send/{txn_id}",
                                         target, body=txn)
        return status

    def test_credentials_and_egress_reload_for_new_connections(self):
        config = self.gateway_config()
        self.gw = self.start_gateway(config)
        push = self.target("push")
        self.assertEqual(self.refused(push), 403)  # not on the (empty) egress list
        # A tunnel opened before the reload, with the credentials of then.
        before = self.core.tls(self.core.connect(self.target("peer")), f"peer.{Z}")
        self.assertEqual(self.send(before, "t1"), 200)

        (self.tmp / "outbound.credentials").write_text(f"{NEW[0]}:{NEW[1]}\n")
        (self.tmp / "outbound.credentials").chmod(0o600)
        changed = copy.deepcopy(self.gw.config)
        changed["outbound"]["egress"] = [
            {"host": f"push.{Z}", "mode": "tunnel", "ports": [self.peers["push"].port]}]
        self.reload(changed, "success")

        self.assertEqual(self.send(before, "t2"), 200)  # the open tunnel keeps its settings
        before.close()
        self.assertEqual(self.refused(push), 407)  # the old credentials are gone
        self.core.connect(push, credentials=NEW).close()  # on the egress list now
        tunnel = self.core.tls(self.core.connect(self.target("peer"), credentials=NEW),
                               f"peer.{Z}")
        self.assertEqual(self.send(tunnel, "t3"), 200)
        tunnel.close()

        # An invalid outbound part fails the whole reload: the settings in force stay.
        broken = copy.deepcopy(changed)
        broken["outbound"]["credentials_file"] = str(self.tmp / "missing.credentials")
        self.reload(broken, "failure")
        self.core.connect(push, credentials=NEW).close()
        # Listener addresses are bound to their sockets: moving one takes a restart.
        moved = copy.deepcopy(changed)
        moved["outbound"]["listen"]["port"] = free_port()
        self.reload(moved, "failure")
        self.core.connect(push, credentials=NEW).close()
        # (The log reader may be a moment behind the reload metric: wait for the lines.)
        for words in ("missing.credentials", "only change on restart"):
            self.gw.wait_for_log(lambda r, w=words: r.get("event") == "config_reload_failed"
                                 and w in str(r.get("error")))

        sends = [r for r in self.audit_records() if r.get("endpoint") == "send"]
        self.assertEqual([(r["txn_id"], r["action"]) for r in sends],
                         [("t1", "forward"), ("t2", "forward"), ("t3", "forward")])


if __name__ == "__main__":
    main()
