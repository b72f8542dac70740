"""Screenshots of the local Alicia in HA's UI (headless Chromium), and a check of that UI.

Needs scripts/develop running. Saves integration.png, device.png and approval.png in a
new temporary folder (printed), or in docs/images with --update-docs. --check also
asserts what a user must see: the announce action's form with its target and fields,
the approval dialog (the device's fingerprint, or that it does not sign), and an Alicia line in the logbook.
Whatever it changes in HA (the permit switch, a device waiting for approval) is put
back as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import sys
import tempfile
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
    parser.add_argument("--update-docs", action="store_true", help="write docs/images")
    parser.add_argument("--check", action="store_true", help="assert what the UI shows")
    args = parser.parse_args()
    out = (
        ROOT / "docs" / "images"
        if args.update_docs
        else Path(tempfile.mkdtemp(prefix="alicia-screenshots-"))
    )
    out.mkdir(parents=True, exist_ok=True)

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
        permit_was = (await ha._json("GET", f"/api/states/{permit}"))["state"]
        await ha._json("POST", "/api/services/switch/turn_off", {"entity_id": permit})
        await newcomer(args.mqtt_port, NEWCOMER)
        light = next(d for d in devices if d["name"] == "Kitchen light")
        tokens = {
            **ha.tokens,
            "hassUrl": ha.url,
            "clientId": ha.client_id,
            "expires": int(time.time() * 1000) + 1_800_000,
        }
        try:
            await shoot(args, out, tokens, light["id"])
        finally:
            # Put back what was changed: the newcomer leaves, the permit switch as it was.
            await reject_newcomer(ha)
            await newcomer(args.mqtt_port, None)
            await ha._json(
                "POST", f"/api/services/switch/turn_{permit_was}", {"entity_id": permit}
            )
    finally:
        await ha.close()


async def newcomer(port: int, registration: dict[str, Any] | None) -> None:
    """The newcomer's retained registration, or (None) its removal."""
    topic = f"alicia/system/discovery/register/{NEWCOMER['device_id']}"
    async with aiomqtt.Client("127.0.0.1", port) as client:
        if registration is None:
            await client.publish(topic, b"", qos=1, retain=True)
        else:
            message = new_message(NEWCOMER["device_id"], "event", registration)
            await client.publish(topic, json.dumps(message), qos=1, retain=True)


async def analytics(port: int) -> None:
    """The simulator's hall button reports something worth a logbook line."""
    topic = "alicia/integration/analytics/event"
    event = {"event": "batteries_replaced", "message": "Batteries replaced"}
    async with aiomqtt.Client("127.0.0.1", port) as client:
        message = new_message("sim_hall_button", "event", event)
        await client.publish(topic, json.dumps(message), qos=1)


async def reject_newcomer(ha: Bootstrap) -> None:
    """What a user does in Repairs: open the newcomer's card, choose Reject."""
    flow = await ha._json(
        "POST", "/api/repairs/issues/fix",
        {"handler": "alicia", "issue_id": f"pending_{NEWCOMER['device_id']}"},
    )  # fmt: skip
    await ha._json(
        "POST", f"/api/repairs/issues/fix/{flow['flow_id']}", {"next_step_id": "reject"}
    )


async def shoot(
    args: argparse.Namespace, out: Path, tokens: dict[str, Any], light_id: str
) -> None:
    """The screenshots; with --check, what each page must show."""
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
            ("device", f"/config/devices/device/{light_id}"),
            ("approval", "/config/repairs"),
        ):
            await page.goto(f"{args.url}{path}")
            await page.wait_for_load_state("networkidle")
            await page.wait_for_timeout(
                2500
            )  # the frontend renders after its data arrives
            await page.screenshot(path=str(out / f"{name}.png"))
            print(f"screenshots: {out / f'{name}.png'}", file=sys.stderr)
        if args.check:
            try:
                await check(page, args.url, args.mqtt_port)
            except Exception:
                await page.screenshot(path=str(out / "check-failed.png"))
                print(
                    f"check: FAILED, the page then: {out / 'check-failed.png'}",
                    file=sys.stderr,
                )
                raise
        await browser.close()


async def check(page: Any, url: str, mqtt_port: int) -> None:
    """What a user must see, in HA's real frontend (its text through the shadow DOM)."""

    async def sees(*texts: str) -> None:
        for text in texts:
            await page.locator(f"text={text} >> visible=true").first.wait_for(
                timeout=30000
            )
            print(f"check: {page.url} shows {text!r}", file=sys.stderr)

    async def shows(path: str, *texts: str) -> None:
        await page.goto(f"{url}{path}")
        await page.wait_for_load_state("networkidle")
        await sees(*texts)
        # Texts such as the sidebar's are on every page: they prove nothing elsewhere.
        if not page.url.startswith(f"{url}{path}"):
            raise RuntimeError(f"asked for {path}, the browser is on {page.url}")

    # The announce action in the action editor: chosen as a user does, then its form.
    await shows("/config/tools/action", "The actions tool allows you")
    await page.get_by_text("Action", exact=True).first.click()
    await page.wait_for_timeout(1000)  # the picker's search field takes the focus
    await page.keyboard.type("alicia.announce")
    await page.wait_for_timeout(1000)
    await page.keyboard.press("Enter")
    for text in ("Says a message", "Add target", "Message", "Volume", "Language"):
        await page.locator(f"text={text} >> visible=true").first.wait_for(timeout=15000)
    print("check: the announce action shows its target and fields", file=sys.stderr)
    # The approval card: the newcomer and whether it signs.
    await shows("/config/repairs", "Garage door sensor")
    await page.get_by_text("Garage door sensor", exact=False).first.click()
    # The simulator's devices do not sign: the card says so plainly.
    warning = "text=does not sign its messages >> visible=true"
    await page.locator(warning).first.wait_for(timeout=15000)
    print("check: the approval dialog says the device does not sign", file=sys.stderr)
    await page.keyboard.press("Escape")
    # Closing a dialog steps the browser's history back; a navigation made before
    # that has happened is undone by it (seen on a slow machine).
    await page.locator(warning).first.wait_for(state="hidden", timeout=15000)
    await page.wait_for_timeout(1000)
    # The logbook, open: a device's analytics event arrives as a line of its own.
    await shows("/logbook", "Activity")
    await analytics(mqtt_port)
    await sees("Batteries replaced", "Hall button")


if __name__ == "__main__":
    asyncio.run(main())
