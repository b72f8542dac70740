"""Each test module imports the contract core under its side's one name (two names: two module objects)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

TESTS = ROOT / "tests"
INTEGRATION = "custom_components.alicia.bus"
APP = "alicia_bus"
BOTH = frozenset({INTEGRATION, APP})
INTEGRATION_FOLDERS = ("integration",)
APP_FOLDERS = ("addon", "addon_image", "bus", "core", "wyoming")
INTEGRATION_ROOTS = ("homeassistant", "pytest_homeassistant_custom_component")
# Both sides' tests import the root conftest (paths, fixtures): it gives no side.
SHARED = "tests.conftest"


def module_name(path: Path) -> str:
    """tests/security/devices.py: tests.security.devices."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, source: str) -> set[str]:
    """Every module a file imports, anywhere in it, relative imports resolved."""
    package = module_name(path).split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *filter(None, [node.module])])
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return names


def within(name: str, package: str) -> bool:
    """Whether a module name is the package or in it."""
    return name == package or name.startswith(f"{package}.")


def core_names(names: set[str]) -> set[str]:
    """The names a module uses for the core."""
    return {core for core in BOTH if any(within(name, core) for name in names)}


def own_side(path: Path, names: set[str]) -> set[str]:
    """A module's side by its folder, else by which side's code it imports (maybe none)."""
    folder = path.relative_to(TESTS).parts[0]
    if folder in INTEGRATION_FOLDERS or (
        folder == "security" and path.name.startswith("test_")
        and "integration" in path.stem
    ):  # fmt: skip
        return {INTEGRATION}
    if folder in APP_FOLDERS:
        return {APP}
    side = set()
    for name in names:
        if name.split(".")[0] in INTEGRATION_ROOTS or (
            within(name, "custom_components") and not within(name, INTEGRATION)
        ):
            side.add(INTEGRATION)
        elif within(name, "wyoming_services"):
            side.add(APP)
    return side


def wrong(used: set[str], side: set[str]) -> bool:
    """Two names; one not its side's; any in a helper both sides import."""
    if len(used) > 1:
        return True
    if len(side) > 1:
        return bool(used)
    return bool(side) and not used <= side


def test_each_test_module_uses_its_sides_name_for_the_core() -> None:
    """The integration's tests say custom_components.alicia.bus, the app's alicia_bus.

    A module neither folder nor imports place takes the side of the test helpers
    it imports; a helper then the side of the modules importing it.
    """
    files = {module_name(p): p for p in TESTS.rglob("*.py")}
    names = {path: imported(path, path.read_text()) for path in files.values()}
    side = {path: own_side(path, names[path]) for path in files.values()}
    helpers = {
        path: {files[n] for n in names[path] if n in files and n != SHARED} - {path}
        for path in files.values()
    }
    for path in [p for p in files.values() if not side[p]]:
        side[path] = set().union(*(side[helper] for helper in helpers[path]))
    for path in [p for p in files.values() if not side[p]]:
        side[path] = set().union(
            *(side[user] for user in files.values() if path in helpers[user])
        )
    found = {
        str(path.relative_to(ROOT)): f"says {sorted(used)}, is on {sorted(side[path])}"
        for path in files.values()
        if wrong(used := core_names(names[path]), side[path])
    }
    assert found == {}


@pytest.mark.parametrize(
    ("path", "source", "is_wrong"),
    [
        ("integration/test_x.py", "from alicia_bus.envelope import new_message", True),
        ("integration/test_x.py", "from custom_components.alicia import bus", False),
        ("core/test_x.py", "import custom_components.alicia.bus.topics", True),
        ("security/test_integration_x.py", "from alicia_bus import topics", True),
        ("security/test_x.py", "import wyoming_services\nfrom alicia_bus import topics", False),
        ("security/test_x.py", "import homeassistant\nfrom alicia_bus import topics", True),
        ("x.py", "from alicia_bus import topics\nfrom custom_components.alicia.bus import topics", True),
        ("security/helper.py", "from .x import y\nfrom alicia_bus import topics", False),
    ],
)  # fmt: skip
def test_the_rule_finds_a_wrong_name(path: str, source: str, is_wrong: bool) -> None:
    """Each side's name passes on its side; the other side's, or both, fail."""
    module = TESTS / path
    names = imported(module, source)
    assert wrong(core_names(names), own_side(module, names)) is is_wrong
