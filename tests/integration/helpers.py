"""Building alicia messages and firing them at HA's MQTT integration (mqtt_mock)."""

from __future__ import annotations

from datetime import UTC, datetime
import hashlib
import json
from typing import Any
import uuid

from homeassistant.components import mqtt
from homeassistant.components.repairs import RepairsFlowManager
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.device_registry import find_device

# HA 2026.6 on puts a device's area in front of its entity ids: a device's own
# name then leaves the area out ("Kitchen sensor" in the Kitchen: "Sensor").
AREA_IN_ENTITY_IDS = tuple(map(int, HA_VERSION.split(".")[:2])) >= (2026, 6)


def message(
    source: str,
    payload: dict[str, Any],
    message_type: str = "event",
    *,
    key: KeyPair | None = None,
    topic: str = "",
    **changes: Any,
) -> str:
    """An envelope as JSON text; signed for topic when a device key is given."""
    envelope = {
        "protocol": 1,
        "message_id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        "source": source,
        "destination": "broadcast",
        "message_type": message_type,
        "payload": payload,
    } | changes
    if key is not None:
        key.sign(topic, envelope)
    return json.dumps(envelope)


SENSOR: dict[str, Any] = {
    "device_id": "kitchen_sensor",
    "device_type": "sensor",
    "name": "Kitchen sensor",
    "capabilities": [
        {"name": "temperature", "type": "sensor"},
        "humidity",
        "motion",
        "battery",
    ],
    "metadata": {
        "manufacturer": "Acme",
        "model": "TH-1",
        "location": "kitchen",
        "version": "1.2.0",
    },
    "heartbeat_interval": 10,
}

LIGHT: dict[str, Any] = {
    "device_id": "hall_light",
    "device_type": "actuator",
    "name": "Hall light",
    "capabilities": [
        {"name": "light", "parameters": {"brightness": True, "color_temp": True}},
        "identify",
    ],
    "metadata": {"manufacturer": "Acme", "model": "Bulb", "location": "hall"},
    "heartbeat_interval": 10,
}


VOICE: dict[str, Any] = {
    "device_id": "alicia-voice",
    "device_type": "service",
    "name": "Alicia voice services",
    "capabilities": ["stt", "tts", "ai"],
    "heartbeat_interval": 10,
}


# The app's bridge (the voice services' device) and the key it signs with.
BRIDGE = VOICE["device_id"]
BRIDGE_KEY = KeyPair.from_seed(bytes(range(1, 33)))
# The hub's key from a fixed seed: the same fingerprint in every test and run.
HUB_KEY = KeyPair.from_seed(bytes(range(32)))
STORE = "alicia.01JALICIAHUB0000000000000"


def store_hub_key(hass_storage: dict[str, Any]) -> None:
    """HA's storage holds the hub's fixed key before Alicia is set up."""
    hass_storage[STORE] = {
        "version": 1, "minor_version": 1, "key": STORE,
        "data": {"hub_key": HUB_KEY.pem.decode()},
    }  # fmt: skip


HEARTBEAT = "alicia/system/health/heartbeat"


async def from_bridge(hass: HomeAssistant, topic: str, payload: dict[str, Any]) -> None:
    """A message from the app's bridge, signed with its key."""
    signed = message(BRIDGE, payload, key=BRIDGE_KEY, topic=topic)
    async_fire_mqtt_message(hass, topic, signed)
    await hass.async_block_till_done()


async def register_bridge(hass: HomeAssistant) -> None:
    """The app's bridge registers with its key."""
    topic = f"alicia/system/discovery/register/{BRIDGE}"
    await from_bridge(hass, topic, {**VOICE, "public_key": BRIDGE_KEY.public_key})


async def register(
    hass: HomeAssistant, document: dict[str, Any], source: str | None = None
) -> None:
    device_id = document["device_id"]
    async_fire_mqtt_message(
        hass,
        f"alicia/system/discovery/register/{device_id}",
        message(source or device_id, document),
    )
    await hass.async_block_till_done()


async def send(
    hass: HomeAssistant, topic: str, source: str, payload: dict[str, Any]
) -> None:
    async_fire_mqtt_message(hass, topic, message(source, payload))
    await hass.async_block_till_done()


def device_key(device_id: str) -> KeyPair:
    """A device's own key, the same in every test and run."""
    return KeyPair.from_seed(hashlib.sha256(device_id.encode()).digest())


async def register_keyed(hass: HomeAssistant, document: dict[str, Any]) -> None:
    """A device registers with its own key (device_key), signed by it."""
    device_id = document["device_id"]
    key, topic = device_key(device_id), f"alicia/system/discovery/register/{device_id}"
    payload = {**document, "public_key": key.public_key}
    async_fire_mqtt_message(
        hass, topic, message(device_id, payload, key=key, topic=topic)
    )
    await hass.async_block_till_done()


async def send_keyed(
    hass: HomeAssistant, topic: str, source: str, payload: dict[str, Any]
) -> None:
    """A message signed with its source's device_key."""
    signed = message(source, payload, key=device_key(source), topic=topic)
    async_fire_mqtt_message(hass, topic, signed)
    await hass.async_block_till_done()


# The player the ha/command tests ask to play (play_media_calls).
HALL = "media_player.hall"


