#!/usr/bin/python3
"""Memory no unauthenticated peer can take (docs/operations.md, "Memory"): connections that declare
the largest body and send nothing cost no memory (nothing is reserved from Content-Length);
bodies are charged to a process-wide budget (limits.max_buffered_bytes) as they arrive, a body
that does not fit is refused 503 at its headers while small requests keep being served; a
Content-Length larger than the claimed origin's policy limit is refused 413 before the body; and
the memory goes back after the spike. Answers held whole to be judged (here the Core's media
answers under the policy's media limit) are charged to the same budget: one that does not fit is
refused 503 while the others are served. Measured from /proc/<pid>/status (VmSize, VmHWM,
VmRSS)."""
import os
import resource
import sys
import time
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.env import ENV  # noqa: E402
from harness.gateway import with_policy  # noqa: E402
from harness import GatewayTestCase, main  # noqa: E402
from harness.metrics import metric_sum  # noqa: E402
from inbound_peer import CORE, TestHomeserver, policy_yaml  # noqa: E402

GOOD = TestHomeserver("good.example")
MiB = 1 << 20
BUDGET = 64 * MiB
MAX_BODY = 12 * MiB  # limits.max_body_bytes


def status(pid: int) -> dict[str, int]:
    """VmSize, VmRSS, VmHWM ... of a process, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                out[key] = int(value.split()[0]) * 1024
    return out


class MemoryBudgetTest(GatewayTestCase):
    SERVER_NAME = CORE

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        path = self.tmp / "policy.yaml"
        path.write_text(policy_yaml() + """settings:
  - id: partners-small-bodies
    federation: partners
    limits: {max_body_bytes: 1MiB}
    media: {allowed: true, max_bytes: 32MiB}
