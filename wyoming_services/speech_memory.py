"""The memory Whisper's decodes and Piper's runs hold at once: one budget for both engines."""

from __future__ import annotations

from collections.abc import Callable

# Characters of text in Piper runs at once, also the memory they and Whisper's
# decodes hold at once (a run holds about 1 MiB a character). Measured in one
# process, a run of 100 characters rose 100 MiB over its start; the soak's bound
# is 1.2x a rest of ~500 MiB. "Hello." runs beside any piece (80 characters at
# most), beside a background piece or beside a decode.
TEXT_AT_ONCE = 90
# What a Whisper decode holds while it runs, in the same unit (about 1 MiB): its
# attention matrix alone is 51 MiB, 67 MiB in all (measured in one process). One
# decode runs beside at most 20 characters of Piper text (a "Hello."), and two
# decodes never run at once (149 MiB measured).
DECODE_SIZE = 70


def _nothing() -> None:
    """No one to wake."""


class SpeechMemory:
    """The memory Whisper decodes and Piper runs hold at once, in characters of Piper text.

    A Piper run holds about 1 MiB a character while it runs (measured with
    en_US-joe-medium: 20 characters 20 MiB, 100 characters 100 MiB); a decode
    DECODE_SIZE. Work starts while the total stays within the limit, or alone.
    """

    def __init__(self, limit: int = TEXT_AT_ONCE) -> None:
        """Nothing held; each engine sets how it is woken when the other frees memory."""
        self.limit = limit
        self.text = 0  # characters in Piper runs
        self.decodes = 0  # Whisper decodes running
        self.decode_waiting = False
        self.wake_piper: Callable[[], None] = _nothing
        self.wake_whisper: Callable[[], None] = _nothing

    @property
    def held(self) -> int:
        """What runs now, in characters."""
        return self.text + DECODE_SIZE * self.decodes

    def fits(self, size: int, reserved: int = 0) -> bool:
        """Whether work of size may start, keeping reserved for work already waiting."""
        if self.held == 0 and reserved == 0:
            return True  # alone, whatever its size
        return self.held + size + reserved <= self.limit
