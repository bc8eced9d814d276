"""Polling day by SMS through the real telephony gateway (signed webhooks): OUV, PART, AIDE,
with the PIN, the registered phone and the lock-out."""

from __future__ import annotations

from sqlalchemy import func, select

from polling import service
from polling.models import PinFailure, StationState, TurnoutReport
from services.telephony.models import InboundSms
from services.telephony.testing import TwilioSimulator
from tests.polling.conftest import PRESIDENT_PHONE, World, build_world

NATIONAL = "06 12 34 56 78"  # PRESIDENT_PHONE as a volunteer types it; Twilio sends E.164


async def test_opening_by_sms(client, session, world: World) -> None:
    twilio = TwilioSimulator(client)
    code = world.bordeaux.code
    reply = await twilio.sms(f"OUV {code} {world.bordeaux_pin}", from_number=PRESIDENT_PHONE)
    assert reply.text.startswith(f"Bureau {code} (Bordeaux") and "ouvert à" in reply.text
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.OPEN
    again = await twilio.sms(f"ouv {code[:3]} {code[3:]} {world.bordeaux_pin}", from_number=PRESIDENT_PHONE)
    assert "déjà ouvert depuis" in again.text
    stored = await session.scalar(select(InboundSms.body).order_by(InboundSms.received_at.desc()).limit(1))
    assert world.bordeaux_pin not in stored and "******" in stored


async def test_turnout_by_sms(client, session) -> None:
    world = await build_world(session, day_offset=-1)  # polling day yesterday: 9h is past, whatever the hour now
    twilio = TwilioSimulator(client)
    code = world.bordeaux.code
    refused = await twilio.sms(f"PART {code} {world.bordeaux_pin} 9h 1", from_number=PRESIDENT_PHONE)
    assert "n'est pas ouvert" in refused.text
    await twilio.sms(f"OUV {code} {world.bordeaux_pin}", from_number=PRESIDENT_PHONE)
    reply = await twilio.sms(f"PART{code} {world.bordeaux_pin} 9h 3", from_number=PRESIDENT_PHONE)
    assert reply.text.startswith(f"Bureau {code} : 3 votants à 09h00 enregistrés"), reply.text
    too_many = await twilio.sms(f"PART {code} {world.bordeaux_pin} 9h30 40", from_number=PRESIDENT_PHONE)
    assert "40 votants pour 4 inscrits" in too_many.text
    assert await session.scalar(select(func.count()).select_from(TurnoutReport)) == 1


async def test_bad_sms_get_french_answers_and_change_nothing(client, session, world: World, count_writes) -> None:
    twilio = TwilioSimulator(client)
    code = world.bordeaux.code
    wrong_digit = code[:-1] + str((int(code[-1]) + 1) % 10)
    cases = [
        (f"OUV {wrong_digit} {world.bordeaux_pin}", PRESIDENT_PHONE, "un chiffre est faux"),
        (f"OUV {code} {world.bordeaux_pin}", "+33700000001", "n'est pas enregistré pour le bureau"),
        (f"OUV {code}", PRESIDENT_PHONE, "Code PIN manquant"),
        (f"PART {code} {world.bordeaux_pin} 25h 3", PRESIDENT_PHONE, "impossible"),
    ]
    for text, sender, expected in cases:
        before = await count_writes()
        reply = await twilio.sms(text, from_number=sender)
        assert expected in reply.text, (text, reply.text)
        # Only the gateway's own store of the message and its reply (operational, not election state).
        assert await session.scalar(select(func.count()).select_from(PinFailure)) == 0
        assert await count_writes() - before <= 2
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.READY


async def test_wrong_pin_is_counted_and_locks_after_five(client, session, world: World) -> None:
    twilio = TwilioSimulator(client)
    code = world.bordeaux.code
    wrong = "000000" if world.bordeaux_pin != "000000" else "111111"
    for attempt in range(5):
        reply = await twilio.sms(f"OUV {code} {wrong}", from_number=PRESIDENT_PHONE)
        assert "Code PIN incorrect" in reply.text
    assert "Encore" not in reply.text and "Bloqué" in reply.text
    locked = await twilio.sms(f"OUV {code} {world.bordeaux_pin}", from_number=PRESIDENT_PHONE)
    assert "Trop de codes PIN erronés" in locked.text
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.READY
    # Per station and per phone: 5 failures counted under each key.
    assert await session.scalar(select(func.count()).select_from(PinFailure)) == 10


async def test_aide_lists_the_polling_commands(client, world: World) -> None:
    twilio = TwilioSimulator(client)
    listing = await twilio.sms("AIDE", from_number=NATIONAL)
    assert "OUV code PIN : ouverture du bureau" in listing.text
    assert "PART code PIN heure votants" in listing.text
    detail = await twilio.sms("AIDE PART")
    assert "PART <code> <PIN> <heure> <votants>" in detail.text
