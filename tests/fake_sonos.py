"""A Sonos speaker's audio-clip websocket (wss://HOST:1443/websocket/api), run as a process.

HA's sonos integration plays announcements through this API (via sonos-websocket);
the fake answers the way a speaker does and appends every command it receives,
as one JSON line, to the file named on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import ssl
import tempfile
from typing import Any

from aiohttp import WSMsgType, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOUSEHOLD = "Sonos_fake_household"


def self_signed(host: str, directory: Path) -> ssl.SSLContext:
    """A throwaway certificate, as a speaker presents (the client does not verify it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


def answer(
    player_id: str, command: dict[str, Any], options: dict[str, Any]
) -> list[Any]:
    """What a speaker answers to one command."""
    header: dict[str, Any] = {
        "namespace": command.get("namespace"),
        "householdId": HOUSEHOLD,
    }
    if command.get("command") != "loadAudioClip":
        return [{**header, "success": False, "type": "ERROR_COMMAND_FAILED"}, {}]
    if command.get("playerId") != player_id or not options.get("streamUrl"):
        return [{**header, "success": False, "type": "ERROR_INVALID_PARAMETER"}, {}]
    clip = {
        "_objectType": "audioClip",
        "id": f"clip-{datetime.now(UTC).timestamp()}",
        "name": options.get("name"),
        "appId": options.get("appId"),
        "priority": "LOW",
        "clipType": "CUSTOM",
        "status": "ACTIVE",
    }
    return [
        {**header, "response": "loadAudioClip", "success": True, "type": "audioClip"},
        clip,
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--player-id", required=True)
    parser.add_argument("--record", type=Path, required=True)
    args = parser.parse_args()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        if not request.headers.get("X-Sonos-Api-Key"):
            raise web.HTTPUnauthorized
        ws = web.WebSocketResponse(protocols=("v1.api.smartspeaker.audio",))
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            command, options = json.loads(msg.data)
            with args.record.open("a") as record:
                record.write(
                    json.dumps({"command": command, "options": options}) + "\n"
                )
            await ws.send_json(answer(args.player_id, command, options))
        return ws

    app = web.Application()
    app.router.add_get("/websocket/api", websocket)
    runner = web.AppRunner(app)
    await runner.setup()
    with tempfile.TemporaryDirectory() as directory:
        context = self_signed(args.host, Path(directory))
        await web.TCPSite(runner, args.host, 1443, ssl_context=context).start()
        print("listening", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
