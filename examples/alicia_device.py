"""A small alicia device that signs its messages: a dimmable desk lamp with a thermometer.

Standalone on purpose (a device maker's starting point, docs/devices.md): only
paho-mqtt >= 2 and cryptography, no Alicia package.

    pip install "paho-mqtt>=2" cryptography
    python examples/alicia_device.py --host 127.0.0.1 --port 1883 --device-id desk_lamp_01

It keeps its Ed25519 key in DEVICE_ID.pem, prints its fingerprint (compare it with
the one Home Assistant shows when asking you to approve the device), registers,
reports its state and heartbeats, obeys commands signed by Home Assistant's key,
and sends an analytics event when its button is "pressed" (Enter on the console).
"""

from __future__ import annotations

import argparse
import base64
from datetime import UTC, datetime
import decimal
import hashlib
import json
import math
from pathlib import Path
import random
import secrets
import sys
import threading
import time
from typing import Any
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

PREFIX = "alicia"
HUB = "home-assistant"
# How far a command's timestamp may be from this device's clock (docs/security.md).
WINDOW_SECONDS = 30


# --- RFC 8785 canonical JSON: what a signature covers must be the same bytes everywhere.


def canonical_number(value: float) -> str:
    """A number as ECMAScript writes it (1.0 -> 1, 1e-07 -> 1e-7, 1e21 -> 1e+21)."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a JSON number: {value!r}")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = decimal.Decimal(repr(abs(float(value)))).as_tuple()[1:]
    digits = "".join(map(str, digits_tuple)).rstrip("0") or "0"
    point = len("".join(map(str, digits_tuple))) + int(exponent)  # where the point goes
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        e = point - 1
        text = (
            digits[0]
            + ("." + digits[1:] if k > 1 else "")
            + f"e{'+' if e > 0 else '-'}{abs(e)}"
        )
    return sign + text


def canonical(value: Any) -> str:
    """Keys sorted by UTF-16 code units, no whitespace, minimal string escapes."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return (
            "{" + ",".join(f"{canonical(k)}:{canonical(value[k])}" for k in keys) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    return canonical_number(value)


def signed_bytes(topic: str, message: dict[str, Any]) -> bytes:
    body = {k: v for k, v in message.items() if k != "security"}
    return b"alicia-v1\n" + topic.encode() + b"\n" + canonical(body).encode()


