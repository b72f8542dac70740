"""docs/devices.md, followed as written: its shell blocks and its example device, on a real broker."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import re
import sys

import aiomqtt
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.alicia.const import DOMAIN
from tests.conftest import ROOT, wait_until

from .conftest import RealBus
from .helpers import alicia_device, approve_from_discovery, recorded

pytestmark = pytest.mark.slow
GUIDE = ROOT / "docs" / "devices.md"


def shell_blocks() -> list[str]:
    """The guide's ```bash blocks, in order."""
    return re.findall(r"```bash\n(.*?)```", GUIDE.read_text(), re.DOTALL)


async def run_block(block: str, port: int) -> str:
    """One block as a reader would paste it, after the helpers block; its output."""
    helpers = shell_blocks()[0]
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", helpers + block,
        env={**os.environ, "BROKER": f"-h 127.0.0.1 -p {port}"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    return output.decode()


def step(number: int) -> str:
    """The bash block of the guide's section "## {number}. ..."."""
    text = GUIDE.read_text()
    start = text.index(f"\n## {number}. ")
    blocks: list[str] = re.findall(r"```bash\n(.*?)```", text[start:], re.DOTALL)
    return blocks[0]


def state(hass: HomeAssistant, platform: str, unique_id: str) -> str | None:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    current = hass.states.get(entity_id) if entity_id else None
    return current.state if current else None


async def test_the_shell_walkthrough_works_as_written(
    hass: HomeAssistant, real_bus: RealBus
) -> None:
    alicia, port = real_bus.hub, real_bus.port
    await run_block(step(1), port)
    await wait_until(lambda: "hand_sensor_01" in alicia.approvals.pending)
    await approve_from_discovery(hass, "hand_sensor_01")
    await wait_until(
        lambda: state(hass, "sensor", "hand_sensor_01_temperature") is not None
    )
    device = alicia_device(hass, "hand_sensor_01")
    assert device is not None
    assert device.area_id == "office"  # metadata.location became its area

    await run_block(step(2), port)
    await run_block(step(3), port)
    await wait_until(
        lambda: state(hass, "sensor", "hand_sensor_01_temperature") == "21.5"
    )
    assert state(hass, "switch", "hand_sensor_01_switch") == "off"
    assert state(hass, "binary_sensor", "hand_sensor_01_connectivity") == "on"

    health = recorded(hass, "alicia_device_health")
    await run_block(step(4), port)
    await wait_until(
        lambda: state(hass, "sensor", "hand_sensor_01_health_status") == "degraded"
    )
    await wait_until(lambda: bool(health))  # the event's listener runs on its own turn
    assert health[0]["status"] == "degraded"

    listening = asyncio.create_task(run_block(step(5), port))
    await asyncio.sleep(1)  # mosquitto_sub subscribed
    switch = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, "hand_sensor_01_switch"
    )
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    command = json.loads(await listening)
    assert command["payload"] == {
        "capability": "switch",
        "action": "turn_on",
        "params": {},
    }
    assert command["security"]["alg"] == "ed25519"  # signed by Home Assistant's key

    analytics = recorded(hass, "alicia_analytics")
    await run_block(step(6), port)
    await wait_until(lambda: bool(analytics))
    assert analytics[0]["message"] == "Fan filter replaced"

    error = json.loads(await run_block(step(7), port))
    assert error["payload"]["error"]["code"] == "missing_field"
    assert "message_id" in error["payload"]["error"]["message"]

    await run_block(step(8), port)
    await wait_until(lambda: "hand_sensor_01" not in alicia.roster.devices)
    assert alicia_device(hass, "hand_sensor_01") is None


async def test_the_example_device_signs_and_obeys(
    hass: HomeAssistant, real_bus: RealBus, tmp_path: Path
) -> None:
    alicia, port = real_bus.hub, real_bus.port
    device = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "examples" / "alicia_device.py"), "--port", str(port),
        "--device-id", "desk_lamp_01", "--key-file", str(tmp_path / "lamp.pem"), "--every", "1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert device.stdout is not None
    assert device.stdin is not None
    lines: list[str] = []

    async def read() -> None:
        assert device.stdout is not None
        while line := await device.stdout.readline():
            lines.append(line.decode())

    reader = asyncio.create_task(read())
    try:
        await wait_until(lambda: "desk_lamp_01" in alicia.approvals.pending, 30)
        shown = alicia.approvals.pending["desk_lamp_01"].fingerprint
        assert (
            f"desk_lamp_01: key fingerprint {shown}\n" in lines
        )  # what the user compares
        await approve_from_discovery(hass, "desk_lamp_01")
        # Asked on approval, it reports at once (what it sent before was refused).
        await wait_until(lambda: "desk_lamp_01: reporting every value\n" in lines, 30)
        audit = alicia.admission.audit
        before = dict(audit.counts)  # it may have reported before approval: answered
        await wait_until(
            lambda: state(hass, "light", "desk_lamp_01_light") == "off", 30
        )
        await wait_until(
            lambda: any("Home Assistant's key" in line for line in lines), 30
        )

        light = er.async_get(hass).async_get_entity_id(
            "light", DOMAIN, "desk_lamp_01_light"
        )
        async with aiomqtt.Client("127.0.0.1", port) as spy:  # anyone on the broker
            await spy.subscribe("alicia/devices/desk_lamp_01/command", qos=1)
            await hass.services.async_call(
                "light",
                "turn_on",
                {"entity_id": light, "brightness": 200},
                blocking=True,
            )
            async with asyncio.timeout(10):
                turn_on = bytes((await anext(aiter(spy.messages))).payload)
            await wait_until(
                lambda: state(hass, "light", "desk_lamp_01_light") == "on", 30
            )
            lamp = hass.states.get(str(light))
            assert lamp is not None
            assert lamp.attributes["brightness"] == 200
            await hass.services.async_call(
                "light", "turn_off", {"entity_id": light}, blocking=True
            )
            await wait_until(
                lambda: state(hass, "light", "desk_lamp_01_light") == "off", 30
            )
            # HA's signed command, recorded and sent again: the lamp stays off.
            await spy.publish("alicia/devices/desk_lamp_01/command", turn_on, qos=1)
            await wait_until(
                lambda: "desk_lamp_01: ignored an old or repeated command\n" in lines,
                30,
            )
        assert state(hass, "light", "desk_lamp_01_light") == "off"

        analytics = recorded(hass, "alicia_analytics")
        device.stdin.write(b"\n")  # the button
        await wait_until(lambda: bool(analytics), 30)
        assert analytics[0]["event"] == "button_pressed"

        # Since approval, everything it sent was verified against its key; nothing refused.
        assert audit.counts["verified"] > before.get("verified", 0)
        for code in ("unsigned", "bad_signature", "untrusted", "stale", "replayed"):
            assert audit.counts[code] == before.get(code, 0), code
    finally:
        device.terminate()
        await device.wait()
        # To its end of output: a pipe left open outlives the test's loop.
        await asyncio.wait_for(reader, 10)
