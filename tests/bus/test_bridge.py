"""The bridge against a real Mosquitto, with the real models and the fake xAI API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any
import uuid

import pytest

from alicia_bus.audio import decode_audio, encode_audio
from alicia_bus.envelope import new_message, parse
from alicia_bus.signing import KeyPair
from tests.conftest import Mosquitto, wait_until
from tests.fake_xai import FakeXai
from tests.vectors import all_vectors
from tests.wyoming.client import TtsAudio
from tests.wyoming.phrases import normalize

from .client import bus_client, publish_hub_key, publish_trust
from .conftest import Bus, broker_and_bridge, start_bridge

pytestmark = pytest.mark.slow


def assert_valid_for_the_integration(topic: str, message: dict[str, Any]) -> None:
    """What the bridge publishes must pass the contract the integration reads it with."""
    parse(topic, json.dumps(message).encode())


async def test_registration_status_and_heartbeat(bus: Bus) -> None:
    async with bus_client(bus.broker.port, "alicia/#") as client:
        register_topic = "alicia/system/discovery/register/bridge-a"
        registration = await client.wait_for(
            lambda m: True, topic=register_topic
        )  # retained
        assert_valid_for_the_integration(register_topic, registration)
        payload = registration["payload"]
        assert payload["device_type"] == "service"
        assert [c["name"] for c in payload["capabilities"]] == ["stt", "tts", "ai"]
        assert payload["capabilities"][2]["parameters"]["model"] == "grok-test-fast"

        status = await client.wait_for(
            lambda m: True, topic="alicia/devices/bridge-a/status"
        )
        assert status["payload"]["state"] == "online"

        heartbeat = await client.wait_for(
            lambda m: True, topic="alicia/system/health/heartbeat"
        )
        assert_valid_for_the_integration("alicia/system/health/heartbeat", heartbeat)
        health = heartbeat["payload"]
        assert health["service_id"] == "bridge-a"
        assert health["status"] == "healthy"
        # response_time only once something was served (tests/bus/test_health_report.py).
        assert {"cpu_usage", "memory_usage", "error_rate"} <= set(health["metrics"])
        assert set(health["metrics"]) <= {
            "cpu_usage",
            "memory_usage",
            "error_rate",
            "response_time",
        }
        assert 0 < health["metrics"]["memory_usage"] < 100


async def test_ai_request_correlated_and_reply_to(bus: Bus, xai: FakeXai) -> None:
    async with bus_client(bus.broker.port, "alicia/voice/#") as client:
        answer = await client.request(
            "alicia/voice/ai/request", {"text": "Is it sunny?", "conversation_id": "k1"}
        )
        assert answer["message_type"] == "response"
        assert answer["source"] == "bridge-a"
        assert answer["destination"] == "test-device"
        assert answer["payload"] == {
            "text": "You asked: Is it sunny? I remember 0 earlier answers."
        }
        assert_valid_for_the_integration("alicia/voice/ai/response", answer)
        assert client.messages["alicia/voice/ai/response"] == [answer]

        follow = await client.request(
            "alicia/voice/ai/request", {"text": "And tomorrow?", "conversation_id": "k1"},
            reply_to="alicia/voice/ai/response/test-device",
        )  # fmt: skip
        assert follow["payload"]["text"].endswith("I remember 1 earlier answers.")
        assert follow in client.messages["alicia/voice/ai/response/test-device"]

        xai.configure(fail_with=[401])
        refused = await client.request("alicia/voice/ai/request", {"text": "Hello?"})
        assert refused["payload"]["error"] == {
            "code": "failed",
            "message": "Grok refused the API key. Please check the key in the Alicia app.",
        }


async def test_tts_then_stt(bus: Bus) -> None:
    async with bus_client(bus.broker.port, "alicia/voice/#") as client:
        spoken = await client.request(
            "alicia/voice/tts/request", {"text": "Open the garage door."}
        )
        audio = decode_audio(spoken["payload"]["audio"])
        assert audio.rate == 22050
        assert audio.seconds > 1
        lead = encode_audio(bytes(int(0.3 * audio.rate) * 2) + audio.pcm, audio.rate)
        heard = await client.request(
            "alicia/voice/stt/request", {"audio": lead, "language": "en"}
        )
        assert normalize(heard["payload"]["text"]) == normalize("open the garage door")
        assert heard["payload"]["language"] == "en"


async def test_voice_route_end_to_end(bus: Bus, spoken: dict[str, TtsAudio]) -> None:
    clip = spoken["Turn on the kitchen light."]
    async with bus_client(bus.broker.port, "alicia/#") as client:
        answer = await client.request(
            "alicia/voice/command/route",
            {
                "audio": encode_audio(clip.pcm, clip.rate),
                "conversation_id": "r1",
                "audio_reply": True,
            },
            source="kitchen_satellite",
        )
        payload = answer["payload"]
        assert normalize(payload["transcript"]) == normalize(
            "turn on the kitchen light"
        )
        assert payload["answer"].startswith("You asked: ")
        assert set(payload["timings"]) == {"stt_ms", "ai_ms", "tts_ms", "total_ms"}
        assert decode_audio(payload["audio"]).seconds > 1
        # Unsigned, it is a guest: answered, but not announced in its name.
        assert "announcement_id" not in payload
        assert not client.messages.get("alicia/devices/speakers/announce")
        # Nor on the topic HA tells automations from: on its own (docs/protocol.md).
        assert not client.messages.get("alicia/voice/command/response")
        assert client.messages["alicia/voice/command/response/kitchen_satellite"] == [
            answer
        ]


async def test_every_invalid_vector_is_answered_and_the_bridge_goes_on(
    bus: Bus,
) -> None:
    served = {"alicia/voice/stt/request", "alicia/voice/ai/request", "alicia/voice/tts/request",
              "alicia/voice/command/route"}  # fmt: skip
    vectors = [v for v in all_vectors() if v.expect != "valid" and v.topic in served]
    assert len(vectors) >= 8
    async with bus_client(bus.broker.port, "alicia/#") as client:
        for vector in vectors:
            raw, message_id = fresh(vector.raw)
            await client.publish(vector.topic, raw)
            # Too large to be read at all: the sender cannot be known.
            if message_id is not None and vector.expect != "too_large":
                answer = await client.answer_to(message_id)
            else:
                answer = await client.wait_for(
                    lambda m, v=vector: (
                        m["payload"]["error"]["code"] == v.expect
                        and m["payload"]["topic"] == v.topic
                    ),
                    topic="alicia/system/errors",
                )
            assert answer["payload"]["error"]["code"] == vector.expect, vector.name
            assert answer["payload"]["error"]["message"]
        health = await client.wait_for(
            lambda m: m["payload"]["counters"]["rejected"] >= len(vectors),
            topic="alicia/system/health/heartbeat",
        )
        assert sum(health["payload"]["counters"]["rejected_by_code"].values()) >= len(
            vectors
        )
        still = await client.request(
            "alicia/voice/ai/request", {"text": "Still there?"}
        )
        assert still["payload"]["text"].startswith("You asked: Still there?")


def fresh(raw: bytes) -> tuple[bytes, str | None]:
    """The vector with its own message id and a current timestamp, when it has them."""
    try:
        message = json.loads(raw)
    except ValueError:
        return raw, None
    if not isinstance(message, dict) or "message_id" not in message:
        return raw, None
    message["message_id"] = str(uuid.uuid4())
    if message.get("timestamp") == "2026-11-22T10:15:30.123Z":
        message["timestamp"] = datetime.now(UTC).isoformat()
    padded = json.dumps(message).encode()
    # Keep oversized vectors oversized (the new id is the same length).
    return padded, message["message_id"]


async def test_bad_audio_and_duplicates(bus: Bus) -> None:
    async with bus_client(
        bus.broker.port, "alicia/voice/#", "alicia/system/#"
    ) as client:
        request = new_message("test-device", "request", {"text": "Once?"})
        await client.publish("alicia/voice/ai/request", request)
        await client.publish("alicia/voice/ai/request", request)  # a QoS 1 redelivery
        first = await client.answer_to(request["message_id"])
        # A wait, not a marker: the bridge serves requests side by side, so a copy
        # served again would be answered after a Grok call of its own, and no
        # marker's answer is sure to come after that.
        await asyncio.sleep(1.0)
        answers = [m for m in client.messages["alicia/voice/ai/response"] if isinstance(m, dict)
                   and m["correlation_id"] == request["message_id"]]  # fmt: skip
        assert answers == [first]

        garbage = await client.request(
            "alicia/voice/stt/request", {"audio": {"format": "wav", "data": "AAAA"}}
        )
        assert garbage["payload"]["error"]["code"] == "bad_audio"

        await client.publish("alicia/voice/ai/request", b"{not json")
        error = await client.wait_for(lambda m: True, topic="alicia/system/errors")
        assert error["payload"]["error"]["code"] == "malformed_json"
        assert error["payload"]["topic"] == "alicia/voice/ai/request"


async def test_vocabulary_topic_biases_recognition(
    own_bus: Bus, spoken: dict[str, TtsAudio]
) -> None:
    # A bridge of its own: the trust list approving a device stays here.
    clip = spoken["Start the Roborock."]
    audio = encode_audio(clip.pcm, clip.rate)
    async with bus_client(own_bus.broker.port, "alicia/voice/#") as client:
        before = await client.request("alicia/voice/stt/request", {"audio": audio})
        assert "roborock" not in before["payload"]["text"].lower()
        # Only the hub's vocabulary counts: its key and trust list first (as the
        # integration publishes them, retained), then the vocabulary signed with it.
        hub, device = KeyPair.generate(), KeyPair.generate()
        await publish_trust(client, hub, "verify", {"test-device": device.public_key})
        topic = "alicia/voice/stt/vocabulary"
        vocabulary = new_message(
            "home-assistant", "event", {"phrases": ["the Roborock", "kitchen light"]}
        )
        await client.publish(topic, hub.sign(topic, vocabulary), retain=True)
        await wait_until(lambda: "STT vocabulary" in own_bus.bridge.log.read_text())
        after, _ = await client.request_until_answered(
            "alicia/voice/stt/request", {"audio": audio}, key=device
        )
        assert "roborock" in after["payload"]["text"].lower()
        # A guest (unsigned) hears none of the home's names: they would name its devices.
        guest = await client.request(
            "alicia/voice/stt/request", {"audio": audio}, source="a-guest"
        )
        assert "roborock" not in guest["payload"]["text"].lower()
        await client.publish("alicia/voice/stt/vocabulary", b"", retain=True)


async def test_retained_hub_messages_are_taken_at_start(
    tmp_path: Path, fake_xai_server: FakeXai
) -> None:
    """A bridge starting (or restarting) where HA has already published: nothing dropped.

    The vocabulary and states are signed with the hub's key, retained on another
    topic; taken before that key arrived, they were refused as unsigned by the hub.
    """
    hub = KeyPair.generate()
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        async with bus_client(broker.port) as client:
            await publish_trust(client, hub, "verify")
            topic = "alicia/voice/stt/vocabulary"
            vocabulary = new_message(
                "home-assistant",
                "event",
                {"phrases": ["the Roborock", "kitchen light"]},
            )
            await client.publish(topic, hub.sign(topic, vocabulary), retain=True)
        for _ in range(2):  # a start, then a restart with its pinned key and trust
            bridge = start_bridge(broker, fake_xai_server, "bridge-r", tmp_path)
            read = bridge.log.read_text
            try:
                await wait_until(lambda: "STT vocabulary: 2 phrases" in read())  # noqa: B023
                assert "Ignored alicia/voice/stt/vocabulary" not in read()
            finally:
                bridge.stop()
    finally:
        broker.stop()


async def test_a_vocabulary_taken_before_the_key_it_is_signed_with_comes_again(
    tmp_path: Path, fake_xai_server: FakeXai
) -> None:
    """HA publishes its key and its vocabulary together to a bridge already listening."""
    hub = KeyPair.generate()
    with broker_and_bridge(tmp_path, fake_xai_server, "bridge-race") as (
        broker,
        bridge,
    ):
        async with bus_client(broker.port) as client:
            topic = "alicia/voice/stt/vocabulary"
            vocabulary = new_message(
                "home-assistant",
                "event",
                {"phrases": ["the Roborock", "kitchen light"]},
            )
            await client.publish(topic, hub.sign(topic, vocabulary), retain=True)
            await wait_until(
                lambda: "Ignored alicia/voice/stt/vocabulary" in bridge.log.read_text()
            )
            await publish_hub_key(client, hub)
            await wait_until(
                lambda: "STT vocabulary: 2 phrases" in bridge.log.read_text()
            )
