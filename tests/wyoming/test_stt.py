"""Speech-to-text through the real server, with the bundled tiny.en model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ServerProcess
from wyoming_services.audio import Converter, PcmFormat, float_to_pcm16

from .client import TtsAudio, alicia_stats, transcribe
from .phrases import HARD_NAMES, HARD_SENTENCES, SENTENCES, normalize, word_errors

pytestmark = pytest.mark.slow


def silence(seconds: float, rate: int) -> bytes:
    """16-bit mono digital silence, as a microphone gives before and after speech."""
    return bytes(int(seconds * rate) * 2)


async def test_round_trip_word_error_rate(
    wyoming_server: ServerProcess, spoken: dict[str, TtsAudio]
) -> None:
    errors = words = 0
    missed: list[str] = []
    for sentence, names in SENTENCES:
        audio = spoken[sentence]
        event, _, _ = await transcribe(wyoming_server.uri, audio.pcm, audio.rate)
        text = event.data["text"]
        e, n = word_errors(sentence, text)
        errors, words = errors + e, words + n
        joined = "".join(normalize(text))
        missed += [name for name in names if "".join(normalize(name)) not in joined]
    assert len(SENTENCES) >= 15
    assert errors / words <= 0.10, f"WER {errors / words:.1%}"
    assert not missed, f"names not recognised: {missed}"


async def test_speculative_result_equals_whole_utterance(
    wyoming_server: ServerProcess, spoken: dict[str, TtsAudio]
) -> None:
    """Paced at real time with 0.7 s of trailing silence, as HA's pipeline sends it."""
    audio = spoken["Dim the bedroom lamp to 30 percent."]
    pcm = audio.pcm + silence(0.7, audio.rate)
    at_once, _, _ = await transcribe(wyoming_server.uri, pcm, audio.rate)
    paced, _, _ = await transcribe(wyoming_server.uri, pcm, audio.rate, realtime=True)

    assert paced.data["text"] == at_once.data["text"]
    assert normalize(paced.data["text"]) == normalize(
        "dim the bedroom lamp to 30 percent"
    )
    # The paced request was answered from a decode that started before audio-stop ...
    assert alicia_stats(paced)["speculative"] is True
    assert alicia_stats(paced)["passes_after_stop"] == 0
    # ... and the burst was decoded once, after audio-stop, with no wasted pass.
    assert alicia_stats(at_once)["speculative"] is False
    assert alicia_stats(at_once)["passes"] == 1


async def test_speech_after_a_pause_is_decoded_again(
    wyoming_server: ServerProcess, spoken: dict[str, TtsAudio]
) -> None:
    first = spoken["Turn on the kitchen light."]
    second = spoken["Pause the music."]
    assert first.rate == second.rate
    pcm = b"".join(
        (
            first.pcm,
            # With Piper's own ~0.35 s of trailing quiet: long enough for a
            # speculative pass (0.3 s), shorter than the quiet that ends a turn
            # which is no command of the home (1.1 s).
            silence(0.15, first.rate),
            second.pcm[int(0.3 * second.rate) * 2 :],  # without the fixture's lead-in
            silence(0.7, first.rate),
        )
    )
    event, _, _ = await transcribe(wyoming_server.uri, pcm, first.rate, realtime=True)
    words = normalize(event.data["text"])
    assert words[:5] == normalize("turn on the kitchen light")
    assert words[-3:] == normalize("pause the music")
    stats = alicia_stats(event)
    # The pause started a pass, which the second phrase made stale: the answer is
    # a later decode of all of it (speculative, or after the stop when the CPU is
    # too busy for guesses: the session backs off then).
    assert stats["passes"] - stats["passes_after_stop"] >= 1
    assert stats["passes"] >= 2


async def test_transcript_streaming_when_asked(
    wyoming_server: ServerProcess, spoken: dict[str, TtsAudio]
) -> None:
    audio = spoken["Open the garage door."]
    event, _, events = await transcribe(
        wyoming_server.uri, audio.pcm, audio.rate, stream=True
    )
    types = [e.type for e in events]
    assert types[0] == "transcript-start"
    assert "transcript-chunk" in types
    assert types[-2:] == ["transcript-stop", "transcript"]
    chunks = "".join(e.data["text"] for e in events if e.type == "transcript-chunk")
    assert chunks.strip() == event.data["text"]

    _, _, plain = await transcribe(wyoming_server.uri, audio.pcm, audio.rate)
    assert [e.type for e in plain] == ["transcript"]


