"""The checks HA's loaders, hassfest and HACS apply to an integration, as functions.

Each returns a list of problems (empty: it passes). tests/test_validators.py runs
them on this repository and on broken copies, so each is known to be able to fail.
The real hassfest and HACS actions also run in .github/workflows/validate.yml.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import json
import logging
from pathlib import Path
import re
import struct
from types import SimpleNamespace
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionException
from homeassistant.helpers import service as ha_service
import yaml

# hassfest's manifest schema for custom integrations (script/hassfest/manifest.py).
MANIFEST_REQUIRED = {
    "domain": str,
    "name": str,
    "documentation": str,
    "codeowners": list,
}
MANIFEST_OPTIONAL = {
    "config_flow": bool, "dependencies": list, "after_dependencies": list,
    "integration_type": str, "iot_class": str, "issue_tracker": str,
    "quality_scale": str, "requirements": list, "single_config_entry": bool,
    "version": str, "mqtt": list, "loggers": list, "import_executor": bool,
    "zeroconf": list, "ssdp": list, "dhcp": list, "usb": list, "homekit": dict,
    "bluetooth": list, "disabled": str,
}  # fmt: skip
QUALITY_SCALES = ("bronze", "silver", "gold", "platinum", "internal")
IOT_CLASSES = (
    "assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling",
    "local_push",
)  # fmt: skip
INTEGRATION_TYPES = (
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
)
# HACS: hacs.json's schema, and what an integration's manifest needs on top.
HACS_JSON_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str, "content_in_root": bool, "country": (str, list), "filename": str,
    "hacs": str, "hide_default_branch": bool, "homeassistant": str,
    "persistent_directory": str, "render_readme": bool, "zip_release": bool,
}  # fmt: skip
HACS_MANIFEST_KEYS = (
    "codeowners",
    "documentation",
    "domain",
    "issue_tracker",
    "name",
    "version",
)
# What HA serves from a custom integration's brand/ folder (2026.3+), and its sizes.
BRAND_IMAGES = {"icon.png": 256, "icon@2x.png": 512}
BRAND_OPTIONAL = {"logo.png", "logo@2x.png", "dark_icon.png", "dark_icon@2x.png",
                  "dark_logo.png", "dark_logo@2x.png"}  # fmt: skip


def manifest_problems(integration: Path) -> list[str]:
    """hassfest's manifest rules for a custom integration, and HACS's."""
    manifest = json.loads((integration / "manifest.json").read_text())
    problems = [
        f"manifest: {key} is required"
        for key in MANIFEST_REQUIRED
        if key not in manifest
    ]
    for key, value in manifest.items():
        kind = MANIFEST_REQUIRED.get(key) or MANIFEST_OPTIONAL.get(key)
        if kind is None:
            problems.append(f"manifest: {key} is not a manifest key")
        elif not isinstance(value, kind):
            problems.append(f"manifest: {key} must be a {kind.__name__}")
    keys = list(manifest)
    if keys != sorted(keys, key=lambda k: {"domain": ".0", "name": ".1"}.get(k, k)):
        problems.append("manifest: keys must be domain, name, then alphabetical")
    if manifest.get("domain") != integration.name:
        problems.append("manifest: domain must match the folder name")
    if manifest.get("iot_class") not in IOT_CLASSES:
        problems.append("manifest: iot_class is missing or unknown")
    if manifest.get("integration_type", "hub") not in INTEGRATION_TYPES:
        problems.append("manifest: integration_type is unknown")
    if "quality_scale" in manifest and manifest["quality_scale"] not in QUALITY_SCALES:
        problems.append("manifest: quality_scale is unknown")
    try:
        AwesomeVersion(manifest.get("version"))
        if not manifest.get("version"):
            raise AwesomeVersionException
    except AwesomeVersionException:
        problems.append("manifest: version is missing or not a version")
    for key in ("documentation", "issue_tracker"):
        if not str(manifest.get(key, "")).startswith("https://"):
            problems.append(f"manifest: {key} must be an https URL")
    problems += [
        f"HACS: manifest needs {k}" for k in HACS_MANIFEST_KEYS if not manifest.get(k)
    ]
    return problems


@contextmanager
def _warnings(logger: str) -> Iterator[list[str]]:
    """The WARNING (and worse) messages a logger emits meanwhile."""
    found: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                found.append(record.getMessage())

    handler = Collect()
    logging.getLogger(logger).addHandler(handler)
    try:
        yield found
    finally:
        logging.getLogger(logger).removeHandler(handler)


def services_problems(integration: Path) -> list[str]:
    """services.yaml through HA's own loader: anything it drops or warns about."""
    raw = yaml.safe_load((integration / "services.yaml").read_text()) or {}
    # HA's loader takes an Integration; it reads only these two attributes.
    stand_in = SimpleNamespace(domain=integration.name, file_path=integration)
    with _warnings(ha_service.__name__) as warnings:
        loaded = ha_service._load_services_file(stand_in)  # type: ignore[arg-type]
    problems = [f"services.yaml: HA says: {w}" for w in warnings]
    if isinstance(loaded, dict):
        problems += [
            f"services.yaml: HA drops {name}" for name in raw if name not in loaded
        ]
    return problems


