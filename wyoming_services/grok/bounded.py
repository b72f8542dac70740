"""Reading what an upstream sends within bounds: JSON of any depth, bodies of any size."""

from __future__ import annotations

import json
from typing import Any


def loads(text: str | bytes) -> Any:
    """json.loads, with JSON nested too deep for the parser a ValueError like any other."""
    try:
        return json.loads(text)
    except RecursionError as err:
        raise ValueError("JSON nested too deeply") from err
