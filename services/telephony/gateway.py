"""Outbound SMS: one small interface, three implementations chosen by settings.

- ``PRIMAIRES_SMS_GATEWAY=twilio``: `TwilioSmsGateway`, through the official SDK's REST client
  (its native asyncio client: no thread, no blocking call in the event loop);
- ``console`` (default): `ConsoleSmsGateway` writes the message to the log (demo, development);
- ``memory``: `MemorySmsGateway` keeps the messages in a list (tests).

Domain code calls ``await sms_gateway().send(number, text)`` — after its transaction has
committed, never from inside a handler that might still roll back (a reminder to stations
that have not reported is a job, not a side effect of a webhook).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from services.db import utcnow
from services.errors import AppError
from services.settings import settings
from services.telephony.phone import mask_phone, normalise_phone
from services.telephony.sms_text import DEFAULT_MAX_SEGMENTS, fit_sms

logger = logging.getLogger("primaires.telephony")


class SmsNotSent(AppError):
    status = 502
    code = "sms_not_sent"


@dataclass(frozen=True)
class OutboundSms:
    to: str
    body: str
    id: str
    at: datetime


@runtime_checkable
class SmsGateway(Protocol):
    """Sends one SMS; returns the provider's message id. `to` is normalised to E.164 and the
    text fitted to `max_segments` GSM-7 segments (see `sms_text`) by every implementation."""

    name: str

    async def send(self, to: str, body: str, *, max_segments: int = DEFAULT_MAX_SEGMENTS) -> str: ...


def _prepare(to: str, body: str, max_segments: int) -> tuple[str, str]:
    return normalise_phone(to), fit_sms(body, max_segments)


class ConsoleSmsGateway:
    """Logs outbound messages (number masked) instead of sending them."""

    name = "console"

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def send(self, to: str, body: str, *, max_segments: int = DEFAULT_MAX_SEGMENTS) -> str:
        number, text = _prepare(to, body, max_segments)
        message_id = f"console-{next(self._ids)}"
        logger.info("SMS sortant (console) vers %s : %s", mask_phone(number), text)
        return message_id


@dataclass
class MemorySmsGateway:
    """Keeps outbound messages in `sent` (tests read them there)."""

    name: str = "memory"
    sent: list[OutboundSms] = field(default_factory=list)

    async def send(self, to: str, body: str, *, max_segments: int = DEFAULT_MAX_SEGMENTS) -> str:
        number, text = _prepare(to, body, max_segments)
        message = OutboundSms(to=number, body=text, id=f"memory-{len(self.sent) + 1}", at=utcnow())
        self.sent.append(message)
        return message.id

    def to(self, number: str) -> list[OutboundSms]:
        target = normalise_phone(number)
        return [message for message in self.sent if message.to == target]

    def clear(self) -> None:
        self.sent.clear()


class TwilioSmsGateway:
    """Sends through Twilio's Messages API with the official SDK (asyncio HTTP client)."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str, *, http_client: Any = None) -> None:
        if not (account_sid and auth_token and from_number):
            raise ValueError(
                "La passerelle SMS Twilio demande PRIMAIRES_TWILIO_ACCOUNT_SID, PRIMAIRES_TWILIO_AUTH_TOKEN "
                "et PRIMAIRES_TWILIO_FROM_NUMBER."
            )
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self._http_client = http_client
        self._client: Any = None

    def client(self) -> Any:
        # Created on first use, inside the running event loop (the SDK's aiohttp session needs one).
        if self._client is None:
            from twilio.http.async_http_client import AsyncTwilioHttpClient
            from twilio.rest import Client

            self._client = Client(
                self.account_sid,
                self.auth_token,
                http_client=self._http_client or AsyncTwilioHttpClient(timeout=10, max_retries=2),
            )
        return self._client

    async def send(self, to: str, body: str, *, max_segments: int = DEFAULT_MAX_SEGMENTS) -> str:
        from twilio.base.exceptions import TwilioException

        number, text = _prepare(to, body, max_segments)
        try:
            message = await self.client().messages.create_async(to=number, from_=self.from_number, body=text)
        except (TwilioException, asyncio.TimeoutError, OSError) as error:
            logger.warning("Échec d'envoi d'un SMS vers %s : %s", mask_phone(number), error)
            raise SmsNotSent(
                f"Le SMS vers {mask_phone(number)} n'a pas pu être envoyé par Twilio. Réessayez plus tard.",
                detail={"to": mask_phone(number)},
            ) from error
        return str(message.sid)

    async def aclose(self) -> None:
        http = getattr(self._client, "http_client", None)
        if http is not None and hasattr(http, "close"):
            await http.close()


_gateways: dict[tuple[str, ...], SmsGateway] = {}


def sms_gateway() -> SmsGateway:
    """The gateway chosen by ``settings().sms_gateway`` (one instance per configuration)."""
    current = settings()
    kind = current.sms_gateway.strip().lower()
    key = (kind, current.twilio_account_sid, current.twilio_auth_token, current.twilio_from_number)
    gateway = _gateways.get(key)
    if gateway is None:
        if kind == "twilio":
            gateway = TwilioSmsGateway(
                current.twilio_account_sid, current.twilio_auth_token, current.twilio_from_number
            )
        elif kind == "memory":
            gateway = MemorySmsGateway()
        elif kind == "console":
            gateway = ConsoleSmsGateway()
        else:
            raise ValueError(
                f"Passerelle SMS inconnue : « {current.sms_gateway} » (PRIMAIRES_SMS_GATEWAY : twilio, console ou memory)."
            )
        _gateways[key] = gateway
    return gateway
