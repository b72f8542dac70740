"""import-linter's contracts (pyproject.toml) hold here, and break on a copy that violates them."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = "The integration's layers"
APP_LAYERS = "The app's layers"
VOICE_ONLY = "The Wyoming handler and the bridge reach the engines through voice only"
CORE = "The contract core imports nothing of ours"
HUB_ONLY = "HA's platforms and the entities reach the link through the hub's parts only"
NO_ADDON = "The integration never imports the add-on's package"
NO_HA = "The add-on's package never imports Home Assistant or the integration"
CYCLES = "No import cycles between the modules of a package"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The three packages and the contracts, copied to break one import in."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(
        ROOT / "custom_components", tmp_path / "custom_components", ignore=ignore
    )
    shutil.copytree(
        ROOT / "wyoming_services", tmp_path / "wyoming_services", ignore=ignore
    )
    (tmp_path / "alicia_bus").symlink_to(tmp_path / "custom_components/alicia/bus")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on a tree; its own packages first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "500"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def add_import(module: Path, line: str) -> None:
    """Append an import to a module of the copy."""
    module.write_text(module.read_text() + f"\n{line}  # noqa: E402\n")


def broken(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The names of the contracts the run reports broken."""
    return [line for line in result.stdout.splitlines() if " BROKEN" in line]


def test_the_copy_keeps_every_contract(copy: Path) -> None:
    """Unchanged, the copy keeps every contract, as the repository does."""
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # The link must not reach up into the hub that owns it.
        ("custom_components/alicia/bus_link.py", "from . import hub", LAYERS),
        # An entity reads its device; a part of the hub never imports an entity.
        ("custom_components/alicia/approval.py", "from . import entity", LAYERS),
        # The model below the parts knows nothing of a platform.
        ("custom_components/alicia/device.py", "from . import sensor", LAYERS),
        # A platform or an entity may skip down a layer, but never to the link.
        ("custom_components/alicia/sensor.py", "from . import bus_link", HUB_ONLY),
        ("custom_components/alicia/entity.py", "from .admission import Admission", HUB_ONLY),
        # The app's basics know nothing of an engine.
        ("wyoming_services/settings.py", "from . import wake", APP_LAYERS),
        # The Wyoming handler and the bridge stand side by side, as do the handler's turns.
        ("wyoming_services/bridge/trust.py", "import wyoming_services.wyoming_handler", APP_LAYERS),
        ("wyoming_services/wake_turn.py", "from . import speaking", APP_LAYERS),
        # Both reach an engine through voice, never around it.
        ("wyoming_services/wyoming_handler.py", "from .stt import SttError", VOICE_ONLY),
        ("wyoming_services/bridge/requests.py", "from wyoming_services.tts import chunk_pcm", VOICE_ONLY),
        ("custom_components/alicia/bus/envelope.py", "import homeassistant", CORE),
        ("wyoming_services/audio.py", "from . import voice", CYCLES),
        # Each side stays in its own process.
        ("custom_components/alicia/const.py", "import wyoming_services", NO_ADDON),
        ("wyoming_services/settings.py", "import custom_components.alicia", NO_HA),
    ],
)  # fmt: skip
def test_a_violation_breaks_its_contract(
    copy: Path, module: str, line: str, contract: str
) -> None:
    """One import against the layering is reported by the contract that forbids it."""
    add_import(copy / module, line)
    result = lint(copy)
    assert result.returncode != 0
    assert [name for name in broken(result) if name.startswith(contract)], result.stdout


@pytest.mark.parametrize(
    ("module", "contract"),
    [("wyoming_services/unplaced.py", APP_LAYERS), ("custom_components/alicia/unplaced.py", LAYERS)],
)  # fmt: skip
def test_a_new_module_must_be_given_its_layer(
    copy: Path, module: str, contract: str
) -> None:
    """Both packages' layers are exhaustive: a module in no layer breaks them."""
    (copy / module).write_text('"""Nowhere yet."""\n')
    result = lint(copy)
    assert result.returncode != 0
    assert [name for name in broken(result) if name.startswith(contract)], result.stdout
