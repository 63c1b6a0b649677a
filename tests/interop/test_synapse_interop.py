"""Two real Synapse homeservers federating through bordergate (tests/interop/README.md).

The scenarios run in order on one rig and build on each other (the rooms of the first are used by
the later ones); each one records how long it took, and the table is printed at the end.
Skipped, with one line saying why, when no Synapse tarball is found (a fresh clone)."""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from urllib.parse import quote
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE))

from harness.env import ENV  # noqa: E402
from harness.gateway import run_cli  # noqa: E402
from rig import CORE, OUTSIDE, PEER, InteropRig  # noqa: E402
from synapse import (ClientError, die_with_parent, find_tarball, missing_python_modules,
                     prepare_source)  # noqa: E402

SKIP = 77  # ctest's SKIP_RETURN_CODE for this test
PYTHON_BIN = "/usr/bin/python3"


def wait_until(what: str, predicate, timeout: float = 30.0, interval: float = 0.1):
    """Polls until predicate() returns something truthy; returns (value, seconds waited)."""
    t0 = time.monotonic()
    deadline = t0 + ENV.timeout(timeout)
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value, time.monotonic() - t0
        except ClientError as e:
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))


def png(colour: tuple[int, int, int]) -> bytes:
    """A real 16x16 PNG (Synapse thumbnails what it stores, so the bytes must decode)."""
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(out, format="PNG")
    return out.getvalue()


def event_visible(user, room_id: str, event_id: str):
    try:
        return user.event(room_id, event_id)
    except ClientError as e:
        if e.status == 404:
            return None
        raise


def ephemeral(sync: dict, room_id: str, edu_type: str) -> list[dict]:
    room = sync.get("rooms", {}).get("join", {}).get(room_id, {})
    return [e for e in room.get("ephemeral", {}).get("events", []) if e.get("type") == edu_type]


