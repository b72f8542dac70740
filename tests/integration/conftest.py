"""Fixtures for the Home Assistant integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/alicia."""


@pytest.fixture
def short_mqtt_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """MQTT waits 50 s for its client; a test of that path needs less."""
    monkeypatch.setattr("homeassistant.components.mqtt.util.AVAILABILITY_TIMEOUT", 0.2)
