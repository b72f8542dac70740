"""Overhead of the Grok handle path over calling the (fake) API directly.

Run: `.venv/bin/python bench/grok.py [--runs N]`. The fake xAI server answers
with a fixed 200 ms before the first token; both paths stream the same answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
import socket
import subprocess
import sys
import time

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wyoming.asr import Transcript
from wyoming.client import AsyncClient

from tests.fake_xai import FakeXai
from tests.wyoming.client import describe

QUESTION = "What should I cook tonight?"


def port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        number: int = sock.getsockname()[1]
        return number


async def direct(client: httpx.AsyncClient) -> tuple[float, float]:
    body = {
        "model": "grok-test-fast",
        "stream": True,
        "max_tokens": 300,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    started = time.perf_counter()
    first = None
    async with client.stream("POST", "/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if first is None and '"content": "' in line and '"content": ""' not in line:
                first = time.perf_counter() - started
            if line == "data: [DONE]":
                break
    assert first is not None
    return first, time.perf_counter() - started


async def through_wyoming(uri: str, index: int) -> tuple[float, float]:
    async with AsyncClient.from_uri(uri) as client:
        event = Transcript(
            text=QUESTION, context={"conversation_id": f"bench-{index}"}
        ).event()
        event.data["stream"] = True
        started = time.perf_counter()
        await client.write_event(event)
        first = None
        while (received := await client.read_event()) is not None:
            if received.type == "handled-chunk" and first is None:
                first = time.perf_counter() - started
            if received.type == "handled":
                assert first is not None
                return first, time.perf_counter() - started
    raise ConnectionError("no answer")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    fake = FakeXai(port())
    fake.wait_ready()
    fake.configure(first_token_delay=0.2)
    wyoming_port = port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "wyoming_services", "--uri", f"tcp://127.0.0.1:{wyoming_port}",
         "--grok-base-url", fake.base_url, "--grok-model", "grok-test-fast",
         "--no-grok-include-datetime", "--log-level", "warning"],
        env={**os.environ, "ALICIA_GROK_API_KEY": "bench-key"},
    )  # fmt: skip
    uri = f"tcp://127.0.0.1:{wyoming_port}"
    # Like the server, the direct caller keeps its connections open between requests.
    client = httpx.AsyncClient(base_url=fake.base_url)
    try:
        for _ in range(200):
            try:
                await describe(uri)
                break
            except OSError:
                await asyncio.sleep(0.05)
        for index in range(3):  # warm-up
            await direct(client)
            await through_wyoming(uri, -index - 1)
        results: dict[str, list[float]] = {k: [] for k in ("df", "dl", "wf", "wl")}
        for index in range(args.runs):
            first, last = await direct(client)
            results["df"].append(first)
            results["dl"].append(last)
            first, last = await through_wyoming(uri, index)
            results["wf"].append(first)
            results["wl"].append(last)
    finally:
        await client.aclose()
        server.terminate()
        server.wait()
        fake.stop()

    def ms(values: list[float], q: float) -> str:
        return f"{pct(values, q) * 1000:.1f}"

    print(
        "| measure | direct p50 / p99 (ms) | through Wyoming p50 / p99 (ms) | overhead p50 / p99 (ms) |"
    )
    print("|---|---|---|---|")
    for label, d, w in (
        ("first token / first handled-chunk", "df", "wf"),
        ("whole answer / handled", "dl", "wl"),
    ):
        overhead = [b - a for a, b in zip(results[d], results[w], strict=True)]
        print(
            f"| {label} | {ms(results[d], 0.5)} / {ms(results[d], 0.99)} | "
            f"{ms(results[w], 0.5)} / {ms(results[w], 0.99)} | {ms(overhead, 0.5)} / {ms(overhead, 0.99)} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
