"""python -m wyoming_services: run the Wyoming server with settings from options, env and flags."""

from __future__ import annotations

import asyncio
import logging
import sys

from .settings import Settings, SettingsError


def run(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    try:
        settings = Settings.load(argv)
    except SettingsError as err:
        print(f"alicia-wyoming: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        # stdout carries the protocol when serving stdio://
        stream=sys.stderr,
    )
    from .server import PartFailed, serve, stop_on_signals  # noqa: PLC0415 - keep --help fast

    async def main() -> None:
        await serve(settings, stop_on_signals())

    try:
        asyncio.run(main())
    except PartFailed:
        return 1  # the server logged why
    return 0


if __name__ == "__main__":
    sys.exit(run())
