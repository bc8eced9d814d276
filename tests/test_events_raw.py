"""`services.events.audit_row` (the hot paths' way to write an event in the same statement as
its change) gives, byte for byte, the row `services.events.record` would write."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from polling.events import VoterCheckedIn
from services.events import AUDIT_COLUMNS, Actor, AuditEvent, Event, audit_row, record


class _Sample(Event):
    """An event with optional subjects and payload fields (None is dropped from the subjects,
    kept in the payload)."""

    kind: ClassVar[str] = "test.raw_sample"
    subject_fields: ClassVar[tuple[str, ...]] = ("station_code", "round_id")
    station_code: str | None
    round_id: int | None
    note: str | None
    amount: int


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
actors = st.builds(Actor, id=texts, role=texts, scope=texts)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(actors, st.none() | texts, st.none() | st.integers(-(2**31), 2**31), st.none() | texts, st.integers(-(2**40), 2**40), moments)
def test_audit_row_is_the_entry_of_the_event(actor, station, round_id, note, amount, at) -> None:  # noqa: ANN001
    event = _Sample(actor=actor, station_code=station, round_id=round_id, note=note, amount=amount)
    row = audit_row(_Sample.kind, actor, {"station_code": station, "round_id": round_id}, {"note": note, "amount": amount}, at)
    assert dict(zip(AUDIT_COLUMNS, row, strict=True)) == {
        "recorded_at": at,
        "kind": _Sample.kind,
        "actor": actor.id,
        "actor_scope": actor.scope,
        "subjects": row[4],
        "entry": event.entry(at),
    }
    assert row[5].encode() == event.entry(at).encode()


async def test_a_raw_row_is_stored_as_record_stores_it(session) -> None:  # noqa: ANN001
    actor = Actor(id="tablet:7", role="tablet", scope="1000194")
    fields = {"round_id": 3, "department_code": "2A", "station_code": "1000194"}
    payload = {"checked_in_at": "2027-01-22T09:12:00+00:00", "contribution_cents": 200, "payment": "cash", "channel": "tablet"}
    recorded = record(session, VoterCheckedIn(actor=actor, **fields, **payload))
    await session.flush()
    stored = await session.get(AuditEvent, recorded.id)
    values = audit_row(VoterCheckedIn.kind, actor, fields, payload, stored.recorded_at)
    connection = await session.connection()
    raw = await connection.exec_driver_sql(
        "INSERT INTO audit_event (recorded_at, kind, actor, actor_scope, subjects, entry) "
        "VALUES ($1, $2, $3, $4, CAST($5::text AS jsonb), $6) RETURNING id",
        tuple(values),
    )
    raw_id = raw.scalar_one()
    rows = (
        await session.execute(
            select(AuditEvent.recorded_at, AuditEvent.kind, AuditEvent.actor, AuditEvent.actor_scope, AuditEvent.subjects, AuditEvent.entry)
            .where(AuditEvent.id.in_([recorded.id, raw_id]))
            .order_by(AuditEvent.id)
        )
    ).all()
    assert rows[0] == rows[1]
    assert rows[1].entry.encode() == VoterCheckedIn(actor=actor, **fields, **payload).entry(stored.recorded_at).encode()


async def test_the_driver_connection_is_inside_the_sessions_transaction(session) -> None:  # noqa: ANN001
    """A statement sent first on the driver connection belongs to the session's transaction:
    rolled back with it (not autocommitted), committed with it."""
    from services import db

    actor = Actor(id="system:test", role="system")
    values = audit_row("test.driver_connection", actor, {"marker": "rollback"}, {}, datetime.now(UTC))
    sql = (
        "INSERT INTO audit_event (recorded_at, kind, actor, actor_scope, subjects, entry) "
        "VALUES ($1, $2, $3, $4, CAST($5::text AS jsonb), $6)"
    )
    async with db.database().sessionmaker() as fresh:
        driver = await db.driver_connection(fresh)
        assert await db.driver_connection(fresh) is driver  # kept for the transaction
        await driver.execute(sql, *values)
        await fresh.rollback()
    count = "SELECT count(*) FROM audit_event WHERE kind = 'test.driver_connection'"
    async with db.database().sessionmaker() as reader:
        assert await (await db.driver_connection(reader)).fetchval(count) == 0
        await reader.rollback()
