"""The telephony page of the organisers and the high authority: how the Twilio number must be
configured, which SMS commands and voice flows are registered, and what was received lately
(numbers masked, PINs redacted). In the demo, test and development modes a simulator lets
anyone rehearse the SMS channel in the browser: the message goes through the same dispatcher
and store as a real one (its sid starts with « SIM »)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from services import web
from services.auth.dependencies import Access, Organiser
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.errors import Forbidden
from services.settings import Mode, settings
from services.telephony.gateway import sms_gateway
from services.telephony.models import InboundSms, VoiceCall, VoiceStep
from services.telephony.phone import InvalidPhoneNumber, mask_phone, normalise_phone
from services.telephony.registry import sms_commands
from services.telephony.service import receive_sms
from services.telephony.signature import public_url_for, twilio_auth_token
from services.telephony.voice import DigitsField, voice_flows

router = APIRouter(include_in_schema=False)

PAGE = "/organisation/telephonie"
SIMULATOR_MODES = frozenset({Mode.DEMO, Mode.TEST, Mode.DEVELOPMENT})
TelephonyReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY))]


def simulator_enabled() -> bool:
    return settings().mode in SIMULATOR_MODES


def _token_status() -> str:
    if settings().twilio_auth_token:
        return "configuré (PRIMAIRES_TWILIO_AUTH_TOKEN)"
    if twilio_auth_token() is not None:
        return "jeton de test documenté (mode démonstration ou test)"
    return "ABSENT : tous les webhooks sont refusés"


@router.get(PAGE)
async def telephony_page(request: Request, session: DbSession, who: TelephonyReader, essai: str = "") -> Response:
    messages = list(await session.scalars(select(InboundSms).order_by(InboundSms.received_at.desc()).limit(30)))
    trial = await session.get(InboundSms, essai) if essai.startswith("SIM") else None
    calls = list(await session.scalars(select(VoiceCall).order_by(VoiceCall.started_at.desc()).limit(20)))
    step_counts = await session.execute(
        select(VoiceStep.call_sid, func.count())
        .where(VoiceStep.call_sid.in_([call.call_sid for call in calls]))
        .group_by(VoiceStep.call_sid)
    )
    steps = {call_sid: count for call_sid, count in step_counts.all()}
    commands = [
        {
            "keyword": command.keyword,
            "summary": command.summary if isinstance(command.summary, str) else "(texte calculé à la demande)",
        }
        for command in sms_commands.commands()
    ]
    flows = [
        {
            "name": flow.name,
            "greeting": flow.greeting,
            "fields": [item.label or item.name for item in flow.fields if isinstance(item, DigitsField)],
            "dynamic": any(not isinstance(item, DigitsField) for item in flow.fields),
        }
        for flow in voice_flows.flows()
    ]
    return web.render(
        request,
        "services/telephony.html",
        {
            "sms_url": public_url_for("/twilio/sms"),
            "voice_url": public_url_for("/twilio/voice"),
            "token_status": _token_status(),
            "gateway": sms_gateway().name,
            "commands": commands,
            "flows": flows,
            "messages": messages,
            "calls": calls,
            "steps": steps,
            "trial": trial,
            "mask": mask_phone,
            "simulator": simulator_enabled() and who.role == Role.ORGANISER,
        },
    )


@router.post(f"{PAGE}/essai")
async def simulate_sms(
    session: DbSession,
    who: Organiser,
    numero: Annotated[str, Form(max_length=32)],
    message: Annotated[str, Form(max_length=1600)],
) -> Response:
    if not simulator_enabled():
        raise Forbidden("Le simulateur de SMS n'existe qu'en démonstration, en test et en développement.")
    try:
        sender = normalise_phone(numero)
    except InvalidPhoneNumber as error:
        return web.redirect(PAGE, error.message, "error")
    sid = "SIM" + secrets.token_hex(15)
    await receive_sms(session, sid=sid, from_number=sender, to_number="simulateur", body=message)
    return web.redirect(f"{PAGE}?essai={sid}")
