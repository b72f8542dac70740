"""Start the built app image the way the Supervisor does and check it from outside.

Run by scripts/addon-smoke inside a network namespace of its own (`unshare --net`),
as root. The image's root filesystem (from `buildah mount`) becomes a container:
fresh PID, mount and UTS namespaces, /init (s6-overlay) as PID 1, the image's
environment plus the Supervisor's (token, TZ), /data with options.json, and
`supervisor` resolving to a fake Supervisor API; a real Mosquitto is the MQTT service.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.wake import Detect
import yaml

from tests.addon.fake_supervisor import TOKEN, FakeSupervisor, serve_fake
from tests.bus.client import bus_client
from tests.conftest import ROOT, Mosquitto, wait_until
from tests.wyoming.client import describe

HOSTNAME = "local-alicia"
MQTT_USER = ("addons", "smoke-test-password")


@dataclass
class Container:
    """The running container: the `unshare` process and its PID 1 (/init)."""

    unshare: subprocess.Popen[bytes]
    root: Path
    log: Path

    @property
    def init_pid(self) -> int:
        children = Path(f"/proc/{self.unshare.pid}/task/{self.unshare.pid}/children")
        return int(children.read_text().split()[0])

    def exec(
        self, *command: str, env: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        """As `docker exec`: in the container's namespaces and root, with the image's env."""
        return subprocess.run(
            ["nsenter", "--target", str(self.init_pid), "--mount", "--uts", "--pid",
             "--root", "--wd", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def rss_kib(self) -> int:
        """Resident memory of every process in the container."""
        total = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
                ns = os.readlink(status.parent / "ns/pid")
            except OSError:
                continue
            if ns == os.readlink(f"/proc/{self.init_pid}/ns/pid"):
                for line in text.splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total


def start(root: Path, data: Path, env: dict[str, str], log: Path) -> Container:
    """What the Supervisor's docker run does, with util-linux instead of a runtime."""
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost {HOSTNAME} supervisor\n")
    mounts = (
        f"hostname {HOSTNAME} && mount -t proc proc {root}/proc"
        f" && mount -t sysfs sysfs {root}/sys && mount --rbind /dev {root}/dev"
        f" && mount -t tmpfs -o mode=755 tmpfs {root}/run"
        f" && mkdir -p {root}/data && mount --bind {data} {root}/data"
    )
    environment = " ".join(f"{k}='{v}'" for k, v in env.items())
    script = f"{mounts} && exec chroot {root} env -i {environment} /init"
    process = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount", "--uts", "--propagation", "private",
         "sh", "-c", script],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return Container(process, root, log)


def check(ok: bool, what: str, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail else ""))
    if not ok:
        raise SystemExit(1)


