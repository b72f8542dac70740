"""Bridges pytest-homeassistant-custom-component 0.13.375 to Home Assistant 2026.11.

Loaded with `-p tests.ha_compat` (pyproject's addopts), before phcc's own plugin.
There is no phcc release for HA 2026.11 yet; 0.13.375 was made for 2026.10.4,
and two things it relies on changed in 2026.11. Each shim does nothing on an HA
that does not need it (the minimum version), and this file goes away with the
first phcc release for 2026.11.
"""

from __future__ import annotations

import importlib.util

# HA 2026.11 aliases httpx to httpx2 on import and refuses if httpx was imported
# first; respx's pytest plugin (loaded before phcc's) imports httpx.
if importlib.util.find_spec("httpx2") is not None:
    import httpx2

    httpx2.alias_httpx()

# HA 2026.11 moved _clear_logger_overwrites to logger.helpers; phcc's common.py
# still imports it from the package.
if importlib.util.find_spec("homeassistant") is not None:
    from homeassistant.components import logger

    if not hasattr(logger, "_clear_logger_overwrites"):
        from homeassistant.components.logger import helpers

        logger._clear_logger_overwrites = helpers._clear_logger_overwrites  # type: ignore[attr-defined]
