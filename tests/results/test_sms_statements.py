"""The results SMS hot path's SQL budget: a report (`T1 …`) and its `OK <code>` are counted
statement by statement (a listener on the test's connection), so that a change that adds
reads to the 15,000-station burst shows up here rather than in production."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from polling.models import StationState
from services.telephony.fastpath import driver_connection
from services.telephony.testing import TwilioSimulator
from tests.results.conftest import Night, close_polls, figures
from tests.results.test_sms_flow import confirmation_code
from tests.statements import is_harness


@asynccontextmanager
async def statements(session: AsyncSession) -> AsyncIterator[list[str]]:
    """Every statement sent to the database: through SQLAlchemy, and straight to the asyncpg
    connection (the SMS fast path, `services.telephony.fastpath`)."""
    seen: list[str] = []
    engine = session.bind.sync_engine  # type: ignore[union-attr]

    def note(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split())[:160])

    def note_raw(record) -> None:  # noqa: ANN001 - asyncpg's LoggedQuery
        seen.append("[asyncpg] " + " ".join(record.query.split())[:150])

    raw = await driver_connection(session)
    event.listen(engine, "before_cursor_execute", note)
    raw.add_query_logger(note_raw)
    try:
        yield seen
    finally:
        raw.remove_query_logger(note_raw)
        event.remove(engine, "before_cursor_execute", note)


def _show(label: str, seen: list[str]) -> None:
    if os.environ.get("SHOW_SQL"):
        print(f"\n--- {label}: {len(seen)} statements")
        for line in seen:
            print("   ", line)


async def test_report_and_ok_statement_budget(session: AsyncSession, twilio: TwilioSimulator, night: Night) -> None:
    await close_polls(session, night)
    # Warm-up: a first station's report and OK fill the per-process caches (ballot, rules).
    warm, warm_phone = night.merignac, night.presidents[night.merignac.code]
    first = await twilio.sms(night.sms(warm, figures(300, 2, 1, 150, 100, 47)), from_number=warm_phone)
    await twilio.sms(f"OK {confirmation_code(first.text)}", from_number=warm_phone)

    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    async with statements(session) as report_sql:
        reply = await twilio.sms(night.sms(station, figures(412, 3, 2, 200, 120, 87, euros="612,50")), from_number=phone)
    code = confirmation_code(reply.text)
    async with statements(session) as ok_sql:
        ok = await twilio.sms(f"OK {code}", from_number=phone)
    assert "enregistrés" in ok.text
    _show("T1", report_sql)
    _show("OK", ok_sql)
    # Before the fast path: 10 and 13 here (19 and 18 before the first budget), and 2 more in
    # production, where the session is fresh (BEGIN, COMMIT). Now two each: the claim with the
    # facts (and the station lock), then the write (report or confirmation, with their events
    # and the reply stored) — plus the test harness's savepoint around the request.
    # Now on the webhook's driver fast path: no session at all in production, the two
    # statements on a pool connection in autocommit. Here the test harness wraps each attempt
    # in a savepoint on the test's connection (`services.app.session_driver_connections`),
    # released with the test session's own savepoint, and sets the plan mode that production
    # sets once per pooled connection; production sends none of these: left out.
    harness = [line for line in report_sql + ok_sql if is_harness(line.removeprefix("[asyncpg] "))]
    raw = [line for line in report_sql + ok_sql if line.startswith("[asyncpg]") and line not in harness]
    assert len(raw) == 4, raw
    assert len([line for line in report_sql if line not in harness]) == 2, report_sql
    assert len([line for line in ok_sql if line not in harness]) == 2, ok_sql
    from polling import service as polling

    assert await polling.state_of(session, station, night.round_1) == StationState.REPORTED


async def test_lock_key_in_sql_is_the_python_key(session: AsyncSession) -> None:
    """The station lock taken inside the SMS queries is the one `lock_station` takes."""
    from sqlalchemy import text

    from results import service

    expression = service.station_lock_key_sql("CAST(:round_id AS bigint)", "CAST(:station_id AS bigint)")
    for round_id, station_id in [(1, 1), (7, 123_456), (2**24 + 5, 2**32 + 9), (16_777_215, 4_294_967_295)]:
        in_sql = await session.scalar(text(f"SELECT {expression}"), {"round_id": round_id, "station_id": station_id})
        assert in_sql == service.station_lock_key(round_id, station_id)


async def test_confirmation_holds_the_station_lock(session: AsyncSession, twilio: TwilioSimulator, night: Night) -> None:
    """A first report (`T1`) takes no lock: its write is one self-contained statement, and two
    first reports of one station collide on the unique (round, station, version). Its `OK`
    holds the station's advisory lock (taken inside the first query) until its write: the
    confirmation never interleaves with another message of the station."""
    from sqlalchemy import text

    from results import service

    await close_polls(session, night)
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    key = service.station_lock_key(night.round_1.id, station.id)
    held = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
        "AND ((classid::bigint << 32) | objid::bigint) = :key"
    )
    reply = await twilio.sms(night.sms(station, figures(412, 3, 2, 200, 120, 87)), from_number=phone)
    assert await session.scalar(held, {"key": key}) == 0
    await twilio.sms(f"OK {confirmation_code(reply.text)}", from_number=phone)
    assert await session.scalar(held, {"key": key}) == 1
