"""The Twilio webhooks: ``POST /twilio/sms``, ``POST /twilio/voice`` and ``POST /twilio/voice/step``.

Configure the Twilio phone number with:
- « A message comes in »: Webhook, HTTP POST, ``<public URL>/twilio/sms``;
- « A call comes in »: Webhook, HTTP POST, ``<public URL>/twilio/voice``;
- « Call status changes »: HTTP POST, ``<public URL>/twilio/voice/status`` (optional: marks the
  calls hung up before the end as abandoned and forgets their secret answers).
The voice dialogue's next steps are posted to the action URLs the TwiML names
(``/twilio/voice/step?n=<step>``), signed by Twilio like the first request.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from twilio.twiml.voice_response import VoiceResponse

from services.db import DbSession
from services.telephony import service
from services.telephony.signature import TwilioSigned
from services.telephony.twiml import sms_reply, sms_reply_twiml, twiml_response, voice_goodbye

router = APIRouter(prefix="/twilio", tags=["téléphonie"])

# The access rule of every webhook: Twilio's signature over the public URL.
TwilioWebhook = Annotated[None, Depends(TwilioSigned())]

INCOMPLETE_SMS = "Message incomplet reçu de Twilio : il n'a pas été traité."
INCOMPLETE_CALL = "Appel incomplet : il n'a pas pu être traité. Merci de rappeler."


def _param(form: FormData | dict[str, str], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/sms", summary="Webhook Twilio : SMS entrant (réponse TwiML)", response_class=Response)
async def inbound_sms(request: Request, session: DbSession, _signed: TwilioWebhook) -> Response:
    form: FormData | dict[str, str] = request.state.twilio_params
    sid = _param(form, "MessageSid") or _param(form, "SmsSid")
    if not sid:
        return sms_reply(INCOMPLETE_SMS)
    reply = await service.receive_sms(
        session,
        sid=sid,
        from_number=_param(form, "From"),
        to_number=_param(form, "To"),
        body=_param(form, "Body"),
    )
    # `receive_sms` returns the reply as sent and stored (already fitted by `fit_sms`): fitting
    # it again would only cost time on results night.
    return twiml_response(sms_reply_twiml(reply or None))


_TWILIO_RULE: TwilioSigned = TwilioWebhook.__metadata__[0].dependency


async def _driver_inbound_sms(request: Request, connection: asyncpg.Connection) -> Response:
    """`inbound_sms` without FastAPI's per-request machinery nor a session
    (`services.app.FastPaths`, driver fast path, on a pool connection in autocommit): on results
    night the stations' SMS arrive by the thousand within minutes. The same signature check (the
    very rule object the route depends on), the same fast handlers as the route's; anything
    else — an unusual form, a refused signature, a message that is not a fast command's common
    case, a refusal to word — raises having written nothing, and the regular route answers it
    (403 for a forged signature, the French refusal for a wrong PIN, …)."""
    form = _TWILIO_RULE.check_plain(request, await request.body())
    if form is None:
        raise service.HandOver  # an unusual form, or a refusal: the route runs the rule and words it
    sid = _param(form, "MessageSid") or _param(form, "SmsSid")
    if not sid:
        raise service.HandOver
    reply = await service.receive_sms_on_driver(
        connection, sid=sid, from_number=_param(form, "From"), to_number=_param(form, "To"), body=_param(form, "Body")
    )
    return twiml_response(sms_reply_twiml(reply or None))


inbound_sms.driver_fast_path = _driver_inbound_sms  # type: ignore[attr-defined]


@router.post("/voice", summary="Webhook Twilio : appel entrant (réponse TwiML)", response_class=Response)
async def inbound_call(request: Request, session: DbSession, _signed: TwilioWebhook) -> Response:
    return await _voice_turn(request, session, step=0)


@router.post("/voice/step", summary="Webhook Twilio : touches tapées pendant un appel", response_class=Response)
async def call_step(request: Request, session: DbSession, _signed: TwilioWebhook) -> Response:
    raw_step = request.query_params.get("n", "")
    step = int(raw_step) if raw_step.isdigit() and len(raw_step) < 6 else None
    if step is None or step == 0:
        return twiml_response(voice_goodbye(INCOMPLETE_CALL))
    return await _voice_turn(request, session, step=step)


@router.post("/voice/status", summary="Webhook Twilio : fin d'un appel", response_class=Response)
async def call_status(request: Request, session: DbSession, _signed: TwilioWebhook) -> Response:
    form: FormData = request.state.twilio_params
    call_sid = _param(form, "CallSid")
    if call_sid:
        await service.voice_call_ended(session, call_sid=call_sid, twilio_status=_param(form, "CallStatus"))
    return twiml_response(str(VoiceResponse()))


async def _voice_turn(request: Request, session: DbSession, *, step: int) -> Response:
    form: FormData = request.state.twilio_params
    call_sid = _param(form, "CallSid")
    if not call_sid:
        return twiml_response(voice_goodbye(INCOMPLETE_CALL))
    twiml = await service.voice_call_turn(
        session,
        call_sid=call_sid,
        from_number=_param(form, "From"),
        to_number=_param(form, "To"),
        step=step,
        digits=_param(form, "Digits"),
    )
    return twiml_response(twiml)
