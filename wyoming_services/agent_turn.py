"""Home Assistant's Alicia agent on one Wyoming connection: Grok answers, HA's tools act.

The tools are Home Assistant's (its Assist API, with the authority of the user and
satellite that asked): a round's calls go back to HA on the same connection and
its results come back. Nothing here acts on the home.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
import logging
from typing import Any

from wyoming.event import Event

from alicia_bus import agent, agent_proof
from alicia_bus.errors import ProtocolError
from alicia_bus.log_limit import LimitedLog
from alicia_bus.text import excerpt

from .authority import Authority
from .engines import Engines
from .keys import AgentProofs
from .voice import HaTools, ToolCall, ToolDefinition, Unanswered, answer

_LOGGER = logging.getLogger(__name__)
_REFUSALS = LimitedLog(_LOGGER)

type Send = Callable[[Event], Awaitable[None]]

NOT_ALLOWED = (
    "This Home Assistant is not among the Alicia app's trusted clients, so I can't "
    "answer here."
)


class RelayedTools(HaTools):
    """Home Assistant's tools: offered to the model, run by HA, answered on the connection."""

    def __init__(self, specs: tuple[agent.ToolSpec, ...], send: Send) -> None:
        """The tools HA offered for this turn."""
        super().__init__(
            [ToolDefinition(s.name, s.description, s.parameters) for s in specs]
        )
        self._specs = specs
        self._send = send
        self._waiting: asyncio.Future[agent.Results] | None = None
        self._asked: set[str] = set()

    async def relay(self, calls: list[ToolCall]) -> list[str]:
        """The round's calls to HA, its results back (a tool HA did not offer is not sent)."""
        refused = {c.call_id: _refusal(c, self._specs) for c in calls}
        asked = [c for c in calls if not refused[c.call_id]]
        outputs: dict[str, str] = {}
        if asked:
            self._asked = {c.call_id for c in asked}
            self._waiting = asyncio.get_running_loop().create_future()
            relayed = agent.Calls(
                tuple(agent.Call(c.call_id, c.name, c.arguments) for c in asked)
            )
            await self._send(Event(agent.CALLS, relayed.data()))
            outputs = (await self._waiting).outputs
            self._waiting = None
        return [
            refused[c.call_id]
            or outputs.get(
                c.call_id, "error: Home Assistant gave no result for this call"
            )
            for c in calls
        ]

    def answered(self, results: agent.Results) -> bool:
        """HA's results for the round waiting (they must answer its calls); False otherwise."""
        waiting = self._waiting
        if waiting is None or waiting.done() or not self._asked & set(results.outputs):
            return False
        waiting.set_result(results)
        return True


def _refusal(call: ToolCall, specs: tuple[agent.ToolSpec, ...]) -> str:
    """Why a call is answered here, not relayed ("" when it goes to HA)."""
    if call.name not in {s.name for s in specs}:
        return f"error: there is no tool named {call.name[:64]!r}"
    if (
        len(call.arguments) > agent.MAX_ARGUMENTS
        or not 0 < len(call.call_id) <= agent.MAX_ID
    ):
        return "error: the call is too long; ask with shorter arguments"
    return ""


