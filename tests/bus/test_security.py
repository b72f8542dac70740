"""Security on the bridge, over a real broker: its key, the pinned hub key, modes, replay, rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.errors import SecurityError
from alicia_bus.signing import KeyPair, verify
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.bus.conftest import broker_and_bridge
from tests.conftest import Mosquitto, ServerProcess
from tests.fake_xai import FakeXai
from wyoming_services.keys import load_or_create_key

pytestmark = pytest.mark.slow
HUB = KeyPair.generate()
DEVICE = KeyPair.generate()
AI = "alicia/voice/ai/request"
RESPONSE = "alicia/voice/ai/response"


@pytest.fixture(scope="module")
def secure_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """A bridge with the default rate limits (5/s, bursts of 20)."""
    with broker_and_bridge(
        tmp_path_factory.mktemp("secure"),
        fake_xai_server,
        "bridge-s",
        "--rate-limit",
        "5",
        "--rate-burst",
        "20",
    ) as running:
        yield running


def request(
    text: str,
    key: KeyPair | None = None,
    conversation: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    payload = {"text": text} | (
        {"conversation_id": conversation} if conversation else {}
    )
    message = new_message("kitchen_satellite", "request", payload) | changes
    return key.sign(AI, message) if key is not None else message


async def trust(client: BusClient, mode: str, hub: KeyPair = HUB) -> None:
    """The integration's trust list, approving the kitchen satellite's key."""
    await publish_trust(client, hub, mode, {"kitchen_satellite": DEVICE.public_key})


async def error_of(client: BusClient, message: dict[str, Any]) -> str | None:
    await client.publish(AI, message)
    answer = await client.answer_to(message["message_id"], limit=20)
    error = answer["payload"].get("error")
    return None if error is None else str(error["code"])


async def test_bridge_signs_and_enforces(
    secure_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, _ = secure_bus
    # Refusals of messages in an approved device's name, not signed by it, go to
    # system/errors: its own namespace is not the forger's to write to.
    async with bus_client(
        broker.port, RESPONSE, "alicia/system/discovery/register/bridge-s",
        "alicia/system/health/heartbeat", "alicia/system/errors",
    ) as client:  # fmt: skip
        registration = await client.wait_for(
            lambda m: True, topic="alicia/system/discovery/register/bridge-s"
        )
        bridge_key = registration["payload"]["public_key"]
        verify("alicia/system/discovery/register/bridge-s", registration, bridge_key)

        # Verify mode (the default): unsigned requests from senders without an
        # approved key are still served; one with an approved key must sign.
        assert (
            await error_of(client, request("Unsigned, verify?", source="guest")) is None
        )
        await trust(client, "verify")
        assert await error_of(client, request("Unsigned, pinned?")) == "unsigned"

        await trust(client, "enforce")
        assert await error_of(client, request("Unsigned, enforce?")) == "unsigned"
        signed = request("Signed by an approved device?", DEVICE)
        await client.publish(AI, signed)
        answer = await client.answer_to(signed["message_id"], limit=20)
        assert "error" not in answer["payload"]
        verify(RESPONSE, answer, bridge_key)  # the device can check who answered

        forged = request("Forged?", DEVICE)
        forged["payload"]["text"] = "Something else"
        assert await error_of(client, forged) == "bad_signature"
        assert await error_of(client, request("Wrong key?", KeyPair.generate())) == (
            "bad_signature"
        )
        old = (datetime.now(UTC) - timedelta(seconds=40)).isoformat()
        assert (
            await error_of(client, request("Skewed?", DEVICE, timestamp=old)) == "stale"
        )
        stranger = new_message("hall_panel", "request", {"text": "Unknown sender?"})
        assert await error_of(client, DEVICE.sign(AI, stranger)) == "untrusted"

        # A replay of the served request is not served again: it is a retry, and
        # gets the answer already given (docs/protocol.md, "Delivery").
        await client.publish(AI, signed)
        # A wait, not a marker: served again, the replay would be answered after a
        # Grok call of its own, side by side with anything sent after it.
        await asyncio.sleep(1)
        served = [
            m for m in client.messages[RESPONSE]
            if isinstance(m, dict) and m.get("correlation_id") == signed["message_id"]
        ]  # fmt: skip
        assert {str(m["payload"]) for m in served} == {str(answer["payload"])}
        asked = [r for r in xai.chat_requests() if "approved device" in str(r["body"])]
        assert len(asked) == 1

        # A trust list signed by another key cannot turn security off.
        await trust(client, "off", hub=KeyPair.generate())
        assert await error_of(client, request("Still enforced?")) == "unsigned"

        heartbeat = await client.wait_for(
            lambda m: (
                m["payload"]["counters"]["rejected_by_code"].get("unsigned", 0) >= 3
                and m["payload"]["counters"]["rejected_by_code"].get("bad_signature", 0)
                >= 3
            ),
            topic="alicia/system/health/heartbeat",
        )
        by_code = heartbeat["payload"]["counters"]["rejected_by_code"]
        assert by_code["bad_signature"] == 3  # forged, wrong key, the other hub's list
        assert by_code["unsigned"] >= 3
        assert by_code["stale"] == 1
        assert by_code["key_changed"] >= 1  # the other hub key was refused
        verify("alicia/system/health/heartbeat", heartbeat, bridge_key)

        await trust(client, "verify")
        assert await error_of(client, request("Verify again?", source="guest")) is None


async def test_a_key_the_user_replaced_does_not_continue_the_old_keys_conversation(
    secure_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, _ = secure_bus
    async with bus_client(broker.port, RESPONSE) as client:
        await trust(client, "enforce")
        said = request("My door code is 4711.", DEVICE, conversation="code")
        await client.publish(AI, said)
        await client.answer_to(said["message_id"], limit=20)
        again = request("What did I tell you?", DEVICE, conversation="code")
        await client.publish(AI, again)
        answer = await client.answer_to(again["message_id"], limit=20)
        assert answer["payload"]["text"].endswith("I remember 1 earlier answers.")

        # The user approves a new key for the kitchen satellite (a reset device, or
        # whoever holds it now): the old key's conversation is not theirs to read.
        replaced = KeyPair.generate()
        await publish_trust(
            client, HUB, "enforce", {"kitchen_satellite": replaced.public_key}
        )
        taken_over = request("What did I tell you?", replaced, conversation="code")
        await client.publish(AI, taken_over)
        answer = await client.answer_to(taken_over["message_id"], limit=20)
        assert answer["payload"]["text"].endswith("I remember 0 earlier answers.")
        sent = [r for r in xai.chat_requests() if "What did I tell" in str(r["body"])]
        assert "4711" not in str(sent[-1]["body"])
        await trust(client, "verify")


async def test_a_flood_is_limited_per_sender(
    secure_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, _ = secure_bus
    async with bus_client(
        broker.port, RESPONSE, "alicia/system/health/heartbeat"
    ) as client:
        await trust(client, "verify")
        flood = [
            new_message("noisy_panel", "request", {"text": f"Flood {i}"})
            for i in range(100)
        ]
        for message in flood:
            await client.publish(AI, message)
        # Another device is served while the flood is being dropped.
        await error_of(client, request("Me too?", DEVICE))
        # A wait, not a marker: the flood's requests let in are served four at a
        # time, side by side, and may be answered after a later request is.
        await asyncio.sleep(1.5)
        answered = {
            m["correlation_id"]
            for m in client.messages[RESPONSE]
            if isinstance(m, dict)
        } & {m["message_id"] for m in flood}
        assert 20 <= len(answered) <= 40, len(answered)
        heartbeat = await client.wait_for(
            lambda m: (
                m["payload"]["counters"]["rejected_by_code"].get("rate_limited", 0)
                >= 60
            ),
            topic="alicia/system/health/heartbeat",
        )
        assert heartbeat["payload"]["service_id"] == "bridge-s"


async def test_refusals_under_many_forged_sender_ids_are_limited_in_all(
    secure_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, _ = secure_bus
    async with bus_client(broker.port, RESPONSE, "alicia/system/errors") as client:
        await trust(client, "enforce")
        # Unsigned, so refused; each under a sender id of its own (a bucket each).
        flood = [
            new_message(f"forged_{i}", "request", {"text": f"Flood {i}"})
            for i in range(100)
        ]
        for message in flood:
            await client.publish(AI, message)
        # The approved device is still served while the refusals are being dropped.
        assert await error_of(client, request("Still there?", DEVICE)) is None
        # A wait, not a marker: refusals and answers are sent side by side; what
        # comes after the approved device's answer is not sure to come later.
        await asyncio.sleep(1.5)
        refused = [
            m for m in client.messages[RESPONSE]
            if isinstance(m, dict) and m["correlation_id"] in {f["message_id"] for f in flood}
        ]  # fmt: skip
        assert {m["payload"]["error"]["code"] for m in refused} == {"unsigned"}
        # The burst (20) and what refills (5/s) while the flood lasts; not 100.
        assert 20 <= len(refused) <= 40, len(refused)
        await trust(client, "verify")


def test_verify_raises_for_a_modified_response() -> None:
    message = KeyPair.generate().sign("t", new_message("a", "event", {"x": 1}))
    message["payload"]["x"] = 2
    with pytest.raises(SecurityError):
        verify("t", message, KeyPair.generate().public_key)


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "bridge.pem"
    first = load_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path).public_key == first.public_key
