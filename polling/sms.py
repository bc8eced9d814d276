"""Polling day by SMS (issue 5): opening « OUV <code> <PIN> » and turnout
« PART <code> <PIN> <heure> <votants> », through the telephony gateway.

The gateway has checked the Twilio signature and stored the message once; here the sender
must be a phone registered for the station (president or assessor), the PIN must be right
(lock-out after 5 failures in 15 minutes, per station and per phone; a failure is counted
even though the command is refused, through `sms.after_rollback`), and the reply says in
French what was done or what to fix. The message is stored with its PIN masked.
« AIDE » is the gateway's: it lists these commands' summaries.
"""

from __future__ import annotations

import re
from datetime import time

from sqlalchemy.ext.asyncio import AsyncSession

from polling import service
from polling.turnout_sms import EXAMPLE_OPENING, EXAMPLE_TURNOUT, Opening, SmsError, Turnout, parse_message
from services.errors import InvalidInput
from services.telephony import SmsContext, phone_actor, sms_command

_DIGIT_RUN = re.compile(r"[0-9][0-9 .\-]*[0-9]|[0-9]")


def redact_pin(text: str) -> str:
    """The message as stored: the PIN masked (« OUV 1234566 ****** »), whatever the layout."""
    parsed = parse_message(text)
    if isinstance(parsed, Opening):
        return f"OUV {parsed.station_code} ******"
    if isinstance(parsed, Turnout):
        minutes = f"{parsed.minute:02d}" if parsed.minute else ""
        return f"PART {parsed.station_code} ****** {parsed.hour}h{minutes} {parsed.voters}"
    # Not understood: keep the first 7-digit group (the station), mask every other digit.
    seen_code = False

    def mask(match: re.Match[str]) -> str:
        nonlocal seen_code
        digits = re.sub(r"[^0-9]", "", match.group(0))
        if not seen_code and len(digits) == 7:
            seen_code = True
            return match.group(0)
        return "*" * len(match.group(0))

    return _DIGIT_RUN.sub(mask, text or "")


def _parsed(sms: SmsContext, kind: type) -> Opening | Turnout:
    parsed = parse_message(sms.text)
    if isinstance(parsed, SmsError):
        raise InvalidInput(parsed.message, code=f"sms_{parsed.code}")
    if not isinstance(parsed, kind):  # cannot happen: the gateway routed on the keyword
        raise InvalidInput(f"Message non compris : écrivez par exemple {EXAMPLE_TURNOUT}")
    return parsed


async def _authorised(session: AsyncSession, sms: SmsContext, code: str, pin: str):  # noqa: ANN202
    station = await service.station_by_code(session, code)
    staff = await service.staff_for_phone(session, sms.from_number, station)
    await service.check_pin(session, station, pin, phone=sms.from_number, on_failure=sms.after_rollback)
    actor = phone_actor(sms.from_number, role=staff.role, scope=station.code)
    return station, actor


@sms_command(
    "OUV",
    pattern=r"OUV(?:ERTURE|RIR)?[0-9]*",
    summary="OUV code PIN : ouverture du bureau",
    help=f"OUV <code du bureau> <PIN>, ex. {EXAMPLE_OPENING}. À envoyer à l'ouverture, depuis le téléphone déclaré. "
    "Code et PIN : fiche du bureau.",
    redact=redact_pin,
)
async def opening_by_sms(session: AsyncSession, sms: SmsContext) -> str:
    parsed = _parsed(sms, Opening)
    station, actor = await _authorised(session, sms, parsed.station_code, parsed.pin)
    round_ = await service.active_round(session, station.election_id)
    row = await service.open_station(session, actor, station, round_, via="sms")
    opened = row.opened_at.astimezone(service.station_zone(station)) if row.opened_at else None
    return (
        f"Bureau {station.code} ({station.name}) ouvert à {opened:%Hh%M}, tour {round_.number}. Merci ! "
        f"Participation : PART {station.code} PIN heure votants."
    )


@sms_command(
    "PART",
    pattern=r"PART(?:ICIPATION)?[0-9]*",
    summary="PART code PIN heure votants : participation",
    help=f"PART <code> <PIN> <heure> <votants>, ex. {EXAMPLE_TURNOUT} (153 votants à 12h). "
    "Envoyez-le à 12h et à 17h.",
    redact=redact_pin,
)
async def turnout_by_sms(session: AsyncSession, sms: SmsContext) -> str:
    parsed = _parsed(sms, Turnout)
    station, actor = await _authorised(session, sms, parsed.station_code, parsed.pin)
    round_ = await service.active_round(session, station.election_id)
    at = time(parsed.hour, parsed.minute)
    await service.record_turnout(session, actor, station, round_, at, parsed.voters, via="sms")
    share = f" ({parsed.voters / station.registered * 100:.1f} % des inscrits)".replace(".", ",") if station.registered else ""
    return f"Bureau {station.code} : {parsed.voters} votants à {at:%Hh%M} enregistrés{share}. Merci !"
