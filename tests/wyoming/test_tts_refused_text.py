"""Text Piper cannot take is refused by name, never with a traceback; [[raw phonemes]] are not a client's."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from wyoming.event import Event, async_read_event

from tests.conftest import ServerProcess
from wyoming_services.event_fields import FieldError, Fields
from wyoming_services.tts import TextToSpeech, TtsError

from .client import host_port

pytestmark = pytest.mark.slow

STRANGER = "127.0.0.2"  # not in the default wyoming_trusted_clients
PIPER_WARNING = b"Missing phoneme from id map"


def frame(kind: str, data: dict[str, Any]) -> bytes:
    """One event as a client may write it: JSON escapes carry a lone surrogate too."""
    body = json.dumps(data).encode()
    header = {"type": kind, "version": "1.0.0", "data_length": len(body)}
    return json.dumps(header).encode() + b"\n" + body


async def exchange(uri: str, frames: list[bytes], seconds: float) -> list[Event]:
    """What a stranger gets back, up to an error or audio-stop, within seconds."""
    reader, writer = await asyncio.open_connection(
        *host_port(uri), local_addr=(STRANGER, 0)
    )
    got: list[Event] = []
    try:
        writer.write(b"".join(frames))
        async with asyncio.timeout(seconds):
            while (event := await async_read_event(reader)) is not None:
                got.append(event)
                if event.type in ("error", "audio-stop"):
                    break
    except TimeoutError:
        pass
    finally:
        writer.close()
    return got


def log_from(server: ServerProcess, offset: int) -> bytes:
    """The server's log written since offset."""
    return server.log.read_bytes()[offset:]


@pytest.mark.parametrize(
    "text", ["Then\0 more.", "Then \ud800 more."], ids=["nul", "surrogate"]
)
@pytest.mark.parametrize("stream", [False, True], ids=["synthesize", "stream"])
async def test_a_nul_or_a_surrogate_is_refused_by_name(
    wyoming_server: ServerProcess, text: str, stream: bool
) -> None:
    """An error event names text; the server logs no traceback."""
    offset = wyoming_server.log.stat().st_size
    frames = (
        [
            frame("synthesize-start", {}),
            frame("synthesize-chunk", {"text": f"Hi there. {text} "}),
            frame("synthesize-stop", {}),
        ]
        if stream
        else [frame("synthesize", {"text": text})]
    )
    got = await exchange(wyoming_server.uri, frames, seconds=10)
    errors = [event.data for event in got if event.type == "error"]
    assert errors, [event.type for event in got]
    assert "text must be text without control characters" in errors[0]["text"]
    await asyncio.sleep(0.5)
    assert b"Traceback" not in log_from(wyoming_server, offset)


async def test_raw_phonemes_are_read_as_text_without_a_warning_a_character(
    wyoming_server: ServerProcess,
) -> None:
    """[[...]] of characters the voice has no phoneme for: no warning from Piper, soon done."""
    # None of these is in the voice's phoneme map; espeak-ng reads the Qs alone.
    text = " ".join(["[[" + "Q" * 10 + "|<>{}`" * 11 + "]]"] * 4)
    offset = wyoming_server.log.stat().st_size
    started = time.monotonic()
    got = await exchange(wyoming_server.uri, [frame("synthesize", {"text": text})], 30)
    kinds = [event.type for event in got]
    assert kinds[-1:] == ["audio-stop"], kinds
    assert "audio-chunk" in kinds  # the Qs, spelled out
    assert time.monotonic() - started < 10
    await asyncio.sleep(0.5)
    assert PIPER_WARNING not in log_from(wyoming_server, offset)


def test_only_tab_and_line_breaks_of_the_control_characters_are_text() -> None:
    """C0 and C1 controls and lone surrogates are refused, naming the field."""
    assert Fields("synthesize", {"text": "a\tb\r\nc é"}).text("text") == "a\tb\r\nc é"
    for bad in ("\0", "\x1b[2J", "\x7f", "\x85", "\udc00"):
        with pytest.raises(FieldError, match="synthesize: text must be text without"):
            Fields("synthesize", {"text": f"Hi {bad}"}).text("text")


async def test_any_failure_of_piper_is_a_tts_error(
    tts: TextToSpeech, caplog: pytest.LogCaptureFixture
) -> None:
    """Text the bus or the server passes on unchecked: a TtsError, one line, no traceback."""
    info, _ = tts.resolve(None)

    async def spoken(text: str) -> None:
        async for _ in tts.synthesize(info, None, [text]):
            pass

    with pytest.raises(TtsError, match=r"phonemize the text \(ValueError"):
        await spoken("Then\0 more.")

    def broken(*args: Any) -> Any:
        raise RuntimeError("onnxruntime failed")

    tts._loaded[info.name].phoneme_ids_to_audio = broken
    with pytest.raises(TtsError, match=r"synthesize the text \(RuntimeError"):
        await spoken("Hello.")
    assert "Piper could not phonemize a text: ValueError" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
