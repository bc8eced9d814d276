"""A Twilio simulator for tests, benchmarks and rehearsals: signed webhooks, parsed TwiML.

It signs every request exactly as Twilio does, with the SDK's own
``RequestValidator(token).compute_signature(url, params)`` over the configured public URL,
and reads the TwiML answers back into plain Python::

    twilio = TwilioSimulator(client)                    # an httpx.AsyncClient on the app
    reply = await twilio.sms("OUV 1000190 123456", from_number="+33612345678")
    assert "ouvert" in reply.text

    call = await twilio.call(from_number="+33612345678")
    assert "code du bureau" in call.said
    await call.press("1000190")
    await call.silence()                                 # no key before the time-out
    await call.replay()                                  # Twilio redelivers the same step

Nothing here is used by the application itself.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from twilio.request_validator import RequestValidator

from services.settings import settings
from services.telephony.signature import TEST_AUTH_TOKEN, twilio_auth_token

DEFAULT_TO = "+33757000000"


def new_sid(prefix: str) -> str:
    """A fresh Twilio-like sid: ``SM…`` for a message, ``CA…`` for a call (34 characters)."""
    return prefix + secrets.token_hex(16)


def sign(url: str, params: dict[str, str], token: str | None = None) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
    return RequestValidator(token or twilio_auth_token() or TEST_AUTH_TOKEN).compute_signature(url, params)


@dataclass
class SmsReply:
    response: httpx.Response
    messages: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.messages)

    @property
    def status_code(self) -> int:
        return self.response.status_code


def parse_messages(twiml: str) -> list[str]:
    root = ET.fromstring(twiml)
    return [element.text or "" for element in root.iter("Message")]


@dataclass
class VoiceTwiml:
    """A voice answer: what is said, the <Gather> (if any) and whether the call ends."""

    response: httpx.Response
    says: list[str]
    action: str | None
    num_digits: int | None
    timeout: int | None
    hangup: bool
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def said(self) -> str:
        return " ".join(self.says)


def parse_voice(response: httpx.Response) -> VoiceTwiml:
    root = ET.fromstring(response.text)
    gather = root.find("Gather")
    return VoiceTwiml(
        response=response,
        says=[element.text or "" for element in root.iter("Say")],
        action=gather.get("action") if gather is not None else None,
        num_digits=int(gather.get("numDigits", "0")) or None if gather is not None else None,
        timeout=int(gather.get("timeout", "0")) or None if gather is not None else None,
        hangup=root.find("Hangup") is not None,
        attributes=dict(gather.attrib) if gather is not None else {},
    )


class TwilioSimulator:
    """Posts signed Twilio webhooks to an application through `client` (see the module docstring)."""

    def __init__(self, client: httpx.AsyncClient, *, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def public_url(self, path: str) -> str:
        return settings().public_url.rstrip("/") + path

    def path_of(self, url: str) -> str:
        """The path and query of an absolute public URL (as found in a TwiML action)."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def post(
        self, path: str, params: dict[str, str], *, signature: str | None = None, signed_url: str | None = None
    ) -> httpx.Response:
        """POST `params` to `path`, signed over the public URL (or `signed_url`), unless `signature` is given."""
        if signature is None:
            signature = sign(signed_url or self.public_url(path), params, self.token)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return await self.client.post(path, data=params, headers=headers)

    def sms_params(
        self, body: str, *, from_number: str = "+33612345678", to_number: str = DEFAULT_TO, sid: str | None = None
    ) -> dict[str, str]:
        return {
            "MessageSid": sid or new_sid("SM"),
            "SmsSid": sid or "",
            "AccountSid": "AC" + "0" * 32,
            "From": from_number,
            "To": to_number,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }

    async def sms(
        self, body: str, *, from_number: str = "+33612345678", to_number: str = DEFAULT_TO, sid: str | None = None
    ) -> SmsReply:
        params = self.sms_params(body, from_number=from_number, to_number=to_number, sid=sid)
        params["SmsSid"] = params["MessageSid"]
        response = await self.post("/twilio/sms", params)
        messages = (
            parse_messages(response.text)
            if response.headers.get("content-type", "").startswith("application/xml")
            else []
        )
        return SmsReply(response, messages)

    async def call(
        self, *, from_number: str = "+33612345678", to_number: str = DEFAULT_TO, call_sid: str | None = None
    ) -> SimulatedCall:
        call = SimulatedCall(self, call_sid or new_sid("CA"), from_number, to_number)
        await call.start()
        return call


class SimulatedCall:
    """One phone call: follows the TwiML's <Gather> actions like Twilio does."""

    def __init__(self, twilio: TwilioSimulator, call_sid: str, from_number: str, to_number: str) -> None:
        self.twilio = twilio
        self.call_sid = call_sid
        self.from_number = from_number
        self.to_number = to_number
        self.history: list[VoiceTwiml] = []
        self._last_request: tuple[str, dict[str, str]] | None = None

    @property
    def last(self) -> VoiceTwiml:
        return self.history[-1]

    @property
    def said(self) -> str:
        return self.last.said

    @property
    def ended(self) -> bool:
        return self.last.hangup

    def _params(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.from_number,
            "To": self.to_number,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    async def _send(self, path: str, params: dict[str, str]) -> VoiceTwiml:
        self._last_request = (path, params)
        response = await self.twilio.post(path, params)
        answer = (
            parse_voice(response) if response.status_code == 200 else VoiceTwiml(response, [], None, None, None, True)
        )
        self.history.append(answer)
        return answer

    async def start(self) -> VoiceTwiml:
        params = self._params()
        params["CallStatus"] = "ringing"
        return await self._send("/twilio/voice", params)

    async def press(self, digits: str) -> VoiceTwiml:
        """Type `digits` at the current <Gather> (Twilio posts them to its action URL)."""
        if self.last.action is None:
            raise AssertionError(f"L'appel est terminé : {self.said!r}")
        return await self._send(self.twilio.path_of(self.last.action), self._params(Digits=digits))

    async def silence(self) -> VoiceTwiml:
        """Let the <Gather> time out (actionOnEmptyResult: its action is posted without digits)."""
        if self.last.action is None:
            raise AssertionError(f"L'appel est terminé : {self.said!r}")
        return await self._send(self.twilio.path_of(self.last.action), self._params(Digits=""))

    async def replay(self) -> VoiceTwiml:
        """Twilio redelivers the last request (same step, same parameters)."""
        assert self._last_request is not None
        path, params = self._last_request
        response = await self.twilio.post(path, params)
        answer = parse_voice(response)
        self.history.append(answer)
        return answer
