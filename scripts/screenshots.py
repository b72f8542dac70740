"""Screenshots of the local Alicia in HA's UI (headless Chromium), for the README.

Needs scripts/develop running. Saves docs/images/{integration,device,approval}.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import aiomqtt
from dev_bootstrap import Bootstrap
from playwright.async_api import async_playwright

from alicia_bus.envelope import new_message

# A device that asks to join while "Permit new devices" is off: it waits in Repairs.
NEWCOMER: dict[str, Any] = {
    "device_id": "garage_door_sensor",
    "device_type": "sensor",
    "name": "Garage door sensor",
    "capabilities": ["door", "battery"],
    "metadata": {"manufacturer": "Acme", "model": "Door-1", "location": "garage"},
}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument(
        "--credentials", type=Path, default=ROOT / ".dev" / "credentials.json"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    ha = Bootstrap(args.url, args.credentials)
    try:
        await ha.login()
        entities, devices = await ha.websocket(
            {"type": "config/entity_registry/list"},
            {"type": "config/device_registry/list"},
        )
        permit = next(
            e["entity_id"]
            for e in entities
            if e["platform"] == "alicia" and e["unique_id"].endswith("_permit")
        )
        await ha._json("POST", "/api/services/switch/turn_off", {"entity_id": permit})
        async with aiomqtt.Client("127.0.0.1", args.mqtt_port) as client:
            message = new_message(NEWCOMER["device_id"], "event", NEWCOMER)
            await client.publish(
                f"alicia/system/discovery/register/{NEWCOMER['device_id']}",
                json.dumps(message),
                qos=1,
                retain=True,
            )
        light = next(d for d in devices if d["name"] == "Kitchen light")
        tokens = {
            **ha.tokens,
            "hassUrl": ha.url,
            "clientId": ha.client_id,
            "expires": int(time.time() * 1000) + 1_800_000,
        }
    finally:
        await ha.close()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        page = await browser.new_page(viewport={"width": 1280, "height": 860})
        await page.add_init_script(
            f"window.localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
        )
        for name, path in (
            ("integration", "/config/integrations/integration/alicia"),
            ("device", f"/config/devices/device/{light['id']}"),
            ("approval", "/config/repairs"),
        ):
            await page.goto(f"{args.url}{path}")
            await page.wait_for_load_state("networkidle")
            await page.wait_for_timeout(
                2500
            )  # the frontend renders after its data arrives
            await page.screenshot(path=str(args.out / f"{name}.png"))
            print(f"screenshots: {args.out / f'{name}.png'}", file=sys.stderr)
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
