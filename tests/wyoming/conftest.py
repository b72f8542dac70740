"""Fixtures for tests that talk to a real Wyoming server over TCP."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import ServerProcess, sockets_allowed

from .client import TtsAudio, synthesize
from .phrases import HARD_SENTENCES, SENTENCES


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """These tests talk to servers on 127.0.0.1."""


@pytest.fixture(scope="session")
def spoken(wyoming_server: ServerProcess) -> dict[str, TtsAudio]:
    """Every test sentence, spoken once by the server's own TTS."""
    sentences = [s for s, _ in SENTENCES] + list(HARD_SENTENCES)

    async def speak(sentence: str) -> TtsAudio:
        audio = await synthesize(wyoming_server.uri, sentence)
        # A microphone hears a moment of quiet before anyone speaks.
        audio.pcm = bytes(int(0.3 * audio.rate) * 2) + audio.pcm
        return audio

    async def speak_all() -> dict[str, TtsAudio]:
        return {s: await speak(s) for s in sentences}

    # A loop of its own that is never made current: the test loops stay untouched.
    loop = asyncio.new_event_loop()
    try:
        with sockets_allowed():
            spoken = loop.run_until_complete(speak_all())
    finally:
        loop.close()
    return spoken


@pytest.fixture
def unix_sockets(socket_enabled: None) -> None:
    """Also allow connecting to unix sockets (HA's test setup only allows 127.0.0.1)."""
    import pytest_socket

    pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
