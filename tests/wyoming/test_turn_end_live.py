"""The server ends a spoken turn itself, and never inside a command's pause."""

from __future__ import annotations

import pytest

from tests.conftest import ServerProcess

from .client import transcribe
from .live import RATE, paused_command, stream_until_transcript
from .phrases import normalize

pytestmark = pytest.mark.slow
# Commands and questions with the pause where people look for the word, and how
# long. A first half that is a whole question ("Is it going to rain?") ends the turn
# after 0.7 s (bench/turn_end.py measures which pauses that clips).
PAUSED = [
    (("Turn on the", "kitchen light."), 0.9),
    (("Set the thermostat to", "21 degrees."), 0.9),
    (("Open the", "garage door."), 0.9),
    (("How many people live in", "Canada?"), 0.9),
    (("Is it going to rain", "this weekend?"), 0.4),
]


@pytest.mark.parametrize("voice", ["piper", "espeak-ng", "flite-slt"])
async def test_a_pause_inside_a_command_does_not_end_the_turn(
    wyoming_server: ServerProcess, voice: str
) -> None:
    for parts, pause in PAUSED:
        pcm = await paused_command(wyoming_server.uri, voice, parts, pause)
        text, heard_at = await stream_until_transcript(wyoming_server.uri, pcm)
        # Ended by the server, before the satellite's quiet ran out ...
        assert heard_at < len(pcm) / 2 / RATE
        # ... and not inside the pause: what the whole recording, sent at once and
        # ended by the client, is heard as.
        whole, _, _ = await transcribe(wyoming_server.uri, pcm, RATE)
        assert normalize(text) == normalize(str(whole.data["text"])), (voice, parts)
        assert len(normalize(text)) > len(normalize(parts[0])), (voice, parts, text)
