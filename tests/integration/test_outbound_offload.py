#!/usr/bin/python3
"""Large answers are checked off the worker loop: while a peer's /state answer with thousands of
signed member events is being verified (about a second of CPU in release), another request on
the same (single) worker goes through the gateway and completes. Checked by order, not timing:
the small request is started only once the peer has written the whole large answer, and must
finish before the first byte of the large answer reaches the Core (a check on the loop answers
the large request first, then serves the small one); the large answer then passes its checks."""
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from harness.env import ENV  # noqa: E402
from outbound_rig import CORE, Z, OutboundRig  # noqa: E402

MEMBERS = 6000


class FirstByteSocket:
    """A TLS socket that says when the first response byte arrived."""

    def __init__(self, sock, arrived: threading.Event):
        self.sock = sock
        self.arrived = arrived

    def sendall(self, data):
        self.sock.sendall(data)

    def recv(self, n):
        data = self.sock.recv(n)
        if data:
            self.arrived.set()
        return data


class OffLoopCheckTest(OutboundRig):
    def test_large_answer_check_does_not_block_the_worker(self):
        gw = self.start_gateway(self.gateway_config(max_response_bytes=64 * 1024 * 1024))
        room = f"!big:{CORE}"
        peer = self.target("peer")
        members = [self.peer_hs.event(event_type="m.room.member", state_key=f"@u{i}:{peer}",
                                      sender=f"@u{i}:{peer}", content={"membership": "join"},
                                      room_id=room, ts=1700000000000 + i)
                   for i in range(MEMBERS)]
        big = json.dumps({"pdus": members, "auth_chain": []}).encode()
        written = threading.Event()
        self.peers["peer"].answer = (200, big)
        self.peers["peer"].after_answer = written.set
        self.peers["other"].answer = (200, b'{"server": {"name": "other"}}')

        big_result = {}
        big_arrived = threading.Event()

        def ask_big():
            tunnel = self.core.tls(self.core.connect(peer), f"peer.{Z}")
            tunnel.settimeout(ENV.timeout(60))
            big_result["answer"] = self.core.request(
                FirstByteSocket(tunnel, big_arrived), "GET", f"/_matrix/federation/v1/state/{room}?event_id=%24x", peer)
            tunnel.close()

        big_thread = threading.Thread(target=ask_big, daemon=True)
        big_thread.start()
        self.assertTrue(written.wait(ENV.timeout(60)), "the peer never answered")
        other = self.target("other")
        tunnel = self.core.tls(self.core.connect(other), f"other.{Z}")
        status, _, body = self.core.request(tunnel, "GET", "/_matrix/federation/v1/version", other)
        tunnel.close()
        self.assertEqual(status, 200, body)
        self.assertFalse(big_arrived.is_set(),
                         "the large answer was sent before the small request was served: its "
                         "check held the worker loop")
        big_thread.join(ENV.timeout(120))
        self.assertFalse(big_thread.is_alive())
        status, _, body = big_result["answer"]
        self.assertEqual(status, 200, body[:200])
        self.assertEqual(len(json.loads(body)["pdus"]), MEMBERS)
        records = [r for r in self.audit_records(gw) if r.get("endpoint") == "state"]
        self.assertEqual([(r["action"], r.get("status")) for r in records], [("forward", 200)])


if __name__ == "__main__":
    main()
