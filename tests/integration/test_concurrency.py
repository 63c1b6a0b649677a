#!/usr/bin/python3
"""Several workers and many concurrent keep-alive clients: every request is
answered with its own echo (no cross-talk between connections or pooled
upstream connections), and the upstream pool stays bounded."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GatewayTestCase, main, metric_sum  # noqa: E402
from harness.clients import HttpsClient  # noqa: E402

CLIENTS = 16
REQUESTS = 8


class ConcurrencyTest(GatewayTestCase):
    def test_concurrent_clients_on_two_workers(self):
        up = self.start_upstream()
        gw = self.gateway_for(up, workers=2,
                              configure=lambda c: c["upstream"].update(max_idle_connections=CLIENTS))
        errors: list[str] = []

        def client(n: int):
            try:
                with HttpsClient(gw.port, self.SERVER_NAME, self.pki.ca.cert) as c:
                    for i in range(REQUESTS):
                        uri = f"/_matrix/federation/v1/send/c{n}-r{i}?x=%2F{n}"
                        body = f'{{"client":{n},"request":{i}}}'.encode()
                        r = c.request("PUT", uri, body=body, headers=[("X-Test-Delay", "0.01")])
                        echo = r.json()
                        if r.status != 200 or echo["uri"] != uri or echo["body"] != body.decode():
                            errors.append(f"client {n} request {i}: {r.status} {echo.get('uri')}")
            except Exception as e:  # collected and asserted in the test thread
                errors.append(f"client {n}: {e!r}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(up.requests), CLIENTS * REQUESTS)
        # With room for every connection in each worker's idle pool, nothing is
        # closed: at most one upstream connection per concurrent exchange per worker.
        self.assertLessEqual(up.connections, CLIENTS * 2)
        m = self.metrics_when(gw, lambda m: metric_sum(m, "bordergate_requests_total") >= CLIENTS * REQUESTS)
        self.assertEqual(metric_sum(m, "bordergate_requests_total", code="200"), CLIENTS * REQUESTS)

    def test_pool_connections_reused_after_burst(self):
        up = self.start_upstream()
        gw = self.gateway_for(up, configure=lambda c: c["upstream"].update(max_idle_connections=4))
        for round_ in range(2):
            threads = [threading.Thread(target=lambda: self.request(gw, "GET", "/_matrix/federation/v1/version"))
                       for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(len(up.requests), 16)
        self.assertLess(up.connections, 16, "no upstream connection was reused")


if __name__ == "__main__":
    main()
