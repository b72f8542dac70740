"""One typed settings object, filled from defaults, an options file, the environment and the CLI."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
import os
from pathlib import Path
import re
from typing import Any, get_origin, get_type_hints
from urllib.parse import urlsplit

from alicia_bus.signing import is_fingerprint

from .authority import valid_client
from .setting_values import (
    SettingsError,
    check_numbers,
    convert,
    read_options_file,
    shown_url,
)

__all__ = ["Settings", "SettingsError", "build_parser", "shown_url"]

ENV_PREFIX = "ALICIA_"


# The words of the worded settings (the numbers' ranges: setting_values.LIMITS).
_CHOICES = {
    "security_mode": ("off", "verify", "enforce"),
    "grok_api": ("auto", "responses", "chat_completions"),
}


def _option(default: Any, about: str, *, secret: bool = False) -> Any:
    """A setting's default and its help text; a secret one is masked in logs."""
    return field(default=default, metadata={"help": about, "secret": secret})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server and the bridge can be told; names are the add-on option keys."""

    uri: str = _option(
        "tcp://0.0.0.0:10300",
        "where to serve Wyoming: tcp://HOST:PORT, unix://PATH or stdio://",
    )
    wyoming_lan_port: int = _option(
        0,
        "a second Wyoming port, on uri's host, the one to publish for satellites: a "
        "relay's address there (loopback, the hassio network) is never trusted; 0 = none",
    )
    log_level: str = _option("info", "debug, info, warning or error")
    max_connections: int = _option(
        32, "Wyoming connections at once; past it, a newcomer closes the least needed"
    )
    idle_seconds: float = _option(120.0, "close a Wyoming connection silent this long")
    frame_seconds: float = _option(
        10.0, "longest one Wyoming event may take to arrive, from its first byte"
    )
    session_seconds: float = _option(
        120.0,
        "longest audio or text stream (audio-start to -stop, synthesize-start to -stop)",
    )
    write_seconds: float = _option(
        20.0, "close a Wyoming connection that does not read our events for this long"
    )

    stt_model: str = _option(
        "", "CTranslate2 Whisper model directory; empty = bundled tiny.en"
    )
    stt_language: str = _option("en", "language when the request names none")
    # Beam 5 against greedy, held out: 96 vs 89 of 200 clips exact, no voice worse,
    # for 6 % more decode time (docs/benchmarks.md, bench/decode_options.py).
    stt_beam_size: int = _option(5, "beam size (1 = greedy, a little faster)")
    stt_compute_type: str = _option(
        "int8", "CTranslate2 compute type (int8, float32, ...)"
    )
    stt_cpu_threads: int = _option(0, "threads per decode; 0 = all cores")
    stt_workers: int = _option(
        0,
        "decodes side by side when requests queue up, on single-thread decoders, "
        "each holding ~40 MiB more (0 or 1 = one decode at a time)",
    )
    stt_window_seconds: float = _option(
        10.0,
        "audio the encoder runs on at least, 10 to 30 s; the rest of Whisper's 30 s "
        "window is the encoding of silence (10: a command decoded ~2.7x faster than 30)",
    )
    stt_max_seconds: float = _option(30.0, "longest utterance accepted, in seconds")
    stt_vocabulary: tuple[str, ...] = _option(
        (), "phrases to bias recognition toward (names of devices, areas)"
    )
    stt_speculative: bool = _option(
        True, "start decoding when speech ends, before audio-stop arrives"
    )
    stt_endpointing: bool = _option(
        True,
        "end a live speaker's turn on the server, by the quiet and what was said "
        "(Home Assistant then runs no VAD of its own)",
    )
    stt_home_commands: bool = _option(
        True,
        "recognise home commands against Home Assistant's sentences over the home's "
        "names, and correct a misheard name when one is clearly meant",
    )

    tts_voices: tuple[str, ...] = _option(
        (), "Piper .onnx voice files; the bundled en_US-joe-medium is always offered"
    )
    tts_default_voice: str = _option("", "voice used when a request names none")
    tts_speaker: int = _option(0, "speaker id for multi-speaker voices")
    tts_length_scale: float = _option(1.0, "phoneme length (> 1 is slower speech)")
    tts_noise_scale: float = _option(0.667, "generator noise")
    tts_noise_w_scale: float = _option(0.8, "phoneme width noise")
    tts_sentence_silence: float = _option(0.2, "seconds of silence between sentences")
    tts_max_chars: int = _option(100_000, "longest text accepted for one request")
    tts_workers: int = _option(
        2, "speech pieces synthesized at once (each request one at a time)"
    )
    tts_cut_folder: str = _option(
        "",
        "folder keeping the Piper voices as cut for decoding in windows (~60 MB a "
        "voice), so that a start need not cut them again; empty = cut at every start",
    )

    grok_api_key: str = _option("", "xAI API key (never logged)", secret=True)
    grok_base_url: str = _option(
        "https://api.x.ai/v1", "any OpenAI-compatible API (Ollama, llama.cpp, vLLM ...)"
    )
    grok_model: str = _option(
        "", "model id; empty = the fastest chat model the API lists"
    )
    grok_api: str = _option(
        "auto", "responses, chat_completions, or auto (responses for xAI)"
    )
    grok_home_tools: bool = _option(
        True, "let the model read and control entities exposed to Assist"
    )
    grok_early_answers: bool = _option(
        True,
        "ask Grok as soon as a whole question is heard, in the quiet before the turn "
        "ends (an answer HA does not ask for is cancelled, its tokens spent)",
    )
    wyoming_trusted_clients: tuple[str, ...] = _option(
        ("127.0.0.1", "::1", "172.30.32.1"),
        "Wyoming clients whose questions get home tools (HA's Assist): addresses, "
        "networks (192.168.1.0/24) or * for all; empty = none",
    )
    wyoming_untrusted_questions: int = _option(
        0,
        "questions a minute each other Wyoming client, and each bus device not "
        "approved with its key, may ask Alicia (Grok), answered without the home "
        "(3 at once; all of them together 4 times that); 0 = none: no one else "
        "spends the key",
    )
    grok_timeout: float = _option(10.0, "seconds one answer may take, retries included")
    grok_retries: int = _option(2, "retries after HTTP 429 or 5xx")
    grok_max_tokens: int = _option(300, "longest answer, in tokens")
    grok_personality_name: str = _option("Alicia", "the assistant's name")
    grok_personality: str = _option(
        "", "system prompt ({name} is replaced); empty = Alicia's own"
    )
    grok_include_datetime: bool = _option(True, "tell the model the date and time")
    grok_location_name: str = _option("", "the home's name (HA's location name)")
    grok_language: str = _option("en", "answer language when the request names none")
    grok_languages: tuple[str, ...] = _option(
        (), "languages offered in describe; empty = grok_language"
    )
    grok_max_turns: int = _option(10, "exchanges remembered per conversation")
    grok_memory_seconds: float = _option(
        300.0, "a conversation is forgotten after this idle time"
    )
    grok_max_conversations: int = _option(200, "conversations remembered at once")

    mqtt_host: str = _option("", "MQTT broker for the alicia bus; empty = no bridge")
    mqtt_port: int = _option(1883, "MQTT broker port")
    mqtt_username: str = _option("", "MQTT user name")
    mqtt_password: str = _option("", "MQTT password (never logged)", secret=True)
    mqtt_tls: bool = _option(False, "connect with TLS")
    mqtt_ca_certs: str = _option("", "CA bundle for TLS; empty = the system's")
    mqtt_topic_prefix: str = _option("alicia", "topic prefix")
    bridge_id: str = _option(
        "", "this bridge's id on the bus; empty = alicia-voice-HOST"
    )
    bridge_share_group: str = _option(
        "alicia-bridge", "MQTT shared-subscription group bridges split requests in"
    )
    bridge_heartbeat_interval: float = _option(
        10.0, "seconds between heartbeats (HA calls the bridge gone after 3 missed)"
    )
    bridge_max_concurrent: int = _option(4, "requests served at once")
    security_mode: str = _option(
        "verify",
        "off, verify or enforce, until Home Assistant's signed trust list says otherwise",
    )
    security_key_file: str = _option(
        "",
        "the bridge's Ed25519 key (PEM, created if missing); empty = ~/.local/share/alicia/BRIDGE_ID.pem",
    )
    hub_key_fingerprint: str = _option(
        "",
        "accept only this Home Assistant key (SHA256:...); empty = trust the first one seen",
    )
    rate_limit: float = _option(5.0, "requests a second each sender may make")
    rate_burst: float = _option(20.0, "requests a sender may make at once")

    def redacted(self) -> dict[str, Any]:
        """All values, secrets masked: what may be logged."""
        values = {
            item.name: "***"
            if item.metadata.get("secret") and getattr(self, item.name)
            else getattr(self, item.name)
            for item in fields(self)
        }
        return values | {"grok_base_url": shown_url(self.grok_base_url)}

    def __post_init__(self) -> None:
        """Reject values no engine could use, naming the setting."""
        # Pasted from HA's sensor or repair, a space or newline may come along.
        pin = self.hub_key_fingerprint.strip()
        object.__setattr__(self, "hub_key_fingerprint", pin)
        check_numbers({item.name: getattr(self, item.name) for item in fields(self)})
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                allowed = f"{', '.join(choices[:-1])} or {choices[-1]}"
                raise SettingsError(
                    f"{name} must be {allowed}, not {getattr(self, name)!r}"
                )
        checks: list[tuple[bool, str]] = [
            (1 <= self.mqtt_port <= 65535, "mqtt_port must be 1 to 65535"),
            (
                10 <= self.stt_window_seconds <= 30,
                f"stt_window_seconds must be 10 to 30, not {self.stt_window_seconds!r}",
            ),
            (
                not self.bridge_id
                or re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", self.bridge_id)
                is not None,
                f"bridge_id must be lower case letters, digits, _ and -, not {self.bridge_id!r}",
            ),
            (
                re.fullmatch(r"[A-Za-z0-9_-]+", self.mqtt_topic_prefix) is not None,
                f"mqtt_topic_prefix must be one topic level, not {self.mqtt_topic_prefix!r}",
            ),
            (
                self.grok_base_url.startswith(("http://", "https://")),
                "grok_base_url must start with http:// or https://, not "
                f"{shown_url(self.grok_base_url)!r}",
            ),
            (
                # The client adds the API's paths after it: a query would be cut
                # off from the address and sent nowhere (and shown in logs).
                not urlsplit(self.grok_base_url).query
                and not urlsplit(self.grok_base_url).fragment,
                "grok_base_url takes no ?query or #fragment: give the key in "
                "grok_api_key",
            ),
            (
                self.log_level.lower() in {"debug", "info", "warning", "error"},
                f"log_level must be debug, info, warning or error, not {self.log_level!r}",
            ),
            (
                self.uri.split("://", 1)[0] in {"tcp", "unix", "stdio"},
                f"uri must start with tcp://, unix:// or stdio://, not {self.uri!r}",
            ),
            (
                not self.wyoming_lan_port
                or (
                    self.uri.startswith("tcp://")
                    and not self.uri.endswith(f":{self.wyoming_lan_port}")
                ),
                "wyoming_lan_port needs a tcp:// uri on another port, not "
                f"{self.uri!r}",
            ),
            (
                not pin or is_fingerprint(pin),
                "hub_key_fingerprint must be SHA256: and 43 characters, as Home "
                f"Assistant shows its key, not {pin!r}",
            ),
            (
                all(map(valid_client, self.wyoming_trusted_clients)),
                "wyoming_trusted_clients must be addresses, networks or *",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise SettingsError(message)

    @classmethod
    def load(
        cls,
        argv: Sequence[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Defaults < options file (--options) < ALICIA_* environment < command line."""
        parser = build_parser()
        args = parser.parse_args(argv)
        values: dict[str, Any] = {}
        options_file: Path | None = args.options
        if options_file is not None:
            known = {item.name for item in fields(cls)}
            values.update(read_options_file(options_file, known))
        env = os.environ if environ is None else environ
        for item in fields(cls):
            raw = env.get(ENV_PREFIX + item.name.upper())
            if raw is not None:
                values[item.name] = raw
        values.update(
            {
                item.name: getattr(args, item.name)
                for item in fields(cls)
                if getattr(args, item.name) is not None
            }
        )
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build from raw values (strings from the environment are converted)."""
        hints = get_type_hints(cls)
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        converted = {
            name: convert(name, hints[name], value) for name, value in values.items()
        }
        return cls(**converted)


def build_parser() -> argparse.ArgumentParser:
    """Command-line flags, one per setting, all optional (absent = not given)."""
    parser = argparse.ArgumentParser(
        prog="python -m wyoming_services",
        description=(
            "Alicia's Wyoming server: speech-to-text (faster-whisper) and "
            "text-to-speech (Piper) on one endpoint. Every flag can also be set "
            f"as {ENV_PREFIX}<NAME> in the environment or as a key of --options."
        ),
    )
    parser.add_argument(
        "--options",
        type=Path,
        help="JSON options file (the add-on's /data/options.json)",
    )
    hints = get_type_hints(Settings)
    for item in fields(Settings):
        flag = "--" + item.name.replace("_", "-")
        default = item.default if item.default is not MISSING else None
        help_text = f"{item.metadata['help']} (default: {default!r})"
        if hints[item.name] is bool:
            parser.add_argument(
                flag,
                dest=item.name,
                action=argparse.BooleanOptionalAction,
                help=help_text,
            )
        elif get_origin(hints[item.name]) is tuple:
            parser.add_argument(
                flag, dest=item.name, action="append", metavar="VALUE", help=help_text
            )
        else:
            parser.add_argument(flag, dest=item.name, metavar="VALUE", help=help_text)
    return parser
