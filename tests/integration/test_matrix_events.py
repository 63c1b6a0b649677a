"""`bordergate event check` against PDUs built and signed independently in Python (signedjson,
canonicaljson, the spec's redaction tables): valid events of every redaction family pass with the
event id Python computes; tampered content, missing or wrong signatures, restricted joins without
the authorising server, and keys that expired before origin_server_ts fail with the right reason.
"""

import copy
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

from signedjson.sign import sign_json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matrix_events_helper as h  # noqa: E402

BORDERGATE = os.environ.get("BORDERGATE", "bordergate")
ALL_VERSIONS = [str(v) for v in range(1, 13)]
# One version per rule boundary, for the negative cases (keeps the test fast under ASan): v1
# explicit ids + R1, v3 standard-base64 ids, v4 last without key validity, v5 first with it, v6 R6,
# v7 last without restricted joins, v8 R8, v9 R9, v11 R11, v12 domain-less room ids.
BOUNDARY_VERSIONS = ["1", "3", "4", "5", "6", "7", "8", "9", "11", "12"]
ORIGIN = "origin.example"
RESIDENT = "resident.example"


class Keys:
    origin = h.new_key("o1")
    resident = h.new_key("r1")
    impostor = h.new_key("o1")  # same key id as origin's, different key


def sample_events(version):
    """(name, event, extra signers) covering the content rules of every redaction family."""
    n = int(version)
    via = {"membership": "join", "displayname": "Alice", "avatar_url": "mxc://a/b",
           "join_authorised_via_users_server": "@bob:" + RESIDENT}
    events = [
        ("message", h.base_event(version, ORIGIN, "m.room.message",
                                 {"body": "hello \u2028 \U0001F600", "msgtype": "m.text"}), []),
        ("member_join_via", h.base_event(version, ORIGIN, "m.room.member", via,
                                         state_key="@alice:" + ORIGIN),
         [RESIDENT] if n >= 8 else []),
        ("join_rules_allow", h.base_event(version, ORIGIN, "m.room.join_rules", {
            "join_rule": "restricted", "junk": True,
            "allow": [{"type": "m.room_membership", "room_id": "!s:" + ORIGIN}]}, state_key=""),
         []),
        ("power_levels", h.base_event(version, ORIGIN, "m.room.power_levels", {
            "ban": 50, "invite": 0, "kick": 50, "redact": 50, "events": {"m.room.name": 50},
            "events_default": 0, "state_default": 50, "users": {"@alice:" + ORIGIN: 100},
            "users_default": 0, "notifications": {"room": 50}}, state_key=""), []),
        ("create", h.base_event(version, ORIGIN, "m.room.create", {
            "creator": "@alice:" + ORIGIN, "room_version": version, "m.federate": True},
            state_key=""), []),
        ("aliases", h.base_event(version, ORIGIN, "m.room.aliases",
                                 {"aliases": ["#a:" + ORIGIN]}, state_key=ORIGIN), []),
        ("history_visibility", h.base_event(version, ORIGIN, "m.room.history_visibility",
                                            {"history_visibility": "shared", "x": 1},
                                            state_key=""), []),
    ]
    redaction = h.base_event(version, ORIGIN, "m.room.redaction",
                             {"redacts": "$target", "reason": "spam"})
    redaction["redacts"] = "$target"
    events.append(("redaction", redaction, []))
    return events


def sign(event, version, servers):
    h.add_hash(event)
    keys = {ORIGIN: Keys.origin, RESIDENT: Keys.resident}
    for server in servers:
        h.add_signature(event, version, server, keys[server])
    return event


class EventCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.keys_file = cls.write("keys.json", h.plain_keys_file(
            [(ORIGIN, Keys.origin), (RESIDENT, Keys.resident)]))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def write(cls, name, document):
        path = os.path.join(cls.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document, f, ensure_ascii=False)
        return path

    def check(self, version, event, keys_file=None, via_stdin=False):
        args = [BORDERGATE, "event", "check", "--room-version", version,
                "--keys", keys_file or self.keys_file]
        data = None
        if via_stdin:
            args.append("-")
            data = json.dumps(event).encode("utf-8")
        else:
            args.append(self.write("event.json", event))
        proc = subprocess.run(args, input=data, capture_output=True, timeout=60)
        out = proc.stdout.decode("utf-8")
        fields = {}
        for line in out.splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        return proc.returncode, fields, proc.stderr.decode("utf-8")

    def test_valid_events_of_every_family_pass_with_pythons_event_id(self):
        for version in ALL_VERSIONS:
            for name, event, extra in sample_events(version):
                with self.subTest(version=version, event=name):
                    sign(event, version, [ORIGIN] + extra)
                    rc, out, err = self.check(version, event, via_stdin=(name == "message"))
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(err, "")
                    self.assertEqual(out["content hash"], "ok")
                    self.assertEqual(out["format"], "ok")
                    self.assertEqual(out["event id"], h.event_id(event, version))
                    self.assertEqual(out["signature " + ORIGIN], "ok ed25519:o1")
                    if extra:
                        self.assertEqual(out["signature " + RESIDENT], "ok ed25519:r1")
                    if version == "12" and name == "create":
                        self.assertEqual(out["room id"], "!" + out["event id"][1:])

    def test_random_events_agree_with_python_on_ids_and_signatures(self):
        # Deterministic pseudo-random events mixing every key the redaction tables name with
        # junk, for random room versions: bordergate must compute Python's event id and accept
        # the signature Python made over its own redaction.
        rng = random.Random(20261127)
        types = ["m.room.member", "m.room.create", "m.room.join_rules", "m.room.power_levels",
                 "m.room.history_visibility", "m.room.aliases", "m.room.redaction",
                 "m.room.message", "org.example.custom"]
        content_keys = ["membership", "join_authorised_via_users_server", "third_party_invite",
                        "creator", "room_version", "join_rule", "allow", "ban", "events",
                        "events_default", "invite", "kick", "redact", "state_default", "users",
                        "users_default", "notifications", "history_visibility", "aliases",
                        "redacts", "body", "junk", "we\"ird\\key", "\u00e4\U0001F600"]
        top_keys = ["membership", "prev_state", "redacts", "extra_top", "origin"]
        values = [0, -5, 2**53 - 1, "s", "\u2028", True, None, [], {}, [1, "x"],
                  {"signed": {"token": "t"}, "display_name": "d"}, {"display_name": "d"}]
        for i in range(40):
            version = rng.choice(ALL_VERSIONS)
            event_type = rng.choice(types)
            content = {k: rng.choice(values) for k in rng.sample(content_keys, rng.randint(0, 8))}
            if event_type == "m.room.member":
                content["membership"] = rng.choice(["join", "invite", "leave"])
                content.pop("join_authorised_via_users_server", None)
            state_key = rng.choice([None, "", "@x:" + ORIGIN])
            event = h.base_event(version, ORIGIN, event_type, content, state_key=state_key)
            for k in rng.sample(top_keys, rng.randint(0, len(top_keys))):
                event[k] = rng.choice(values)
            with self.subTest(i=i, version=version, type=event_type):
                sign(event, version, [ORIGIN])
                rc, out, err = self.check(version, event)
                self.assertEqual(out["event id"], h.event_id(event, version))
                self.assertEqual(out["signature " + ORIGIN], "ok ed25519:o1", err)
                self.assertEqual(out["content hash"], "ok")

    def test_tampered_content_fails_the_hash_only(self):
        for version in BOUNDARY_VERSIONS:
            with self.subTest(version=version):
                event = sign(sample_events(version)[0][1], version, [ORIGIN])
                event["content"]["body"] = "tampered"
                rc, out, err = self.check(version, event)
                self.assertEqual(rc, 1)
                self.assertEqual(out["content hash"], "content_hash_mismatch")
                self.assertEqual(out["signature " + ORIGIN], "ok ed25519:o1")
                self.assertIn("content_hash_mismatch", err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_missing_and_wrong_signatures_fail(self):
        for version in BOUNDARY_VERSIONS:
            with self.subTest(version=version):
                event = sign(sample_events(version)[0][1], version, [ORIGIN])
                unsigned = copy.deepcopy(event)
                unsigned["signatures"] = {}
                rc, out, err = self.check(version, unsigned)
                self.assertEqual(rc, 1)
                self.assertEqual(out["signature " + ORIGIN], "missing_signature")
                self.assertEqual(out["content hash"], "ok")

                forged = copy.deepcopy(event)
                forged["signatures"] = {}
                h.add_signature(forged, version, ORIGIN, Keys.impostor)
                rc, out, err = self.check(version, forged)
                self.assertEqual(rc, 1)
                self.assertEqual(out["signature " + ORIGIN], "bad_signature ed25519:o1")

                # A signature over the unredacted event (a common signing bug) must fail: the
                # message body is redacted away before signing.
                wrong_form = copy.deepcopy(event)
                wrong_form["signatures"] = {}
                wrong_form = sign_json(wrong_form, ORIGIN, Keys.origin)
                rc, out, _ = self.check(version, wrong_form)
                self.assertEqual(rc, 1)
                self.assertEqual(out["signature " + ORIGIN], "bad_signature ed25519:o1")

    def test_restricted_join_needs_the_authorising_server(self):
        for version in BOUNDARY_VERSIONS:
            with self.subTest(version=version):
                event = sample_events(version)[1][1]
                sign(event, version, [ORIGIN])
                rc, out, err = self.check(version, event)
                if int(version) >= 8:
                    self.assertEqual(rc, 1)
                    self.assertEqual(out["signature " + RESIDENT], "missing_signature")
                    self.assertIn("signature " + RESIDENT, err)
                else:
                    self.assertEqual(rc, 0, err)
                    self.assertNotIn("signature " + RESIDENT, out)

    def test_key_expired_before_origin_server_ts(self):
        ts = 1700000000000
        expired = self.write("expired.json", h.server_keys_response(ORIGIN, Keys.origin, ts - 1))
        still_valid = self.write("valid.json", h.server_keys_response(ORIGIN, Keys.origin, ts))
        retired_key = h.new_key("old")
        current = h.new_key("new")
        old_expired = self.write("old_expired.json", h.server_keys_response(
            ORIGIN, current, ts + 10**9, old_keys=[(retired_key, ts - 1)]))
        old_valid = self.write("old_valid.json", h.server_keys_response(
            ORIGIN, current, ts + 10**9, old_keys=[(retired_key, ts + 1)]))
        for version in BOUNDARY_VERSIONS:
            with self.subTest(version=version):
                event = sign(sample_events(version)[0][1], version, [ORIGIN])
                rc, out, err = self.check(version, event, keys_file=expired)
                if int(version) >= 5:
                    self.assertEqual(rc, 1)
                    self.assertEqual(out["signature " + ORIGIN], "key_expired ed25519:o1")
                else:
                    self.assertEqual(rc, 0, "rooms v1-v4 ignore key validity: " + err)
                rc, _, err = self.check(version, event, keys_file=still_valid)
                self.assertEqual(rc, 0, err)

                by_old = h.base_event(version, ORIGIN, "m.room.message", {"body": "x"})
                h.add_hash(by_old)
                h.add_signature(by_old, version, ORIGIN, retired_key)
                rc, out, err = self.check(version, by_old, keys_file=old_expired)
                self.assertEqual(rc, 1 if int(version) >= 5 else 0, err)
                rc, _, err = self.check(version, by_old, keys_file=old_valid)
                self.assertEqual(rc, 0, err)

    def test_third_party_invite_reports_the_exemption(self):
        event = h.base_event("10", ORIGIN, "m.room.member", {
            "membership": "invite",
            "third_party_invite": {"display_name": "c...@e.com",
                                   "signed": {"mxid": "@carol:far.example", "token": "t",
                                              "signatures": {}}}},
            state_key="@carol:far.example")
        sign(event, "10", [ORIGIN])
        rc, out, err = self.check("10", event)
        self.assertEqual(rc, 1)
        self.assertIn("third-party invite", out["required signers"])
        self.assertIn("nothing_verified", err)

    def test_crafted_names_cannot_forge_report_lines(self):
        event = h.base_event("10", ORIGIN, "m.room.message", {"body": "x"})
        event["sender"] = "@alice:evil.example\nsignature " + ORIGIN + ": ok ed25519:o1"
        sign(event, "10", [])
        rc, out, err = self.check("10", event)
        self.assertEqual(rc, 1)
        self.assertNotIn("signature " + ORIGIN, out)
        forged = [line for line in err.splitlines() if not line.startswith("bordergate: ")]
        self.assertEqual(forged, [])
        self.assertIn("\\x0a", err)

    def test_unusable_input_exits_2(self):
        event = sign(sample_events("10")[0][1], "10", [ORIGIN])
        rc, _, err = self.check("13", event)
        self.assertEqual(rc, 2)
        self.assertIn("unknown_room_version", err)
        rc, _, err = self.check("org.matrix.msc1234", event)
        self.assertEqual(rc, 2)
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            f.write('{"type": "m.room.message", "type": "x"}')
        proc = subprocess.run([BORDERGATE, "event", "check", "--room-version", "10",
                               "--keys", self.keys_file, bad], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"duplicate_key", proc.stderr)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1)
        missing = os.path.join(self.tmp.name, "no-such-keys.json")
        rc, _, err = self.check("10", event, keys_file=missing)
        self.assertEqual(rc, 2)
        self.assertIn("unreadable", err)


if __name__ == "__main__":
    unittest.main(verbosity=1)