class AgentTurn:
    """A connection's agent turn: one at a time, ended with done or failed."""

    def __init__(
        self,
        engines: Engines,
        send: Send,
        authority: Authority,
        gone: Callable[[], None],
        proofs: AgentProofs | None = None,
    ) -> None:
        """Idle until HA asks; `gone` lets go of a peer that stopped reading."""
        self._engines = engines
        self._send = send
        self._authority = authority
        self._proofs = proofs or AgentProofs()  # none: nothing to prove with
        self._gone = gone
        self._task: asyncio.Task[None] | None = None
        self._tools: RelayedTools | None = None

    @property
    def busy(self) -> bool:
        """A turn is being answered."""
        return self._task is not None and not self._task.done()

    async def ask(self, data: Mapping[str, Any]) -> bool:
        """Start answering (failed at once for a bad ask or a turn under way); False: close the connection.

        A client the app does not trust is told once and let go (before the ask is
        even read), so it can neither spend the key nor fill the log.
        """
        if not self._authority.may_act:
            self._refused("an agent turn")
            await self._failed(agent.Failed("not_allowed", NOT_ALLOWED))
            return False
        try:
            asked = agent.Ask.parse(data)
        except ProtocolError as err:
            await self._failed(agent.Failed("bad_request", f"{agent.ASK}: {err}"))
            return True
        if self.busy:
            await self._failed(
                agent.Failed("bad_request", "a turn is already being answered")
            )
            return True
        self._tools = RelayedTools(asked.tools, self._send)
        self._task = asyncio.create_task(self._answer(asked), name="alicia-agent-turn")
        return True

    async def prove(self, data: Mapping[str, Any]) -> bool:
        """HA asks, before its ask, that this server show it holds the voice server's key; False: close.

        Shown only to a client the app trusts (Home Assistant's address): a server
        HA was pointed at instead (a satellite, say) cannot borrow the proof by
        asking the app for it and passing it on. Anyone else is told so (the
        answer HA's agent names) and let go, as an ask of theirs is.
        """
        if not self._authority.may_act:
            self._refused("an agent proof")
            await self._send(
                Event(agent_proof.PROOF, {"refused": agent_proof.NOT_ALLOWED})
            )
            return False
        try:
            nonce = agent_proof.nonce_of(data)
        except ProtocolError as err:
            await self._failed(
                agent.Failed("bad_request", f"{agent_proof.PROVE}: {err}")
            )
            return True
        await self._send(Event(agent_proof.PROOF, self._proofs.prove(nonce)))
        return True

    async def results(self, data: Mapping[str, Any]) -> bool:
        """HA's results for the round that waits for them; False: close (a client that may not ask)."""
        if not self._authority.may_act:
            self._refused("tool results")
            await self._failed(agent.Failed("not_allowed", NOT_ALLOWED))
            return False
        try:
            results = agent.Results.parse(data)
        except ProtocolError as err:
            results = agent.Results({})
            _REFUSALS.log(
                logging.INFO, "unreadable_results",
                "Unreadable tool results from %s: %s", self._authority.who,
                excerpt(str(err)),
            )  # fmt: skip
        if self._tools is None or not self._tools.answered(results):
            _LOGGER.debug("Tool results with no round waiting for them: ignored")
        return True

    async def cancel(self) -> None:
        """The connection is gone: stop answering."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _answer(self, asked: agent.Ask) -> None:
        async def delta(text: str) -> None:
            await self._send(Event(agent.DELTA, {"text": text}))

        try:
            text = await answer(
                self._engines, asked.text, asked.language, asked.conversation_id, delta,
                authority=self._authority, toolbox=self._tools, context=asked.system,
            )  # fmt: skip
        except Unanswered as unanswered:
            await self._failed(agent.Failed(unanswered.code, unanswered.spoken))
            return
        except ConnectionError:
            self._gone()  # HA hung up or stopped reading: nobody to answer
            return
        except Exception:
            _LOGGER.exception("The agent turn failed")
            await self._failed(
                agent.Failed("failed", "Sorry, something went wrong answering that.")
            )
            return
        with contextlib.suppress(ConnectionError):
            await self._send(Event(agent.DONE, {"text": text}))
            return
        self._gone()

    def _refused(self, what: str) -> None:
        """A line a minute for all that a client the app does not trust sends the agent."""
        _REFUSALS.log(
            logging.WARNING, "not_allowed",
            "Refused %s from %s: not in wyoming_trusted_clients",
            what, self._authority.who,
        )  # fmt: skip

    async def _failed(self, failed: agent.Failed) -> None:
        try:
            await self._send(Event(agent.FAILED, failed.data()))
        except ConnectionError:
            self._gone()
