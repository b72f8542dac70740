"""HA's vocabulary on the bus reaches speech-to-text as the home's command language."""

from __future__ import annotations

import pytest

from alicia_bus.audio import encode_audio
from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from alicia_bus.vocabulary import Vocabulary
from tests.bus.client import bus_client, publish_trust
from tests.bus.conftest import Bus
from tests.conftest import wait_until
from tests.wyoming.client import TtsAudio
from tests.wyoming.phrases import normalize

pytestmark = pytest.mark.slow
TOPIC = "alicia/voice/stt/vocabulary"


async def test_the_homes_names_make_a_command_of_what_is_heard(
    own_bus: Bus, spoken: dict[str, TtsAudio]
) -> None:
    # A bridge of its own: the hub key it pins and the vocabulary it keeps stay here.
    clip = spoken["Start the Roborock."]
    vocabulary = Vocabulary(
        ("Kitchen", "Roborock"), (("Roborock", "vacuum"),), ("Kitchen",)
    )
    async with bus_client(own_bus.broker.port, "alicia/voice/#") as client:
        # An approved device asks: a guest hears none of the home's names.
        hub, device = KeyPair.generate(), KeyPair.generate()
        await publish_trust(client, hub, "verify", {"test-device": device.public_key})
        message = new_message("home-assistant", "event", vocabulary.to_payload())
        await client.publish(TOPIC, hub.sign(TOPIC, message), retain=True)
        await wait_until(lambda: "STT vocabulary" in own_bus.bridge.log.read_text())
        answer, _ = await client.request_until_answered(
            "alicia/voice/stt/request",
            {"audio": encode_audio(clip.pcm, clip.rate)},
            key=device,
        )
        assert normalize(answer["payload"]["text"]) == ["start", "the", "roborock"]
        await client.publish(TOPIC, b"", retain=True)
    log = own_bus.bridge.log.read_text()
    assert "home commands name 1 entities, 1 areas" in log
