"""Fixtures for tests that talk to a real Wyoming server over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wyoming_services.settings import Settings
from wyoming_services.spoken_cache import SpokenCache
from wyoming_services.tts import TextToSpeech


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """These tests talk to servers on 127.0.0.1."""


@pytest.fixture
def unix_sockets(socket_enabled: None) -> None:
    """Also allow connecting to unix sockets (HA's test setup only allows 127.0.0.1)."""
    import pytest_socket

    pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)


@pytest.fixture
def tts_settings() -> Settings:
    """The settings of `tts`: one synthesis thread (a module may ask for others)."""
    return Settings(tts_workers=1)


@pytest.fixture
async def tts(tts_settings: Settings) -> AsyncIterator[TextToSpeech]:
    """The bundled voice, loaded in process."""
    engine = TextToSpeech(tts_settings)
    await engine.load()
    try:
        yield engine
    finally:
        await engine.close()


@pytest.fixture
def tts_making_every_run(tts: TextToSpeech) -> TextToSpeech:
    """`tts` saying nothing again from its cache: every run reaches Piper."""
    tts.spoken = SpokenCache(most_bytes=0)
    return tts
