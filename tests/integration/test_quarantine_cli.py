#!/usr/bin/python3
"""`bordergate quarantine list|show|release|drop` and `bordergate audit verify`
through the real binary. A store is seeded with signed /send transactions by
the test-only tool quarantine_seed (the quarantine library, as the gateway
uses it); release goes to a Python Core on loopback (plain and TLS with a
client certificate), which must receive the stored request byte for byte with
a signature that still verifies. Both actions land in the audit chain, which
verifies, and a tampered copy does not."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ENV, EchoUpstream, GatewayTestCase, TestPKI, base_config,  # noqa: E402
                     free_port, main)

import yaml  # noqa: E402
from canonicaljson import encode_canonical_json  # noqa: E402
from signedjson.key import generate_signing_key, get_verify_key  # noqa: E402
from signedjson.sign import sign_json, verify_signed_json  # noqa: E402

ORIGIN = "remote.example"
DESTINATION = "core.bordergate.test"
SEED = str((ENV.build_dir or ENV.source_dir / "build" / "release") /
           "tests/unit/quarantine/quarantine_seed")
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
       "upgrade", "content-length", "expect", "x-forwarded-for", "x-forwarded-proto", "forwarded"}


def signed_send(key, txn: str, extra_headers=()) -> tuple[bytes, dict]:
    """A /send transaction as a remote server sends it, signed with X-Matrix."""
    uri = f"/_matrix/federation/v1/send/{txn}"
    content = {"origin": ORIGIN, "origin_server_ts": 1700000000000,
               "pdus": [{"type": "m.room.message", "content": {"body": "h\u00e9llo \u2603"}}],
               "edus": []}
    body = encode_canonical_json(content)
    signed = sign_json({"method": "PUT", "uri": uri, "origin": ORIGIN,
                        "destination": DESTINATION, "content": content}, ORIGIN, key)
    sig = signed["signatures"][ORIGIN][f"ed25519:{key.version}"]
    auth = (f'X-Matrix origin="{ORIGIN}",destination="{DESTINATION}",'
            f'key="ed25519:{key.version}",sig="{sig}"')
    headers = [("Host", DESTINATION), ("Authorization", auth),
               ("Content-Type", "application/json"), ("X-Forwarded-For", "6.6.6.6"),
               *extra_headers, ("Content-Length", str(len(body)))]
    head = f"PUT {uri} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + body, {"uri": uri, "headers": headers, "body": body, "sig": sig}


def expected_forward_head(req: dict, remote_addr: str) -> bytes:
    """What the proxy's header rules make of a stored request (headers.h)."""
    lines = [f"PUT {req['uri']} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in req["headers"] if k.lower() not in HOP]
    lines += [f"X-Forwarded-For: {remote_addr}", "X-Forwarded-Proto: https",
              f"Content-Length: {len(req['body'])}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class QuarantineCliTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(SEED, os.X_OK):
            raise unittest.SkipTest(f"{SEED} not built")
        cls.key = generate_signing_key("k1")

    def setUp(self):
        super().setUp()
        self.state = self.tmp / "state"
        self.state.mkdir(parents=True, exist_ok=True)

    # ---- helpers -----------------------------------------------------------
    def write_config(self, upstream_port: int, tls: dict | None = None,
                     discovery: dict | None = None) -> str:
        cfg = base_config(self.state, [([self.SERVER_NAME], self.cert)], upstream_port)
        if discovery:
            cfg["discovery"] = discovery
        cfg["quarantine"] = {"path": "q/quarantine.db"}
        cfg["audit"] = {"path": "audit.log", "fsync": "always"}
        if tls:
            cfg["upstream"]["tls"] = tls
        (self.state / "q").mkdir(exist_ok=True)
        path = self.tmp / "bordergate.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return str(path)

    def seed(self, txn: str, extra_headers=(), remote="192.0.2.10",
             outbound_to: str | None = None) -> tuple[str, dict]:
        raw, req = signed_send(self.key, txn, extra_headers)
        f = self.tmp / f"{txn}.http"
        f.write_bytes(raw)
        extra = ["outbound", outbound_to] if outbound_to else []
        out = subprocess.run([SEED, str(self.state / "q/quarantine.db"), ORIGIN, txn, remote,
                              str(f), *extra], capture_output=True, timeout=ENV.timeout(30))
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.decode().strip(), req

    def cli(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        out = subprocess.run([str(ENV.bordergate), *args], capture_output=True, timeout=ENV.timeout(60))
        if expect is not None:
            self.assertEqual(out.returncode, expect,
                             f"{args}: {out.stdout.decode()} {out.stderr.decode()}")
        return out

    def show(self, config: str, qid: str) -> str:
        return self.cli("quarantine", "--config", config, "show", qid).stdout.decode()

    def audit_lines(self) -> list[dict]:
        return [json.loads(l) for l in (self.state / "audit.log").read_text().splitlines()]

    # ---- tests -------------------------------------------------------------
    def test_list_show_release_drop_and_audit(self):
        with EchoUpstream("core") as core:
            config = self.write_config(core.port)
            qid, req = self.seed("txn-1", extra_headers=[("X-Custom", "Keep  Me ")])
            qid2, _ = self.seed("txn-2")

            listing = self.cli("quarantine", "--config", config, "list").stdout.decode()
            self.assertIn(qid, listing)
            self.assertIn(qid2, listing)
            self.assertEqual(listing.count(" held "), 2, listing)
            self.assertIn("content.test-rule", listing)
            only = self.cli("quarantine", "--config", config, "list", "--origin", "nobody.example")
            self.assertNotIn(qid, only.stdout.decode())

            shown = self.show(config, qid)
            self.assertIn("status:      held", shown)
            self.assertIn("txn_id:      txn-1", shown)
            self.assertIn("sig=<redacted>", shown)
            self.assertNotIn(req["sig"], shown)             # signatures never shown
            self.assertNotIn("h\\xc3\\xa9llo", shown)      # nor the body, unless asked
            body = self.cli("quarantine", "--config", config, "show", qid, "--body").stdout
            self.assertEqual(body, req["body"])

            # Release: the Core gets the stored request exactly as the proxy
            # would have forwarded it, and the signature still verifies.
            out = self.cli("quarantine", "--config", config, "release", qid).stdout.decode()
            self.assertIn("core answered 200", out)
            got = core.wait_for_requests(1)[0]
            self.assertEqual(got.head, expected_forward_head(req, "192.0.2.10"))
            self.assertEqual(got.body, req["body"])
            auth = got.header("Authorization")
            sig = auth.split('sig="')[1].split('"')[0]
            content = json.loads(got.body)
            signed = {"method": got.method, "uri": got.uri, "origin": ORIGIN,
                      "destination": DESTINATION, "content": content,
                      "signatures": {ORIGIN: {"ed25519:k1": sig}}}
            verify_signed_json(signed, ORIGIN, get_verify_key(self.key))  # raises if not
            self.assertIn("status:      released (core answered 200", self.show(config, qid))

            again = self.cli("quarantine", "--config", config, "release", qid, expect=1)
            self.assertIn("already released", again.stderr.decode())
            self.assertEqual(len(core.requests), 1)

            # Drop the other one; it can no longer be released.
            out = self.cli("quarantine", "--config", config, "drop", qid2, "--reason", "spam")
            self.assertIn("dropped by", out.stdout.decode())
            self.cli("quarantine", "--config", config, "release", qid2, expect=1)
            self.assertEqual(len(core.requests), 1)
            held = self.cli("quarantine", "--config", config, "list", "--status", "held")
            self.assertNotIn("q-", held.stdout.decode())

        records = self.audit_lines()
        types = [r.get("type") for r in records]
        self.assertEqual(types, ["chain_start", "quarantine_release", "writer_opened",
                                 "quarantine_drop"])
        release = records[1]
        self.assertEqual((release["action"], release["status"], release["quarantine_id"],
                          release["origin"], release["txn_id"], release["rule_id"]),
                         ("release", 200, qid, ORIGIN, "txn-1", "content.test-rule"))
        self.assertEqual(records[3]["action"], "drop")
        self.assertIn("spam", records[3]["note"])
        text = (self.state / "audit.log").read_text()
        self.assertNotIn(req["sig"], text)
        self.assertNotIn("llo", text)  # no body bytes in the audit log

        # audit verify: intact, then a tampered copy.
        log = str(self.state / "audit.log")
        ok = self.cli("audit", "verify", log).stdout.decode()
        self.assertTrue(ok.startswith("OK: 4 records, seq 0..3"), ok)
        report = json.loads(self.cli("audit", "verify", "--json", log).stdout)
        self.assertTrue(report["intact"])
        self.assertEqual(report["last_seq"], 3)
        tampered = self.tmp / "tampered.log"
        shutil.copy(log, tampered)
        tampered.write_text(tampered.read_text().replace('"action":"drop"', '"action":"keep"'))
        # The drop is the last record: only the recorded head reveals the edit.
        self.cli("audit", "verify", str(tampered))
        bad = self.cli("audit", "verify", "--expect-head", report["head"], str(tampered), expect=1)
        self.assertIn("head_mismatch", bad.stdout.decode())
        lines = (self.state / "audit.log").read_text().splitlines(keepends=True)
        lines[1] = lines[1].replace('"status":200', '"status":403')
        tampered.write_text("".join(lines))
        bad = self.cli("audit", "verify", str(tampered), expect=1).stdout.decode()
        self.assertIn(f"BROKEN: {tampered}:3: seq 2: prev_mismatch", bad)
        bad = json.loads(self.cli("audit", "verify", "--json", str(tampered), expect=1).stdout)
        self.assertEqual((bad["intact"], bad["line"], bad["seq"], bad["problem"]),
                         (False, 3, 2, "prev_mismatch"))
        del lines[2]
        tampered.write_text("".join(lines))
        bad = self.cli("audit", "verify", str(tampered), expect=1).stdout.decode()
        self.assertIn(":3: seq 3: seq_mismatch", bad)

    def test_failed_release_keeps_the_request_held(self):
        with EchoUpstream("core") as core:
            config = self.write_config(core.port)
            # The test Core answers 500 when the request carries X-Test-Status.
            qid, _ = self.seed("txn-500", extra_headers=[("X-Test-Status", "500")])
            out = self.cli("quarantine", "--config", config, "release", qid, expect=1)
            self.assertIn("core answered 500", out.stdout.decode())
            self.assertEqual(len(core.wait_for_requests(1)), 1)
            shown = self.show(config, qid)
            self.assertIn("status:      held", shown)
            self.assertIn("core_status: 500", shown)
        # Core down: nothing delivered, still held, and the attempt is audited.
        config = self.write_config(free_port())
        out = self.cli("quarantine", "--config", config, "release", qid, "--timeout", "5s",
                       expect=1)
        self.assertIn("not delivered", out.stdout.decode())
        self.assertIn("status:      held", self.show(config, qid))
        actions = [r.get("action") for r in self.audit_lines()]
        self.assertEqual(actions.count("release_failed"), 2)
        self.cli("audit", "verify", str(self.state / "audit.log"))

    def test_release_over_tls_with_client_certificate(self):
        core_cert = self.pki.upstream("core.internal")
        client = self.pki.client("bordergate-gateway")
        with EchoUpstream("core", tls=core_cert, client_ca=self.pki.ca.cert) as core:
            config = self.write_config(core.port, tls={
                "enabled": True, "ca_file": str(self.pki.ca.cert), "server_name": "core.internal",
                "client_certificate": str(client.cert), "client_private_key": str(client.key)})
            qid, req = self.seed("txn-tls")
            self.cli("quarantine", "--config", config, "release", qid)
            got = core.wait_for_requests(1)[0]
            self.assertEqual(got.client_subject, "commonName=bordergate-gateway")
            self.assertEqual(got.head, expected_forward_head(req, "192.0.2.10"))
            self.assertEqual(got.body, req["body"])
        # A Core whose certificate comes from another CA is refused: nothing is
        # sent and the request stays held.
        rogue = TestPKI(self.tmp / "rogue", "rogue CA").upstream("core.internal")
        with EchoUpstream("rogue", tls=rogue) as core:
            config = self.write_config(core.port, tls={
                "enabled": True, "ca_file": str(self.pki.ca.cert), "server_name": "core.internal"})
            qid, _ = self.seed("txn-rogue")
            out = self.cli("quarantine", "--config", config, "release", qid, expect=1)
            self.assertIn("TLS handshake with the Core failed", out.stdout.decode())
            self.assertEqual(core.requests, [])
            self.assertIn("status:      held", self.show(config, qid))

    def test_outbound_entries_are_released_to_their_destination(self):
        """An outbound entry (the Core's /send, held by an outbound rule) is listed with its
        direction and destination and released to the destination through the gateway's own
        discovery (a static route to loopback) and verified HTTPS client, never to the Core."""
        partner_cert = self.pki.upstream("partner.example")
        with EchoUpstream("core") as core, EchoUpstream("partner", tls=partner_cert) as partner:
            config = self.write_config(core.port, discovery={
                "static_routes": {"partner.example": f"127.0.0.1:{partner.port}",
                                  "down.example": f"127.0.0.1:{free_port()}"},
                "ca_file": str(self.pki.ca.cert)})
            qid, req = self.seed("out-1", outbound_to="partner.example")
            listing = self.cli("quarantine", "--config", config, "list").stdout.decode()
            row = next(l for l in listing.splitlines() if l.startswith(qid)).split()
            self.assertEqual(row[1:3], ["held", "outbound"])
            self.assertEqual(row[4], "partner.example")  # PEER: the destination
            shown = self.show(config, qid)
            self.assertIn("direction:   outbound", shown)
            self.assertIn("destination: partner.example", shown)

            out = self.cli("quarantine", "--config", config, "release", qid).stdout.decode()
            self.assertIn("partner.example answered 200", out)
            got = partner.wait_for_requests(1)[0]
            self.assertEqual((got.method, got.uri), ("PUT", req["uri"]))
            self.assertEqual(got.body, req["body"])
            stored_auth = dict(req["headers"])["Authorization"]
            self.assertEqual(got.header("Authorization"), stored_auth)  # the Core's signature
            self.assertEqual(got.header("Host"), "partner.example")
            self.assertIsNone(got.header("X-Forwarded-For"))  # nothing about the inside leaks
            self.assertEqual(core.requests, [])
            self.assertIn("status:      released (partner.example answered 200", self.show(config, qid))

            # A destination that does not answer: not delivered, still held, audited.
            qid2, _ = self.seed("out-2", outbound_to="down.example")
            out = self.cli("quarantine", "--config", config, "release", qid2, "--timeout", "5s",
                           expect=1)
            self.assertIn("not delivered: down.example", out.stdout.decode())
            self.assertIn("status:      held", self.show(config, qid2))
            self.cli("quarantine", "--config", config, "drop", qid2, "--reason", "leak")
        records = self.audit_lines()
        by_type = {}
        for r in records:
            by_type.setdefault(r.get("type"), []).append(r)
        release = by_type["quarantine_release"]
        self.assertEqual([(r["action"], r["direction"], r["destination"]) for r in release],
                         [("release", "outbound", "partner.example"),
                          ("release_failed", "outbound", "down.example")])
        self.assertEqual(release[0]["status"], 200)
        drop = by_type["quarantine_drop"]
        self.assertEqual((drop[0]["direction"], drop[0]["destination"]), ("outbound", "down.example"))
        self.cli("audit", "verify", str(self.state / "audit.log"))

    def test_usage_errors(self):
        config = self.write_config(free_port())
        self.cli("quarantine", "--config", config, "show", "q-0000000000000000", expect=1)
        self.cli("quarantine", "--config", config, "list", "--status", "sleeping", expect=2)
        self.cli("quarantine", "--config", str(self.tmp / "missing.yaml"), "list", expect=2)
        # A log that cannot be read is an input error (2), not a broken chain (1).
        self.cli("audit", "verify", str(self.tmp / "missing.log"), expect=2)


if __name__ == "__main__":
    main()
