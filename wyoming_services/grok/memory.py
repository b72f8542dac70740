"""What is remembered of each conversation, bounded in turns, idle time and number."""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
import time

# What one message of a turn may keep: the rest of a very long one is not sent again.
MAX_TEXT_CHARS = 8000


@dataclass(slots=True)
class _Conversation:
    turns: deque[dict[str, str]]
    # The Responses API keeps the conversation itself: its last response's id.
    response_id: str | None
    last_used: float
    # Its asker may act on the home (Home Assistant): given up only when no one else's is left.
    trusted: bool = False


@dataclass(frozen=True, slots=True)
class Recalled:
    """A conversation so far: its turns (oldest first) and its last stored response."""

    turns: list[dict[str, str]]
    response_id: str | None


NOTHING = Recalled([], None)


def conversation_key(who: str, conversation_id: str | None) -> str | None:
    """A conversation is its requester's: another cannot continue it (and read it)."""
    return None if conversation_id is None else f"{who}\n{conversation_id}"


def _asker(key: str) -> str:
    """Who a conversation_key belongs to."""
    return key.split("\n", 1)[0]


@dataclass(slots=True)
class Memory:
    """Recent turns per conversation id, bounded in turns, age and number of conversations."""

    max_turns: int
    idle_seconds: float
    max_conversations: int
    _conversations: OrderedDict[str, _Conversation] = field(default_factory=OrderedDict)

    def recall(
        self, conversation_id: str | None, *, trusted: bool | None = None
    ) -> Recalled:
        """The conversation so far (nothing for an unknown or expired id).

        trusted: whether the asker may act now. A conversation held under the other
        authority is not continued (nothing): its turns and stored responses hold
        what the home tools read for one that may act, and what was said to a
        guest has no place among one that may. None: whatever it was held under
        (only to ask whether one is under way).
        """
        self._expire()
        conversation = (
            None
            if conversation_id is None
            else self._conversations.get(conversation_id)
        )
        if conversation is None or trusted not in (None, conversation.trusted):
            return NOTHING
        return Recalled(list(conversation.turns), conversation.response_id)

    def remember(
        self,
        conversation_id: str | None,
        question: str,
        answer: str,
        response_id: str | None = None,
        *,
        trusted: bool = False,
    ) -> None:
        """Add one exchange; the oldest turns and conversations go first.

        trusted: the asker may act on the home (Home Assistant); its conversations
        go only once no untrusted asker's is left. One held under the other
        authority is replaced, not added to.
        """
        if conversation_id is None or not answer or self.max_turns == 0:
            return
        self._expire()
        conversation = self._conversations.pop(conversation_id, None)
        if conversation is None or conversation.trusted != trusted:
            # Held under another authority: this one starts afresh (recall()).
            conversation = _Conversation(deque(maxlen=2 * self.max_turns), None, 0.0)
        conversation.turns.append(
            {"role": "user", "content": question[:MAX_TEXT_CHARS]}
        )
        conversation.turns.append(
            {"role": "assistant", "content": answer[:MAX_TEXT_CHARS]}
        )
        conversation.response_id = response_id
        conversation.last_used = time.monotonic()
        conversation.trusted = trusted
        self._conversations[conversation_id] = conversation
        while len(self._conversations) > self.max_conversations:
            del self._conversations[self._least_needed()]

    def __len__(self) -> int:
        """Conversations held."""
        return len(self._conversations)

    def _least_needed(self) -> str:
        """The oldest conversation of the untrusted requester holding the most.

        A stranger's flood of conversations pushes out its own, never Home
        Assistant's: no trusted asker's conversation goes while an untrusted one is
        held (one conversation from each of many addresses ties with HA's one, and
        the oldest overall was HA's); among the untrusted (or, with none, the
        trusted), a requester's share only shrinks while it holds the most, and at a
        tie the oldest of the tied goes.
        """
        conversations = self._conversations
        pool = [k for k, c in conversations.items() if not c.trusted] or list(
            conversations
        )
        held = Counter(_asker(key) for key in pool)
        most = max(held.values())
        return next(key for key in pool if held[_asker(key)] == most)

    def _expire(self) -> None:
        limit = time.monotonic() - self.idle_seconds
        while self._conversations:
            oldest = next(iter(self._conversations.values()))
            if oldest.last_used >= limit:
                break
            self._conversations.popitem(last=False)
