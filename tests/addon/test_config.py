"""The add-on's config.yaml: valid for the Supervisor, consistent with the settings object."""

from __future__ import annotations

from dataclasses import fields
from fnmatch import fnmatch
import json
from pathlib import Path
import re
from typing import Any

from jsonschema import Draft7Validator
import yaml

from tests.conftest import ROOT
from wyoming_services.addon import LAN_PORT, addon_settings, wyoming_port
from wyoming_services.piper_graph import DECODER_FILE, ENCODER
from wyoming_services.setting_values import LIMITS
from wyoming_services.settings import Settings

ADDON = ROOT / "addon" / "alicia"
# The Supervisor's schema (MIT, see supervisor_schema/LICENSE.md); ../shared has the newest.
SHARED_SCHEMA = ROOT.parent / "shared" / "addon-schema" / "config.schema.json"
SCHEMA = (
    SHARED_SCHEMA
    if SHARED_SCHEMA.exists()
    else Path(__file__).parent / "supervisor_schema" / "config.schema.json"
)


def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ADDON / "config.yaml").read_text())
    return loaded


DEPRECATED_ARCHES = {"armhf", "armv7", "i386"}


def lint(cfg: dict[str, Any]) -> list[str]:
    """The add-on linter's rules (frenck/action-addon-linter): schema, defaults, obsolete keys."""
    schema = json.loads(SCHEMA.read_text())
    found = [error.message for error in Draft7Validator(schema).iter_errors(cfg)]
    for name, rule in schema["properties"].items():
        if "default" in rule and name in cfg and cfg[name] == rule["default"]:
            found.append(f"'{name}' should be removed, it uses a default value")
    found += [
        f"architecture {arch} is deprecated"
        for arch in set(cfg.get("arch", [])) & DEPRECATED_ARCHES
    ]
    for key in ("watchdog", "codenotary", "auto_uart"):
        if key in cfg:
            found.append(f"'{key}' is obsolete")
    if {"config", "config:rw", "config:ro"} & set(map(str, cfg.get("map", []))):
        found.append("'map' has 'config', replaced by 'homeassistant_config'")
    if not isinstance(cfg.get("tmpfs", False), bool):
        found.append("'tmpfs' is a boolean now")
    return found


def test_config_passes_the_add_on_linter_rules() -> None:
    assert lint(config()) == []
    # build.yaml is deprecated (the Supervisor logs so): the Dockerfile names its base.
    assert not list(ADDON.glob("build.*"))


def test_the_linter_rules_catch_what_the_linter_catches() -> None:
    broken = config() | {
        "boot": "auto",
        "watchdog": "tcp://[HOST]:10300",
        "arch": ["amd64", "armv7"],
        "startup": "sometimes",
        "map": ["config:rw"],
    }
    found = lint(broken)
    assert "'boot' should be removed, it uses a default value" in found
    assert "'watchdog' is obsolete" in found
    assert "architecture armv7 is deprecated" in found
    assert any("'sometimes' is not one of" in line for line in found)
    assert "'map' has 'config', replaced by 'homeassistant_config'" in found


def test_users_pull_a_released_image_per_arch() -> None:
    cfg = config()
    assert cfg["image"] == "ghcr.io/alicia-home/{arch}-addon-alicia"
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    text = json.dumps(release)
    assert "addon-alicia" in text
    for arch in cfg["arch"]:
        assert arch in text, arch


def test_dockerfile_builds_from_the_folder_alone_on_the_current_base() -> None:
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert "ARG BUILD_FROM=ghcr.io/home-assistant/base-debian:trixie" in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith(("COPY", "ADD")):
            assert ".." not in line, line
            assert "--from" not in line, line
    assert "curl " not in dockerfile
    assert "git+" not in dockerfile
    assert "HEALTHCHECK" in dockerfile


def test_required_add_on_behaviour() -> None:
    cfg = config()
    assert cfg["arch"] == ["amd64", "aarch64"]
    assert cfg["init"] is False
    assert cfg["services"] == ["mqtt:need"]
    assert cfg["discovery"] == ["wyoming"]
    assert cfg["ports"] == {f"{LAN_PORT}/tcp": None}
    assert cfg["schema"]["grok_api_key"] == "password?"
    assert (ROOT / "repository.yaml").exists()
    for name in (
        "DOCS.md",
        "CHANGELOG.md",
        "icon.png",
        "logo.png",
        "translations/en.yaml",
        "Dockerfile",
    ):
        assert (ADDON / name).is_file(), name


