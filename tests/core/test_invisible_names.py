"""Names are compared by eye: none may show nothing, look blank, or hide a character."""

from __future__ import annotations

import json

import pytest

from alicia_bus.envelope import new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.payloads import Registration
from alicia_bus.text import clean_text, plain
from alicia_bus.vocabulary import Vocabulary

TOPIC = "alicia/system/discovery/register/lamp"


def registration(name: str) -> bytes:
    document = {
        "device_id": "lamp",
        "device_type": "sensor",
        "name": name,
        "capabilities": ["temperature"],
    }
    return json.dumps(new_message("lamp", "event", document)).encode()


@pytest.mark.parametrize(
    "name",
    [
        "Kitchen sensor\u3164",  # Hangul filler: "Kitchen sensor" twice on the card
        "Kitchen\u034f sensor",  # combining grapheme joiner
        "Kitchen sensor\ufe0f",  # a presentation selector after a letter
        "Kitchen sensor\ufe00",
        "\u2800",  # a blank Braille cell: a name that looks empty
        "Kitchen\u2028sensor",  # line separator
        "Kitchen\u2029sensor",  # paragraph separator
        "\u00a0\u00a0",  # only no-break spaces
        "\u3000",
        "\u115fLamp",
        "Lamp\u1160",
        "Lamp\uffa0",
        "Lamp\u17b4",
        "Lamp\u180b",
        "Lamp\ufff0",
        "Lamp\U0001bca0",
        "Lamp\U0001d173",
        "Lamp\U000e0100",  # an ideographic variation selector
        "\u0301Lamp",  # a combining mark with nothing to sit on
        "Lamp 1\ufe0f",  # a digit is an emoji only as a keycap
        "\U0001f525\ufe0f\ufe0f",
    ],
)
def test_invisible_names_are_refused(name: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse(TOPIC, registration(name))
    assert error.value.code == "invalid_field"
    assert "payload.name" in str(error.value)


@pytest.mark.parametrize(
    "name",
    [
        "Zoë's lamp",
        "Zoe\u0308's lamp",  # decomposed, as macOS writes it: not normalised, not refused
        "Küche",
        "客厅灯",
        "المطبخ",
        "रसोई की बत्ती",  # combining marks after their letters
        "ห้องนั่งเล่น",
        "מטבח",
        "거실 조명",
        "🔥 Heater",
        "❄️ Fan",  # an emoji with its presentation selector
        "Heater ♨️",
        "↔️ Fan",
        "\u2139\ufe0f Info",
        "Lamp 1️⃣",  # a keycap
        "👍🏽 Lamp",
        "Salle\u00a0de bain",
        "東京\u3000リビング",
        "\uff2c\uff41\uff4d\uff50",  # full-width, as Japanese names write Latin: not folded by NFKC
    ],
)
def test_names_in_any_script_pass_as_sent(name: str) -> None:
    body = parse(TOPIC, registration(name)).body
    assert isinstance(body, Registration)
    assert body.name == name


@pytest.mark.parametrize("text", ["Good night\u2028", "\u0301", "\u00a0", "A\ufe0f"])
def test_messages_are_not_names(text: str) -> None:
    """A spoken or logged text (lines=True) is not compared by eye: as before."""
    assert clean_text(text, "payload.text", longest=100, lines=True) == text


def test_what_ha_sends_as_names_stays_names_the_bridge_takes() -> None:
    """The vocabulary is made of plain() names: a filler in one must not refuse all."""
    said = [
        " ".join(plain(name, 100).split())
        for name in ("Lamp\u3164", "❄️ Fan", "Hall\u2800light", "Desk\u034f lamp")
    ]
    assert said == ["Lamp", "❄ Fan", "Hall light", "Desk lamp"]
    assert Vocabulary.parse({"phrases": said}).phrases == tuple(said)