class SynapseInterop(unittest.TestCase):
    maxDiff = None
    timings: dict[str, float] = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="bg-interop-"))
        cache = Path(os.environ.get("BG_BUILD_DIR", cls.tmp)) / "interop-cache"
        source = prepare_source(TARBALL, cache)
        cls.rig = InteropRig(cls.tmp, source)
        try:
            cls.rig.start()
        except BaseException:
            cls.rig.stop()
            cls._failed = True  # keep both homeservers' logs
            cls._dump()
            raise
        cls.timings["start (dnsmasq, gateway, three Synapses)"] = cls.rig.timings["start"]
        cls.core, cls.peer, cls.outside = cls.rig.core, cls.rig.peer, cls.rig.outside
        cls.alice = cls.core.register("alice")
        cls.bob = cls.peer.register("bob")
        cls.carol = cls.outside.register("carol")

    @classmethod
    def tearDownClass(cls):
        cls.rig.stop()
        print("\ninterop timings (s):", file=sys.stderr)
        for name, seconds in cls.timings.items():
            print(f"  {seconds:7.2f}  {name}", file=sys.stderr)
        out = os.environ.get("BG_INTEROP_TIMINGS")
        if out:
            Path(out).write_text(json.dumps(cls.timings, indent=2) + "\n")
        cls._dump()

    @classmethod
    def _dump(cls):
        """Keeps the rig's folder (logs, databases, audit chain) when asked or after a failure."""
        if os.environ.get("BG_KEEP_TMP") or getattr(cls, "_failed", False):
            print(f"interop: kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def run(self, result=None):
        result = super().run(result)
        if result and (result.failures or result.errors):
            type(self)._failed = True
        return result

    def timed(self, name: str, t0: float):
        self.timings[name] = time.monotonic() - t0

    # ---- 1. first contact, rooms on either side ------------------------------------------
    def invite_and_join(self, inviter, invitee, room: str, via: str):
        since = invitee.fresh_token()
        inviter.invite(room, invitee.user_id)
        invitee.wait_sync(f"{invitee.user_id}'s invite to {room}",
                          lambda s: room in s.get("rooms", {}).get("invite", {}),
                          since=since, timeout=ENV.timeout(30))
        invitee.join(room, via=via)
        wait_until(f"{invitee.user_id} joined, as {inviter.hs.name} sees it",
                   lambda: invitee.user_id in inviter.members(room))

    def test_01_invite_and_join_into_a_core_room(self):
        """First contact both ways: the Core's invite goes out through the proxy (the Core
        fetches opendesk.test's keys through it, and the gateway checks the key answers), the
        peer fetches the Core's keys through the federation listener and joins."""
        t0 = time.monotonic()
        room = self.alice.create_room(name="Kooperation", preset="private_chat")
        type(self).core_room = room
        self.invite_and_join(self.alice, self.bob, room, via=CORE)
        self.timed("first contact: invite to a Core room + join from opendesk", t0)
        # opendesk.test fetched the Core's key through the federation listener (key-id form)...
        fetched = [r for r in self.rig.audit_records()
                   if (r.get("direction"), r.get("endpoint"), r.get("action")) ==
                   ("inbound", "key.server", "forward")]
        self.assertTrue(fetched, "no inbound key fetch recorded")
        self.assertTrue(all(r.get("status") == 200 for r in fetched), fetched)
        # ...and the gateway fetched opendesk.test's keys itself (never pinned) to check its
        # signatures: directly from the server, through its discovery.
        self.assertEqual(self.rig.cached_key_sources().get(PEER), "direct")

    def test_02_invite_and_join_into_a_peer_room(self):
        t0 = time.monotonic()
        room = self.bob.create_room(name="OpenDesk-Raum", preset="private_chat")
        type(self).peer_room = room
        self.invite_and_join(self.bob, self.alice, room, via=PEER)
        self.timed("invite to an opendesk room + join from the Core", t0)

    # ---- 2. messages, typing, receipts, presence, profiles -------------------------------
    def test_03_messages_both_ways(self):
        for sender, receiver, room, label in (
                (self.alice, self.bob, self.core_room, "Core -> opendesk"),
                (self.bob, self.alice, self.core_room, "opendesk -> Core"),
                (self.alice, self.bob, self.peer_room, "Core -> opendesk (opendesk's room)"),
                (self.bob, self.alice, self.peer_room, "opendesk -> Core (opendesk's room)")):
            t0 = time.monotonic()
            event_id = sender.send(room, f"hello {label}")
            event, _ = wait_until(f"message {label}", lambda: event_visible(receiver, room, event_id))
            self.assertEqual(event["content"]["body"], f"hello {label}")
            self.assertEqual(event["sender"], sender.user_id)
            self.timed(f"message {label}", t0)
        type(self).last_core_event = event_id  # bob's, in the peer's room

    def test_04_typing_both_ways(self):
        for typist, watcher, label in ((self.alice, self.bob, "Core -> opendesk"),
                                       (self.bob, self.alice, "opendesk -> Core")):
            since = watcher.fresh_token()
            t0 = time.monotonic()
            typist.typing(self.core_room, True)
            watcher.wait_sync(f"typing {label}", lambda s: any(
                typist.user_id in e["content"].get("user_ids", [])
                for e in ephemeral(s, self.core_room, "m.typing")), since=since,
                timeout=ENV.timeout(30))
            self.timed(f"typing {label}", t0)
            typist.typing(self.core_room, False)

    def test_05_read_receipts_both_ways(self):
        for reader, author, label in ((self.bob, self.alice, "opendesk reads, Core sees"),
                                      (self.alice, self.bob, "Core reads, opendesk sees")):
            event_id = author.send(self.core_room, f"please read ({label})")
            wait_until("the message to read", lambda: event_visible(reader, self.core_room, event_id))
            since = author.fresh_token()
            t0 = time.monotonic()
            reader.receipt(self.core_room, event_id)
            author.wait_sync(f"read receipt {label}", lambda s: any(
                reader.user_id in e["content"].get(event_id, {}).get("m.read", {})
                for e in ephemeral(s, self.core_room, "m.receipt")), since=since,
                timeout=ENV.timeout(30))
            self.timed(f"read receipt {label}", t0)

    def test_06_presence_both_ways(self):
        for user, watcher, label in ((self.alice, self.bob, "Core -> opendesk"),
                                     (self.bob, self.alice, "opendesk -> Core")):
            t0 = time.monotonic()
            status = f"interop {label} {time.time_ns()}"
            user.set_presence("online", status)
            wait_until(f"presence {label}",
                       lambda: watcher.presence_of(user.user_id).get("status_msg") == status)
            self.timed(f"presence {label}", t0)

    def test_07_profile_lookup_both_ways(self):
        self.alice.set_displayname("Alice (Core)")
        self.bob.set_displayname("Bob (OpenDesk)")
        for asker, owner, name, label in ((self.bob, self.alice, "Alice (Core)", "opendesk asks"),
                                          (self.alice, self.bob, "Bob (OpenDesk)", "Core asks")):
            t0 = time.monotonic()
            profile, _ = wait_until(f"profile {label}",
                                    lambda: asker.profile_of(owner.user_id).get("displayname") == name
                                    and asker.profile_of(owner.user_id))
            self.assertEqual(profile["displayname"], name)
            self.timed(f"profile lookup ({label})", t0)

    # ---- 3. media ------------------------------------------------------------------------
    def test_08_media_both_ways(self):
        for owner, fetcher, label, colour in (
                (self.alice, self.bob, "Core's media, fetched by opendesk", (0, 90, 160)),
                (self.bob, self.alice, "opendesk's media, fetched by the Core", (200, 30, 30))):
            with self.subTest(label):
                body = png(colour)
                mxc = owner.upload(body, "image/png", "pixel.png")
                t0 = time.monotonic()
                status, data, ctype = fetcher.download(mxc)
                self.assertEqual(status, 200, data[:300])
                self.assertEqual(data, body)
                self.assertEqual(ctype, "image/png")
                self.timed(f"media download ({label})", t0)

    def test_08b_media_over_the_policy_refused_both_ways(self):
        """The media settings (1 MiB, images and text) hold for the answers of both
        directions: what the Core serves to opendesk and what opendesk serves to the Core.
        A refusal is a 4xx: Synapse backs a server off for ten minutes after any 5xx from it,
        which would stop all federation towards it, so a message right after the refusals
        must still arrive and neither Synapse may have backed the other off."""
        t0 = time.monotonic()
        cases = (("too large", b"x" * (1536 * 1024), "text/plain", "media_too_large", 413),
                 ("type off the list", b"MZ" + b"\0" * 512, "application/x-msdownload",
                  "media_content_type_not_allowed", 403))
        for owner, fetcher, direction in ((self.alice, self.bob, "inbound"),
                                          (self.bob, self.alice, "outbound")):
            for label, body, ctype, reason, status in cases:
                with self.subTest(f"{direction}: {label}"):
                    mxc = owner.upload(body, ctype, "refused.bin")
                    before = len(self.rig.audit_records())
                    got, data, _ = fetcher.download(mxc)
                    self.assertNotEqual(got, 200, f"{label} was served: {data[:100]}")
                    wait_until(f"the {reason} record", lambda: [
                        r for r in self.rig.audit_records()[before:]
                        if r.get("direction") == direction and r.get("action") == "deny"
                        and r.get("reason") == reason and r.get("status") == status])
            event_id = fetcher.send(self.core_room, f"still federating after refused media "
                                                    f"({direction})")
            wait_until("a message right after the refusals",
                       lambda: event_visible(owner, self.core_room, event_id), timeout=10)
            self.assertNotIn("backoff now", fetcher.hs.log_text(),
                             f"{fetcher.hs.name} backed off a server")
        self.timed("media over the policy (size, type) refused in both directions", t0)

    # ---- 4. end-to-end encryption --------------------------------------------------------
    def test_09_encrypted_room_both_ways(self):
        from e2e import encrypted_exchange
        t0 = time.monotonic()
        result = encrypted_exchange(self.core, self.alice, self.peer, self.bob, self.tmp / "e2e")
        self.assertEqual(result["bob_decrypted"], result["alice_sent"])
        self.assertEqual(result["alice_decrypted"], result["bob_sent"])
        self.timed("E2EE room: keys queried/claimed across the border, messages decrypt both ways", t0)

    # ---- 5. policy: a denied endpoint ----------------------------------------------------
    def test_10_room_directory_denied_both_ways(self):
        t0 = time.monotonic()
        for asker, server, label in ((self.bob, CORE, "inbound"), (self.alice, PEER, "outbound")):
            with self.assertRaises(ClientError, msg=f"room directory {label}") as refused:
                asker.call("GET", f"/_matrix/client/v3/publicRooms?server={server}")
            self.assertNotEqual(refused.exception.status, 200)
        records = self.rig.audit_records()
        directory = [r for r in records if r.get("rule_id") == "opendesk-no-directory"]
        directions = {r.get("direction") for r in directory}
        self.assertEqual(directions, {"inbound", "outbound"}, directory)
        self.assertTrue(all(r.get("action") == "deny" for r in directory), directory)
        self.timed("room directory denied by policy, both directions", t0)

    # ---- 5b. content verdicts on /send ---------------------------------------------------
    def stored_entry(self, event_type: str) -> dict | None:
        """The audit record of the /send whose transaction carried an event of this type, once
        the audit writer has written it (None before)."""
        records = [r for r in self.rig.audit_records()
                   if r.get("endpoint") == "send" and event_type in r.get("event_types", [])]
        self.assertLessEqual(len(records), 1, records)  # stored once, answered once
        return records[0] if records else None

    def answer_verdicts(self, direction: str) -> dict[str, set[tuple[str, str]]]:
        """Event id -> {(endpoint, verdict)} over the audit records of answers of a direction
        (outbound: external answers to the Core; inbound: the Core's answers to opendesk)."""
        out: dict[str, set[tuple[str, str]]] = {}
        for r in self.rig.audit_records():
            if r.get("direction") != direction:
                continue
            for event_id, verdict in zip(r.get("answer_event_ids", []),
                                         r.get("answer_event_verdicts", [])):
                out.setdefault(event_id, set()).add((r["endpoint"], verdict))
        return out

    def test_10b_content_verdicts_keep_the_senders_queue_moving(self):
        """A quarantined and a denied event type from opendesk: each transaction is stored and
        answered 200 per PDU, so opendesk's queue to the Core moves on (a 403 would leave the
        refused PDUs at its head and every later event would wait behind them). The held one,
        released by a person before the Core saw it, then shows in full on the Core."""
        t0 = time.monotonic()
        held_id = self.bob.send(self.peer_room, "", event_type="org.bordergate.test.reviewed",
                                content={"note": "reviewed before it crosses"})
        denied_id = self.bob.send(self.core_room, "", event_type="org.bordergate.test.forbidden",
                                  content={"note": "never crosses"})
        held = wait_until("the held transaction's audit record",
                          lambda: self.stored_entry("org.bordergate.test.reviewed"))[0]
        denied = wait_until("the denied transaction's audit record",
                            lambda: self.stored_entry("org.bordergate.test.forbidden"))[0]
        self.assertEqual((held["action"], held["status"], held["rule_id"]),
                         ("quarantine", 200, "opendesk-hold-reviewed-type"), held)
        self.assertEqual((denied["action"], denied["status"], denied["rule_id"]),
                         ("deny", 200, "opendesk-deny-forbidden-type"), denied)
        self.assertIn(held_id, held["event_ids"])
        self.assertIn(denied_id, denied["event_ids"])
        self.assertTrue(held["quarantine_id"] and denied["quarantine_id"])

        # The same room as the denied event: the next message arrives within seconds.
        later = self.bob.send(self.core_room, "after the denied event")
        event, waited = wait_until("opendesk's next message in the same room",
                                   lambda: event_visible(self.alice, self.core_room, later),
                                   timeout=20)
        self.assertEqual(event["content"]["body"], "after the denied event")
        self.timings["next message after a denied event (same room)"] = waited
        # The Core noticed the gap and fetched the denied event itself (get_missing_events,
        # through the proxy): it got the redacted form, the DAG whole, the content gone.
        fetched, _ = wait_until("the denied event, as the Core fetched it",
                                lambda: event_visible(self.alice, self.core_room, denied_id))
        self.assertEqual(fetched["type"], "org.bordergate.test.forbidden")
        self.assertEqual(fetched["content"], {}, fetched)
        verdicts = self.answer_verdicts("outbound").get(denied_id, set())
        self.assertTrue(verdicts, "no audit record names the denied event in an answer")
        self.assertEqual({v for _, v in verdicts}, {"redacted"}, verdicts)
        # The held event has not reached the Core (nothing in its room refers to it yet).
        self.assertIsNone(event_visible(self.alice, self.peer_room, held_id))

        # A person releases it: the original transaction, byte for byte, and the Core shows it.
        t_release = time.monotonic()
        out = run_cli("quarantine", "--config", str(self.rig.gateway.config_path), "release",
                      held["quarantine_id"], timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        event, _ = wait_until("the released event on the Core",
                              lambda: event_visible(self.alice, self.peer_room, held_id))
        self.assertEqual(event["type"], "org.bordergate.test.reviewed")
        self.assertEqual(event["content"], {"note": "reviewed before it crosses"})
        self.timings["quarantine release: held event shown on the Core"] = (
            time.monotonic() - t_release)

        # Another room: opendesk's queue moves on there as well.
        other = self.bob.send(self.peer_room, "after the released event")
        _, waited = wait_until("opendesk's next message in another room",
                               lambda: event_visible(self.alice, self.peer_room, other),
                               timeout=20)
        self.timings["next message after a denied event (another room)"] = waited
        self.timed("content verdicts on /send: held, denied, released; queue keeps moving", t0)

    def test_10c_an_event_kept_inside_leaves_only_redacted(self):
        """An outbound rule keeps an event type inside the agency: the Core's /send of it is
        stored as denied (200, so the Core's queue moves on), and when opendesk notices the gap
        and fetches the event from the Core (get_missing_events through the federation
        listener), the Core's answer carries it redacted: opendesk's DAG stays whole, the
        content never leaves."""
        t0 = time.monotonic()
        internal_id = self.alice.send(self.core_room, "",
                                      event_type="org.bordergate.test.internal",
                                      content={"note": "agency only"})
        later = self.alice.send(self.core_room, "after the internal event")
        event, waited = wait_until("the Core's next message on opendesk",
                                   lambda: event_visible(self.bob, self.core_room, later),
                                   timeout=20)
        self.assertEqual(event["content"]["body"], "after the internal event")
        self.timings["next Core message after an event kept inside"] = waited
        fetched, _ = wait_until("the internal event, as opendesk fetched it",
                                lambda: event_visible(self.bob, self.core_room, internal_id))
        self.assertEqual(fetched["type"], "org.bordergate.test.internal")
        self.assertEqual(fetched["content"], {}, fetched)
        records = self.rig.audit_records()
        sent = [r for r in records if r.get("direction") == "outbound"
                and r.get("endpoint") == "send" and internal_id in r.get("event_ids", [])]
        self.assertEqual([(r["action"], r["status"], r["rule_id"]) for r in sent],
                         [("deny", 200, "core-keep-internal-type")])
        verdicts = self.answer_verdicts("inbound").get(internal_id, set())
        self.assertTrue(verdicts, "no inbound answer names the internal event")
        self.assertEqual({v for _, v in verdicts}, {"redacted"}, verdicts)
        self.timed("an event kept inside: the peer fetches it, gets it redacted", t0)

    def test_10d_an_event_kept_inside_reaches_a_joining_peer_redacted(self):
        """A room with an internal state event and an internal message, opendesk joins it
        afterwards: the Core's send_join answer carries the state event and opendesk's backfill
        (bob paginates back) the message, both redacted. The join itself works: the redacted
        state event keeps what the authorization rules need."""
        t0 = time.monotonic()
        room = self.alice.create_room(name="Intern", preset="private_chat")
        state_id = self.alice.call(
            "PUT", f"/_matrix/client/v3/rooms/{quote(room)}/state/org.bordergate.test.internal/",
            {"note": "agency only (state)"})["event_id"]
        message_id = self.alice.send(room, "", event_type="org.bordergate.test.internal",
                                     content={"note": "agency only (message)"})
        self.alice.send(room, "before opendesk joins")
        self.invite_and_join(self.alice, self.bob, room, via=CORE)
        state = self.bob.call(
            "GET", f"/_matrix/client/v3/rooms/{quote(room)}/state/org.bordergate.test.internal/")
        self.assertEqual(state, {}, "opendesk holds the internal state event's content")
        # Backfill: bob reads the history; opendesk fetches it from the Core.
        fetched, _ = wait_until(
            "the internal message, backfilled by opendesk",
            lambda: next((e for e in self.bob.messages(room) if e.get("event_id") == message_id),
                         None))
        self.assertEqual(fetched.get("content"), {}, fetched)
        verdicts = self.answer_verdicts("inbound")
        self.assertIn(("send_join", "redacted"), verdicts.get(state_id, set()), verdicts)
        self.assertTrue(any(v == "redacted" for _, v in verdicts.get(message_id, set())),
                        verdicts.get(message_id))
        self.timed("an event kept inside: a joining peer gets state and history redacted", t0)

    # ---- 5c. servers in no federation ----------------------------------------------------
    def records(self, **match) -> list[dict]:
        return [r for r in self.rig.audit_records()
                if all(r.get(k) == v for k, v in match.items())]

    def test_10e_a_relayed_event_of_a_server_in_no_federation_is_refused(self):
        """outside.test (in no federation) joins opendesk's room that the Core is in and talks
        there. Its join, relayed by opendesk's /send, is stored as denied (200, the queue moves
        on) and flags the room as mixed; its own /send to the Core is refused (no federation);
        its message reaches the Core only when the Core fetches the gap from opendesk
        (get_missing_events), and then redacted: the Core shows the event without content. The
        Core can verify outside.test's events (its notary, opendesk, serves the keys), so what
        keeps the content out is the gateway's rule."""
        t0 = time.monotonic()
        room = self.peer_room
        self.invite_and_join(self.bob, self.carol, room, via=PEER)
        relayed = wait_until(
            "opendesk's /send with outside.test's join",
            lambda: [r for r in self.records(direction="inbound", endpoint="send")
                     if OUTSIDE in r.get("mixed_room_servers", [])])[0][0]
        self.assertEqual((relayed["action"], relayed["status"], relayed["rule_id"]),
                         ("deny", 200, "opendesk-no-relays-from-outside"), relayed)
        self.assertEqual(relayed["mixed_room_ids"], [room])
        said = self.carol.send(room, "from a server in no federation")
        # opendesk has it (its next event names it as a prev_event) ...
        wait_until("outside.test's message on opendesk",
                   lambda: event_visible(self.bob, room, said))
        later = self.bob.send(room, "opendesk after outside.test spoke")
        event, waited = wait_until("opendesk's next message on the Core",
                                   lambda: event_visible(self.alice, room, later), timeout=30)
        self.assertEqual(event["content"]["body"], "opendesk after outside.test spoke")
        self.timings["next opendesk message after a relayed outside event"] = waited
        fetched, _ = wait_until("outside.test's message, as the Core fetched it",
                                lambda: event_visible(self.alice, room, said), timeout=30)
        self.assertEqual(fetched["sender"], self.carol.user_id)
        self.assertEqual(fetched["content"], {}, fetched)
        verdicts = self.answer_verdicts("outbound").get(said, set())
        self.assertTrue(verdicts, "no answer to the Core names outside.test's message")
        self.assertEqual({v for _, v in verdicts}, {"redacted"}, verdicts)
        # outside.test's own attempts to reach the Core are refused at the border.
        self.assertTrue(self.records(direction="inbound", origin=OUTSIDE, action="deny"))
        self.timed("a relayed event of a server in no federation: refused, shown redacted", t0)

    def test_10f_a_join_into_a_mixed_room_is_refused(self):
        """opendesk's room with a member on outside.test: the Core's user is invited and tries
        to join. The send_join answer names outside.test's member, the gateway refuses it (403
        to the Core instead of the room's state, rule opendesk-no-joins-into-mixed-rooms) and
        flags the room; the Core's user is not in the room."""
        t0 = time.monotonic()
        room = self.bob.create_room(name="Gemischt", preset="private_chat")
        self.invite_and_join(self.bob, self.carol, room, via=PEER)
        since = self.alice.fresh_token()
        self.bob.invite(room, self.alice.user_id)
        self.alice.wait_sync(f"{self.alice.user_id}'s invite to {room}",
                             lambda s: room in s.get("rooms", {}).get("invite", {}),
                             since=since, timeout=ENV.timeout(30))
        with self.assertRaises(ClientError) as refused:
            self.alice.join(room, via=PEER)
        self.assertIn(refused.exception.status, (403, 502), refused.exception)
        denied = wait_until("the refused send_join's audit record",
                            lambda: self.records(direction="outbound", endpoint="send_join",
                                                 room_id=room))[0]
        self.assertEqual([(r["action"], r["rule_id"]) for r in denied],
                         [("deny", "opendesk-no-joins-into-mixed-rooms")], denied)
        self.assertEqual(denied[0]["mixed_room_servers"], [OUTSIDE])
        self.assertNotIn(room, self.alice.call("GET", "/_matrix/client/v3/joined_rooms")
                         ["joined_rooms"])
        # The room is known now: another join attempt is refused before anything is sent.
        with self.assertRaises(ClientError):
            self.alice.join(room, via=PEER)
        again = self.records(direction="outbound", endpoint="make_join", room_id=room)
        self.assertEqual((again[-1]["action"], again[-1]["rule_id"]),
                         ("deny", "opendesk-no-joins-into-mixed-rooms"), again)
        self.timed("a join into a mixed room: refused on the send_join answer", t0)

    def test_10g_history_backfilled_by_the_core_carries_refused_events_redacted(self):
        """An opendesk room with history from before the Core joined, including an event type
        the policy denies: the Core's user reads back, the Core backfills from opendesk, and the
        denied event arrives redacted (the content never shown on the Core)."""
        t0 = time.monotonic()
        room = self.bob.create_room(name="Vorgeschichte", preset="private_chat")
        denied_id = self.bob.send(room, "", event_type="org.bordergate.test.forbidden",
                                  content={"note": "never crosses, not even as history"})
        for i in range(3):
            self.bob.send(room, f"history {i}")
        self.invite_and_join(self.bob, self.alice, room, via=PEER)
        fetched, _ = wait_until(
            "the denied event, backfilled by the Core",
            lambda: next((e for e in self.alice.messages(room)
                          if e.get("event_id") == denied_id), None))
        self.assertEqual(fetched.get("content"), {}, fetched)
        verdicts = self.answer_verdicts("outbound").get(denied_id, set())
        self.assertTrue(verdicts, "no answer to the Core names the denied event")
        self.assertEqual({v for _, v in verdicts}, {"redacted"}, verdicts)
        self.timed("history backfilled by the Core: a denied event arrives redacted", t0)

    def test_10h_a_restarted_sender_gets_the_same_verdict(self):
        """opendesk sends a denied event and is restarted before it sends more: after its
        restart it catches up (its next events name the denied one), the Core fetches the gap
        (get_missing_events) and shows the denied event redacted; opendesk's queue moves on."""
        t0 = time.monotonic()
        room = self.core_room
        denied_id = self.bob.send(room, "", event_type="org.bordergate.test.forbidden",
                                  content={"note": "denied before a restart"})
        wait_until("the denied transaction's audit record",
                   lambda: [r for r in self.records(direction="inbound", endpoint="send")
                            if denied_id in r.get("event_ids", [])])
        t_restart = time.monotonic()
        self.peer.restart()
        self.timings["opendesk restart"] = time.monotonic() - t_restart
        later = self.bob.send(room, "after opendesk's restart")
        event, waited = wait_until("opendesk's message after its restart",
                                   lambda: event_visible(self.alice, room, later), timeout=60)
        self.assertEqual(event["content"]["body"], "after opendesk's restart")
        self.timings["first opendesk message after its restart"] = waited
        fetched, _ = wait_until("the denied event, as the Core fetched it after the restart",
                                lambda: event_visible(self.alice, room, denied_id), timeout=30)
        self.assertEqual(fetched["content"], {}, fetched)
        verdicts = self.answer_verdicts("outbound").get(denied_id, set())
        self.assertEqual({v for _, v in verdicts}, {"redacted"}, verdicts)
        self.timed("a restarted sender: the denied event still arrives redacted", t0)

    # ---- 6. leave ------------------------------------------------------------------------
    def test_11_leave_both_ways(self):
        t0 = time.monotonic()
        self.bob.leave(self.core_room)
        wait_until("bob's leave, as the Core sees it",
                   lambda: self.bob.user_id not in self.alice.members(self.core_room))
        self.alice.leave(self.peer_room)
        wait_until("alice's leave, as opendesk sees it",
                   lambda: self.alice.user_id not in self.bob.members(self.peer_room))
        self.timed("leave (both ways)", t0)

    # ---- 7. a gateway restart while messages flow ----------------------------------------
    def test_12_gateway_restart_while_messages_flow(self):
        room = self.alice.create_room(name="Restart", preset="private_chat")
        self.invite_and_join(self.alice, self.bob, room, via=CORE)
        sent: dict[str, list[str]] = {"alice": [], "bob": []}
        errors: list[BaseException] = []

        def talk(user, key):
            try:
                for i in range(15):
                    sent[key].append(user.send(room, f"{key} {i} during the restart"))
                    time.sleep(0.15)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=talk, args=(self.alice, "alice")),
                   threading.Thread(target=talk, args=(self.bob, "bob"))]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.6)
        t_stop = time.monotonic()
        self.rig.gateway.stop()
        self.timings["gateway SIGTERM to exit, both Synapses connected"] = time.monotonic() - t_stop
        self.rig.gateway.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for key, reader in (("alice", self.bob), ("bob", self.alice)):
            for event_id in sent[key]:
                wait_until(f"{key}'s {event_id} after the restart",
                           lambda: event_visible(reader, room, event_id), timeout=120)
        self.timed("gateway restart under traffic: 30 messages, all delivered", t0)

    # ---- 8. the evidence -----------------------------------------------------------------
    def test_13_audit_chain_of_the_run_verifies(self):
        t0 = time.monotonic()
        self.rig.gateway.stop()
        verdict = self.rig.audit_verify()
        self.assertTrue(verdict.startswith("OK"), verdict)
        records = self.rig.audit_records()
        seen = {(r.get("direction"), r.get("endpoint"), r.get("action")) for r in records}
        # The Core asks its notary (opendesk) for keys (key.query); opendesk fetches the Core's
        # keys itself (key.server).
        for expected in (("inbound", "key.server", "forward"), ("outbound", "key.query", "forward"),
                         ("inbound", "send", "forward"), ("outbound", "send", "forward"),
                         ("inbound", "make_join", "forward"), ("outbound", "make_join", "forward")):
            self.assertIn(expected, seen)
        self.rig.gateway.start()
        self.timed("audit chain of the run verifies", t0)