def _translation_keys_in_code(integration: Path) -> set[str]:
    keys: set[str] = set()
    for source in integration.glob("*.py"):
        text = source.read_text()
        keys |= set(re.findall(r'translation_key\s*=\s*"([a-z0-9_]+)"', text))
        # announce.py raises its translated errors through _error("key", ...).
        keys |= set(re.findall(r'_error\(\s*"([a-z0-9_]+)"', text))
    return keys


def translation_problems(integration: Path) -> list[str]:
    """hassfest's translation and icon rules: every service, field, key and icon accounted for."""
    strings: dict[str, Any] = json.loads((integration / "strings.json").read_text())
    english = json.loads((integration / "translations" / "en.json").read_text())
    icons = json.loads((integration / "icons.json").read_text())
    services = yaml.safe_load((integration / "services.yaml").read_text()) or {}
    problems = []
    if english != strings:
        problems.append("translations/en.json differs from strings.json")
    for name, service in services.items():
        text = strings.get("services", {}).get(name, {})
        if not text.get("name") or not text.get("description"):
            problems.append(f"strings: services.{name} needs a name and a description")
        for field in (service or {}).get("fields", {}):
            field_text = text.get("fields", {}).get(field, {})
            if not field_text.get("name") or not field_text.get("description"):
                problems.append(
                    f"strings: services.{name}.fields.{field} needs a name and a description"
                )
        if "service" not in icons.get("services", {}).get(name, {}):
            problems.append(f"icons: services.{name} has no icon")
    problems += [
        f"strings: services.{name} is not in services.yaml"
        for name in strings.get("services", {}) if name not in services
    ]  # fmt: skip
    known: set[str] = set()
    for section in ("exceptions", "issues", "selector"):
        known |= set(strings.get(section, {}))
    for platform in strings.get("entity", {}).values():
        known |= set(platform)
    problems += [
        f"strings: translation_key {key!r} used in the code has no text"
        for key in sorted(_translation_keys_in_code(integration) - known)
    ]
    for platform, entities in icons.get("entity", {}).items():
        for key in entities:
            if key not in strings.get("entity", {}).get(platform, {}):
                problems.append(f"icons: entity.{platform}.{key} has no translation")
    return problems


def _png_size(path: Path) -> tuple[int, int] | None:
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def hacs_problems(repository: Path, integration: Path) -> list[str]:
    """HACS's repository checks that can be made from the files: hacs.json, LICENSE, README, brand."""
    problems = []
    hacs = json.loads((repository / "hacs.json").read_text())
    if "name" not in hacs:
        problems.append("hacs.json: name is required")
    for key, value in hacs.items():
        if key not in HACS_JSON_KEYS:
            problems.append(f"hacs.json: {key} is not a hacs.json key")
        elif not isinstance(value, HACS_JSON_KEYS[key]):
            problems.append(f"hacs.json: {key} has the wrong type")
    if "homeassistant" in hacs:
        try:
            AwesomeVersion(hacs["homeassistant"])
        except AwesomeVersionException:
            problems.append("hacs.json: homeassistant is not a version")
    license_file = repository / "LICENSE"
    if not license_file.is_file() or "License" not in license_file.read_text()[:400]:
        problems.append("LICENSE: missing or not a licence text")
    if not (repository / "README.md").is_file():
        problems.append("README.md: missing")
    brand = integration / "brand"
    for name, size in BRAND_IMAGES.items():
        if not (brand / name).is_file():
            problems.append(f"brand/{name}: missing")
        elif _png_size(brand / name) != (size, size):
            problems.append(f"brand/{name}: must be a {size}×{size} PNG")
    if brand.is_dir():
        problems += [
            f"brand/{p.name}: HA does not serve it"
            for p in brand.iterdir() if p.name not in {*BRAND_IMAGES, *BRAND_OPTIONAL}
        ]  # fmt: skip
    return problems


# HA's Integration Quality Scale: the rules of each tier (developers.home-assistant.io).
TIERS = {
    "bronze": (
        "action-setup", "appropriate-polling", "brands", "common-modules",
        "config-flow-test-coverage", "config-flow", "dependency-transparency",
        "docs-actions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ),
    "gold": (
        "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases",
        "dynamic-devices", "entity-category", "entity-device-class",
        "entity-disabled-by-default", "entity-translations", "exception-translations",
        "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}  # fmt: skip


def quality_scale_problems(integration: Path) -> list[str]:
    """The tier the manifest claims holds: every rule up to it is done or exempt (with a reason)."""
    manifest = json.loads((integration / "manifest.json").read_text())
    rules = yaml.safe_load((integration / "quality_scale.yaml").read_text())["rules"]
    problems = []
    for tier, names in TIERS.items():
        for name in names:
            if name not in rules:
                problems.append(f"quality_scale.yaml: {name} ({tier}) is not listed")
            elif isinstance(rules[name], dict) and not rules[name].get("comment"):
                problems.append(
                    f"quality_scale.yaml: {name} needs a comment with its status"
                )
    claimed = manifest.get("quality_scale")
    if claimed not in TIERS:
        return problems
    for tier in list(TIERS)[: list(TIERS).index(claimed) + 1]:
        for name in TIERS[tier]:
            rule = rules.get(name)
            status = rule.get("status") if isinstance(rule, dict) else rule
            if status not in ("done", "exempt"):
                problems.append(
                    f"manifest claims {claimed}, but {name} ({tier}) is {status}"
                )
    return problems
