"""The tablet check-in's driver fast path (`checkin.check_in_on_driver`, no session, one read and
one self-contained write): every refusal of the access rule and of the check-in is still
answered by the regular route, in French, with nothing recorded; the one write is all or
nothing on its own; the pooled driver connection has no transaction around its statements."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from polling import api, checkin, service
from polling.models import Checkin, StationRound, StationState
from services import db
from services.auth import service as auth_service
from services.auth.models import Account, Tablet, WebSession
from services.auth.roles import Role
from services.events import AuditEvent
from tests.conftest import TEST_ACTOR
from tests.polling.conftest import ORGANISER, World, bordeaux_checkin_write, recorded_rows
from tests.polling.test_checkin_hot_path import client_free_search

BODY = {"contribution_cents": 200, "payment": "cash", "charter_signed": True}


@pytest.fixture
def paths(monkeypatch) -> list[str]:  # noqa: ANN001
    """Which code answered: « driver » (tried), « route » (the regular route)."""
    calls: list[str] = []
    on_driver, regular = checkin.check_in_on_driver, api._check_in  # noqa: SLF001

    async def spied_driver(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append("driver")
        return await on_driver(*args, **kwargs)

    async def spied_regular(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append("route")
        return await regular(*args, **kwargs)

    monkeypatch.setattr(checkin, "check_in_on_driver", spied_driver)
    monkeypatch.setattr(api, "_check_in", spied_regular)
    return calls


async def _opened(session, world: World) -> str:  # noqa: ANN001
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    return await client_free_search(session, world)


async def _nothing_recorded(session, count_writes, before: int) -> None:  # noqa: ANN001
    assert await count_writes() == before
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 0


async def test_an_account_of_the_station_checks_in_on_the_driver_path(client, users, session, world: World, paths) -> None:  # noqa: ANN001
    await users.as_role(client, Role.PRESIDENT, station=world.bordeaux.code)
    ref = await _opened(session, world)
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 201, response.text
    assert paths == ["driver"]
    # The security headers, set by FastPaths itself (outside the middleware stack), once each.
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert len(response.headers.get_list("x-frame-options")) == 1
    event = await session.scalar(select(AuditEvent).where(AuditEvent.kind == "polling.checked_in"))
    assert event is not None and event.actor.startswith("account:") and event.actor_scope == world.bordeaux.code


async def test_expired_revoked_and_unknown_sessions_are_refused_by_the_route(client, users, session, world: World, paths, count_writes) -> None:  # noqa: ANN001
    who = await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    ref = await _opened(session, world)
    digest = auth_service.sha256_hex(who.session_token)
    before = await count_writes()
    for change in ({"expires_at": db.utcnow() - timedelta(seconds=1)}, {"revoked_at": db.utcnow()}):
        await session.execute(update(WebSession).where(WebSession.token_sha256 == digest).values(**change))
        await session.commit()  # (a request that fails rolls back what the test left uncommitted)
        before = await count_writes()
        paths.clear()
        response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
        assert response.status_code == 401, change
        assert "connecter" in response.json()["message"]
        assert paths == ["driver"]  # tried, refused by the regular route's rule (before its handler)
        await _nothing_recorded(session, count_writes, before)
    client.cookies.set("primaires_session", "inconnu")
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 401
    await _nothing_recorded(session, count_writes, before)


@pytest.mark.unaudited_writes  # the account is switched off straight in its table (sessions kept)
async def test_a_deactivated_account_and_a_revoked_tablet_are_refused(client, users, session, world: World, paths, count_writes) -> None:  # noqa: ANN001
    code = world.bordeaux.code  # (a refused request expires the test session's objects)
    president = await users.as_role(client, Role.PRESIDENT, station=code)
    ref = await _opened(session, world)
    await session.execute(update(Account).where(Account.id == president.account_id).values(active=False))
    await session.commit()
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 401
    await _nothing_recorded(session, count_writes, before)

    tablet = await users.as_role(client, Role.TABLET, station=code)
    await auth_service.revoke_tablet(session, TEST_ACTOR, await session.get(Tablet, tablet.tablet_id))
    await session.commit()
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 401
    await _nothing_recorded(session, count_writes, before)


async def test_other_roles_and_a_missing_csrf_token_are_refused(client, users, session, world: World, paths, count_writes) -> None:  # noqa: ANN001
    code = world.bordeaux.code  # (a refused request expires the test session's objects)
    await users.as_role(client, Role.ORGANISER)
    ref = await _opened(session, world)
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 403 and "rôle" in response.json()["message"]
    await _nothing_recorded(session, count_writes, before)

    await users.as_role(client, Role.TABLET, station=code)
    del client.headers["x-csrf-token"]
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    await _nothing_recorded(session, count_writes, before)


async def test_an_api_token_is_answered_by_the_regular_route(client, users, session, world: World, paths) -> None:  # noqa: ANN001
    account = await users.create(Role.PRESIDENT, station=world.bordeaux.code)
    raw = await users.api_token(account)
    ref = await _opened(session, world)
    client.cookies.clear()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY}, headers={"authorization": f"Bearer {raw}"})
    assert response.status_code == 201, response.text
    assert paths == ["driver", "route"]


async def test_check_in_refusals_are_worded_by_the_route(client, users, session, world: World, paths, count_writes) -> None:  # noqa: ANN001
    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    ref = await _opened(session, world)
    before = await count_writes()
    cases = [
        ({"ref": ref, **BODY, "contribution_cents": 50}, 422, "contribution_too_low"),
        ({"ref": ref, **BODY, "charter_signed": False}, 422, "charter_not_signed"),
        ({"ref": "L-33-999999999", **BODY}, 404, "unknown_voter"),
        ({"ref": "n'importe quoi", **BODY}, 404, "unknown_voter"),
    ]
    for body, status, code in cases:
        paths.clear()
        response = await client.post("/api/v1/polling/checkins", json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
        assert paths == ["driver", "route"], body
        await _nothing_recorded(session, count_writes, before)
    for expired in (world.bordeaux, world.round_1):  # (a refused request expires the test session's objects)
        await session.refresh(expired)
    await service.close_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert response.status_code == 409 and response.json()["code"] == "station_not_open"
    await _nothing_recorded(session, count_writes, before)


async def test_the_one_write_writes_nothing_when_the_station_is_not_open(session, world: World, count_writes) -> None:  # noqa: ANN001
    """What the autocommitted driver path relies on: the statement itself refuses a station
    that is not in an accepted state — no check-in, no counter, no event — with no rollback."""
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.execute(
        update(StationRound)
        .where(StationRound.round_id == world.round_1.id, StationRound.station_id == world.bordeaux.id)
        .values(state=StationState.CLOSED.value)
    )
    await session.flush()
    before = await count_writes()
    statement, values = bordeaux_checkin_write(world, epoch=None)  # the regular route: no cached context
    connection = await db.driver_connection(session)
    assert await connection.fetchrow(statement.sql, *statement.arguments(values)) is None
    assert await count_writes() == before  # nothing at all, in no table
    values["p_states"] = [StationState.OPEN.value, StationState.CLOSED.value]  # a paper late entry
    row = await connection.fetchrow(statement.sql, *statement.arguments(values))
    assert row is not None and row["events"] == 1 and row["checkins_tablet"] == 1
    db.note_write(session, "checkin")
    db.note_audit_event(session)


async def test_the_fast_paths_write_is_all_or_nothing_on_its_own(session, world: World, count_writes) -> None:  # noqa: ANN001
    """The driver fast path's write (`_count_insert_and_log_sql`: the counters first, then a
    plain INSERT): a station that is not open writes nothing at all (no row returned); a second
    check-in of the same person fails the WHOLE statement on the unique index — its counters'
    update undone with it, no event — and the fast path hands over; the first one wrote the
    three rows."""
    import asyncpg

    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.flush()
    epoch = await session.scalar(text("SELECT epoch FROM polling_context_epoch WHERE id = 1"))
    statement, values = bordeaux_checkin_write(world, epoch=epoch)
    assert "ON CONFLICT" not in statement.sql and "FOR NO KEY UPDATE" not in statement.sql
    connection = await db.driver_connection(session)
    closed = {**values, "p_states": [StationState.CLOSED.value]}
    before = await count_writes()
    assert await connection.fetchrow(statement.sql, *statement.arguments(closed)) is None
    assert await count_writes() == before  # nothing at all, in no table

    row = await connection.fetchrow(statement.sql, *statement.arguments(values))
    assert row is not None and row["events"] == 1 and row["checkins_tablet"] == 1 and row["cash_cents"] == 200
    db.note_write(session, "checkin")
    db.note_audit_event(session)
    recorded = await recorded_rows(session)
    again = {**values, "p_recorded_at": db.utcnow()}
    with pytest.raises(asyncpg.UniqueViolationError):
        async with connection.transaction():  # a savepoint here; on the pool, the statement alone
            await connection.fetchrow(statement.sql, *statement.arguments(again))
    assert await recorded_rows(session) == recorded
    counters = await session.scalar(
        select(StationRound.checkins_tablet).where(StationRound.round_id == world.round_1.id, StationRound.station_id == world.bordeaux.id)
        .execution_options(populate_existing=True)
    )
    assert counters == 1


async def test_the_server_log_keeps_no_participation_token(session) -> None:  # noqa: ANN001
    """A second check-in of the same person fails the fast path's write on the unique index
    (round, token); PostgreSQL logs that error, and its DETAIL would copy the key — the
    participation token — into the server's log. The embedded server (as docker-compose.yml's)
    logs errors without their DETAIL."""
    assert await session.scalar(text("SHOW log_error_verbosity")) == "terse"


async def test_the_pooled_driver_connection_autocommits_and_goes_back(database, monkeypatch) -> None:  # noqa: ANN001
    pool = database.engine.sync_engine.pool
    await database.release_driver_connections()
    out_before = pool.checkedout()
    async with db.pooled_driver_connection() as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT 1") == 1
        assert not connection.is_in_transaction()  # each statement commits on its own
        first = connection
    # Set aside for the next request, not leaked: one connection, reused.
    assert len(database.driver_idle()) == 1 and pool.checkedout() == out_before + 1
    with pytest.raises(ZeroDivisionError):
        async with db.pooled_driver_connection() as connection:
            assert connection is first
            await connection.fetchval("SELECT 1")
            raise ZeroDivisionError
    assert len(database.driver_idle()) == 1 and pool.checkedout() == out_before + 1
    # Interrupted mid-statement (a cancelled request): invalidated, never reused.
    with pytest.raises(asyncio.CancelledError):
        async with db.pooled_driver_connection() as connection:
            raise asyncio.CancelledError
    assert database.driver_idle() == [] and pool.checkedout() == out_before
    # After the pool's invalidation (a database restart detected), a connection set aside is not reused.
    async with db.pooled_driver_connection() as connection:
        second = connection
    pool._invalidate_time = time.time() + 1  # noqa: SLF001 - as `Pool._invalidate` sets it
    async with db.pooled_driver_connection() as connection:
        assert connection is not second and await connection.fetchval("SELECT 1") == 1
    pool._invalidate_time = 0  # noqa: SLF001
    # Set aside too long: back to the pool on its next release (its recycling applies).
    monkeypatch.setattr(db, "DRIVER_IDLE_SECONDS", 0.0)
    async with db.pooled_driver_connection() as connection:
        await connection.fetchval("SELECT 1")
    assert database.driver_idle() == [] and pool.checkedout() == out_before
    await database.release_driver_connections()
    assert pool.checkedout() == out_before


async def test_round_two_on_the_driver_path_counts_the_round_one_contribution(
    client, users, session, world: World, paths, monkeypatch  # noqa: ANN001
) -> None:
    from services.elections import service as elections
    from services.elections.models import Phase
    from tests.polling.conftest import AUTHORITY

    # Round 1 is taken to « proclaimed » by hand (see test_checkin.without_results_checks).
    monkeypatch.setattr(elections, "_transition_checks", [])
    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    ref = await _opened(session, world)
    assert (await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})).status_code == 201
    for phase, actor in ((Phase.POLLS_CLOSED, ORGANISER), (Phase.RESULTS_VALIDATED, ORGANISER), (Phase.PROCLAIMED, AUTHORITY)):
        await elections.change_phase(session, actor, world.round_1, phase)
    candidates = await elections.candidates_of(session, world.election.id)
    await elections.set_ballot(session, ORGANISER, world.round_2, [c.id for c in candidates[:2]])
    await elections.change_phase(session, ORGANISER, world.round_2, Phase.POLLS_OPEN)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_2)
    await session.commit()
    paths.clear()
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY, "contribution_cents": 0, "payment": "covered"})
    assert response.status_code == 201, response.text
    assert paths == ["driver"]
    answer = response.json()
    assert (answer["round_number"], answer["payment"], answer["counts"]["covered"]) == (2, "covered", 1)


async def test_shredding_makes_the_keys_held_by_the_process_unusable(client, users, session, world: World, paths, count_writes) -> None:  # noqa: ANN001
    """The process keeps the unwrapped keys and their AES-GCM object between check-ins: a
    shredding empties both, and the next check-in (driver path first) is refused, nothing recorded."""
    from polling import privacy
    from services.db import utcnow
    from tests.polling.test_checkin import find

    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    ref = await _opened(session, world)
    assert (await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})).status_code == 201
    assert privacy._unwrapped and privacy._cipher.cache_info().currsize == 1  # noqa: SLF001 - held by the process
    await privacy.shred_keys(session, ORGANISER, world.election, today=utcnow().date())
    await session.commit()
    assert not privacy._unwrapped and privacy._cipher.cache_info().currsize == 0  # noqa: SLF001
    other = await find(session, world, "martin", "jean")
    before, checkins = await count_writes(), await session.scalar(select(func.count()).select_from(Checkin))
    paths.clear()
    refused = await client.post("/api/v1/polling/checkins", json={"ref": other, **BODY})
    assert refused.status_code == 409 and refused.json()["code"] == "keys_shredded", refused.text
    assert "détruites" in refused.json()["message"]
    assert paths == ["driver", "route"]  # tried on the driver path, refused by the route
    assert await count_writes() == before
    assert await session.scalar(select(func.count()).select_from(Checkin)) == checkins


async def test_keys_shredded_by_another_process_are_not_used_from_this_ones_cache(client, users, session, world: World, paths, count_writes) -> None:  # noqa: ANN001
    """Another process shreds (this one's caches still hold the keys): the check-in reads the
    wrapped keys with its context at every request, finds them gone, and is refused."""
    from sqlalchemy import text

    from polling import privacy
    from tests.polling.test_checkin import find

    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    ref = await _opened(session, world)
    assert (await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})).status_code == 201
    await session.execute(
        text("UPDATE election_privacy_key SET token_secret_wrapped = NULL, display_key_wrapped = NULL WHERE election_id = :id"),
        {"id": world.election.id},
    )  # as `shred_keys` run by another process, whose caches are not this one's
    await session.commit()
    assert privacy._unwrapped and privacy._cipher.cache_info().currsize == 1  # noqa: SLF001 - still held here
    other = await find(session, world, "martin", "jean")
    checkins = await session.scalar(select(func.count()).select_from(Checkin))
    paths.clear()
    refused = await client.post("/api/v1/polling/checkins", json={"ref": other, **BODY})
    assert refused.status_code == 409 and refused.json()["code"] == "keys_shredded", refused.text
    assert paths == ["driver", "route"]
    assert await session.scalar(select(func.count()).select_from(Checkin)) == checkins


async def test_connections_set_aside_leave_the_sessions_their_whole_pool(database_url: str) -> None:
    """The hot paths keep up to `pool_size` connections set aside; the sessions (the regular
    routes, where a refused or unusual request is handed over) must still get `pool_size` plus
    its overflow, as before. Without the margin, a results-night burst handed over to the
    regular route stalled 30 s waiting for connections hidden in the set-aside list."""
    own = db.Database(database_url, pool_size=2)
    try:
        async def hold_driver(ready: asyncio.Event, gate: asyncio.Event) -> None:
            async with db.pooled_driver_connection(own) as connection:
                await connection.fetchval("SELECT 1")
                ready.set()
                await gate.wait()

        gate = asyncio.Event()
        readies = [asyncio.Event(), asyncio.Event()]
        holders = [asyncio.create_task(hold_driver(ready, gate)) for ready in readies]
        await asyncio.gather(*(ready.wait() for ready in readies))
        gate.set()
        await asyncio.gather(*holders)
        assert len(own.driver_idle()) == 2  # both set aside, still checked out of the pool

        opened = asyncio.Event()
        held: list[int] = []

        async def hold_session() -> None:
            async with own.sessionmaker() as session:
                held.append(await session.scalar(text("SELECT 1")))
                if len(held) == 4:
                    opened.set()
                await opened.wait()

        # Four sessions at once (pool_size + overflow), each holding its connection.
        await asyncio.wait_for(asyncio.gather(*(hold_session() for _ in range(4))), timeout=10)
        assert held == [1, 1, 1, 1]
    finally:
        await own.dispose()
