"""The voice requests the bridge serves, through the one voice layer (wyoming_services.voice)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging
import time
from typing import Any

from alicia_bus.answers import (
    AiAnswer,
    EncodedAudio,
    RouteAnswer,
    RouteTimings,
    SttAnswer,
    TtsAnswer,
    VoiceAnswer,
)
from alicia_bus.audio import decode_audio, encode_audio
from alicia_bus.envelope import Envelope, error_payload, new_message
from alicia_bus.errors import ProtocolError
from alicia_bus.payloads import AiRequest, RouteRequest, SttRequest, TtsRequest
from alicia_bus.topics import Kind
from wyoming_services.audio import AudioFormatError, PcmFormat
from wyoming_services.authority import Authority
from wyoming_services.engines import Engines
from wyoming_services.voice import (
    Speech,
    SttError,
    TtsError,
    Unanswered,
    answer,
    check_language,
    transcribe,
)

_LOGGER = logging.getLogger(__name__)


class RequestFailed(Exception):
    """A valid request that could not be served; the text goes into the error response."""


type Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
type Handler = Callable[[Envelope, Authority], Awaitable[VoiceAnswer]]

# The requests that ask Grok, each on the owner's key.
QUESTIONS = (Kind.AI_REQUEST, Kind.ROUTE)
# A guest's question beyond its budget (docs/protocol.md), as the Wyoming side's.
NOT_ALLOWED = "not_allowed"


class VoiceRequests:
    """stt, ai, tts and route requests in, response payloads out."""

    def __init__(
        self, engines: Engines, bridge_id: str, prefix: str, publish: Publish
    ) -> None:
        """publish(topic, message) sends a message of the bridge's (signed by it)."""
        self.engines = engines
        self.bridge_id = bridge_id
        self.prefix = prefix
        self._publish = publish
        self.handlers: dict[Kind, Handler] = {
            Kind.STT_REQUEST: self.stt,
            Kind.AI_REQUEST: self.ai,
            Kind.TTS_REQUEST: self.tts,
            Kind.ROUTE: self.route,
        }

    def refused(self, request: Envelope, authority: Authority) -> dict[str, Any] | None:
        """A question of a requester that may not act, beyond its budget: the error, before any work.

        Guests share the Wyoming side's budget of strangers (engines.questions,
        wyoming_untrusted_questions; none by default): per requester, and all of
        them together, so made-up ids buy nothing.
        """
        if authority.may_act or request.kind not in QUESTIONS:
            return None
        refusal = self.engines.questions.refusal(authority)
        return None if refusal is None else error_payload(NOT_ALLOWED, refusal.text)

    async def payload_for(
        self, request: Envelope, authority: Authority, reject: Callable[[str], None]
    ) -> dict[str, Any]:
        """The response payload: the handler's, or an error saying what went wrong.

        authority: the requester's (docs/security.md); reject(code) counts a request
        that broke the protocol.
        """
        try:
            if request.kind is None:
                return {}
            answer = await self.handlers[request.kind](request, authority)
            return answer.to_payload()
        except ProtocolError as err:
            reject(err.code)
            return error_payload(err.code, str(err))
        except AudioFormatError as err:
            return error_payload("bad_audio", str(err))
        except (RequestFailed, SttError, TtsError) as err:
            return error_payload("failed", str(err))
        except Exception:
            # Whatever went wrong, the requester is answered and the bridge goes on.
            _LOGGER.exception(
                "Request %s on %s failed", request.message_id, request.topic
            )
            return error_payload("failed", "the request could not be served")

    async def _transcribe(
        self, audio_payload: dict[str, Any], language: str | None, who: Authority
    ) -> tuple[str, str, float]:
        audio = decode_audio(audio_payload, self.engines.settings.stt_max_seconds)
        checked = check_language(self.engines, language)
        started = time.perf_counter()
        result = await transcribe(
            self.engines, PcmFormat(audio.rate, audio.width, audio.channels),
            audio.pcm, checked, who,
        )  # fmt: skip
        return result.transcription.text, checked, time.perf_counter() - started

    async def _answer(
        self,
        text: str,
        language: str | None,
        conversation_id: str | None,
        authority: Authority,
    ) -> str:
        try:
            return await answer(
                self.engines, text, language, conversation_id, authority=authority
            )
        except Unanswered as unanswered:
            raise RequestFailed(unanswered.spoken) from unanswered

    async def _speak(
        self, text: str, authority: Authority, voice: str | None = None
    ) -> EncodedAudio:
        # A guest's runs wait behind trusted ones in Piper's turns, as a stranger's.
        speech = Speech.start(self.engines, voice, trusted=authority.may_act)
        sentences = speech.sentences(text) + speech.rest()
        pcm = b"".join([chunk async for chunk in speech.audio(sentences)])
        return encode_audio(pcm, speech.voice.sample_rate)

    async def stt(self, request: Envelope, authority: Authority) -> SttAnswer:
        """Audio in, text out."""
        assert isinstance(request.body, SttRequest)
        text, language, _ = await self._transcribe(
            request.body.audio, request.body.language, authority
        )
        return SttAnswer(text, language)

    async def ai(self, request: Envelope, authority: Authority) -> AiAnswer:
        """A question in, Grok's answer out."""
        assert isinstance(request.body, AiRequest)
        body = request.body
        return AiAnswer(
            await self._answer(
                body.text, body.language, body.conversation_id, authority
            )
        )

    async def tts(self, request: Envelope, authority: Authority) -> TtsAnswer:
        """Text in, audio out."""
        assert isinstance(request.body, TtsRequest)
        return TtsAnswer(
            await self._speak(request.body.text, authority, request.body.voice)
        )

    async def route(self, request: Envelope, authority: Authority) -> RouteAnswer:
        """Audio in, STT, Grok, an announcement on the requester's speaker; timings back."""
        assert isinstance(request.body, RouteRequest)
        body = request.body
        started = time.perf_counter()
        transcript, language, stt_seconds = await self._transcribe(
            body.audio, body.language, authority
        )
        stt_ms = _ms(stt_seconds)
        if not transcript:
            timings = RouteTimings(stt_ms, _ms(time.perf_counter() - started))
            return RouteAnswer(transcript, "", language, timings)
        asked = time.perf_counter()
        reply = await self._answer(
            transcript, language, body.conversation_id, authority
        )
        ai_ms = _ms(time.perf_counter() - asked)
        announcement = None
        if authority.may_act:
            # Spoken in the requester's room for it: only an approved device, verified,
            # is announced for (HA checks it may announce); a guest gets its answer back.
            announcement = new_message(
                self.bridge_id, "request",
                {"message": reply, "language": language,
                 "target": {"device_id": request.source}},
            )  # fmt: skip
            await self._publish(
                f"{self.prefix}/devices/speakers/announce", announcement
            )
        audio, tts_ms = None, None
        if body.audio_reply:
            spoken = time.perf_counter()
            audio = await self._speak(reply, authority)
            tts_ms = _ms(time.perf_counter() - spoken)
        timings = RouteTimings(
            stt_ms, _ms(time.perf_counter() - started), ai_ms, tts_ms
        )
        return RouteAnswer(
            transcript, reply, language, timings,
            announcement["message_id"] if announcement else None, audio,
        )  # fmt: skip


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
