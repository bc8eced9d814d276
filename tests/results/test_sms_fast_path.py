"""The results SMS fast path (`results.sms_fast`) writes exactly what the ordinary handlers write.

Two stations of one department send the same figures: one through the fast path, the other
with the fast handlers switched off (the ordinary, ORM path). Their stored report, their
confirmation, their station's state and their audit events must be the same but for what
names the station, the sender and the instant; and every audit row the fast path wrote must
be, byte for byte, the row `services.events.record` writes for the same event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service as polling
from polling.models import Station, StationState
from results import sms_fast
from results.models import ResultsConfirmation, ResultsReport
from services.events import Actor, AuditEvent, Event, canonical_json
from services.telephony.fastpath import Claim, FastResult
from services.telephony.models import InboundSms
from services.telephony.testing import TwilioSimulator
from tests.results.conftest import Night, close_polls, figures
from tests.results.test_sms_flow import confirmation_code

FIGURES = figures(412, 3, 2, 200, 120, 87, euros="612,50")


def ordinary_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    async def declined(*_args: Any) -> FastResult:
        return FastResult(Claim.NOT_TRIED)

    monkeypatch.setattr(sms_fast, "report", declined)
    monkeypatch.setattr(sms_fast, "confirm", declined)


async def report_and_ok(twilio: TwilioSimulator, night: Night, station: Station) -> tuple[str, str]:
    phone = night.presidents[station.code]
    reply = await twilio.sms(night.sms(station, FIGURES), from_number=phone)
    ok = await twilio.sms(f"OK {confirmation_code(reply.text)}", from_number=phone)
    return reply.text, ok.text


async def audit_rows(session: AsyncSession, station: Station) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subjects["station_code"].astext == station.code, AuditEvent.kind.in_(KINDS))
        .order_by(AuditEvent.id)
    )
    rows = list(rows)
    first = next(index for index, row in enumerate(rows) if row.kind == "results.report_received")
    return rows[first:]  # what the results SMS wrote (the station opened and closed before)


KINDS = ("results.report_received", "results.report_counted", "polling.station_state_changed")


def rebuilt(row: AuditEvent) -> Event:
    """The typed event a stored entry describes."""
    entry = json.loads(row.entry)
    cls = Event.registry[entry["kind"]]
    return cls(actor=Actor(**entry["actor"]), **entry["subjects"], **entry["payload"])


def comparable(row: AuditEvent, station: Station) -> dict[str, Any]:
    """An event's entry without what names the station, the sender and the instant."""
    entry = json.loads(row.entry)
    entry.pop("at")
    entry["actor"].pop("id")
    entry["actor"].pop("scope")
    entry["subjects"].pop("station_code")
    entry["payload"].pop("sender", None)
    return entry


REPORT_COLUMNS = ("round_id", "department_code", "version", "channel", "findings", "signatures", "blank", "null",
                  "votes", "contributions_cents", "account_id", "paper_entry_ids")  # fmt: skip


async def stored(session: AsyncSession, station: Station) -> dict[str, Any]:
    report = await session.scalar(select(ResultsReport).where(ResultsReport.station_id == station.id))
    confirmation = await session.scalar(select(ResultsConfirmation).where(ResultsConfirmation.station_id == station.id))
    assert report is not None and confirmation is not None
    assert report.sender_key and report.confirmation_code and report.staff_id and report.message_sid
    return {
        "report": {column: getattr(report, column) for column in REPORT_COLUMNS},
        "confirmation": (confirmation.version, confirmation.via, confirmation.confirmed_by.split(":")[0]),
    }


