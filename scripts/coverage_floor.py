"""Fails unless every module of the integration is covered above the floor.

HA's quality scale (silver, test-coverage) asks above 95 % for every module. The
integration supports two HA releases, and a few lines run on one of them only, so a
line counts as covered when either run (newest, minimum) executed it.

    python scripts/coverage_floor.py NEWEST.json MINIMUM.json [--floor 95]

Each file is `coverage json` output of one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys


def covered_by_module(reports: list[Path]) -> dict[str, tuple[int, int]]:
    """Module path -> (lines covered by any run, statements)."""
    executed: dict[str, set[int]] = {}
    statements: dict[str, set[int]] = {}
    for report in reports:
        files = json.loads(report.read_text())["files"]
        for path, data in files.items():
            ran = set(data["executed_lines"])
            executed.setdefault(path, set()).update(ran)
            statements.setdefault(path, set()).update(ran | set(data["missing_lines"]))
    return {
        path: (len(executed[path] & lines), len(lines))
        for path, lines in statements.items()
        if lines
    }


def main() -> int:
    """Print the modules under the floor; exit 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--floor", type=float, default=95.0)
    args = parser.parse_args()
    modules = covered_by_module(args.reports)
    if not modules:
        print("coverage floor: no modules measured", file=sys.stderr)
        return 1
    under = {
        path: 100.0 * done / total
        for path, (done, total) in modules.items()
        if 100.0 * done / total < args.floor
    }
    done = sum(d for d, _ in modules.values())
    total = sum(t for _, t in modules.values())
    print(
        f"coverage: {100.0 * done / total:.1f} % of {total} lines in {len(modules)} "
        f"modules (newest and minimum HA together); floor {args.floor:g} % per module"
    )
    for path, percent in sorted(under.items()):
        print(f"  under the floor: {path} {percent:.1f} %", file=sys.stderr)
    return 1 if under else 0


if __name__ == "__main__":
    sys.exit(main())
