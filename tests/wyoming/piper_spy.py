"""What the real Piper voice is handed, and what a request speaks."""

from __future__ import annotations

import threading
from typing import Any

from wyoming_services.tts import TextToSpeech


class PiperSpy:
    """What the real Piper voice is handed: texts to phonemize, phoneme ids per run."""

    def __init__(self, tts: TextToSpeech) -> None:
        self.texts: list[str] = []
        self.ids: list[int] = []
        self.started = threading.Event()
        self.running = threading.Event()  # a run is under way
        voice = tts._loaded[tts.default_voice]
        phonemize, to_audio = voice.phonemize, voice.phoneme_ids_to_audio

        def spy_phonemize(text: str) -> Any:
            self.texts.append(text)
            self.started.set()
            return phonemize(text)

        def spy_to_audio(ids: list[int], *args: Any, **kwargs: Any) -> Any:
            self.ids.append(len(ids))
            self.running.set()
            return to_audio(ids, *args, **kwargs)

        voice.phonemize = spy_phonemize
        voice.phoneme_ids_to_audio = spy_to_audio


async def spoken_seconds(tts: TextToSpeech, text: str, pieces: int = 99) -> float:
    info, _ = tts.resolve(None)
    seconds = 0.0
    async for pcm in tts.synthesize(info, None, [text]):
        seconds += len(pcm) / 2 / info.sample_rate
        pieces -= 1
        if not pieces:
            break
    return seconds
