"""The topic table of docs/protocol.md, read as data: tests drive each row from it."""

from __future__ import annotations

from dataclasses import dataclass
import re

from tests.conftest import ROOT

PROTOCOL = ROOT / "docs" / "protocol.md"
HEADER = "| topic | publisher → subscriber | type | retained | payload |"


@dataclass(frozen=True)
class DocumentedTopic:
    """One row: the topic (placeholders kept), its response topic if any, and the rest."""

    topic: str
    response: str | None
    publisher: str
    subscriber: str
    message_type: str
    retained: bool
    payload: str

    def concrete(
        self, device_id: str = "doc_device", entity_id: str = "light.kitchen"
    ) -> str:
        """The topic with its placeholders filled in."""
        return self.topic.replace("{device_id}", device_id).replace(
            "{entity_id}", entity_id
        )

    def request_keys(self) -> tuple[set[str], set[str]]:
        """From a payload cell `{"a", "b"?} → {...}`: the request's required and optional keys."""
        return _keys(self.payload.split("→")[0])

    def response_keys(self) -> tuple[set[str], set[str]]:
        """From a payload cell `{...} → {"a", "b"?}`: the response's required and optional keys."""
        return _keys(self.payload.split("→")[-1])


def _keys(cell: str) -> tuple[set[str], set[str]]:
    keys = re.findall(r'"(\w+)"(\??)', cell)
    return {k for k, o in keys if not o}, {k for k, o in keys if o}


def documented_topics() -> list[DocumentedTopic]:
    """Every row of the table, in order."""
    text = PROTOCOL.read_text()
    rows = text[text.index(HEADER) :].split("\n\n")[0].splitlines()[2:]
    found = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        topics = re.findall(r"`([^`]+)`", cells[0])
        response = topics[1] if len(topics) > 1 else None
        publisher, subscriber = (p.strip() for p in cells[1].split("→"))
        found.append(
            DocumentedTopic(
                topics[0],
                response,
                publisher,
                subscriber,
                cells[2],
                cells[3].strip("*") == "yes",
                cells[4],
            )
        )
    return found


def served_by_bridge(row: DocumentedTopic) -> bool:
    """Rows a device sends and the bridge answers."""
    return row.subscriber == "bridge" and row.publisher == "device"
