"""First start of scripts/develop: onboard HA and create the config entries, through HA's own APIs.

Onboarding (a development user, printed), then the MQTT, Wyoming and Alicia
config entries via the config-flow REST API, an Assist pipeline with Alicia's
speech-to-text, text-to-speech and agent via the websocket API. Later starts reuse
.dev/credentials.json and skip what exists. With --approve, once the simulator runs:
its devices approved by id, each through its approval card as a user does; any
other device still waits for the user.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
import json
import os
from pathlib import Path
import secrets
import sys
from typing import Any

import aiohttp


def form_answers(
    schema: list[dict[str, Any]], answers: dict[str, Any]
) -> dict[str, Any]:
    """A form filled in as HA's frontend does: the answers given, else each field's default."""
    body: dict[str, Any] = {}
    for field in schema:
        name = field["name"]
        if name in answers:
            body[name] = answers[name]
        elif field.get("type") == "expandable":
            # A section of the form (HA 2026.11's MQTT broker step has one).
            body[name] = form_answers(field.get("schema", []), answers)
        elif "default" in field:
            body[name] = field["default"]
        elif "suggested_value" in (field.get("description") or {}):
            body[name] = field["description"]["suggested_value"]
    return body


ALICIA_AGENT = "conversation.alicia"


def agent_for(entities: list[dict[str, Any]], env: Mapping[str, str]) -> str:
    """The Alicia agent (Grok streamed, acting through Assist) when Grok can answer; else HA's."""
    has_agent = any(e["entity_id"] == ALICIA_AGENT for e in entities)
    grok_ready = bool(env.get("ALICIA_GROK_API_KEY") or env.get("ALICIA_GROK_BASE_URL"))
    return ALICIA_AGENT if has_agent and grok_ready else "conversation.home_assistant"


