"""The bridge's loop quiets one known race at a broker's loss, and nothing else."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from wyoming_services.bridge.stopping import quiet_lost_socket


def handle_watching_a_closed_socket(loop: asyncio.AbstractEventLoop) -> asyncio.Handle:
    """What aiomqtt schedules from paho's thread: watch this socket for writing."""
    with socket.socket() as sock:
        fd = sock.fileno()
    return asyncio.Handle(loop.add_writer, (fd, lambda: None), loop)


async def test_the_socket_closed_before_the_loop_watched_it_is_a_debug_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    handle = handle_watching_a_closed_socket(loop)
    context = {
        "exception": OSError(errno.EBADF, "Bad file descriptor"),
        "handle": handle,
    }
    with caplog.at_level("DEBUG"):
        quiet_lost_socket(loop, context)
    assert [r.levelname for r in caplog.records] == ["DEBUG"]


async def test_any_other_error_goes_to_the_default_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    handle = handle_watching_a_closed_socket(loop)
    for error in (OSError(errno.EPIPE, "Broken pipe"), ValueError("bad")):
        caplog.clear()
        quiet_lost_socket(
            loop, {"message": "boom", "exception": error, "handle": handle}
        )
        assert [r.levelname for r in caplog.records] == ["ERROR"]
