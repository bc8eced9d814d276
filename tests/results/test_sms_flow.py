"""Results by SMS, through signed Twilio requests to the real webhook."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from polling import codes
from polling import service as polling
from polling.models import PinFailure, StationState
from results import service
from results.models import Channel, ResultsConfirmation, ResultsReport
from results.report import StationReport
from services.db import utcnow
from services.elections import service as elections
from services.elections.models import Phase
from services.events import AuditEvent
from services.telephony.models import InboundSms
from services.telephony.testing import TwilioSimulator
from services.events import Actor
from tests.results.conftest import ORGANISER, Night, figures, report_rows

COMMISSION_33 = Actor(id="account:990033", role="commission", scope="33")

CODE = re.compile(r"OK ([A-Z0-9]{4})")


def confirmation_code(reply: str) -> str:
    match = CODE.search(reply)
    assert match, reply
    return match.group(1)


async def events_of(session, kind: str, station_code: str) -> list[dict]:  # noqa: ANN001
    rows = await session.scalars(
        select(AuditEvent.entry).where(AuditEvent.kind == kind, AuditEvent.subjects["station_code"].astext == station_code).order_by(AuditEvent.id)
    )
    return [json.loads(entry) for entry in rows]


async def test_report_read_back_then_ok_counts(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    reply = await twilio.sms(night.sms(station, figures(412, 3, 2, 200, 120, 87, euros="612,50")), from_number=phone)
    assert reply.status_code == 200
    text = reply.text
    assert f"T1 bureau {station.code} : V412 B3 N2." in text
    assert "Laurent 200" in text and "Garnier 120" in text and "Benali 87" in text
    assert "Collecte 612,50" in text
    code = confirmation_code(text)
    # Not counted before OK.
    assert service.latest_counted(await service.station_history(session, night.round_1.id, station.id)) is None
    stored = await session.scalar(select(InboundSms.body).where(InboundSms.body.like(f"T1 {station.code}%")))
    assert night.pins[station.code] not in stored and "******" in stored
    ok = await twilio.sms(f"ok {code}", from_number=phone)
    assert "enregistrés" in ok.text and "407 suffrages exprimés" in ok.text
    history = await service.station_history(session, night.round_1.id, station.id)
    assert history[0].counted and history[0].report == StationReport(412, 3, 2, (200, 120, 87), 61250)
    assert await polling.state_of(session, station, night.round_1) == StationState.REPORTED
    received = await events_of(session, "results.report_received", station.code)
    counted = await events_of(session, "results.report_counted", station.code)
    assert received[0]["payload"]["votes"] == [200, 120, 87] and received[0]["payload"]["channel"] == "sms"
    assert received[0]["actor"]["id"].startswith("phone:+336") and code not in json.dumps(received)
    assert counted[0]["payload"]["via"] == "sms_ok" and counted[0]["payload"]["supersedes_counted"] is None
    # OK again (a second sid): acknowledged, nothing more recorded.
    again = await twilio.sms(f"OK {code}", from_number=phone)
    assert "déjà confirmés" in again.text
    assert len(await events_of(session, "results.report_counted", station.code)) == 1


async def test_a_forged_signature_is_refused_and_nothing_is_stored(session, client, twilio: TwilioSimulator, night: Night, count_writes) -> None:
    station = night.bordeaux
    params = twilio.sms_params(night.sms(station, figures(10, 0, 0, 5, 3, 2)), from_number=night.presidents[station.code])
    before = await count_writes()
    forged = await twilio.post("/twilio/sms", params, signature="bm90IGEgcmVhbCBzaWduYXR1cmU=")
    unsigned = await twilio.post("/twilio/sms", params, signature="")
    assert forged.status_code == 403 and unsigned.status_code == 403
    assert await count_writes() == before
    assert await report_rows(session) == 0


async def test_bad_input_gets_a_clear_reply_and_counts_nothing(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    good = figures(100, 1, 1, 50, 30, 18)
    wrong_digit = station.code[:-1] + str((int(station.code[-1]) + 1) % 10)
    unknown = codes.generate(codes.MAX_SEQUENCE - 3)
    cases = {
        night.sms(station, good, round_number=2): "tour 1",  # wrong round
        f"T1 {wrong_digit} {night.pins[station.code]} {good}": "chiffre de contr",  # bad check digit
        f"T1 {unknown} {night.pins[station.code]} {good}": "Aucun bureau",  # unknown station
        night.sms(station, figures(100, 1, 1, 50, 30)): "3 chiffres de candidats attendus",  # k figures
        night.sms(station, figures(100, 1, 1, 60, 30, 18)): "plus que V100",  # ballots above signatures
    }
    for body, expected in cases.items():
        reply = await twilio.sms(body, from_number=phone)
        assert reply.status_code == 200
        assert expected in reply.text, (body, reply.text)
    # Unregistered phone: the station exists, the number is not its staff's.
    stranger = await twilio.sms(night.sms(station, good), from_number="+33700000099")
    assert "n'est pas enregistré pour le bureau" in stranger.text
    assert await report_rows(session) == 0
    outcomes = set(await session.scalars(select(InboundSms.outcome)))
    assert outcomes == {"refused"}


async def test_validated_station_and_closed_round_are_refused(session, twilio: TwilioSimulator, night: Night, users) -> None:
    station, phone = night.merignac, night.presidents[night.merignac.code]
    reply = await twilio.sms(night.sms(station, figures(50, 0, 0, 20, 20, 10)), from_number=phone)
    await twilio.sms(f"OK {confirmation_code(reply.text)}", from_number=phone)
    history = await service.station_history(session, night.round_1.id, station.id)
    await service.validate_station(session, COMMISSION_33, station, night.round_1, history[0].id, comment="PV papier absent, SMS retenu")
    await session.commit()
    refused = await twilio.sms(night.sms(station, figures(51, 0, 0, 21, 20, 10)), from_number=phone)
    assert "déjà validés par la commission" in refused.text
    # A round whose results are closed (proclaimed) refuses everything.
    other = night.paris
    await polling.close_open_stations(session, ORGANISER, night.round_1)
    await elections.change_phase(session, ORGANISER, night.round_1, Phase.POLLS_CLOSED)
    night.round_1.phase = Phase.RESULTS_VALIDATED.value  # (as if every station had been validated)
    await session.flush()
    closed = await twilio.sms(night.sms(other, figures(10, 0, 0, 5, 3, 2)), from_number=night.presidents[other.code])
    assert "sont clos" in closed.text
    assert await report_rows(session) == 1


async def test_wrong_pin_then_lockout(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    wrong = "000001" if night.pins[station.code] != "000001" else "000002"
    for attempt in range(5):
        reply = await twilio.sms(f"T1 {station.code} {wrong} {figures(10, 0, 0, 5, 3, 2)}", from_number=phone)
        assert "PIN incorrect" in reply.text or "Trop de codes PIN" in reply.text, reply.text
    failures = await session.scalar(select(func.count()).select_from(PinFailure).where(PinFailure.key == f"station:{station.code}"))
    assert failures == 5
    locked = await twilio.sms(night.sms(station, figures(10, 0, 0, 5, 3, 2)), from_number=phone)
    assert "Trop de codes PIN" in locked.text
    assert await report_rows(session) == 0


async def test_supersession_of_unconfirmed_and_confirmed_reports_is_traced(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    first = confirmation_code((await twilio.sms(night.sms(station, figures(100, 1, 1, 50, 30, 18)), from_number=phone)).text)
    second = confirmation_code((await twilio.sms(night.sms(station, figures(100, 1, 1, 49, 31, 18)), from_number=phone)).text)
    stale = await twilio.sms(f"OK {first}", from_number=phone)
    assert "remplacé" in stale.text
    await twilio.sms(f"OK {second}", from_number=phone)
    # A corrected report after the confirmed one: counts once confirmed, replacing version 2.
    third = confirmation_code((await twilio.sms(night.sms(station, figures(100, 2, 1, 49, 30, 18)), from_number=phone)).text)
    history = await service.station_history(session, night.round_1.id, station.id)
    assert service.latest_counted(history).version == 2  # the confirmed one still counts meanwhile
    await twilio.sms(f"OK {third}", from_number=phone)
    history = await service.station_history(session, night.round_1.id, station.id)
    assert [row.version for row in history] == [3, 2, 1]
    assert service.latest_counted(history).version == 3 and not history[2].counted
    received = [e["payload"] for e in await events_of(session, "results.report_received", station.code)]
    counted = [e["payload"] for e in await events_of(session, "results.report_counted", station.code)]
    assert [r["supersedes_pending"] for r in received] == [[], [1], []]
    assert [c["supersedes_counted"] for c in counted] == [None, 2]


async def test_message_sid_is_idempotent_and_same_content_is_acknowledged_once(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    body = night.sms(station, figures(100, 1, 1, 50, 30, 18))
    first = await twilio.sms(body, from_number=phone, sid="SM" + "a" * 32)
    redelivered = await twilio.sms(body, from_number=phone, sid="SM" + "a" * 32)
    assert redelivered.text == first.text
    again = await twilio.sms(body.lower(), from_number=phone)  # same content, another sid
    code = confirmation_code(first.text)
    assert "Message identique déjà recu" in again.text and f"OK {code}" in again.text
    assert await report_rows(session) == 1
    await twilio.sms(f"OK {code}", from_number=phone)
    after = await twilio.sms(body, from_number=phone)
    assert "déjà recus et confirmés" in after.text
    assert await report_rows(session) == 1


async def test_ok_after_thirty_minutes_is_refused(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    await service.receive_report(
        session,
        ORGANISER,
        station,
        night.round_1,
        StationReport(100, 1, 1, (50, 30, 18), None),
        channel=Channel.SMS,
        sender="+336******00",
        sender_key=service.sender_key(phone),
        confirmation_code="K7PX",
        now=utcnow() - timedelta(minutes=31),
    )
    await session.commit()
    late = await twilio.sms("OK K7PX", from_number=phone)
    assert "30 minutes dépassé" in late.text
    other_phone = await twilio.sms("OK K7PX", from_number=night.presidents[night.paris.code])
    assert "inconnu pour ce numéro" in other_phone.text
    assert await session.scalar(select(func.count()).select_from(ResultsConfirmation)) == 0


async def test_help_gives_the_format_and_the_ballot_order(twilio: TwilioSimulator, night: Night) -> None:
    reply = await twilio.sms("AIDE T1", from_number=night.presidents[night.bordeaux.code])
    assert "T1 <code bureau> <PIN>" in reply.text
    assert "Laurent, Garnier, Benali" in reply.text


async def test_reports_before_the_station_closes_are_refused(session, twilio: TwilioSimulator) -> None:
    from datetime import date

    from tests.results.conftest import build_night

    tomorrow = await build_night(session, polling_date=date.today() + timedelta(days=1))
    station = tomorrow.paris
    reply = await twilio.sms(tomorrow.sms(station, figures(10, 0, 0, 5, 3, 2)), from_number=tomorrow.presidents[station.code])
    assert "ferme à 19:00" in reply.text
    await polling.close_station(session, ORGANISER, station, tomorrow.round_1)
    await session.commit()
    accepted = await twilio.sms(tomorrow.sms(station, figures(10, 0, 0, 5, 3, 2)), from_number=tomorrow.presidents[station.code])
    assert "Exact ?" in accepted.text
    assert await session.scalar(select(func.count()).select_from(ResultsReport)) == 1
