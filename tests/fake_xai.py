"""A local stand-in for xAI's API: real HTTP on 127.0.0.1, its Responses and Chat Completions formats.

It runs as its own process (`python -m tests.fake_xai PORT`), because the test
runner guards sockets in its own process; tests steer it through
/_fake/behaviour and read what it was sent from /_fake/requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
import json
import os
from pathlib import Path
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.request

from aiohttp import web

MODELS = ["grok-test-fast", "grok-test-large"]


def reply_for(question: str, remembered: int) -> str:
    """An answer that shows what the fake was sent."""
    return f"You asked: {question} I remember {remembered} earlier answers."


def tool_reply(outputs: list[str], after: str) -> str:
    """The answer once tools have answered: what they said, so a test can see it."""
    return f"Tool said: {' / '.join(outputs)}. {after}".strip()


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
    # Function calls the model makes for a new question: {"name", "arguments"}.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    # Said after the tools' results.
    after_tools: str = ""
    # Call the tools again after their results too (a model that loops).
    always_call_tools: bool = False
    # Said instead of the usual echo (a benchmark's answer of a realistic length).
    reply: str = ""
    # Replaces the listed models: {"id", "output_modalities"?, "created"?, "aliases"?}.
    models: list[dict[str, Any]] | None = None


class FakeXaiApp:
    """The HTTP handlers and their state."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[dict[str, Any]] = []
        # Stored responses: id -> (previous id, answers in its chain).
        self.stored: dict[str, tuple[str | None, int]] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/language-models", self._language_models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/_fake/behaviour", self._set_behaviour)
        app.router.add_get("/_fake/requests", self._get_requests)
        app.router.add_get("/_fake/pid", self._get_pid)
        return app

    async def _get_pid(self, request: web.Request) -> web.Response:
        return web.json_response(os.getpid())

    async def _set_behaviour(self, request: web.Request) -> web.Response:
        self.behaviour = Behaviour(**await request.json())
        self.requests.clear()
        self.stored.clear()  # each test starts with no stored conversations
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

    def _listed(self) -> list[dict[str, Any]]:
        if self.behaviour.models is not None:
            return self.behaviour.models
        return [{"id": m, "output_modalities": ["text"]} for m in MODELS]

    async def _models(self, request: web.Request) -> web.Response:
        self._record(request, None)
        data = [
            {"id": m["id"], "object": "model", "owned_by": "xai",
             "created": m.get("created", 0)}
            for m in self._listed()
        ]  # fmt: skip
        return web.json_response({"object": "list", "data": data})

    async def _language_models(self, request: web.Request) -> web.Response:
        self._record(request, None)
        models = [
            {"object": "model", "owned_by": "xai", "created": 0, "aliases": [],
             "input_modalities": ["text"], **m}
            for m in self._listed()
            if "output_modalities" in m
        ]  # fmt: skip
        return web.json_response({"models": models})

    def _refusal(
        self, request: web.Request, body: dict[str, Any]
    ) -> web.Response | None:
        """A scripted failure, or the API's answer to a model it does not have."""
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
        names = {n for m in self._listed() for n in (m["id"], *m.get("aliases", []))}
        if body.get("model") not in names:
            error = {"message": f"The model {body.get('model')} does not exist"}
            return web.json_response({"error": error}, status=404)
        return None

    def _pieces(self, text: str) -> list[str]:
        words = text.split(" ")
        pieces = [word + " " for word in words]
        pieces[-1] = pieces[-1].rstrip()
        return pieces

    async def _start(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(self.behaviour.first_token_delay)
        return response

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._record(request, body)
        if (refusal := self._refusal(request, body)) is not None:
            return refusal
        messages = body["messages"]
        outputs = [m["content"] for m in messages[-8:] if m["role"] == "tool"]
        if messages[-1]["role"] == "tool":
            text, calls = tool_reply(outputs, self.behaviour.after_tools), []
            if self.behaviour.always_call_tools and body.get("tools"):
                calls = self.behaviour.tool_calls
        else:
            remembered = sum(1 for m in messages if m["role"] == "assistant")
            text = self.behaviour.reply or reply_for(
                messages[-1]["content"], remembered
            )
            calls = self.behaviour.tool_calls if body.get("tools") else []
        pieces = [] if calls else self._pieces(text)
        if not body.get("stream"):
            return web.json_response(self._completion(body, "".join(pieces)))
        response = await self._start(request)
        await self._event(
            response, self._chunk(body, {"role": "assistant", "content": ""})
        )
        if not await self._stream_pieces(
            response, pieces, lambda piece: self._chunk(body, {"content": piece})
        ):
            return response
        for index, call in enumerate(calls):
            arguments = json.dumps(call["arguments"])
            first = {"index": index, "id": f"call_{index}", "type": "function",
                     "function": {"name": call["name"], "arguments": ""}}  # fmt: skip
            await self._event(response, self._chunk(body, {"tool_calls": [first]}))
            for half in (
                arguments[: len(arguments) // 2],
                arguments[len(arguments) // 2 :],
            ):
                more = {"index": index, "function": {"arguments": half}}
                await self._event(response, self._chunk(body, {"tool_calls": [more]}))
        finish = "tool_calls" if calls else "stop"
        await self._event(response, self._chunk(body, {}, finish=finish))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _stream_pieces(
        self, response: web.StreamResponse, pieces: list[str], event: Any
    ) -> bool:
        """The text, piece by piece, broken as the behaviour says; False if cut off."""
        behaviour = self.behaviour
        for index, piece in enumerate(pieces):
            if (
                behaviour.cut_after_tokens is not None
                and index >= behaviour.cut_after_tokens
            ):
                return False  # the stream ends mid-answer
            if behaviour.malformed and index == 1:
                await response.write(b'data: {"choices": [ {"delta": \n\n')
                continue
            await self._event(response, event(piece))
            await asyncio.sleep(behaviour.token_delay)
        return True

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._record(request, body)
        if (refusal := self._refusal(request, body)) is not None:
            return refusal
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            error = {"message": f"Response {previous} not found", "code": "not_found"}
            return web.json_response({"error": error}, status=404)
        items = body["input"]
        outputs = [
            i["output"] for i in items if i.get("type") == "function_call_output"
        ]
        answered = self.stored[previous][1] if previous else 0
        if outputs:
            text, calls = tool_reply(outputs, self.behaviour.after_tools), []
            if self.behaviour.always_call_tools and body.get("tools"):
                calls = self.behaviour.tool_calls
        else:
            question = [i for i in items if i.get("role") == "user"][-1]["content"]
            text = self.behaviour.reply or reply_for(question, answered)
            calls = self.behaviour.tool_calls if body.get("tools") else []
        response_id = f"resp_{len(self.stored) + 1}"
        self.stored[response_id] = (previous, answered + (0 if calls else 1))
        head = {"id": response_id, "object": "response", "model": body["model"],
                "status": "in_progress", "output": []}  # fmt: skip
        response = await self._start(request)
        await self._typed(response, "response.created", response=head)
        pieces = [] if calls else self._pieces(text)
        message_id = f"msg_{response_id}"
        if pieces:
            item: dict[str, Any] = {"type": "message", "id": message_id,
                    "role": "assistant", "status": "in_progress", "content": []}  # fmt: skip
            await self._typed(
                response, "response.output_item.added", output_index=0, item=item
            )
        if not await self._stream_pieces(
            response, pieces,
            lambda piece: {"type": "response.output_text.delta", "item_id": message_id,
                           "output_index": 0, "content_index": 0, "delta": piece},
        ):  # fmt: skip
            return response
        output: list[dict[str, Any]] = []
        if pieces:
            content: list[dict[str, Any]] = [
                {"type": "output_text", "text": "".join(pieces), "annotations": []}
            ]
            item = {"type": "message", "id": message_id, "role": "assistant",
                    "status": "completed", "content": content}  # fmt: skip
            await self._typed(
                response, "response.output_item.done", output_index=0, item=item
            )
            output.append(item)
        for index, call in enumerate(calls):
            arguments = json.dumps(call["arguments"])
            item = {"type": "function_call", "id": f"fc_{index}", "call_id": f"call_{response_id}_{index}",
                    "name": call["name"], "arguments": "", "status": "in_progress"}  # fmt: skip
            await self._typed(
                response, "response.output_item.added", output_index=index, item=item
            )
            await self._typed(response, "response.function_call_arguments.delta",
                              item_id=item["id"], output_index=index, delta=arguments)  # fmt: skip
            await self._typed(response, "response.function_call_arguments.done",
                              item_id=item["id"], output_index=index, arguments=arguments)  # fmt: skip
            item = {**item, "arguments": arguments, "status": "completed"}
            await self._typed(
                response, "response.output_item.done", output_index=index, item=item
            )
            output.append(item)
        done = {**head, "status": "completed", "output": output}
        await self._typed(response, "response.completed", response=done)
        await response.write_eof()
        return response

    async def _typed(
        self, stream: web.StreamResponse, kind: str, **fields: Any
    ) -> None:
        """One Responses event: its name on the event line and in the data."""
        data = json.dumps({"type": kind, **fields})
        await stream.write(f"event: {kind}\ndata: {data}\n\n".encode())

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
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.fake_xai", str(self.port)],
            cwd=Path(__file__).resolve().parent.parent,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self) -> None:
        """Until this process's fake answers on the port.

        Tests run in several processes (scripts/test): another one's server may take
        the free port first. Then this fake cannot listen and exits, while another
        answers on the port: the pid it answers with tells, and this one starts again
        on another port.
        """
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    self.port = sock.getsockname()[1]
                self.process = self._start()
            try:
                if json.loads(self._call("GET", "/_fake/pid")) == self.process.pid:
                    return
            except OSError:
                pass
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

    def responses_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["path"].endswith("/responses")]

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
