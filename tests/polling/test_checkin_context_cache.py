"""The check-in's per-process cache of a station's context (station, rounds, election, keys,
bureaux) is never used once one of its tables changed: `polling_context_epoch` changes with
every write to them (triggers), the read compares it, and the write compares it again under
the station's row lock."""

from __future__ import annotations

from sqlalchemy import func, select, text

from polling import checkin, service
from polling.models import CONTEXT_TABLES, Checkin
from services import db
from services.elections import service as elections
from services.elections.models import Phase
from services.events import AuditEvent
from tests.polling.conftest import ORGANISER, World, bordeaux_checkin_write, first_tablet_checkin

BODY = {"contribution_cents": 200, "payment": "cash", "charter_signed": True}


async def _epoch(session) -> int:  # noqa: ANN001
    return await session.scalar(text("SELECT epoch FROM polling_context_epoch WHERE id = 1"))


async def test_every_table_of_the_context_changes_the_epoch_never_to_a_value_seen_before(session, world: World) -> None:  # noqa: ANN001
    seen = {await _epoch(session)}
    for table in CONTEXT_TABLES:
        await session.execute(text(f"DELETE FROM {table} WHERE false"))  # a statement trigger fires even for no row
        epoch = await _epoch(session)
        assert epoch not in seen, table
        seen.add(epoch)
    # A transaction that changed the context and rolled back: its value is never given again.
    async with session.begin_nested() as savepoint:
        await session.execute(text("DELETE FROM station_bureau WHERE false"))
        rolled_back = await _epoch(session)
        await savepoint.rollback()
    await session.execute(text("DELETE FROM station WHERE false"))
    assert await _epoch(session) not in seen | {rolled_back}


async def test_a_cached_context_is_not_used_once_polls_closed(client, users, session, world: World, count_writes) -> None:  # noqa: ANN001
    """The station stays open in the round (its row, checked by the write, would let a check-in
    through): only the round's phase, in the cached context, says the polls are closed."""
    _, lefevre = await first_tablet_checkin(client, users, session, world)
    assert world.bordeaux.code in checkin._CONTEXTS  # noqa: SLF001 - the cache was filled
    await session.refresh(world.round_1)
    await elections.change_phase(session, ORGANISER, world.round_1, Phase.POLLS_CLOSED)
    await session.commit()
    before = await count_writes()
    events = await session.scalar(select(func.count()).select_from(AuditEvent))
    refused = await client.post("/api/v1/polling/checkins", json={"ref": lefevre, **BODY})
    assert refused.status_code == 409 and refused.json()["code"] == "polls_not_open", refused.text
    assert "n'est pas ouvert" in refused.json()["message"]
    assert await count_writes() == before
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 1
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == events


async def test_the_one_write_writes_nothing_with_a_stale_epoch(session, world: World, count_writes) -> None:  # noqa: ANN001
    """A context changed between the request's read and its write: the write itself refuses."""
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.flush()
    epoch = await _epoch(session)
    statement, values = bordeaux_checkin_write(world, epoch=epoch - 1)
    before = await count_writes()
    connection = await db.driver_connection(session)
    assert await connection.fetchrow(statement.sql, *statement.arguments(values)) is None
    assert await count_writes() == before  # nothing at all, in no table
    values["p_epoch"] = epoch
    row = await connection.fetchrow(statement.sql, *statement.arguments(values))
    assert row is not None and row["events"] == 1 and row["checkins_tablet"] == 1
    db.note_write(session, "checkin")
    db.note_audit_event(session)
