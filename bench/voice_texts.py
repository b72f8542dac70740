"""What bench/voice.py asks the servers to say and to hear."""

from __future__ import annotations

# Said again and again, as Home Assistant confirms a command.
SHORT = "Turn on the kitchen light."
COMMANDS = [
    "Turn on the kitchen light.",
    "Set the thermostat to 21 degrees.",
    "Close the blinds in the office.",
    "What is the temperature in the garage?",
    "Play some jazz in the kitchen.",
]
_DONE = ("Turned on", "Turned off", "Opened", "Closed", "Dimmed", "Locked")
_WHAT = (
    "the hallway light", "the porch light", "the garage door", "the bedroom fan",
    "the kitchen blinds", "the office lamp", "the patio heater", "the attic window",
)  # fmt: skip


def short_new(run: int) -> str:
    """A short confirmation not said before in the run (48 of them, then again)."""
    return f"{_DONE[run % len(_DONE)]} {_WHAT[run // len(_DONE) % len(_WHAT)]}."


def reply(run: int) -> str:
    """A three-sentence reply, the first long, each of its clauses new to the run."""
    return (
        f"The living room is at {20 + run} degrees, the kitchen is {run + 2} degrees "
        f"warmer, and the bedroom window has been open for {run + 3} hours, so it is "
        f"cooler there. Shall I close it in {run + 5} minutes? I can also turn on the "
        f"heating for {run + 10} minutes."
    )
