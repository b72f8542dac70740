"""Fixtures for tests that talk to a real Wyoming server over TCP."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """These tests talk to servers on 127.0.0.1."""


@pytest.fixture
def unix_sockets(socket_enabled: None) -> None:
    """Also allow connecting to unix sockets (HA's test setup only allows 127.0.0.1)."""
    import pytest_socket

    pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
