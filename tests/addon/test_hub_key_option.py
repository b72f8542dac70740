"""The hub_key_fingerprint option mistyped: refused at start, the pin kept."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest

from alicia_bus.envelope import new_message, parse
from alicia_bus.signing import KeyPair
from wyoming_services.bridge.trust import Trust
from wyoming_services.settings import Settings, SettingsError

from .test_config import config

HUB_TOPIC = "alicia/system/security/hub"
HUB = KeyPair.from_seed(bytes(range(32)))
MISTYPED = [
    HUB.fingerprint + "`",
    "`" + HUB.fingerprint + "`",
    HUB.fingerprint[:-1],
    HUB.fingerprint.lower(),
    "SHA256:typo",
]


def pinned(tmp_path: Path, settings: Settings) -> Trust:
    """A bridge's trust that has pinned HUB on first sight, restarted with settings."""
    message = new_message("home-assistant", "event", {"public_key": HUB.public_key})
    first = Trust(Settings(), tmp_path / "bridge.pem")
    first.take(parse(HUB_TOPIC, json.dumps(HUB.sign(HUB_TOPIC, message)).encode()))
    return Trust(settings, tmp_path / "bridge.pem")


@pytest.mark.parametrize("value", MISTYPED)
def test_a_mistyped_pin_is_a_clear_error_and_the_pin_is_kept(
    tmp_path: Path, value: str
) -> None:
    pinned(tmp_path, Settings())
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"hub_key_fingerprint": value}))
    with pytest.raises(SettingsError, match=r"^hub_key_fingerprint must be"):
        Settings.load(["--options", str(options)], {})
    assert (tmp_path / "bridge.hub").read_text().strip() == HUB.public_key


@pytest.mark.parametrize("space", [" ", "\n", "\t "])
def test_a_pin_pasted_with_spaces_names_the_key(tmp_path: Path, space: str) -> None:
    settings = Settings.from_mapping(
        {"hub_key_fingerprint": space + HUB.fingerprint + space}
    )
    trust = pinned(tmp_path, settings)
    assert (trust.hub_key, trust.accepted_hub_key) == (HUB.public_key, HUB.fingerprint)


def test_the_supervisor_refuses_what_the_settings_refuse() -> None:
    """The option's match(), as the Supervisor reads it (voluptuous Match: re.match)."""
    rule = config()["schema"]["hub_key_fingerprint"]
    pattern = re.fullmatch(r"match\((.*)\)\??", rule)
    assert pattern is not None
    for value in ["", HUB.fingerprint, f" {HUB.fingerprint}\n"]:
        assert re.match(pattern[1], value), value
    for value in MISTYPED:
        assert not re.match(pattern[1], value), value