def test_the_app_asks_the_supervisor_for_nothing_beyond_its_own() -> None:
    """No hassio_api: /addons/self/info (its port mappings) is open to every app.

    With it, the default role may read every app's info, their options (passwords)
    included, from a process that strangers on the network talk to.
    """
    cfg = config()
    assert "hassio_api" not in cfg
    assert "hassio_role" not in cfg
    assert "homeassistant_api" not in cfg


def test_every_option_is_a_setting_with_a_schema_and_a_translation() -> None:
    cfg = config()
    setting_names = {f.name for f in fields(Settings)}
    assert set(cfg["options"]) == set(cfg["schema"])
    assert set(cfg["options"]) <= setting_names
    translated = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())[
        "configuration"
    ]
    assert set(translated) == set(cfg["options"])


def test_defaults_are_valid_and_every_option_is_read(tmp_path: Path) -> None:
    options = config()["options"]
    path = tmp_path / "options.json"
    path.write_text(json.dumps(options))
    settings = Settings.load(["--options", str(path)], {})
    for name, value in options.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(settings, name) == expected, name


def test_changed_options_reach_the_settings(tmp_path: Path) -> None:
    options = config()["options"] | {
        "stt_beam_size": 3,
        "stt_vocabulary": ["kitchen light", "Zoë's lamp"],
        "tts_voices": ["/share/alicia/de_DE-thorsten-medium.onnx"],
        "grok_api_key": "xai-secret",
        "log_level": "debug",
    }
    path = tmp_path / "options.json"
    path.write_text(json.dumps(options))
    settings = Settings.load(["--options", str(path)], {})
    assert settings.stt_beam_size == 3
    assert settings.stt_vocabulary == ("kitchen light", "Zoë's lamp")
    assert settings.tts_voices == ("/share/alicia/de_DE-thorsten-medium.onnx",)
    assert settings.redacted()["grok_api_key"] == "***"


def test_schema_types_match_the_settings() -> None:
    """Each schema type is one the settings field can hold."""
    kinds = {f.name: f.type for f in fields(Settings)}
    for name, rule in config()["schema"].items():
        kind = str(kinds[name])
        text = rule[0] if isinstance(rule, list) else rule
        if isinstance(rule, list):
            assert "tuple" in kind, name
        elif re.match(r"int", text):
            assert kind == "int", name
        elif re.match(r"float", text):
            assert kind == "float", name
        elif text == "bool":
            assert kind == "bool", name
        else:
            assert kind == "str", name


def test_home_assistants_port_can_never_be_published(tmp_path: Path) -> None:
    """The attack: 10300 published, Docker's proxy relayed LAN clients from 172.30.32.1, HA's address.

    Only the public port can be mapped; HA's (what discovery announces) stays
    10300, unchanged for existing installs.
    """
    cfg = config()
    path = tmp_path / "options.json"
    path.write_text(json.dumps(cfg["options"]))
    settings = addon_settings(path)
    assert wyoming_port(settings) == 10300
    assert settings.wyoming_lan_port == LAN_PORT
    assert list(cfg["ports"]) == [f"{LAN_PORT}/tcp"]
    assert set(cfg["ports_description"]) == set(cfg["ports"])
    translated = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())
    assert set(translated["network"]) == set(cfg["ports"])
    # The option is not offered (its port is config.yaml's); tests may name another.
    path.write_text(json.dumps(cfg["options"] | {"wyoming_lan_port": 0}))
    assert addon_settings(path).wyoming_lan_port == 0


def test_schema_ranges_lie_within_the_settings_limits() -> None:
    """A number the Supervisor's form accepts is one the app starts with, and no more."""
    for name, rule in config()["schema"].items():
        found = re.fullmatch(r"(int|float)\((.+),(.+)\)", str(rule))
        if found is None:
            continue
        low, high = float(found[2]), float(found[3])
        for value in (low, high):
            Settings.from_mapping({name: value})
        if name in LIMITS:
            least, most, _ = LIMITS[name]
            assert least <= low, name
            assert high <= most, name


def test_the_app_keeps_its_cut_voices_in_data_and_out_of_backups(
    tmp_path: Path,
) -> None:
    """Cut once into /data (kept across restarts and updates), never into a backup."""
    cfg = config()
    path = tmp_path / "options.json"
    path.write_text(json.dumps(cfg["options"]))
    folder = addon_settings(path).tts_cut_folder
    assert folder.startswith("/data/")
    for half in (ENCODER, DECODER_FILE):
        assert any(fnmatch(half, pattern) for pattern in cfg["backup_exclude"])
