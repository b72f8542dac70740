"""What a simulated device does outside the bus: fetch what it plays, read its clip, keep its key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
import urllib.parse
import urllib.request
import wave

from alicia_bus.signing import KeyPair

# What the device keeps of an answer (what a test or a bench reads back): it stops
# reading there.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


async def fetch_url(url: str) -> AsyncIterator[bytes]:
    """GET the answer (the device plays it), its blocks as they arrive, up to MAX_ANSWER_BYTES.

    ValueError for anything but http(s) (the URL comes from HA, signed; still, a
    device fetches only what a player would).
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url[:80]!r}")
    loop = asyncio.get_running_loop()
    blocks: asyncio.Queue[bytes | None] = asyncio.Queue()

    def get() -> None:
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                read = 0
                while read < MAX_ANSWER_BYTES and (block := answer.read1(16384)):
                    read += len(block)
                    loop.call_soon_threadsafe(blocks.put_nowait, block)
        finally:
            loop.call_soon_threadsafe(blocks.put_nowait, None)

    reading = loop.run_in_executor(None, get)
    while (block := await blocks.get()) is not None:
        yield block
    await reading


def read_clip(path: Path) -> bytes:
    """A WAV file's PCM; it must be 16 kHz, 16-bit mono."""
    with wave.open(str(path)) as clip:
        shape = (clip.getframerate(), clip.getsampwidth(), clip.getnchannels())
        if shape != (16000, 2, 1):
            raise SystemExit(f"{path}: must be 16 kHz, 16-bit mono WAV")
        pcm: bytes = clip.readframes(clip.getnframes())
        return pcm


def load_key(key_file: Path) -> KeyPair:
    """The satellite's key, made (0600) the first time."""
    if key_file.exists():
        return KeyPair.from_pem(key_file.read_bytes())
    key = KeyPair.generate()
    key_file.write_bytes(key.pem)
    key_file.chmod(0o600)
    return key
