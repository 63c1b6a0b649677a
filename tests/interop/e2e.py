"""An end-to-end encrypted room across the border, with Debian's python3-matrix-nio and
python3-olm as the clients (an independent Matrix client, as Element would be).

Alice (Core) creates an encrypted room and invites Bob (opendesk). Each client logs in a new
device, uploads its device and one-time keys, and sends one message. Sending makes nio query the
other side's device keys (federation `user/keys/query`), claim a one-time key
(`user/keys/claim`) and send the Megolm room key as an encrypted to-device message
(`m.direct_to_device` EDU); the receiver decrypts the message with that key. Everything crosses
the gateway: Core -> opendesk through the outbound proxy, opendesk -> Core through the federation
listener."""
import asyncio
import time
from pathlib import Path

import warnings

with warnings.catch_warnings():  # nio's own imports of deprecated modules (imp, cgi)
    warnings.simplefilter("ignore", DeprecationWarning)
    from nio import AsyncClient, AsyncClientConfig, MegolmEvent, RoomMessageText
    from nio.responses import JoinError, LoginError, RoomCreateError, RoomSendError

ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


async def _client(base: str, user, folder: Path) -> AsyncClient:
    folder.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(base, user.user_id, store_path=str(folder),
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False))
    answer = await client.login(user.password, device_name=f"{user.user_id} e2e")
    if isinstance(answer, LoginError):
        raise AssertionError(f"login of {user.user_id}: {answer.message}")
    if client.should_upload_keys:
        await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    return client


async def _sync_until(client: AsyncClient, what: str, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = await client.sync(timeout=1000)
        value = predicate(answer)
        if value:
            return value
    raise AssertionError(f"{client.user_id}: timed out waiting for {what}")


def _timeline(answer, room_id: str) -> list:
    rooms = getattr(answer, "rooms", None)
    if not rooms or room_id not in rooms.join:
        return []
    return rooms.join[room_id].timeline.events


async def _send(client: AsyncClient, room_id: str, text: str):
    if client.should_query_keys:
        await client.keys_query()
    answer = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text},
                                    ignore_unverified_devices=True)
    if isinstance(answer, RoomSendError):
        raise AssertionError(f"{client.user_id}: send failed: {answer.message}")
    return answer.event_id


async def _receive(client: AsyncClient, room_id: str, event_id: str, timeout: float) -> str:
    """Syncs until the event arrives decrypted; an event that stays a MegolmEvent (no key)
    after the deadline fails."""
    undecrypted = []

    def find(answer):
        for event in _timeline(answer, room_id):
            if event.event_id != event_id:
                continue
            if isinstance(event, RoomMessageText):
                return event.body
            if isinstance(event, MegolmEvent):
                undecrypted.append(event)
                decrypted = client.decrypt_event(event) if client.olm else None
                if isinstance(decrypted, RoomMessageText):
                    return decrypted.body
        for event in list(undecrypted):
            try:
                decrypted = client.decrypt_event(event)
            except Exception:  # noqa: BLE001 - the key may not have arrived yet
                continue
            if isinstance(decrypted, RoomMessageText):
                return decrypted.body
        return None
    return await _sync_until(client, f"decrypted {event_id}", find, timeout)


async def _exchange(core, alice_user, peer, bob_user, folder: Path, timeout: float) -> dict:
    alice = await _client(core.base, alice_user, folder / "alice")
    bob = await _client(peer.base, bob_user, folder / "bob")
    try:
        created = await alice.room_create(name="E2EE across the border", invite=[bob.user_id],
                                          initial_state=[ENCRYPTION])
        if isinstance(created, RoomCreateError):
            raise AssertionError(f"room_create: {created.message}")
        room_id = created.room_id
        await _sync_until(bob, "the invite", lambda a: room_id in getattr(a, "rooms", None).invite
                          if getattr(a, "rooms", None) else False, timeout)
        joined = await bob.join(room_id)
        if isinstance(joined, JoinError):
            raise AssertionError(f"bob's join: {joined.message}")

        def bob_joined(answer):
            return any(getattr(e, "state_key", None) == bob.user_id and
                       getattr(e, "membership", None) == "join"
                       for e in _timeline(answer, room_id)) or (
                room_id in alice.rooms and bob.user_id in alice.rooms[room_id].users)
        await _sync_until(alice, "bob's join", bob_joined, timeout)
        await bob.sync(timeout=0, full_state=True)

        alice_text = f"encrypted from the Core {time.time_ns()}"
        alice_event = await _send(alice, room_id, alice_text)
        bob_got = await _receive(bob, room_id, alice_event, timeout)

        bob_text = f"encrypted from opendesk {time.time_ns()}"
        bob_event = await _send(bob, room_id, bob_text)
        alice_got = await _receive(alice, room_id, bob_event, timeout)
        return {"room_id": room_id, "alice_sent": alice_text, "bob_decrypted": bob_got,
                "bob_sent": bob_text, "alice_decrypted": alice_got}
    finally:
        await alice.close()
        await bob.close()


def encrypted_exchange(core, alice_user, peer, bob_user, folder: Path, timeout: float = 60) -> dict:
    return asyncio.run(_exchange(core, alice_user, peer, bob_user, folder, timeout))


