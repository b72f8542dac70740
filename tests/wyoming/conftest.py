"""Fixtures for tests that talk to a real Wyoming server over TCP."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """These tests talk to servers on 127.0.0.1."""