@pytest.mark.parametrize(
    ("rate", "width", "channels"), [(44100, 2, 2), (8000, 4, 1), (48000, 1, 1)]
)
async def test_any_input_format_is_converted(
    wyoming_server: ServerProcess,
    spoken: dict[str, TtsAudio],
    rate: int,
    width: int,
    channels: int,
) -> None:
    audio = spoken["Turn on the fan in the bathroom."]
    mono16k = Converter(PcmFormat(audio.rate, 2, 1)).convert(audio.pcm, last=True)
    import soxr

    resampled = soxr.resample(mono16k, 16000, rate).astype(np.float32)
    if width == 2:
        pcm = float_to_pcm16(resampled)
    elif width == 4:
        pcm = (np.clip(resampled, -1, 1) * 2147483647).astype("<i4").tobytes()
    else:
        pcm = (np.clip(resampled, -1, 1) * 127 + 128).astype(np.uint8).tobytes()
    if channels == 2:
        samples = np.frombuffer(pcm, dtype="<i2")
        pcm = np.repeat(samples, 2).tobytes()
    event, _, _ = await transcribe(
        wyoming_server.uri, pcm, rate, width=width, channels=channels
    )
    assert normalize(event.data["text"]) == normalize("turn on the fan in the bathroom")


async def test_silence_gives_empty_transcript(wyoming_server: ServerProcess) -> None:
    rng = np.random.default_rng(1)
    hiss = float_to_pcm16((rng.standard_normal(16000 * 2) * 0.001).astype(np.float32))
    for pcm in (bytes(16000 * 2 * 2), hiss):
        event, _, _ = await transcribe(wyoming_server.uri, pcm, 16000)
        assert event.type == "transcript"
        assert event.data["text"] == ""


async def test_five_concurrent_clients(
    wyoming_server: ServerProcess, spoken: dict[str, TtsAudio]
) -> None:
    chosen = [s for s, _ in SENTENCES[:5]]
    results = await asyncio.gather(
        *(transcribe(wyoming_server.uri, spoken[s].pcm, spoken[s].rate) for s in chosen)
    )
    for sentence, (event, _, _) in zip(chosen, results, strict=True):
        errors, _ = word_errors(sentence, event.data["text"])
        assert errors <= 1, (sentence, event.data["text"])


async def test_vocabulary_steers_recognition_to_names(
    spoken: dict[str, TtsAudio], tmp_path: Path
) -> None:
    """The same audio, without and with the names as vocabulary."""

    async def error_rate(server: ServerProcess) -> tuple[float, list[str]]:
        errors = words = 0
        texts = []
        for sentence in HARD_SENTENCES:
            audio = spoken[sentence]
            event, _, _ = await transcribe(server.uri, audio.pcm, audio.rate)
            e, n = word_errors(sentence, event.data["text"])
            errors, words = errors + e, words + n
            texts.append(event.data["text"])
        return errors / words, texts

    rates = []
    for args in ((), ("--stt-vocabulary", ",".join(HARD_NAMES))):
        server = ServerProcess(*args, log=tmp_path / f"server{len(args)}.log")
        try:
            await asyncio.get_running_loop().run_in_executor(None, server.wait_ready)
            rates.append(await error_rate(server))
        finally:
            server.stop()
    (without, _), (with_vocabulary, texts) = rates
    assert without >= 0.2, f"baseline WER {without:.0%}: these names should be hard"
    assert with_vocabulary <= without / 2, f"{without:.0%} -> {with_vocabulary:.0%}"
    joined = " ".join("".join(normalize(t)) for t in texts)
    recognised = [
        n for n in HARD_NAMES if "".join(normalize(n.removeprefix("the "))) in joined
    ]
    assert len(recognised) >= len(HARD_NAMES) - 1, texts
