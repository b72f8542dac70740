"""Shared fixtures; importing the integration here makes HA load ours, not another custom_components."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
import logging
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time

import pytest

import custom_components.alicia  # noqa: F401

from .fake_xai import FakeXai
from .wyoming.client import TtsAudio, synthesize
from .wyoming.phrases import HARD_SENTENCES, SENTENCES

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker (scripts/test), no log handler of its own on stderr.

    phcc's logging.basicConfig puts one there, and a thread logging between a test's
    phases (HA's recorder) wrote past pytest's capture into the progress dots.
    pytest's own log capture still shows a failing test's records.
    """
    if hasattr(config, "workerinput"):
        root = logging.getLogger()
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler:
                root.removeHandler(handler)


@contextmanager
def sockets_allowed() -> Iterator[None]:
    """Let a fixture use sockets although HA's test setup blocks them outside tests."""
    import pytest_socket

    guarded = socket.socket
    pytest_socket.enable_socket()
    try:
        yield
    finally:
        socket.socket = guarded  # type: ignore[misc]


# How long a pipeline run through HA may take to end: HA's agent compiles its
# sentence templates on a test's first command, and that took over 10 s on a busy
# 2-core machine.
PIPELINE_SECONDS = 30


async def wait_until(condition: Callable[[], bool], limit: float = 10) -> None:
    """Poll: for state in another process or in HA, which signals nothing a test could await."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on."""
    with sockets_allowed(), socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """python -m wyoming_services running on a free port, as the add-on runs it."""

    def __init__(
        self,
        *args: str,
        log: Path,
        env: dict[str, str] | None = None,
        uri: str | None = None,
    ) -> None:
        self.uri = uri or f"tcp://127.0.0.1:{free_port()}"
        self.log = log
        self._args, self._env = args, env
        # A port free_port() saw free may be taken before the server binds it (an
        # outgoing connection's ephemeral port, say): a port of our choosing is
        # chosen again, a few times.
        self._rebinds = 0 if uri else 3
        self._start()

    def _start(self) -> None:
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wyoming_services",
                "--uri",
                self.uri,
                "--log-level",
                "debug",
                *self._args,
            ],
            cwd=ROOT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                # Its own key, not one in the home directory shared with other runs.
                "ALICIA_SECURITY_KEY_FILE": str(self.log.with_suffix(".pem")),
                **(self._env or {}),
            },
        )

    def wait_ready(self, timeout: float = 120) -> None:
        """Block until the server logs that its models are loaded."""
        self.wait_logged("Ready (wyoming", timeout)

    def wait_logged(self, text: str, timeout: float = 120) -> None:
        """Block until the server's log holds text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text():
                return
            if self.process.poll() is not None:
                said = self.log.read_text()
                if self._rebinds and "address already in use" in said:
                    self._rebinds -= 1
                    self._log_file.close()
                    self.uri = f"tcp://127.0.0.1:{free_port()}"
                    self._start()
                    continue
                raise RuntimeError(f"server exited:\n{said}")
            time.sleep(0.05)
        raise TimeoutError(
            f"{text!r} not logged after {timeout} s:\n{self.log.read_text()}"
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


@pytest.fixture(scope="session")
def wyoming_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server with the bundled models for the whole run."""
    # Zero noise makes Piper's audio the same on every run, so the recognition
    # tests give the same answer every time.
    # The vocabulary is what the integration publishes from HA's entity names.
    from tests.wyoming.phrases import VOCABULARY

    server = ServerProcess(
        "--tts-noise-scale",
        "0",
        "--tts-noise-w-scale",
        "0",
        "--stt-vocabulary",
        ",".join(VOCABULARY),
        log=tmp_path_factory.mktemp("wyoming") / "server.log",
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


TEST_KEY = "xai-test-key-do-not-log-7f3a"


@pytest.fixture(scope="session")
def fake_xai_server() -> Iterator[FakeXai]:
    """The fake xAI API, a process of its own, for the whole run."""
    fake = FakeXai(free_port())
    try:
        with sockets_allowed():
            fake.wait_ready()
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def xai(fake_xai_server: FakeXai, socket_enabled: None) -> FakeXai:
    """The fake, answering normally, with no recorded requests."""
    fake_xai_server.configure()
    return fake_xai_server


@pytest.fixture(scope="session")
def grok_server(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[ServerProcess]:
    """Our server with Grok pointed at the fake API (which lists its usual models as it starts)."""
    with sockets_allowed():
        fake_xai_server.configure()
    server = ServerProcess(
        "--grok-base-url",
        fake_xai_server.base_url,
        "--grok-location-name",
        "Maple Cottage",
        log=tmp_path_factory.mktemp("grok") / "server.log",
        env={"ALICIA_GROK_API_KEY": TEST_KEY},
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class Mosquitto:
    """A real Mosquitto on a free 127.0.0.1 port, with persistence so a restart keeps sessions."""

    def __init__(
        self,
        directory: Path,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        acl: str | None = None,
    ) -> None:
        """users: name -> password (no anonymous); tls: (cert, key); acl: ACL text."""
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.started = False
        lines = [
            f"allow_anonymous {'false' if users else 'true'}",
            "set_tcp_nodelay true",
            "persistence true",
            f"persistence_location {directory}/",
            "autosave_interval 1",
            f"log_dest file {directory}/mosquitto.log",
            "log_type all",
            "max_queued_messages 10000",
        ]
        if users:
            passwords = directory / "passwords"
            passwords.write_text("".join(f"{n}:{p}\n" for n, p in users.items()))
            passwords.chmod(0o600)
            tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            subprocess.run([tool, "-U", str(passwords)], check=True)
            lines.append(f"password_file {passwords}")
        if acl is not None:
            (directory / "acl").write_text(acl)
            lines.append(f"acl_file {directory}/acl")
        if tls:
            lines += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        if os.geteuid() == 0:
            # Else it drops to the 'mosquitto' user, who cannot write here.
            lines.append("user root")
        self._lines = lines
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it, and wait until it is ours that listens on the port.

        Tests run in several processes (scripts/test): another one's broker or server
        may take the free port first. Then this one cannot listen and exits, while a
        connect to the port still succeeds (to the other broker): its log's "running"
        line, written once its listener is open, is what tells. On a first start it
        tries another port; a restart keeps its port (its clients reconnect to it).
        """
        for _ in range(1 if self.started else 5):
            self.config.write_text(
                "\n".join([f"listener {self.port} 127.0.0.1", *self._lines]) + "\n"
            )
            if self._start():
                self.started = True
                return
            if self.started:
                break
            self.port = free_port()
        raise RuntimeError(f"mosquitto did not start:\n{self._log_since(0)}")

    def _log_since(self, offset: int) -> str:
        return (
            self.log.read_bytes()[offset:].decode(errors="replace")
            if self.log.exists()
            else ""
        )

    def _start(self) -> bool:
        """Whether this broker started and listens (False: it exited)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        process = self.process = subprocess.Popen([binary, "-c", str(self.config)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.process = None
                return False
            if " running" in self._log_since(offset):
                with sockets_allowed(), socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                        return True
            time.sleep(0.02)
        raise TimeoutError(f"mosquitto did not start:\n{self._log_since(offset)}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of the test's own."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def spoken(wyoming_server: ServerProcess) -> dict[str, TtsAudio]:
    """Every test sentence, spoken once by the server's own TTS."""
    sentences = [s for s, _ in SENTENCES] + list(HARD_SENTENCES)

    async def speak(sentence: str) -> TtsAudio:
        audio = await synthesize(wyoming_server.uri, sentence)
        # A microphone hears a moment of quiet before anyone speaks.
        audio.pcm = bytes(int(0.3 * audio.rate) * 2) + audio.pcm
        return audio

    async def speak_all() -> dict[str, TtsAudio]:
        return {s: await speak(s) for s in sentences}

    # A loop of its own that is never made current: the test loops stay untouched.
    loop = asyncio.new_event_loop()
    try:
        with sockets_allowed():
            spoken = loop.run_until_complete(speak_all())
    finally:
        loop.close()
    return spoken
