"""A device's text where HA shows it: Markdown code spans and plain titles."""

from __future__ import annotations

from custom_components.alicia.markdown import code, title


def test_a_code_span_shows_its_text_as_it_is() -> None:
    """CommonMark reads no escape in a code span: a backtick is replaced, nothing escaped."""
    assert code("http://lamp.local/a_b?x=(1)") == "`http://lamp.local/a_b?x=(1)`"
    assert code("a`b") == "`a'b`"


def test_a_title_is_plain_bounded_text() -> None:
    """A title shows escapes as they are: none, and no control or direction character."""
    assert title("Bob's lamp (v2)") == "Bob's lamp (v2)"
    assert title("a\x7fb\u202e" + "x" * 200) == "a b " + "x" * 124
