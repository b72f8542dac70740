"""The test server finds another port when the one it was given is taken before it binds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import socket

import pytest

import tests.conftest as shared
from tests.conftest import ServerProcess, sockets_allowed


def test_a_port_taken_meanwhile_is_chosen_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in CI: another connection took the port between free_port() and the bind."""
    with sockets_allowed(), socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports: Iterator[int] = iter([taken.getsockname()[1]])
        real = shared.free_port
        monkeypatch.setattr(shared, "free_port", lambda: next(ports, None) or real())
        server = ServerProcess(log=tmp_path / "server.log")
        try:
            server.wait_logged("Serving Wyoming on", timeout=60)
            assert server.uri != f"tcp://127.0.0.1:{taken.getsockname()[1]}"
        finally:
            server.stop()
