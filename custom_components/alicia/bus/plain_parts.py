"""What of a kept JSON value check_json takes: for documents stored before it checked them."""

from __future__ import annotations

from typing import Any

from .errors import ProtocolError
from .plain_json import MAX_NESTING, check_json
from .text import excerpt

_DROPPED = object()


def plain_parts(
    value: Any, path: str, deepest: int = MAX_NESTING
) -> tuple[Any, list[str]]:
    """Value without each part check_json refuses (None if value is one), and where those were."""
    dropped: list[str] = []

    def keep(item: Any, where: str, depth: int) -> Any:
        if isinstance(item, dict | list) and depth > deepest:
            dropped.append(where)
            return _DROPPED
        if isinstance(item, dict):
            kept = {}
            for key, inner in item.items():
                here = f"{where}[{excerpt(key)}]"
                if not isinstance(key, str):
                    dropped.append(here)
                elif (part := keep(inner, here, depth + 1)) is not _DROPPED:
                    kept[key] = part
            return kept
        if isinstance(item, list):
            parts = (
                keep(inner, f"{where}[{i}]", depth + 1) for i, inner in enumerate(item)
            )
            return [part for part in parts if part is not _DROPPED]
        try:
            check_json(item, where, longest=None)
        except ProtocolError:
            dropped.append(where)
            return _DROPPED
        return item

    kept = keep(value, path, 1)
    return (None if kept is _DROPPED else kept), dropped
