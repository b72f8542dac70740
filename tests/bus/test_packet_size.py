"""The broker keeps messages far past the contract's 4 MiB from the bridge: they never reach its memory."""

from __future__ import annotations

from alicia_bus.topics import AUDIO_LIMIT
from tests.bus.client import bus_client
from tests.bus.conftest import Bus


async def test_a_message_twice_the_audio_limit_never_reaches_the_bridge(
    bus: Bus,
) -> None:
    huge = b"{" + b" " * (2 * AUDIO_LIMIT)
    async with bus_client(bus.broker.port, "alicia/#") as client:
        await client.publish("alicia/voice/stt/request", huge)
        still = await client.request(
            "alicia/voice/ai/request", {"text": "Still there?"}
        )
    assert still["payload"]["text"].startswith("You asked: Still there?")
    # Never read, never refused (the package's bridge refuses others, 4.3 MB ones).
    assert f"{len(huge)} bytes is over" not in bus.bridge.log.read_text()