TARBALL = None


def main():
    global TARBALL
    TARBALL = find_tarball(ENV.source_dir)
    if TARBALL is None:
        looked = os.environ.get("BG_SYNAPSE_TARBALL") or str(
            ENV.source_dir.parent / "shared" / "synapse" / "synapse-1.67.0.tar.gz")
        return report(SKIP, f"SKIPPED: no Synapse source tarball at {looked} (a fresh clone has "
                            "none; set BG_SYNAPSE_TARBALL to run the suite)")
    missing = missing_python_modules()
    if missing:
        return report(1, "FAILED: Debian Python packages missing for Synapse: " + " ".join(missing)
                      + " (scripts/install-deps installs them)")
    if os.environ.get("BG_INTEROP_NETNS") != "1":
        # Everything (gateway, dnsmasq, both Synapses) runs in a network namespace of its own
        # with nothing but a loopback interface: a packet for any other address cannot leave,
        # whatever a component tries. Each Synapse adds a mount namespace for its name files.
        probe = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            return report(SKIP, "SKIPPED: cannot make private network and mount namespaces "
                                f"(unshare -n -m: {probe.stderr.strip()}); the suite needs root")
        inner = 'ip link set lo up && exec "$@"'
        return subprocess.run(["unshare", "-n", "sh", "-c", inner, "interop", PYTHON_BIN,
                               str(Path(__file__).resolve()), *sys.argv[1:]],
                              env={**os.environ, "BG_INTEROP_NETNS": "1"},
                              preexec_fn=die_with_parent).returncode
    program = unittest.main(argv=[sys.argv[0], "-v", *sys.argv[1:]], exit=False)
    result = program.result
    failed = len(result.failures) + len(result.errors)
    return report(0 if result.wasSuccessful() else 1,
                  f"ran against Synapse from {TARBALL.name}: {result.testsRun - failed} passed, "
                  f"{failed} failed")


def report(code: int, line: str) -> int:
    """Prints the suite's one-line status and leaves it for scripts/run-tests to repeat at
    the end of `make test` (a skip must be seen, not just counted)."""
    print("interop: " + line)
    build = os.environ.get("BG_BUILD_DIR")
    if build:
        Path(build, "interop-status.txt").write_text("interop: " + line + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