def fingerprint(public_key_b64: str) -> str:
    digest = hashlib.sha256(base64.b64decode(public_key_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


# --- The device


class Device:
    """One device: its key, its state, and what it says on the bus."""

    def __init__(self, device_id: str, key_file: Path) -> None:
        self.device_id = device_id
        if key_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), None)
            assert isinstance(key, Ed25519PrivateKey)
        else:
            key = Ed25519PrivateKey.generate()
            key_file.write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ))  # fmt: skip
            key_file.chmod(0o600)
        self.key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = base64.b64encode(raw).decode()
        self.hub_key: Ed25519PublicKey | None = None  # pinned on first sight
        # Home Assistant's message ids seen within the window (a copy is a replay).
        self.seen: dict[str, float] = {}
        self.light = {"state": "off", "brightness": 128}
        self.started = time.monotonic()

    def envelope(
        self, message_type: str, payload: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "protocol": 1,
            "message_id": str(uuid.uuid4()),
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{now.microsecond // 1000:03d}Z",
            "source": self.device_id,
            "destination": extra.get("destination", "broadcast"),
            "message_type": message_type,
            "correlation_id": extra.get("correlation_id"),
            "reply_to": None,
            "payload": payload,
        }

    def seal(self, topic: str, message: dict[str, Any]) -> bytes:
        signature = self.key.sign(signed_bytes(topic, message))
        message["security"] = {
            "alg": "ed25519",
            "key": fingerprint(self.public_key),
            "sig": base64.b64encode(signature).decode(),
        }
        return json.dumps(message, ensure_ascii=False).encode()

    def registration(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "device_type": "actuator",
            "name": "Desk lamp",
            "capabilities": [
                {"name": "light", "parameters": {"brightness": True}},
                "temperature",
            ],
            "metadata": {
                "manufacturer": "Example",
                "model": "Lamp-1",
                "location": "office",
                "version": "1.0.0",
            },
            "heartbeat_interval": 30,
            "public_key": self.public_key,
        }

    def values(self) -> dict[str, Any]:
        return {
            "light": dict(self.light),
            "temperature": round(21 + random.uniform(-0.5, 0.5), 1),
        }

    def obey(self, payload: dict[str, Any]) -> bool:
        """A command for the light; False for anything this device does not do."""
        if payload.get("capability") != "light":
            return False
        if payload.get("action") == "turn_off":
            self.light["state"] = "off"
        elif payload.get("action") == "turn_on":
            self.light["state"] = "on"
            brightness = payload.get("params", {}).get("brightness")
            if isinstance(brightness, int) and 0 < brightness <= 255:
                self.light["brightness"] = brightness
        else:
            return False
        return True

    def is_new(self, message: dict[str, Any]) -> bool:
        """Whether a command is fresh: signed within 30 s of now, and not seen before.

        Anyone on the broker may record a signed command and send it again later.
        """
        try:
            sent = datetime.fromisoformat(str(message.get("timestamp")))
            age = abs((datetime.now(UTC) - sent).total_seconds())
        except (TypeError, ValueError):
            return False
        now = time.monotonic()
        self.seen = {
            k: t for k, t in self.seen.items() if t > now
        }  # at most 60 s worth
        message_id = str(message.get("message_id"))
        if age > WINDOW_SECONDS or message_id in self.seen or len(self.seen) >= 1000:
            return False
        self.seen[message_id] = now + 2 * WINDOW_SECONDS
        return True

    def hub_says(self, topic: str, message: dict[str, Any]) -> bool:
        """Whether a message is Home Assistant's, signed by the pinned hub key."""
        security = message.get("security") or {}
        if self.hub_key is None or message.get("source") != HUB:
            return False
        try:
            self.hub_key.verify(
                base64.b64decode(security.get("sig", "")), signed_bytes(topic, message)
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def run(args: argparse.Namespace) -> None:
    device = Device(args.device_id, Path(args.key_file or f"{args.device_id}.pem"))
    print(
        f"{device.device_id}: key fingerprint {fingerprint(device.public_key)}",
        flush=True,
    )
    topics = {
        "register": f"{PREFIX}/system/discovery/register/{device.device_id}",
        "status": f"{PREFIX}/devices/{device.device_id}/status",
        "data": f"{PREFIX}/devices/{device.device_id}/data",
        "command": f"{PREFIX}/devices/{device.device_id}/command",
        "heartbeat": f"{PREFIX}/system/health/heartbeat",
        "hub": f"{PREFIX}/system/security/hub",
        "analytics": f"{PREFIX}/integration/analytics/event",
    }
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device.device_id)
    if args.username:
        client.username_pw_set(args.username, args.password)
    # The will is signed now but sent by the broker when we are gone: HA takes it,
    # though old by then, because it names this connection's session.
    session = secrets.token_hex(8)
    offline = device.envelope("event", {"state": "offline", "session": session})
    client.will_set(
        topics["status"], device.seal(topics["status"], offline), qos=1, retain=True
    )

    def publish(
        name: str, message_type: str, payload: dict[str, Any], retain: bool = False
    ) -> None:
        topic = topics[name]
        client.publish(
            topic,
            device.seal(topic, device.envelope(message_type, payload)),
            qos=1,
            retain=retain,
        )

    def on_connect(
        client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            print(f"broker refused the connection: {reason}", file=sys.stderr)
            return
        client.subscribe([(topics["hub"], 1), (topics["command"], 1)])
        publish("register", "event", device.registration(), retain=True)
        publish("status", "event", {"state": "online", "session": session}, retain=True)
        publish("data", "event", {"values": device.values()})
        print(
            f"{device.device_id}: registered; waiting for approval in Home Assistant",
            flush=True,
        )

    def on_message(
        _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        try:
            envelope = json.loads(message.payload)
        except ValueError:
            return
        if message.topic == topics["hub"] and device.hub_key is None:
            key = envelope.get("payload", {}).get("public_key", "")
            device.hub_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key))
            if not device.hub_says(message.topic, envelope):
                device.hub_key = None  # not even self-signed
                return
            print(
                f"{device.device_id}: Home Assistant's key {fingerprint(key)} pinned",
                flush=True,
            )
        elif message.topic == topics["command"]:
            if not device.hub_says(message.topic, envelope):
                print(
                    f"{device.device_id}: ignored a command not signed by Home Assistant",
                    flush=True,
                )
            elif not device.is_new(envelope):
                print(
                    f"{device.device_id}: ignored an old or repeated command",
                    flush=True,
                )
            elif (command := envelope.get("payload", {})).get("action") == "report":
                # Approved just now: what was sent before the approval was refused.
                print(f"{device.device_id}: reporting every value", flush=True)
                publish("data", "event", {"values": device.values()})
            elif device.obey(command):
                print(f"{device.device_id}: light {device.light}", flush=True)
                publish("data", "event", {"values": {"light": dict(device.light)}})

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(args.host, args.port, keepalive=30)
    client.loop_start()

    def button() -> None:
        for _line in sys.stdin:
            publish(
                "analytics",
                "event",
                {"event": "button_pressed", "device_id": device.device_id},
            )

    threading.Thread(target=button, daemon=True).start()
    try:
        while True:
            time.sleep(args.every)
            publish("data", "event", {"values": device.values()})
            publish("heartbeat", "event", {
                "device_id": device.device_id, "status": "healthy", "interval": 30,
                "metrics": {"response_time": 5.0, "error_rate": 0.0},
            })  # fmt: skip
    except KeyboardInterrupt:
        publish("status", "event", {"state": "offline"}, retain=True)
    finally:
        client.loop_stop()
        client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--device-id", default="desk_lamp_01")
    parser.add_argument("--key-file", help="default: DEVICE_ID.pem")
    parser.add_argument(
        "--every", type=float, default=30, help="seconds between reports"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