""")
        config = self.make_config(self.up.port, workers=2)
        with_policy(config, path)
        config["keys"] = {"pinned": {GOOD.name: GOOD.pinned()}}
        config["limits"] = {"max_buffered_bytes": BUDGET, "max_body_bytes": MAX_BODY}
        self.gw = self.start_gateway(config)
        self.pid = self.gw.proc.pid

    def head(self, length: int, origin: str | None = None) -> bytes:
        auth = (f'Authorization: X-Matrix origin="{origin}",key="ed25519:k1",sig="AAAA"\r\n'
                if origin else "")
        return (f"PUT /_matrix/federation/v1/send/t{length} HTTP/1.1\r\nHost: {CORE}\r\n"
                f"Content-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n"
                ).encode()

    def settled_buffered_bytes(self) -> float:
        """Buffered bytes once the connections the test ended are closed on the gateway's side
        too (a worker notices a closed socket on its next loop turn)."""
        deadline = time.monotonic() + ENV.timeout(10)
        while True:
            held = metric_sum(self.metrics(self.gw), "bordergate_buffered_bytes")
            if held == 0 or time.monotonic() > deadline:
                return held
            time.sleep(0.05)

    def normal_request_served(self):
        r = self.request(self.gw, "GET", "/_matrix/federation/v1/version")
        self.assertEqual(r.status, 200, r.body)

    def test_declared_lengths_reserve_nothing(self):
        # 1,000 connections here and as many in the gateway, plus what each side holds open.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4096 and (hard == resource.RLIM_INFINITY or hard >= 4096):
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
            self.gw.stop()  # the gateway inherits the raised limit when it starts again
            self.gw.start()
            self.pid = self.gw.proc.pid
        before = status(self.pid)
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        for _ in range(1000):
            c = self.raw(self.gw)
            c.send(self.head(MAX_BODY))
            conns.append(c)
        self.normal_request_served()
        after = status(self.pid)
        print(f"memory: 1000 connections declaring 12 MiB: VmSize "
              f"+{(after['VmSize'] - before['VmSize']) / MiB:.1f} MiB, VmRSS "
              f"+{(after['VmRSS'] - before['VmRSS']) / MiB:.1f} MiB", file=sys.stderr)
        for c in conns:
            c.close()
        if ENV.sanitize:
            return  # ASan's shadow memory and quarantine make these figures meaningless
        # Before: 12 MiB of address space per connection (12 GB here).
        self.assertLess(after["VmSize"] - before["VmSize"], 300 * MiB,
                        (before["VmSize"], after["VmSize"]))
        self.assertLess(after["VmRSS"] - before["VmRSS"], 100 * MiB)

    def test_a_length_over_the_claimed_origins_limit_is_refused_at_the_headers(self):
        c = self.raw(self.gw)
        c.send(self.head(2 * MiB, origin=GOOD.name))  # good.example may send 1 MiB
        r = c.read_response()
        body = self.assertMatrixError(r, 413, "M_TOO_LARGE")
        self.assertIn("this origin", body["error"])
        self.assertEqual(self.up.requests, [])

    def test_real_bodies_stay_within_the_budget_and_memory_goes_back(self):
        baseline = status(self.pid)
        results: list[int] = []
        lock = threading.Lock()
        body = b"x" * MAX_BODY  # the largest body the gateway takes

        def upload():
            c = self.raw(self.gw, timeout=60)
            try:
                c.send(self.head(len(body)))
                try:
                    c.send(body)
                except OSError:
                    pass  # refused at the headers and closed: the rest is not read
                r = c.read_response(timeout=60)
                with lock:
                    results.append(r.status)
            except (ConnectionError, OSError):
                with lock:
                    results.append(0)
            finally:
                c.close()

        threads = [threading.Thread(target=upload) for _ in range(40)]
        for t in threads:
            t.start()
        self.normal_request_served()  # small requests keep being served meanwhile
        for t in threads:
            t.join()
        peak = status(self.pid)
        self.assertEqual(len(results), 40)
        # A body that was read is answered for what it is (not JSON: 400); what did not fit: 503.
        self.assertIn(503, results)
        self.assertTrue(all(s in (400, 503, 0) for s in results), results)
        m = self.metrics(self.gw)
        self.assertGreater(metric_sum(m, "bordergate_buffered_bytes_refused_total",
                                      kind="request_body"), 0)
        self.assertEqual(self.settled_buffered_bytes(), 0)
        self.normal_request_served()
        after = status(self.pid)
        print(f"memory: 40 uploads of {MAX_BODY // MiB} MiB, budget {BUDGET // MiB} MiB: "
              f"{results.count(503)} refused 503; peak RSS "
              f"+{(peak['VmHWM'] - baseline['VmRSS']) / MiB:.1f} MiB over the baseline, "
              f"after +{(after['VmRSS'] - baseline['VmRSS']) / MiB:.1f} MiB", file=sys.stderr)
        if ENV.sanitize:
            return  # ASan keeps freed memory in its quarantine
        # The peak resident memory stays within the budget plus a constant (copies of a body
        # on its way through the pipeline, TLS buffers, 40 connections).
        self.assertLess(peak["VmHWM"] - baseline["VmRSS"], BUDGET + 96 * MiB,
                        (baseline["VmRSS"], peak["VmHWM"]))
        self.assertLess(after["VmRSS"] - baseline["VmRSS"], 48 * MiB,
                        (baseline["VmRSS"], after["VmRSS"]))

    def test_held_answers_are_charged_to_the_budget(self):
        """Eight media downloads at once whose 20 MiB answers the Core sends in full: the gateway
        holds each whole to judge it, so at most three fit the 64 MiB budget at a time; the ones
        that do not fit are refused 503 with Retry-After, the rest pass, small requests are
        served throughout, and nothing stays charged."""
        baseline = status(self.pid)
        results: list = []
        lock = threading.Lock()

        def download(i):
            uri = f"/_matrix/federation/v1/media/download/m{i}"
            _, headers = GOOD.signed_request("GET", uri)
            headers.append(("X-Test-Response-Media-Bytes", str(20 * MiB)))
            try:
                r = self.request(self.gw, "GET", uri, None, headers, timeout=120)
                with lock:
                    results.append((r.status, r.header("Retry-After"), len(r.body),
                                    r.body[:200]))
            except OSError as e:
                with lock:
                    results.append((0, None, 0, str(e).encode()))

        threads = [threading.Thread(target=download, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        self.normal_request_served()
        for t in threads:
            t.join()
        peak = status(self.pid)
        statuses = sorted(r[0] for r in results)
        self.assertEqual(set(statuses) - {200, 503}, set(), results)
        self.assertIn(200, statuses)
        self.assertIn(503, statuses)
        for s, retry_after, size, head in results:
            if s == 503:
                self.assertIn(b"M_UNAVAILABLE", head)
                self.assertEqual(retry_after, "5")
            else:
                self.assertGreater(size, 20 * MiB)
        m = self.metrics(self.gw)
        self.assertGreater(metric_sum(m, "bordergate_buffered_bytes_refused_total", kind="answer"),
                           0)
        self.assertEqual(self.settled_buffered_bytes(), 0)
        print(f"memory: 8 held media answers of 20 MiB, budget {BUDGET // MiB} MiB: "
              f"{statuses.count(503)} refused 503, {statuses.count(200)} served; peak RSS "
              f"+{(peak['VmHWM'] - baseline['VmRSS']) / MiB:.1f} MiB", file=sys.stderr)
        if ENV.sanitize:
            return  # ASan keeps freed memory in its quarantine
        # Held answers are written out as the client reads, never copied whole into the
        # socket's queue: the budget plus a constant (the answers' pieces on their way in from
        # the Core, at most 1 MiB queued per client connection).
        self.assertLess(peak["VmHWM"] - baseline["VmRSS"], BUDGET + 48 * MiB,
                        (baseline["VmRSS"], peak["VmHWM"]))


if __name__ == "__main__":
    main()