async def test_fast_path_writes_what_the_ordinary_path_writes(
    session: AsyncSession, twilio: TwilioSimulator, night: Night, monkeypatch: pytest.MonkeyPatch
) -> None:
    await close_polls(session, night)
    fast_station, ordinary_station = night.bordeaux, night.merignac
    assert fast_station.department_code == ordinary_station.department_code
    fast_replies = await report_and_ok(twilio, night, fast_station)
    with monkeypatch.context() as patch:
        ordinary_path_only(patch)
        ordinary_replies = await report_and_ok(twilio, night, ordinary_station)

    # The replies, but for the station code, the code to send back and the time.
    def general(reply: str, station: Station) -> str:
        import re

        return re.sub(r"OK [A-Z0-9]{4}|à \d\d:\d\d", "", reply.replace(station.code, "<bureau>"))

    assert [general(r, fast_station) for r in fast_replies] == [general(r, ordinary_station) for r in ordinary_replies]
    assert await stored(session, fast_station) == await stored(session, ordinary_station)
    # The gateway's store: each message once, with the reply sent and its outcome.
    for station, replies in ((fast_station, fast_replies), (ordinary_station, ordinary_replies)):
        inbound = (await session.execute(
            select(InboundSms.reply, InboundSms.outcome, InboundSms.handled_at)
            .where(InboundSms.from_number == night.presidents[station.code]).order_by(InboundSms.received_at)
        )).all()  # fmt: skip
        assert [(reply, outcome) for reply, outcome, _at in inbound] == [(replies[0], "ok"), (replies[1], "ok")]
        assert all(at is not None for _reply, _outcome, at in inbound)
    for station in (fast_station, ordinary_station):
        assert await polling.state_of(session, station, night.round_1) == StationState.REPORTED

    fast_events, ordinary_events = await audit_rows(session, fast_station), await audit_rows(session, ordinary_station)
    assert [row.kind for row in fast_events] == list(KINDS)
    assert [comparable(row, fast_station) for row in fast_events] == [comparable(row, ordinary_station) for row in ordinary_events]
    # Byte for byte the row `services.events.record` writes for the same event at the same instant.
    for row in fast_events:
        event = rebuilt(row)
        assert row.entry == event.entry(row.recorded_at)
        assert (row.kind, row.actor, row.actor_scope, row.subjects) == (
            event.kind, event.actor.id, event.actor.scope, event.subjects(),
        )  # fmt: skip
        assert canonical_json(row.subjects) == canonical_json(json.loads(row.entry)["subjects"])
    # The confirmation names the event that made it count, and both events are in the same
    # transaction as the facts they describe.
    confirmation = await session.scalar(select(ResultsConfirmation).where(ResultsConfirmation.station_id == fast_station.id))
    assert confirmation is not None and confirmation.event_id == fast_events[1].id
    assert len({row.xid for row in fast_events[1:]}) == 1


async def test_fast_path_leaves_the_rest_to_the_ordinary_handlers(
    session: AsyncSession, twilio: TwilioSimulator, night: Night
) -> None:
    """A second report supersedes the first (ordinary path), a wrong PIN is refused and counted
    (ordinary path), the same MessageSid twice is answered once (the gateway)."""
    await close_polls(session, night)
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    first = await twilio.sms(night.sms(station, FIGURES), from_number=phone, sid="SM" + "f" * 32)
    again = await twilio.sms(night.sms(station, FIGURES), from_number=phone, sid="SM" + "f" * 32)
    assert again.text == first.text
    corrected = await twilio.sms(night.sms(station, figures(412, 3, 2, 201, 119, 87)), from_number=phone)
    code = confirmation_code(corrected.text)
    stale = await twilio.sms(f"OK {confirmation_code(first.text)}", from_number=phone)
    assert "remplacé" in stale.text
    ok = await twilio.sms(f"OK {code}", from_number=phone)
    assert "enregistrés" in ok.text
    versions = (await session.execute(
        text("SELECT version FROM results_report WHERE station_id = :id ORDER BY version"), {"id": station.id}
    )).scalars().all()  # fmt: skip
    assert versions == [1, 2]
    received = await audit_rows(session, station)
    assert json.loads(received[1].entry)["payload"]["supersedes_pending"] == [1]
    wrong = await twilio.sms(f"T1 {night.merignac.code} 000000 {figures(10, 0, 0, 5, 3, 2)}", from_number=night.presidents[night.merignac.code])
    assert "PIN" in wrong.text or "code" in wrong.text.lower()
    assert await session.scalar(select(ResultsReport.id).where(ResultsReport.station_id == night.merignac.id)) is None


