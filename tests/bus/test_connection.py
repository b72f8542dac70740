"""How the bridge connects: credentials, TLS, its last will, a broker that refuses it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
import json
from pathlib import Path
import ssl

import aiomqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest

from tests.conftest import Mosquitto
from tests.fake_xai import FakeXai
from tests.wyoming.client import describe

from .conftest import start_bridge

pytestmark = pytest.mark.slow


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1, made here: (ca, cert, key)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Alicia test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        # Python 3.13 verifies strictly: the leaf must name its issuer's key.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return paths


async def retained_status(
    port: int, bridge_id: str, **connect: object
) -> dict[str, object]:
    """The bridge's status as the broker keeps it."""
    return await status_once(port, bridge_id, None, **connect)


async def status_once(
    port: int, bridge_id: str, state: str | None, **connect: object
) -> dict[str, object]:
    """The bridge's status once it is state (None: any): the retained one, or the next."""
    async with aiomqtt.Client("127.0.0.1", port, **connect) as client:  # type: ignore[arg-type]
        await client.subscribe(f"alicia/devices/{bridge_id}/status", qos=1)
        async with asyncio.timeout(10):
            async for message in client.messages:
                payload: dict[str, object] = json.loads(message.payload)["payload"]
                if state is None or payload["state"] == state:
                    return payload
    raise AssertionError(f"no {state} status")


async def test_credentials_and_last_will(tmp_path: Path, xai: FakeXai) -> None:
    broker = Mosquitto(
        tmp_path / "broker", users={"alicia": "s3cret-bridge", "watcher": "w"}
    )
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, broker.start)
    try:
        bridge = await loop.run_in_executor(
            None, start_bridge, broker, xai, "bridge-auth", tmp_path,
            "--mqtt-username", "alicia", "--mqtt-password", "s3cret-bridge",
        )  # fmt: skip
        try:
            online = await retained_status(
                broker.port, "bridge-auth", username="watcher", password="w"
            )
            assert online["state"] == "online"
            assert "s3cret-bridge" not in bridge.log.read_text()
        finally:
            bridge.process.kill()  # no goodbye: the broker must publish the will
            bridge.process.wait()
        will = await status_once(
            broker.port, "bridge-auth", "offline", username="watcher", password="w"
        )
        # The will names the session the online message named (docs/protocol.md).
        assert will == {"state": "offline", "session": online["session"]}
    finally:
        broker.stop()


async def test_refused_credentials_keep_retrying_and_wyoming_serves(
    tmp_path: Path, xai: FakeXai
) -> None:
    broker = Mosquitto(tmp_path / "broker", users={"alicia": "right"})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, broker.start)
    try:
        refused = partial(
            start_bridge, broker, xai, "bridge-no", tmp_path,
            "--mqtt-username", "alicia", "--mqtt-password", "wrong", serving=False,
        )  # fmt: skip
        bridge = await loop.run_in_executor(None, refused)
        try:
            for _ in range(50):
                if bridge.log.read_text().count("retrying in") >= 2:
                    break
                await asyncio.sleep(0.1)
            assert bridge.log.read_text().count("retrying in") >= 2
            assert bridge.process.poll() is None
            assert (await describe(bridge.uri)).asr[0].installed
        finally:
            bridge.stop()
    finally:
        broker.stop()


async def test_tls(tmp_path: Path, xai: FakeXai) -> None:
    ca, cert, key = certificates(tmp_path)
    broker = Mosquitto(tmp_path / "broker", tls=(cert, key))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, broker.start)
    try:
        bridge = await loop.run_in_executor(
            None,
            start_bridge,
            broker,
            xai,
            "bridge-tls",
            tmp_path,
            "--mqtt-tls",
            "--mqtt-ca-certs",
            str(ca),
        )
        try:
            context = ssl.create_default_context(cafile=str(ca))
            status = await retained_status(
                broker.port, "bridge-tls", tls_context=context
            )
            assert status["state"] == "online"
        finally:
            bridge.stop()
    finally:
        broker.stop()
