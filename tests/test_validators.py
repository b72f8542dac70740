"""HA's loaders, hassfest's and HACS's rules on this repository, and on broken copies."""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil

import pytest

from tests.conftest import ROOT

from .validators import (
    hacs_problems,
    manifest_problems,
    quality_scale_problems,
    services_problems,
    translation_problems,
)

INTEGRATION = ROOT / "custom_components" / "alicia"


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the repository's HACS-facing files, to break one thing in."""
    repository = tmp_path / "repo"
    integration = repository / "custom_components" / "alicia"
    shutil.copytree(
        INTEGRATION, integration, ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("hacs.json", "LICENSE", "README.md"):
        shutil.copy(ROOT / name, repository / name)
    return repository, integration


def _edit_json(path: Path, change: Callable[[dict], dict]) -> None:  # type: ignore[type-arg]
    path.write_text(json.dumps(change(json.loads(path.read_text())), indent=2))


def test_manifest_passes_hassfest_and_hacs() -> None:
    assert manifest_problems(INTEGRATION) == []


def test_services_load_in_home_assistant() -> None:
    assert services_problems(INTEGRATION) == []


def test_translations_and_icons_are_complete() -> None:
    assert translation_problems(INTEGRATION) == []


def test_quality_scale_claims_only_what_holds() -> None:
    assert quality_scale_problems(INTEGRATION) == []


def test_a_claimed_tier_with_a_todo_rule_fails(broken: tuple[Path, Path]) -> None:
    _, integration = broken
    _edit_json(integration / "manifest.json", lambda m: m | {"quality_scale": "silver"})
    rules = integration / "quality_scale.yaml"
    text = rules.read_text().replace("  brands: done", "  brands: todo")
    text = text.replace(
        "  test-coverage:\n    status: done", "  test-coverage:\n    status: todo"
    )
    rules.write_text(text)
    problems = quality_scale_problems(integration)
    assert "manifest claims silver, but brands (bronze) is todo" in problems
    assert "manifest claims silver, but test-coverage (silver) is todo" in problems


def test_hacs_repository_checks() -> None:
    assert hacs_problems(ROOT, INTEGRATION) == []


def test_unsorted_or_incomplete_manifest_fails(broken: tuple[Path, Path]) -> None:
    _, integration = broken
    _edit_json(
        integration / "manifest.json",
        lambda m: (
            {"name": m["name"], "domain": m["domain"], "extra": 1}
            | {k: v for k, v in m.items() if k not in ("name", "domain", "version")}
        ),
    )
    problems = manifest_problems(integration)
    assert "manifest: keys must be domain, name, then alphabetical" in problems
    assert "manifest: extra is not a manifest key" in problems
    assert "manifest: version is missing or not a version" in problems
    assert "HACS: manifest needs version" in problems


def test_a_target_ha_refuses_drops_the_services_file(broken: tuple[Path, Path]) -> None:
    _, integration = broken
    services = integration / "services.yaml"
    # `area` is not a target filter HA knows: HA then drops the whole file.
    services.write_text(
        services.read_text().replace("  target:\n", "  target:\n    area: {}\n", 1)
    )
    problems = services_problems(integration)
    assert any(
        p.startswith("services.yaml: HA says: Unable to parse") for p in problems
    )
    assert "services.yaml: HA drops announce" in problems


def test_missing_texts_and_icons_fail(broken: tuple[Path, Path]) -> None:
    _, integration = broken

    def strip(strings: dict) -> dict:  # type: ignore[type-arg]
        del strings["services"]["announce"]["fields"]["volume"]
        del strings["exceptions"]["no_media_player"]
        return strings

    _edit_json(integration / "strings.json", strip)
    _edit_json(integration / "icons.json", lambda i: i | {"services": {}})
    problems = translation_problems(integration)
    assert "translations/en.json differs from strings.json" in problems
    assert (
        "strings: services.announce.fields.volume needs a name and a description"
        in problems
    )
    assert (
        "strings: translation_key 'no_media_player' used in the code has no text"
        in problems
    )
    assert "icons: services.announce has no icon" in problems


def test_missing_brand_licence_and_bad_hacs_json_fail(
    broken: tuple[Path, Path],
) -> None:
    repository, integration = broken
    (integration / "brand" / "icon.png").unlink()
    shutil.copy(
        integration / "brand" / "icon@2x.png", integration / "brand" / "logo.svg"
    )
    (repository / "LICENSE").unlink()
    _edit_json(
        repository / "hacs.json", lambda h: h | {"homeassistant": 2026, "domains": []}
    )
    problems = hacs_problems(repository, integration)
    assert "brand/icon.png: missing" in problems
    assert "brand/logo.svg: HA does not serve it" in problems
    assert "LICENSE: missing or not a licence text" in problems
    assert "hacs.json: homeassistant has the wrong type" in problems
    assert "hacs.json: domains is not a hacs.json key" in problems
