"""The add-on's config.yaml: valid for the Supervisor, consistent with the settings object."""

from __future__ import annotations

from dataclasses import fields
import json
from pathlib import Path
import re
from typing import Any

import jsonschema
import yaml

from tests.conftest import ROOT
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


def test_config_validates_against_the_supervisor_schema() -> None:
    jsonschema.validate(config(), json.loads(SCHEMA.read_text()))
    assert yaml.safe_load((ADDON / "build.yaml").read_text())["build_from"].keys() == {
        "amd64",
        "aarch64",
    }


def test_required_add_on_behaviour() -> None:
    cfg = config()
    assert cfg["arch"] == ["amd64", "aarch64"]
    assert cfg["init"] is False
    assert cfg["services"] == ["mqtt:need"]
    assert cfg["discovery"] == ["wyoming"]
    assert "10300/tcp" in cfg["ports"]
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
        else:
            assert kind == "str", name
