"""Credentials in grok_base_url, attacked: never in describe, the "Ready" line or Grok's log."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.fake_xai import FakeXai
from wyoming_services.engines import Engines
from wyoming_services.grok import Grok
from wyoming_services.settings import Settings, SettingsError

SECRETS = ("s3cr3t-token", "alicia:", "api_key=")
URLS = ("https://alicia:s3cr3t-token@llm.example/v1",)


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.mark.parametrize("url", URLS)
async def test_describe_and_the_ready_line_show_the_url_without_credentials(
    url: str,
) -> None:
    """Any Wyoming client asks describe; the "Ready" line logs settings.redacted()."""
    settings = Settings(grok_base_url=url)
    engines = Engines(settings)
    try:
        (handle,) = engines.info().handle
    finally:
        await engines.grok.close()
    assert handle.description == "Answers from https://llm.example/v1"
    assert leaked(str(settings.redacted())) == []
    assert settings.redacted()["grok_base_url"] == "https://llm.example/v1"


async def test_url_credentials_are_sent_but_never_logged(
    xai: FakeXai, caplog: pytest.LogCaptureFixture
) -> None:
    """Basic auth as before; not in httpx's line per request, nor in the model's error."""
    url = xai.base_url.replace("//", "//alicia:s3cr3t-token@")
    grok = Grok(Settings(grok_base_url=url, grok_model="grok-mine"))
    caplog.set_level(logging.DEBUG)
    try:
        await grok.refresh_models()
    finally:
        await grok.close()
    basic = "Basic " + base64.b64encode(b"alicia:s3cr3t-token").decode()
    assert {r["authorization"] for r in xai.requests()} == {basic}
    assert f"not offered by {xai.base_url}" in caplog.text
    assert leaked(caplog.text) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://llm.example/v1?api_key=s3cr3t-token",
        "https://llm.example/v1#s3cr3t-token",
    ],
)
def test_a_key_in_a_query_is_refused_without_being_quoted(url: str) -> None:
    """The client would cut it off the address (and httpx would log it): refused, by name, at start."""
    with pytest.raises(SettingsError) as refused:
        Settings(grok_base_url=url)
    assert "grok_base_url takes no ?query or #fragment" in str(refused.value)
    assert "s3cr3t-token" not in str(refused.value)