async def wake_on_silence(uri: str) -> str:
    """detect, a second of silence, audio-stop: the server's answer's type."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Detect(names=["okay_nabu"]).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for _ in range(50):
            chunk = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(640))
            await client.write_event(chunk.event())
        await client.write_event(AudioStop().event())
        event = await asyncio.wait_for(client.read_event(), 30)
        return event.type if event is not None else "nothing"


async def smoke(root: Path, image_env: dict[str, str], work: Path) -> dict[str, Any]:
    broker = Mosquitto(work / "mosquitto", users=dict([MQTT_USER]))
    broker.start()
    fake = FakeSupervisor(
        {"host": "127.0.0.1", "port": broker.port, "ssl": False, "protocol": "3.1.1",
         "username": MQTT_USER[0], "password": MQTT_USER[1]}
    )  # fmt: skip
    runner, _ = await serve_fake(fake, port=80)
    data = work / "data"
    data.mkdir()
    options = yaml.safe_load((ROOT / "addon/alicia/config.yaml").read_text())["options"]
    (data / "options.json").write_text(json.dumps(options))
    env = image_env | {
        "SUPERVISOR_TOKEN": TOKEN,
        "HASSIO_TOKEN": TOKEN,
        "TZ": "Europe/Berlin",
    }
    container = start(root, data, env, work / "container.log")
    figures: dict[str, Any] = {}
    try:
        started = time.monotonic()
        await wait_until(lambda: bool(fake.discoveries), 180)
        figures["discovery_seconds"] = round(time.monotonic() - started, 1)
        check(
            fake.discoveries[0] == {"service": "wyoming", "config": {"uri": f"tcp://{HOSTNAME}:10300"}},
            "discovery POST with the app's host name and port", json.dumps(fake.discoveries[0]),
        )  # fmt: skip
        check(
            set(fake.authorizations) == {f"Bearer {TOKEN}"},
            "Supervisor token from with-contenv",
        )
        # A mapping saved for 10300 before the update would stay published.
        text = container.log.read_text()
        check(
            fake.infos_asked >= 1 and "Cannot tell whether port" not in text
            and "is published on your network" not in text,
            "the app read its port mappings: 10300 not published",
        )  # fmt: skip
        info = await describe("tcp://127.0.0.1:10300")
        check(
            bool(info.asr and info.tts and info.handle and info.wake),
            "describe lists asr, tts, wake and handle",
        )
        # The port config.yaml lets the user publish, for satellites on the network.
        lan = await describe("tcp://127.0.0.1:10310")
        check(bool(lan.asr and lan.tts), "the public port 10310 serves satellites")
        # The wake-word models run in the image (TensorFlow Lite's native library).
        heard = await wake_on_silence("tcp://127.0.0.1:10300")
        check(heard == "not-detected", "a second of silence wakes nothing", heard)
        async with bus_client(
            broker.port,
            "alicia/devices/+/status",
            username=MQTT_USER[0],
            password=MQTT_USER[1],
        ) as client:
            status = await client.wait_for(
                lambda m: m["payload"].get("state") == "online", limit=120
            )
            check(
                True,
                "bridge connected with the Supervisor's credentials",
                status["source"],
            )
            await wait_until(lambda: "Ready (wyoming" in container.log.read_text(), 120)
            figures["ready_seconds"] = round(time.monotonic() - started, 1)
            health = container.exec(
                "/opt/alicia/bin/python",
                "-m",
                "wyoming_services.addon",
                "healthcheck",
                env=image_env,
            )
            check(
                health.returncode == 0,
                "HEALTHCHECK command exits 0",
                health.stderr[-300:],
            )
            await asyncio.sleep(5)  # idle
            figures["idle_rss_mib"] = round(container.rss_kib() / 1024)
            stopping = time.monotonic()
            os.kill(container.init_pid, signal.SIGTERM)  # docker stop
            code = await asyncio.to_thread(container.unshare.wait, 15)
            figures["stop_seconds"] = round(time.monotonic() - stopping, 1)
            check(figures["stop_seconds"] < 10, "SIGTERM stops everything within 10 s",
                  f"{figures['stop_seconds']} s, exit {code}")  # fmt: skip
            offline = await client.wait_for(
                lambda m: m["payload"].get("state") == "offline", limit=5
            )
            check(
                offline["source"] == status["source"],
                "bridge said offline on the way out",
            )
        log = container.log.read_text()
        check(code == 0, "container exit code 0 after a requested stop", str(code))
        check("Traceback" not in log, "no traceback in the app's log")
        check("Stopped" in log, "the server stopped gracefully")
        check(
            "its decoder in windows" in log,
            "Piper's voice runs its decoder in windows (onnx cut it)",
        )
        kept = sorted(p.name for p in (data / "piper-cut").glob("*/*"))
        check(
            kept == ["cut.json", "decoder.onnx", "decoder_tail.onnx", "encoder.onnx"],
            "the voice's cut (three parts, where it was cut) kept in /data for the next start",
            str(kept),
        )
        return figures
    finally:
        if container.unshare.poll() is None:
            os.killpg(container.unshare.pid, signal.SIGKILL)
            container.unshare.wait()
        await runner.cleanup()
        broker.stop()
        print(f"--- container log (last lines of {container.log}) ---")
        print("\n".join(container.log.read_text(errors="replace").splitlines()[-25:]))


async def crash(root: Path, image_env: dict[str, str], work: Path) -> None:
    """A server that cannot start stops the container with its code (the watchdog restarts it)."""
    data = work / "data-invalid"
    data.mkdir()
    (data / "options.json").write_text(json.dumps({"stt_beam_size": 0}))
    env = image_env | {"SUPERVISOR_TOKEN": TOKEN, "TZ": "UTC"}
    container = start(root, data, env, work / "container-invalid.log")
    try:
        code = await asyncio.to_thread(container.unshare.wait, 60)
    finally:
        if container.unshare.poll() is None:
            os.killpg(container.unshare.pid, signal.SIGKILL)
            container.unshare.wait()
    log = container.log.read_text()
    check(
        code == 2,
        "invalid options stop the container with the server's exit code",
        str(code),
    )
    check(
        "stt_beam_size must be at least 1" in log, "the log says which option is wrong"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path, help="the image's mounted root filesystem")
    parser.add_argument("env", help="the image's environment, a JSON list of KEY=VALUE")
    parser.add_argument("work", type=Path, help="a scratch directory")
    args = parser.parse_args()
    image_env = dict(item.split("=", 1) for item in json.loads(args.env))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # the new namespace's
    figures = asyncio.run(smoke(args.root, image_env, args.work))
    asyncio.run(crash(args.root, image_env, args.work))
    print("figures:", json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
