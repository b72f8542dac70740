"""Brokers and bridges (our server with --mqtt-host) shared by the package's tests, or a module's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY, Mosquitto, ServerProcess, sockets_allowed
from tests.fake_xai import FakeXai


@dataclass
class Bus:
    broker: Mosquitto
    bridge: ServerProcess


def start_bridge(
    broker: Mosquitto,
    fake: FakeXai,
    bridge_id: str,
    log_dir: object,
    *extra: str,
    serving: bool = True,
) -> ServerProcess:
    """Our server bridging to broker; with serving, returns once it has subscribed."""
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port),
        "--bridge-id", bridge_id, "--bridge-heartbeat-interval", "1",
        "--grok-base-url", fake.base_url, "--tts-noise-scale", "0", "--tts-noise-w-scale", "0",
        # One test client sends for many devices; tests of the limit pass their own.
        "--rate-limit", "1000", "--rate-burst", "1000",
        # No trust list here: every asker is a guest, whose questions are refused
        # unless strangers may ask (the most they may; tests of many at once approve).
        "--wyoming-untrusted-questions", "600",
        *extra,
        log=log_dir / f"{bridge_id}.log",  # type: ignore[operator]
        env={"ALICIA_GROK_API_KEY": TEST_KEY},
    )  # fmt: skip
    server.wait_ready()
    if serving:
        # "Ready" comes before the bridge's subscriptions: a request sent in between
        # has no subscriber and is lost (requesters re-send; a test's one request not).
        server.wait_logged(f"Bridge {bridge_id} serving")
    return server


@contextmanager
def broker_and_bridge(
    directory: Path, fake: FakeXai, bridge_id: str, *extra: str
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """A broker of its own and one bridge on it, both stopped at the end."""
    broker = Mosquitto(directory / "mosquitto")
    broker.start()
    # The fake as it answers normally: the bridge lists its models as it starts, and a
    # test run before in this process (another file's, under xdist) may have left it
    # answering otherwise.
    with sockets_allowed():
        fake.configure()
    try:
        bridge = start_bridge(broker, fake, bridge_id, directory, *extra)
        try:
            yield broker, bridge
        finally:
            bridge.stop()
    finally:
        broker.stop()


@pytest.fixture(scope="package")
def bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[Bus]:
    """One broker and bridge for the package's tests that need no fresh one."""
    directory = tmp_path_factory.mktemp("bus")
    with broker_and_bridge(directory, fake_xai_server, "bridge-a") as (broker, bridge):
        yield Bus(broker, bridge)


@pytest.fixture(scope="module")
def own_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[Bus]:
    """A broker and bridge of the module's own: its tests leave the bridge changed."""
    directory = tmp_path_factory.mktemp("own_bus")
    with broker_and_bridge(directory, fake_xai_server, "bridge-a") as (broker, bridge):
        yield Bus(broker, bridge)


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Bus tests talk to the broker on 127.0.0.1."""