class Bootstrap:
    """One HA, reached over HTTP."""

    def __init__(self, url: str, credentials: Path) -> None:
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.credentials = credentials
        self.token = ""
        self.tokens: dict[str, Any] = {}
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def _json(
        self, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, f"{self.url}{path}", json=body, headers=headers, **kwargs
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise RuntimeError(
                    f"{method} {path}: HTTP {response.status}: {text[:300]}"
                )
            return json.loads(text) if text else None

    async def _token(self, code: str) -> None:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
        }
        async with self.session.post(f"{self.url}/auth/token", data=form) as response:
            self.tokens = await response.json()
            self.token = self.tokens["access_token"]

    async def login(self) -> dict[str, str]:
        """Onboard (first start) or log in with the saved development user."""
        # Once onboarding is complete HA removes the endpoint: a 404 means "done".
        async with self.session.get(f"{self.url}/api/onboarding") as response:
            steps = await response.json() if response.status == 200 else []
        if any(step["step"] == "user" and not step["done"] for step in steps):
            user = {
                "username": "dev",
                "password": secrets.token_urlsafe(12),
                "name": "Alicia developer",
            }
            answer = await self._json(
                "POST",
                "/api/onboarding/users",
                {**user, "client_id": self.client_id, "language": "en"},
            )
            await self._token(answer["auth_code"])
            self.credentials.write_text(json.dumps(user))
            self.credentials.chmod(0o600)
            for step, body in (
                ("core_config", {}),
                ("analytics", {}),
                (
                    "integration",
                    {
                        "client_id": self.client_id,
                        "redirect_uri": f"{self.url}/?auth_callback=1",
                    },
                ),
            ):
                if any(s["step"] == step and not s["done"] for s in steps):
                    await self._json("POST", f"/api/onboarding/{step}", body)
            return user
        saved: dict[str, Any] = json.loads(self.credentials.read_text())
        user = {str(k): str(v) for k, v in saved.items()}
        flow = await self._json("POST", "/auth/login_flow", {
            "client_id": self.client_id, "handler": ["homeassistant", None], "redirect_uri": f"{self.url}/",
        })  # fmt: skip
        result = await self._json("POST", f"/auth/login_flow/{flow['flow_id']}", {
            "username": user["username"], "password": user["password"], "client_id": self.client_id,
        })  # fmt: skip
        await self._token(result["result"])
        return user

    async def entry(self, domain: str, answers: dict[str, Any]) -> None:
        """Run a config flow to its end, answering each form from `answers`."""
        entries = await self._json("GET", "/api/config/config_entries/entry")
        if any(e["domain"] == domain for e in entries):
            return
        result = await self._json(
            "POST", "/api/config/config_entries/flow", {"handler": domain}
        )
        for _ in range(10):
            if result["type"] == "create_entry":
                print(f"bootstrap: {domain} set up", file=sys.stderr)
                return
            if result["type"] == "abort":
                raise RuntimeError(f"{domain} flow aborted: {result.get('reason')}")
            if result["type"] == "menu":
                body: dict[str, Any] = {
                    "next_step_id": answers.get(
                        f"menu:{result['step_id']}", result["menu_options"][0]
                    )
                }
            else:
                body = form_answers(result.get("data_schema", []), answers)
            result = await self._json(
                "POST", f"/api/config/config_entries/flow/{result['flow_id']}", body
            )
        raise RuntimeError(f"{domain} flow did not finish")

    async def websocket(self, *commands: dict[str, Any]) -> list[Any]:
        """Send commands over the websocket API; their results, in order."""
        results = []
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            for number, command in enumerate(commands, 1):
                await ws.send_json({"id": number, **command})
                while (message := await ws.receive_json())["id"] != number:
                    pass
                if not message.get("success"):
                    raise RuntimeError(f"{command['type']}: {message.get('error')}")
                results.append(message.get("result"))
        return results

    async def pipeline_ready(self, limit: float = 120) -> None:
        """Wait until HA has loaded Assist pipelines and the wyoming entry's STT and TTS."""
        deadline = asyncio.get_running_loop().time() + limit
        while True:
            # HA loads assist_pipeline beside the entries, not before them: asked too
            # early, its commands are unknown (seen once on a busy 2-core machine).
            components = (await self._json("GET", "/api/config"))["components"]
            if "assist_pipeline" in components:
                (entities,) = await self.websocket(
                    {"type": "config/entity_registry/list"}
                )
                domains = {
                    e["entity_id"].split(".")[0]
                    for e in entities
                    if e["platform"] == "wyoming"
                }
                if {"stt", "tts"} <= domains:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("no Assist pipelines or wyoming STT and TTS in HA")
            await asyncio.sleep(0.5)

    async def pipeline(self) -> None:
        """An Assist pipeline of Alicia's STT, TTS and agent, made the preferred one.

        One made by an earlier start keeps the user's choices, except the Alicia
        agent without a Grok key: every question would be an error about the app.
        """
        entities, pipelines = await self.websocket(
            {"type": "config/entity_registry/list"},
            {"type": "assist_pipeline/pipeline/list"},
        )
        agent = agent_for(entities, os.environ)
        for pipeline in pipelines["pipelines"]:
            if pipeline["name"] != "Alicia":
                continue
            if pipeline["conversation_engine"] == ALICIA_AGENT != agent:
                fields = {k: v for k, v in pipeline.items() if k != "id"}
                await self.websocket({
                    **fields, "type": "assist_pipeline/pipeline/update",
                    "pipeline_id": pipeline["id"], "conversation_engine": agent,
                })  # fmt: skip
                print(
                    "bootstrap: Assist pipeline 'Alicia' answers with Home Assistant's"
                    " agent (no Grok key: ALICIA_GROK_API_KEY)",
                    file=sys.stderr,
                )
            return
        wyoming = {
            e["entity_id"].split(".")[0]: e["entity_id"]
            for e in entities
            if e["platform"] == "wyoming"
        }
        created, = await self.websocket({
            "type": "assist_pipeline/pipeline/create", "name": "Alicia", "language": "en",
            "conversation_engine": agent, "conversation_language": "en",
            "stt_engine": wyoming["stt"], "stt_language": "en",
            "tts_engine": wyoming["tts"], "tts_language": "en-US", "tts_voice": "en_US-joe-medium",
            "wake_word_entity": None, "wake_word_id": None,
            # Commands like "turn on the light" go to HA first; everything else to Grok.
            "prefer_local_intents": True,
        })  # fmt: skip
        await self.websocket(
            {
                "type": "assist_pipeline/pipeline/set_preferred",
                "pipeline_id": created["id"],
            }
        )
        print(
            "bootstrap: Assist pipeline 'Alicia' created and preferred", file=sys.stderr
        )

    async def approve(self, expected: dict[str, str], limit: float = 90) -> None:
        """Approve these devices' cards as a user does (Discovered: Add, Approve); no other.

        expected: device id -> the key fingerprint its card must show ("none" for an
        unsigned one); a card showing another key is left for the user.
        """
        waiting = dict(expected)
        deadline = asyncio.get_running_loop().time() + limit
        while waiting:
            known, flows = await self.websocket(
                {"type": "config/device_registry/list"},
                {"type": "config_entries/flow/progress"},
            )
            # Approved already (a folder from before): nothing to do for those.
            for device in known:
                for domain, known_id in device["identifiers"]:
                    if domain == "alicia":
                        waiting.pop(known_id, None)
            for flow in flows:
                unique_id = str(flow["context"].get("unique_id") or "")
                device_id = unique_id.removeprefix("device:")
                if flow["handler"] != "alicia" or device_id not in waiting:
                    continue
                # Opening a discovered card fetches its step: the card itself.
                path = f"/api/config/config_entries/flow/{flow['flow_id']}"
                card = await self._json("GET", path)
                shown = (card.get("description_placeholders") or {}).get(
                    "fingerprint", ""
                )
                if not shown.startswith(waiting[device_id]):
                    raise RuntimeError(f"{device_id} offers the key {shown}, not ours")
                result = await self._json(
                    "POST", path, {"next_step_id": "approve_device"}
                )
                if result.get("reason") != "device_approved":
                    raise RuntimeError(
                        f"{device_id} not approved: {result.get('reason')}"
                    )
                del waiting[device_id]
                print(f"bootstrap: approved {device_id} ({shown})", file=sys.stderr)
            if waiting and asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no approval card for {', '.join(sorted(waiting))}")
            if waiting:
                await asyncio.sleep(0.5)

    async def speaker_area(self) -> None:
        """The development speaker in the Kitchen, where the simulator's kitchen devices are."""
        areas, entities = await self.websocket(
            {"type": "config/area_registry/list"},
            {"type": "config/entity_registry/list"},
        )
        kitchen = next((a["area_id"] for a in areas if a["name"] == "Kitchen"), None)
        if kitchen is None:
            (created,) = await self.websocket(
                {"type": "config/area_registry/create", "name": "Kitchen"}
            )
            kitchen = created["area_id"]
        for entity in entities:
            if (
                entity["platform"] == "alicia_dev_speaker"
                and entity.get("area_id") != kitchen
            ):
                await self.websocket({
                    "type": "config/entity_registry/update",
                    "entity_id": entity["entity_id"], "area_id": kitchen,
                })  # fmt: skip

    async def drop_unused_defaults(self) -> None:
        """What onboarding added to .dev folders made before scripts/develop skipped its step."""
        for entry in await self._json("GET", "/api/config/config_entries/entry"):
            if entry["domain"] in {"met", "radio_browser", "google_translate"}:
                await self._json(
                    "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
                )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--credentials", type=Path, required=True)
    parser.add_argument("--mqtt-port", type=int, required=True)
    parser.add_argument("--wyoming-port", type=int, required=True)
    parser.add_argument(
        "--approve",
        default="",
        help="approve only these devices' cards: id=fingerprint (or id=none), commas",
    )
    args = parser.parse_args()
    bootstrap = Bootstrap(args.url, args.credentials)
    if args.approve:
        try:
            await bootstrap.login()
            await bootstrap.approve(
                dict(item.split("=", 1) for item in args.approve.split(","))
            )
        finally:
            await bootstrap.close()
        return
    try:
        first_time = not args.credentials.exists()
        user = await bootstrap.login()
        if first_time:
            await bootstrap.drop_unused_defaults()
        await bootstrap.entry(
            "mqtt",
            # No TLS (set_*: asked in the broker form's "other settings" since HA 2026.11).
            {
                "broker": "127.0.0.1",
                "port": args.mqtt_port,
                "set_client_cert": False,
                "set_ca_cert": "off",
            },
        )
        await bootstrap.entry(
            "wyoming", {"host": "127.0.0.1", "port": args.wyoming_port}
        )
        await bootstrap.entry("alicia", {})
        await bootstrap.pipeline_ready()
        await bootstrap.pipeline()
        await bootstrap.speaker_area()
        print(
            f"bootstrap: log in at {args.url} as {user['username']} / {user['password']}",
            file=sys.stderr,
        )
    finally:
        await bootstrap.close()


if __name__ == "__main__":
    asyncio.run(main())
