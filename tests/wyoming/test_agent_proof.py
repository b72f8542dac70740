"""The app proves it holds the voice server's key to Home Assistant only, and only for a fresh nonce."""

from __future__ import annotations

from wyoming.client import AsyncClient
from wyoming.event import Event

from alicia_bus import agent, agent_proof
from alicia_bus.signing import KeyPair
from tests.conftest import ServerProcess
from wyoming_services.agent_turn import AgentTurn
from wyoming_services.authority import Authority
from wyoming_services.keys import AgentProofs

from .client import read_until

BRIDGE_KEY = KeyPair.from_seed(bytes(range(7, 39)))
KEYS = {"alicia-voice": BRIDGE_KEY.public_key}
HA = Authority("wyoming:172.30.32.1", may_act=True)


async def proved(authority: Authority, data: dict[str, str]) -> list[Event]:
    """What a connection with this authority is sent for a prove event."""
    sent: list[Event] = []

    async def send(event: Event) -> None:
        sent.append(event)

    proofs = AgentProofs()
    proofs.use(BRIDGE_KEY, "alicia-voice")
    turn = AgentTurn(None, send, authority, lambda: None, proofs)  # type: ignore[arg-type]
    await turn.prove(data)
    return sent


async def test_home_assistant_gets_the_nonce_signed() -> None:
    """A trusted client (HA's address): the proof HA's agent link accepts."""
    challenge = agent_proof.challenge()
    (event,) = await proved(HA, challenge)
    assert event.type == agent_proof.PROOF
    assert agent_proof.prover(event.data, challenge["nonce"], KEYS) == "alicia-voice"


async def test_a_satellite_cannot_borrow_the_proof_for_a_nonce_it_relays() -> None:
    """A client the app does not trust (a satellite passing HA's challenge on) gets nothing signed."""
    challenge = agent_proof.challenge()
    (event,) = await proved(Authority("wyoming:192.168.1.77", False), challenge)
    assert event.type == agent_proof.PROOF
    assert event.data == {"refused": agent_proof.NOT_ALLOWED}
    assert agent_proof.prover(event.data, challenge["nonce"], KEYS) is None


async def test_a_chosen_text_is_never_signed() -> None:
    """Only a nonce of 32 hex digits is signed: the key is no oracle for other text."""
    (event,) = await proved(HA, {"nonce": "turn off the alarm"})
    assert event.type == agent.FAILED
    assert event.data["code"] == "bad_request"


async def test_a_server_without_its_bridge_proves_nothing(
    grok_server: ServerProcess,
) -> None:
    """No bridge (no MQTT): no key, so nothing is signed, and HA's link looks on."""
    challenge = agent_proof.challenge()
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(Event(agent_proof.PROVE, challenge))
        (event,) = await read_until(client, agent_proof.PROOF)
    assert event.data == {"refused": agent_proof.NO_BRIDGE}
