"""One participation per round, nationwide, under real concurrency: separate connections,
real commits, in a database of their own (`committed_world`)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from polling import checkin, service
from polling.checkin import CheckinRequest
from polling.models import Checkin, Payment
from services.elections import service as elections
from services.errors import AppError
from tests.polling.conftest import ORGANISER, CommittedWorld


def request(ref: str) -> CheckinRequest:
    return CheckinRequest(voter_ref=ref, contribution_cents=200, payment=Payment.CASH, charter_signed=True)


async def _load(session, world: CommittedWorld, code: str):  # noqa: ANN001, ANN202
    return await service.station_by_code(session, code), await elections.get_round(session, world.round_id)


async def _count(world: CommittedWorld) -> int:
    async with world.database.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Checkin).where(Checkin.round_id == world.round_id)
            )
        )


async def test_two_stations_same_voter_same_instant_exactly_one_wins(committed_world: CommittedWorld) -> None:
    world = committed_world
    bordeaux_ref, merignac_ref = world.twice_listed
    first = world.database.sessionmaker()
    second = world.database.sessionmaker()
    try:
        station_a, round_a = await _load(first, world, world.bordeaux_code)
        station_b, round_b = await _load(second, world, world.merignac_code)
        before = await _count(world)
        # A checks in (its transaction still open); B tries the same person from Mérignac.
        result = await checkin.check_in(first, ORGANISER, station_a, round_a, request(bordeaux_ref))
        second_pid = await second.scalar(text("SELECT pg_backend_pid()"))
        racer = asyncio.create_task(checkin.check_in(second, ORGANISER, station_b, round_b, request(merignac_ref)))
        # B's insert must be blocked by A's uncommitted row in the unique index: same instant, really.
        for _ in range(200):
            async with world.database.sessionmaker() as observer:
                waiting = await observer.scalar(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": second_pid}
                )
            if waiting == "Lock":
                break
            await asyncio.sleep(0.02)
        assert waiting == "Lock", "the second check-in should wait on the first one's row"
        assert not racer.done()
        await first.commit()
        try:
            await racer
            raise AssertionError("the second check-in must be refused")
        except AppError as refusal:
            assert refusal.code == "already_checked_in"
            assert f"au bureau {world.bordeaux_code}" in refusal.message and "Un seul vote par tour" in refusal.message
        await second.rollback()
        assert await _count(world) == before + 1
        assert result.counts.total >= 1
    finally:
        await first.close()
        await second.close()


async def test_a_stampede_of_tablets_records_one_check_in(committed_world: CommittedWorld) -> None:
    """Eight connections (tablets of both stations) check the same person in at once."""
    world = committed_world
    sessions = [world.database.sessionmaker() for _ in range(8)]
    try:
        await _load(sessions[0], world, world.bordeaux_code)
        from voter_registry import service as registry
        from voter_registry.search import SearchScope, VoterQuery

        election = await elections.get_election(sessions[0], world.election_id)
        found = await registry.search_voters(sessions[0], ORGANISER, VoterQuery(name="lefevre"), SearchScope(department="33"), election=election)
        ref = found.hits[0].voter.ref
        await sessions[0].commit()
        gate = asyncio.Event()

        async def attempt(session) -> str:  # noqa: ANN001
            station_, round__ = await _load(session, world, world.bordeaux_code)
            await gate.wait()
            try:
                await checkin.check_in(session, ORGANISER, station_, round__, request(ref))
                await session.commit()
                return "won"
            except AppError as refusal:
                await session.rollback()
                return refusal.code

        tasks = [asyncio.create_task(attempt(session)) for session in sessions]
        await asyncio.sleep(0.2)
        gate.set()
        outcomes = await asyncio.gather(*tasks)
        assert outcomes.count("won") == 1, outcomes
        assert set(outcomes) - {"won"} <= {"already_checked_in", "concurrent_checkin"}
        async with world.database.sessionmaker() as session:
            # A fresh session: the racers' sessions that lost were rolled back (their objects expired).
            fresh_station, fresh_round = await _load(session, world, world.bordeaux_code)
            counts = await service.station_counts(session, fresh_station, fresh_round)
            rows = await session.scalar(
                select(func.count()).select_from(Checkin).where(Checkin.round_id == world.round_id, Checkin.station_id == fresh_station.id)
            )
        assert counts.total == rows  # the counters are exactly the rows, whatever the interleaving
    finally:
        for session in sessions:
            await session.close()


async def test_a_stampede_on_the_driver_path_records_one_check_in(committed_world: CommittedWorld) -> None:
    """The tablets' driver fast path, as in production: pooled connections, NO transaction
    around the one write (a single statement is atomic on its own). Eight tablets of both
    stations check the same person in at once: one check-in, its counters and its event."""
    from starlette.requests import Request

    from polling import api
    from polling.models import StationRound
    from services import db
    from services.auth import service as auth_service
    from services.events import AuditEvent
    from tests.conftest import CSRF_COOKIE_VALUE, TEST_ACTOR, csrf_token
    from voter_registry import service as registry
    from voter_registry.search import SearchScope, VoterQuery
    from voter_registry.territory_cache import territory

    world = committed_world
    async with world.database.sessionmaker() as session:
        election = await elections.get_election(session, world.election_id)
        found = await registry.search_voters(session, ORGANISER, VoterQuery(name="votantkm"), SearchScope(department="33"), election=election)
        ref = found.hits[0].voter.ref
        tokens = []
        for index in range(8):
            _pairing, code = await auth_service.issue_pairing_code(session, TEST_ACTOR, world.bordeaux_code)
            _tablet, token = await auth_service.pair_tablet(session, code, f"Tablette ruée {index}", "198.51.100.9")
            tokens.append(token)
        await session.commit()
        places = await territory(session)

    def tablet_request(token: str) -> Request:
        cookie = f"primaires_session={token}; primaires_csrf={CSRF_COOKIE_VALUE}"
        headers = [(b"cookie", cookie.encode()), (b"x-csrf-token", csrf_token(token).encode())]
        return Request({"type": "http", "method": "POST", "path": "/api/v1/polling/checkins", "headers": headers, "query_string": b""})

    gate = asyncio.Event()

    async def attempt(token: str) -> str:
        async with db.pooled_driver_connection(world.database) as connection:
            assert not connection.is_in_transaction()
            await gate.wait()
            try:
                await checkin.check_in_on_driver(connection, tablet_request(token), api._STATION_STAFF_RULE.authorize, request(ref), places)  # noqa: SLF001
            except checkin.HandOver:
                return "handed over"
            return "won"

    tasks = [asyncio.create_task(attempt(token)) for token in tokens]
    await asyncio.sleep(0.2)
    gate.set()
    outcomes = await asyncio.gather(*tasks)
    assert sorted(outcomes) == ["handed over"] * 7 + ["won"], outcomes
    async with world.database.sessionmaker() as session:
        station = await service.station_by_code(session, world.bordeaux_code)
        rows = await session.scalar(
            select(func.count()).select_from(Checkin).where(Checkin.round_id == world.round_id, Checkin.station_id == station.id)
        )
        counted = await session.scalar(
            select(StationRound.checkins_tablet + StationRound.checkins_paper).where(
                StationRound.round_id == world.round_id, StationRound.station_id == station.id
            )
        )
        logged = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(
                AuditEvent.kind == "polling.checked_in", AuditEvent.subjects["station_code"].astext == world.bordeaux_code
            )
        )
    assert rows == counted == logged  # whatever the interleaving, with the other tests' check-ins