class _Recording:
    """An asyncpg connection that keeps the parameters of the statements it runs."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.calls.append((sql, args))
        return await self.connection.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.calls.append((sql, args))
        return await self.connection.fetchrow(sql, *args)


async def test_a_write_whose_message_was_claimed_meanwhile_keeps_nothing(
    session: AsyncSession, twilio: TwilioSimulator, night: Night, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same MessageSid claimed by another request between the read and the write (a
    redelivery at the same instant): the write statement fails whole — no report, no event, no
    claim — and the regular route answers the message. Replayed here: the T1 write statement of
    a station, with the parameters the fast path sent, for a second station (another code), the
    message already claimed by the first. (`CONFIRM_SQL` ends with the same claim and check.)"""
    import asyncpg

    from services.telephony import fastpath

    await close_polls(session, night)
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    recorded: list[_Recording] = []
    real_link = fastpath.Link

    def recording_link(connection: Any, **kwargs: Any) -> Any:
        recorded.append(_Recording(connection))
        return real_link(recorded[-1], **kwargs)

    monkeypatch.setattr(fastpath, "Link", recording_link)
    await twilio.sms(night.sms(station, FIGURES), from_number=phone)
    args = next(args for sql, args in recorded[-1].calls if sql == sms_fast.FIRST_REPORT_SQL)
    connection = recorded[-1].connection
    other = night.merignac
    assert other.department_code == station.department_code
    replay = (args[0], other.id, args[2], "ZZZZ", *args[4:])
    counts = (
        "SELECT (SELECT count(*) FROM results_report), (SELECT count(*) FROM audit_event), "
        "(SELECT count(*) FROM telephony_inbound_sms)"
    )
    before = await connection.fetchrow(counts)
    await connection.execute("SAVEPOINT replay")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await connection.fetchrow(sms_fast.FIRST_REPORT_SQL, *replay)
    await connection.execute("ROLLBACK TO SAVEPOINT replay")
    assert await connection.fetchrow(counts) == before
    assert await connection.fetchval("SELECT count(*) FROM results_report WHERE station_id = $1", other.id) == 0
    # The same statement with a fresh MessageSid stores the report: the failure was the claim's.
    fresh = (*replay[:22], "SM" + "f" * 32, *replay[23:])
    stored = await connection.fetchrow(sms_fast.FIRST_REPORT_SQL, *fresh)
    assert stored["report_id"] is not None and stored["claim_check"] == 1


async def test_the_burst_is_answered_without_a_session(
    session: AsyncSession, twilio: TwilioSimulator, night: Night, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the process has the round's rules cached (the first message of the night, through
    the regular route, fills it), a first report and its OK are answered by the webhook's
    driver fast path (`receive_sms_on_driver`, on a bare connection, no session) and never
    reach the regular route; a refusal (a wrong PIN) is handed over and worded by the route."""
    from services.telephony import api

    await close_polls(session, night)
    await report_and_ok(twilio, night, night.merignac)  # warm-up: the rules cached
    answered: list[str] = []
    original, original_driver = api.service.receive_sms, api.service.receive_sms_on_driver

    async def route(*args: Any, **kwargs: Any) -> str:
        answered.append("route")
        return await original(*args, **kwargs)

    async def driver(*args: Any, **kwargs: Any) -> str:
        try:
            reply = await original_driver(*args, **kwargs)
        except api.service.HandOver:
            answered.append("handed over")
            raise
        answered.append("driver")
        return reply

    monkeypatch.setattr(api.service, "receive_sms", route)
    monkeypatch.setattr(api.service, "receive_sms_on_driver", driver)
    replies = await report_and_ok(twilio, night, night.bordeaux)
    assert answered == ["driver", "driver"]
    assert "enregistrés" in replies[1]
    assert await session.scalar(select(ResultsConfirmation.report_id).where(ResultsConfirmation.station_id == night.bordeaux.id))

    answered.clear()
    station, phone = night.paris, night.presidents[night.paris.code]
    wrong_pin = "0000" if night.pins[station.code] != "0000" else "1111"
    refused = await twilio.sms(f"T1 {station.code} {wrong_pin} {FIGURES}", from_number=phone)
    assert answered == ["handed over", "route"]
    assert "PIN" in refused.text
    assert await session.scalar(select(ResultsReport.id).where(ResultsReport.station_id == station.id)) is None