async def command_answer(
    hass: HomeAssistant,
    mqtt_mock: Any,
    payload: dict[str, Any],
    source: str = "kitchen_sensor",
) -> dict[str, Any]:
    """The answer to an ha/command of payload, signed by source's key."""
    mqtt_mock.async_publish.reset_mock()
    await send_keyed(hass, "alicia/integration/ha/command", source, payload)
    topic, raw, _, _ = mqtt_mock.async_publish.call_args.args
    assert topic == "alicia/integration/ha/command/response"
    answer: dict[str, Any] = json.loads(raw)["payload"]
    return answer


async def setup_real_mqtt(hass: HomeAssistant, port: int) -> MockConfigEntry:
    """HA's real MQTT integration, connected to the broker on 127.0.0.1:port."""
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={"broker": "127.0.0.1", "port": port},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass)
    return entry


async def setup_alicia(
    hass: HomeAssistant, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """The Alicia entry, set up (its MQTT must already be available)."""
    from custom_components.alicia.const import DOMAIN

    entry = MockConfigEntry(
        domain=DOMAIN,
        # Fixed, as HA core's tests do: hub entities' unique ids contain it (snapshots).
        entry_id="01JALICIAHUB0000000000000",
        title="Alicia",
        minor_version=2,
        options={"topic_prefix": "alicia", **(options or {})},
    )
    entry.add_to_hass(hass)
    # HA reads its light profiles in a thread while schemas compile on the event
    # loop, and voluptuous shares validators between schemas, so a profile can come
    # back unconverted (HA core #82092, seen once in CI): light first, alone.
    assert await async_setup_component(hass, "light", {})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def repairs_manager(hass: HomeAssistant) -> RepairsFlowManager:
    """HA's Repairs, ready to open the fix flows of Alicia's issues."""
    from homeassistant.components.repairs import (
        DOMAIN as REPAIRS,
        issue_handler,
        repairs_flow_manager,
    )

    assert await async_setup_component(hass, REPAIRS, {})
    # HA 2026.2 registers repairs platforms on request; newer HA loads them lazily.
    if (
        process := getattr(issue_handler, "async_process_repairs_platforms", None)
    ) is not None:
        await process(hass)
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager


async def approve_from_repairs(hass: HomeAssistant, issue_id: str) -> None:
    """A key change: Settings → Repairs → the issue → Trust the new key."""
    manager = await repairs_manager(hass)
    result = await manager.async_init("alicia", data={"issue_id": issue_id})
    assert result["type"] == "menu"
    result = await manager.async_configure(
        result["flow_id"], {"next_step_id": "approve"}
    )
    assert (result["type"], result["reason"]) == ("abort", "device_approved")
    await hass.async_block_till_done()


def approval_flows(hass: HomeAssistant, device_id: str | None = None) -> list[Any]:
    """The discovered cards of devices waiting for the user (of device_id's only)."""
    flows = []
    for flow in hass.config_entries.flow.async_progress_by_handler("alicia"):
        unique_id = flow["context"].get("unique_id") or ""
        if unique_id.startswith("device:") and device_id in (
            None,
            unique_id.removeprefix("device:"),
        ):
            flows.append(flow)
    return flows


async def open_card(hass: HomeAssistant, device_id: str) -> Any:
    """What the user does: Settings → Devices & services → Discovered → Add."""
    (flow,) = approval_flows(hass, device_id)
    # The frontend fetches a discovered flow's current step: the card.
    return await hass.config_entries.flow.async_configure(flow["flow_id"])


async def decide(hass: HomeAssistant, device_id: str, choice: str) -> Any:
    """Open the card and choose approve_device or reject_device."""
    card = await open_card(hass, device_id)
    assert card["type"] == "menu"
    result = await hass.config_entries.flow.async_configure(
        card["flow_id"], {"next_step_id": choice}
    )
    await hass.async_block_till_done()
    return result


async def approve_repair(hass: HomeAssistant, device_id: str) -> None:
    """The user gives an approved device what it asks for (another key, or more) on its repair card."""
    from custom_components.alicia.const import DOMAIN

    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{device_id}"})
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": "approve"})
    assert (result["type"], result["reason"]) == ("abort", "device_approved")
    await hass.async_block_till_done()


async def approve_from_discovery(hass: HomeAssistant, device_id: str) -> None:
    """The user approves a discovered device on its card."""
    result = await decide(hass, device_id, "approve_device")
    assert (result["type"], result["reason"]) == ("abort", "device_approved")


def alicia_device(hass: HomeAssistant, device_id: str) -> dr.DeviceEntry | None:
    """The HA device of an Alicia device id."""
    (entry,) = hass.config_entries.async_entries("alicia")
    return find_device(hass, entry.entry_id, device_id)


def recorded(hass: HomeAssistant, event_type: str) -> list[dict[str, Any]]:
    """The data of each event_type fired from now on, as HA delivers them."""
    seen: list[dict[str, Any]] = []

    def remember(event: Event) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(event_type, remember)
    return seen


def hub_entity(
    hass: HomeAssistant, entry: MockConfigEntry, domain: str, key: str
) -> str:
    """The entity id of one of the hub's own controls (permit switch, security mode)."""
    from custom_components.alicia.const import DOMAIN

    entity_id = er.async_get(hass).async_get_entity_id(
        domain, DOMAIN, f"{entry.entry_id}_{key}"
    )
    assert entity_id is not None
    return entity_id
