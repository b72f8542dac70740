"""The scenario of #32, 1, end to end: the app's real bridge with a stale pin of HA's key, HA's real MQTT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.conftest import ServerProcess, wait_until

from .conftest import RealBus

pytestmark = pytest.mark.slow

BRIDGE = "alicia-voice-pinned"
ISSUE = f"hub_key_mismatch_{BRIDGE}"


@pytest.fixture
def real_bus_options() -> dict[str, Any]:
    """The bridge is approved as it registers."""
    return {"approval": "auto"}


def bridge(port: int, log: Path, *extra: str) -> ServerProcess:
    """The app's server and bridge on the real broker, heartbeats each second."""
    return ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(port), "--bridge-id", BRIDGE,
        "--bridge-heartbeat-interval", "1", *extra, log=log,
    )  # fmt: skip


async def test_a_stale_pin_is_a_repair_until_the_user_names_the_key(
    hass: HomeAssistant, real_bus: RealBus, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    old = KeyPair.generate()  # the HA of another dev folder, say
    log.with_suffix(".hub").write_text(old.public_key + "\n")
    current = real_bus.hub.admission.key.fingerprint
    issues = ir.async_get(hass)

    server = bridge(real_bus.port, log)
    try:
        await wait_until(lambda: issues.async_get_issue(DOMAIN, ISSUE) is not None, 120)
        issue = issues.async_get_issue(DOMAIN, ISSUE)
        assert issue is not None
        assert issue.translation_placeholders == {
            "name": "Alicia voice services", "title_name": "Alicia voice services",
            "pinned": old.fingerprint, "current": current,
        }  # fmt: skip
        health = real_bus.hub.roster.devices[BRIDGE].health or {}
        assert health["status"] == "degraded"  # what its device page shows
        assert log.with_suffix(".hub").read_text().strip() == old.public_key  # kept
    finally:
        await hass.async_add_executor_job(server.stop)

    # The repair's fix: the app's hub_key_fingerprint option names HA's key.
    server = bridge(real_bus.port, log, "--hub-key-fingerprint", current)
    try:
        await wait_until(lambda: issues.async_get_issue(DOMAIN, ISSUE) is None, 120)
        await wait_until(lambda: "STT vocabulary" in log.read_text(), 30)
    finally:
        await hass.async_add_executor_job(server.stop)
