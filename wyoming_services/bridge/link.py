"""The bridge's MQTT connection: MQTT v5, a session that outlives broker restarts, bounded queues."""

from __future__ import annotations

import socket
import ssl

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from alicia_bus.topics import AUDIO_LIMIT
from wyoming_services.settings import Settings

from .inbox import Requests, inbox_for

# Beyond this, a flood of our own publishes is dropped by the client, not held.
MAX_QUEUED_OUT = 1000


def connect(
    settings: Settings, client_id: str, will: aiomqtt.Will, requests: Requests
) -> aiomqtt.Client:
    """A client for the broker in settings (not connected until entered); devices' requests go to `requests`."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    # A session that outlives a broker restart keeps the shared subscriptions
    # and the QoS 1 requests that arrive while we reconnect.
    properties.SessionExpiryInterval = 3600
    # Nothing far past what the contract allows (audio, 4 MiB) reaches our memory:
    # the broker does not send it. Up to twice that, its sender is told too_large.
    properties.MaximumPacketSize = 2 * AUDIO_LIMIT
    tls: ssl.SSLContext | None = None
    if settings.mqtt_tls:
        tls = ssl.create_default_context(cafile=settings.mqtt_ca_certs or None)
    return aiomqtt.Client(
        settings.mqtt_host,
        settings.mqtt_port,
        username=settings.mqtt_username or None,
        password=settings.mqtt_password or None,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=properties,
        will=will,
        tls_context=tls,
        keepalive=30,
        # Bounded in bytes, requests apart (inbox.py): aiomqtt's own bound drops.
        queue_type=inbox_for(requests),
        max_queued_outgoing_messages=MAX_QUEUED_OUT,
        # Small request/response messages: Nagle's algorithm with delayed ACKs
        # added ~40 ms per hop (measured in bench/bus.py).
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
    )


def subscriptions(prefix: str, share_group: str) -> list[tuple[str, int]]:
    """Requests through a shared subscription (one bridge of the group answers); the rest to each."""
    share = f"$share/{share_group}/{prefix}"
    return [
        (f"{share}/voice/stt/request", 1),
        (f"{share}/voice/ai/request", 1),
        (f"{share}/voice/tts/request", 1),
        (f"{share}/voice/command/route", 1),
        (f"{prefix}/system/security/hub", 1),
        (f"{prefix}/system/security/trust", 1),
    ]


def hub_subscriptions(prefix: str, reply_topic: str) -> list[tuple[str, int]]:
    """What HA says to every bridge: the vocabulary and exposed states (retained), answers.

    Subscribed after subscriptions(): the broker then sends the hub's retained key
    first, so what it signed can be checked when it arrives.
    """
    return [
        (f"{prefix}/voice/stt/vocabulary", 1),
        (f"{prefix}/integration/ha/state/+", 1),
        (reply_topic, 1),
    ]


async def hear_hub_again(client: aiomqtt.Client, prefix: str) -> None:
    """HA's retained vocabulary and states once more (its key was just trusted)."""
    # HA publishes its key and what it signed together; handled side by side, the
    # vocabulary can be checked a moment before the key is taken, refused, and
    # (retained, already delivered) never come again.
    topics = [topic for topic, _ in hub_subscriptions(prefix, "")[:2]]
    await client.unsubscribe(topics)
    await client.subscribe([(topic, 1) for topic in topics])
