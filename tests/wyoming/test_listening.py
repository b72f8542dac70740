"""Strangers' audio heard on the event loop: paced per address, never one address slowing another."""

from __future__ import annotations

import heapq

from wyoming_services.audio import Pace
from wyoming_services.authority import Authority
from wyoming_services.budgets import AudioPace, Listening

CHUNK = 0.02


def stranger(address: str) -> Authority:
    return Authority(f"wyoming:{address}", may_act=False)


class Clock:
    """The time the paces see, moved by the simulation."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def worst_lag(
    clock: Clock,
    streams: dict[str, tuple[AudioPace, float]],
    seconds: float,
    speaking: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """Each stream sends chunks of its size every CHUNK s for seconds (speech if in speaking); the most any waited to be heard."""
    lag = dict.fromkeys(streams, 0.0)
    free = dict.fromkeys(streams, 0.0)  # when each connection reads its next chunk
    events = [(0.0, name, 0) for name in streams]
    heapq.heapify(events)
    while events:
        sent, name, index = heapq.heappop(events)
        pace, size = streams[name]
        clock.now = max(sent, free[name])
        heard = clock.now + pace.wait(size, speech=name in speaking)
        free[name] = heard
        lag[name] = max(lag[name], heard - sent)
        if (index + 1) * CHUNK < seconds:
            heapq.heappush(events, ((index + 1) * CHUNK, name, index + 1))
    return lag


def test_four_honest_satellites_at_real_time_never_fall_behind() -> None:
    """Four untrusted satellites streaming wake audio as it is spoken, each from its address."""
    clock = Clock()
    listening = Listening(clock)
    streams = {
        f"sat{n}": (listening.pace(stranger(f"10.0.0.{n}")), CHUNK) for n in range(4)
    }
    assert max(worst_lag(clock, streams, 120).values()) < 0.05


def test_a_flooding_stranger_on_two_addresses_slows_no_one_else() -> None:
    """The attack: 1-s chunks back to back from two addresses, beside a satellite at real time."""
    clock = Clock()
    listening = Listening(clock)
    streams = {
        "flood a": (listening.pace(stranger("10.0.0.8")), 1.0),
        "flood b": (listening.pace(stranger("10.0.0.9")), 1.0),
        "satellite": (listening.pace(stranger("10.0.0.1")), CHUNK),
    }
    lag = worst_lag(clock, streams, 60)
    assert lag["satellite"] < 0.05
    assert lag["flood a"] > 10  # the flood itself is held to its pace


def test_two_streams_from_one_address_each_get_real_time() -> None:
    """An untrusted Home Assistant relaying two satellites' wake audio on two connections."""
    clock = Clock()
    listening = Listening(clock)
    relay = stranger("192.168.1.5")
    streams = {
        "one": (listening.pace(relay), CHUNK),
        "two": (listening.pace(relay), CHUNK),
    }
    assert max(worst_lag(clock, streams, 120).values()) < 0.05


def test_a_closed_connection_shares_its_address_pace_no_more() -> None:
    """Connections that are gone do not widen the address's pace."""
    clock = Clock()
    listening = Listening(clock)
    gone = [listening.pace(stranger("10.0.0.7")) for _ in range(10)]
    for pace in gone:
        pace.close()
    streams = {"flood": (listening.pace(stranger("10.0.0.7")), 1.0)}
    assert worst_lag(clock, streams, 30)["flood"] > 10


def test_a_trusted_connection_has_a_pace_of_its_own() -> None:
    """Home Assistant's connection is paced alone, whatever strangers send."""
    clock = Clock()
    listening = Listening(clock)
    home = listening.pace(Authority("wyoming:127.0.0.1", may_act=True))
    assert isinstance(home._paces[0], Pace)
    assert home.wait(1.0, speech=True) == 0.0


def test_idle_connections_beside_a_stream_buy_it_nothing() -> None:
    """The attack: fifteen connections opened and left silent, to widen one flood's pace."""
    clock = Clock()
    listening = Listening(clock)
    idle = [listening.pace(stranger("10.0.0.7")) for _ in range(15)]
    streams = {"flood": (listening.pace(stranger("10.0.0.7")), 0.2)}  # 10x real time
    assert worst_lag(clock, streams, 30)["flood"] > 10
    assert len(idle) == 15


def test_sixteen_connections_from_one_address_get_two_streams_pace() -> None:
    """The attack: one address streams speech on 16 connections at once to keep Whisper busy."""
    clock = Clock()
    listening = Listening(clock)
    flood = stranger("10.0.0.7")
    streams = {f"flood {n}": (listening.pace(flood), CHUNK) for n in range(16)}
    streams["satellite"] = (listening.pace(stranger("10.0.0.1")), CHUNK)
    lag = worst_lag(clock, streams, 30, frozenset(f"flood {n}" for n in range(16)))
    # Sixteen streams at real time are held to 3x real time in all: 30 s take 160 s.
    assert min(lag[f"flood {n}"] for n in range(16)) > 100
    assert lag["satellite"] < 0.05


def test_six_satellites_behind_one_relay_keep_real_time_wake_audio() -> None:
    """LAN satellites behind Docker's relay are one address: their wake audio is not held to two streams' pace."""
    clock = Clock()
    listening = Listening(clock)
    relay = stranger("172.30.32.1")
    streams = {f"sat{n}": (listening.pace(relay), CHUNK) for n in range(6)}
    assert max(worst_lag(clock, streams, 60).values()) < 0.05


def test_one_satellite_speaking_behind_a_relay_keeps_the_others_real_time() -> None:
    """One of six satellites behind one relay streams its speech; the other five's wake audio keeps up."""
    clock = Clock()
    listening = Listening(clock)
    relay = stranger("172.30.32.1")
    streams = {f"sat{n}": (listening.pace(relay), CHUNK) for n in range(6)}
    assert max(worst_lag(clock, streams, 60, frozenset({"sat0"})).values()) < 0.05
