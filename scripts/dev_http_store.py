"""HA's HTTP settings for scripts/develop, written where HA keeps them since 2026.11.

HA 2026.11 moves `http:` from YAML into .storage/http once, ignores the YAML after
that, and asks the user to confirm a changed port (reverting it five minutes later
otherwise). The development HA gets its host and port as confirmed settings instead,
built with HA's own schema. Exits 3 on an HA without that store (YAML is used there).

Usage: python scripts/dev_http_store.py STORAGE_DIR PORT
"""

from __future__ import annotations

from datetime import UTC, datetime
import json
from pathlib import Path
import sys


def main() -> int:
    storage, port = Path(sys.argv[1]), int(sys.argv[2])
    try:
        from homeassistant.components.http import config as http_config  # noqa: PLC0415
    except ImportError:
        return 3
    schema = getattr(http_config, "HTTP_STORAGE_SCHEMA", None)
    if schema is None:
        return 3
    settings = dict(schema({"server_host": ["127.0.0.1"], "server_port": port}))
    stable = settings | {
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    store = {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    storage.mkdir(parents=True, exist_ok=True)
    (storage / http_config.STORAGE_KEY).write_text(json.dumps(store, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
