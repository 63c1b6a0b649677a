#!/usr/bin/python3
"""Every dial of the outbound path is bounded by `outbound.connect_timeout` (docs/outbound.md):
a destination whose accept queue is full (listen backlog 0, filled by a connection that is never
accepted) drops the gateway's SYNs, so its connect hangs. A forwarded federation request then
gets 502 after the configured timeout (the log names it), and a spliced egress tunnel is closed
as `destination_unreachable` — not by the much longer head_timeout (`tunnel_timeout`). The
timeouts are chosen so that the outcome, not the time taken, tells which deadline fired."""
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from harness.env import ENV  # noqa: E402
from outbound_rig import Z, OutboundRig  # noqa: E402


class StalledListener:
    """A loopback listener that never accepts, with its one-slot accept queue taken: a further
    connect to it hangs (its SYNs are dropped) instead of being refused."""

    def __init__(self, host: str):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(0)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(2):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, self.port))
            self.fillers.append(s)

    def hangs(self) -> bool:
        """The precondition of the test: a connect does not complete within a second."""
        probe = socket.socket()
        probe.settimeout(1.0)
        try:
            probe.connect((self.host, self.port))
            return False
        except (TimeoutError, socket.timeout):
            return True
        finally:
            probe.close()

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


class OutboundConnectTimeoutTest(OutboundRig):
    def stalled(self, name: str) -> StalledListener:
        listener = StalledListener(self.ip[name])
        self.addCleanup(listener.close)
        self.assertTrue(listener.hangs(), "the kernel accepted a connect beyond the backlog")
        return listener

    def test_forwarded_request_gets_502_after_the_connect_timeout(self):
        stalled = self.stalled("other")
        # head_timeout far above the connect timeout; the HTTPS client's own default is 5 s, the
        # log tells which one ran.
        self.gw = self.start_gateway(self.gateway_config(connect_timeout="1s",
                                                         head_timeout="120s"))
        destination = f"other.{Z}:{stalled.port}"
        tunnel = self.core.tls(self.core.connect(destination), f"other.{Z}")
        tunnel.settimeout(ENV.timeout(60))
        status, headers, body = self.core.request(
            tunnel, "GET", "/_matrix/federation/v1/version", destination)
        self.assertEqual(status, 502, body)
        tunnel.close()
        failed = self.gw.wait_for_log(lambda r: r.get("event") == "outbound_forward_failed")
        self.assertEqual(failed.get("error"), "connect_failed", failed)
        self.assertIn("within 1000 ms", failed.get("detail", ""), failed)
        requests = [r for r in self.audit_records(self.gw)
                    if r.get("type") == "decision" and r.get("endpoint") == "version"]
        self.assertEqual([(r["destination"], r.get("status")) for r in requests],
                         [(destination, 502)])

    def test_spliced_egress_tunnel_closes_after_the_connect_timeout(self):
        stalled = self.stalled("push")
        self.gw = self.start_gateway(self.gateway_config(
            connect_timeout="1s", head_timeout="120s",
            egress=[{"host": f"push.{Z}", "mode": "tunnel", "ports": [stalled.port]}]))
        sock = self.core.connect(f"push.{Z}:{stalled.port}")
        sock.settimeout(ENV.timeout(60))
        # The ClientHello passes the gate; the gateway then dials the stalled destination and,
        # after the connect timeout, closes the tunnel (the handshake never gets a ServerHello).
        context = ssl.create_default_context()
        with self.assertRaises((ssl.SSLError, ConnectionError)) as failed:
            context.wrap_socket(sock, server_hostname=f"push.{Z}")
        self.assertNotIsInstance(failed.exception, TimeoutError)
        sock.close()
        records = [(r["server_name"], r["action"], r["reason"])
                   for r in self.audit_records(self.gw)
                   if r.get("type") == "decision" and r.get("endpoint") == "tunnel"]
        self.assertIn((f"push.{Z}:{stalled.port}", "deny", "destination_unreachable"), records)
        self.assertNotIn("tunnel_timeout", [r[2] for r in records])


if __name__ == "__main__":
    main()
