"""A local stand-in for xAI's API: real HTTP on 127.0.0.1, OpenAI chat-completions wire format.

It runs as its own process (`python -m tests.fake_xai PORT`), because the test
runner guards sockets in its own process; tests steer it through
/_fake/behaviour and read what it was sent from /_fake/requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import subprocess
import sys
import time
from typing import Any
import urllib.request

from aiohttp import web

MODELS = ["grok-test-fast", "grok-test-large"]


def reply_for(body: dict[str, Any]) -> str:
    """An answer that shows what the fake was sent."""
    question = body["messages"][-1]["content"]
    remembered = sum(1 for m in body["messages"] if m["role"] == "assistant")
    return f"You asked: {question} I remember {remembered} earlier answers."


@dataclass
class Behaviour:
    """What the next requests get."""

    # Statuses answered before a normal answer, e.g. [429, 503]; one per request.
    fail_with: list[int] = field(default_factory=list)
    retry_after: str | None = None
    token_delay: float = 0.0
    first_token_delay: float = 0.0
    cut_after_tokens: int | None = None
    malformed: bool = False


class FakeXaiApp:
    """The HTTP handlers and their state."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/_fake/behaviour", self._set_behaviour)
        app.router.add_get("/_fake/requests", self._get_requests)
        return app

    async def _set_behaviour(self, request: web.Request) -> web.Response:
        self.behaviour = Behaviour(**await request.json())
        self.requests.clear()
        return web.json_response(asdict(self.behaviour))

    async def _get_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests)

    def _record(self, request: web.Request, body: Any) -> None:
        self.requests.append(
            {
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "body": body,
                "time": time.monotonic(),
            }
        )

    async def _models(self, request: web.Request) -> web.Response:
        self._record(request, None)
        data = [{"id": m, "object": "model", "owned_by": "xai"} for m in MODELS]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._record(request, body)
        behaviour = self.behaviour
        if behaviour.fail_with:
            status = behaviour.fail_with.pop(0)
            headers = (
                {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            )
            # Real APIs may echo part of the key: the client must not log it.
            key = request.headers.get("Authorization", "").removeprefix("Bearer ")
            error = {"message": f"fake failure {status} for key {key}", "type": "fake"}
            return web.json_response({"error": error}, status=status, headers=headers)
        words = reply_for(body).split(" ")
        pieces = [word + " " for word in words]
        pieces[-1] = pieces[-1].rstrip()
        if not body.get("stream"):
            return web.json_response(self._completion(body, "".join(pieces)))

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(behaviour.first_token_delay)
        await self._event(
            response, self._chunk(body, {"role": "assistant", "content": ""})
        )
        for index, piece in enumerate(pieces):
            if (
                behaviour.cut_after_tokens is not None
                and index >= behaviour.cut_after_tokens
            ):
                return response  # the stream ends mid-answer, without [DONE]
            if behaviour.malformed and index == 1:
                await response.write(b'data: {"choices": [ {"delta": \n\n')
                continue
            await self._event(response, self._chunk(body, {"content": piece}))
            await asyncio.sleep(behaviour.token_delay)
        await self._event(response, self._chunk(body, {}, finish="stop"))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    @staticmethod
    async def _event(response: web.StreamResponse, payload: dict[str, Any]) -> None:
        await response.write(f"data: {json.dumps(payload)}\n\n".encode())

    @staticmethod
    def _chunk(
        body: dict[str, Any], delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    @staticmethod
    def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }


class FakeXai:
    """The fake as a child process, steered over HTTP."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_xai", str(port)],
            cwd=Path(__file__).resolve().parent.parent,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self._call("GET", "/_fake/requests")
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("the fake xAI server did not start")

    def configure(self, **behaviour: Any) -> None:
        """Set the behaviour (fields not named go back to normal); forget recorded requests."""
        self._call("POST", "/_fake/behaviour", json.dumps(behaviour).encode())

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = json.loads(self._call("GET", "/_fake/requests"))
        return result

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["path"].endswith("/chat/completions")]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def _call(self, method: str, path: str, data: bytes | None = None) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body: bytes = response.read()
            return body


if __name__ == "__main__":
    web.run_app(FakeXaiApp().app(), host="127.0.0.1", port=int(sys.argv[1]), print=None)
