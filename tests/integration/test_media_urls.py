"""Media addresses a device may not hand to HA: decided on the host as written."""

from __future__ import annotations

import pytest

from custom_components.alicia.media_urls import internal_host


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        (
            "file:///config/secrets.yaml",
            "file:///config/secrets.yaml",
        ),  # no host: HA's disk
        ("http://[::1/", "http://[::1/"),  # unreadable
        ("http://127.1/", "127.1"),
        ("http://0x7f.1/", "0x7f.1"),
        ("http://printer.local./", "printer.local"),
        ("http://[::ffff:10.0.0.5]/", "::ffff:10.0.0.5"),
        ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1"),
        ("https://radio.example/stream.mp3", None),
        ("http://93.184.215.14/a.mp3", None),
    ],
)
def test_an_address_on_has_host_or_network_is_named(
    url: str, refused: str | None
) -> None:
    """The host is refused as written (quoted, as errors quote it); a public name or address is not."""
    assert internal_host(url) == (None if refused is None else f'"{refused}"')
