"""Numbers no engine can use (NaN, infinity, a billion workers) stop the server at start, naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wyoming_services.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("tts_length_scale", "nan", "tts_length_scale must be a finite number"),
        ("tts_noise_scale", "-inf", "tts_noise_scale must be a finite number"),
        ("grok_timeout", "inf", "grok_timeout must be a finite number"),
        ("rate_limit", "1e400", "rate_limit must be a finite number"),
        ("stt_max_seconds", "nan", "stt_max_seconds must be a finite number"),
        ("stt_workers", str(10**12), "stt_workers must be at most 64"),
        ("bridge_max_concurrent", str(10**12), "bridge_max_concurrent must be at most 64"),
        ("max_connections", str(10**9), "max_connections must be at most 4096"),
        ("tts_workers", "1000", "tts_workers must be at most 64"),
        ("grok_max_conversations", str(10**9), "grok_max_conversations must be at most"),
        ("idle_seconds", "1e12", "idle_seconds must be at most 86400"),
        ("grok_memory_seconds", "-1", "grok_memory_seconds must be 0 or more"),
    ],
)  # fmt: skip
def test_an_unusable_number_from_the_environment_is_refused(
    name: str, text: str, message: str
) -> None:
    """The fault: `<= 0` let NaN and infinity through, and no integer had a ceiling."""
    with pytest.raises(SettingsError, match=message):
        Settings.load([], {f"ALICIA_{name.upper()}": text})


def test_nan_from_the_command_line_or_an_options_file_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError, match="tts_length_scale must be a finite"):
        Settings.load(["--tts-length-scale", "NaN"], {})
    options = tmp_path / "options.json"
    # Python's json reads NaN and Infinity, as an options file may hold them.
    options.write_text('{"tts_sentence_silence": Infinity}')
    with pytest.raises(SettingsError, match="tts_sentence_silence must be a finite"):
        Settings.load(["--options", str(options)], {})
    options.write_text(json.dumps({"stt_workers": 10**12}))
    with pytest.raises(SettingsError, match="stt_workers must be at most 64"):
        Settings.load(["--options", str(options)], {})


def test_the_defaults_and_sound_values_still_pass() -> None:
    Settings()
    Settings(tts_length_scale=0.5, stt_workers=16, bridge_max_concurrent=16)
    Settings(tts_noise_scale=0, tts_noise_w_scale=0, grok_max_turns=0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"wyoming_lan_port": 10300}, "wyoming_lan_port needs a tcp:// uri on another port"),
        ({"wyoming_lan_port": 10310, "uri": "unix:///tmp/w.sock"}, "needs a tcp:// uri"),
        ({"wyoming_lan_port": 70000}, "wyoming_lan_port must be at most 65535"),
    ],
)  # fmt: skip
def test_the_public_port_is_a_second_tcp_port(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_mapping(values)
