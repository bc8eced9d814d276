"""The tablet check-in's hot path stays short: a bounded number of statements per check-in
(200 per second at the national peak), with the same French refusals."""

from __future__ import annotations

from sqlalchemy import func, select

from polling import checkin, service
from polling.models import Checkin
from services.auth.roles import Role
from services.events import AuditEvent
from tests.polling.conftest import ORGANISER, World, recorded_rows, voter_refs
from tests.statements import counted_statements
from voter_registry.territory_cache import territory

BODY = {"contribution_cents": 200, "payment": "cash", "charter_signed": True}


async def test_an_api_check_in_costs_two_statements(client, users, session, world: World) -> None:  # noqa: ANN001
    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    first, second = await voter_refs(client, "dupont", "lefevre")
    await territory(session)  # loaded once per process (not the check-in's cost)
    checkin.forget_cached_contexts()
    async with counted_statements(session) as statements:
        response = await client.post("/api/v1/polling/checkins", json={"ref": first, **BODY})
    assert response.status_code == 201, response.text
    assert response.json()["station_code"] == world.bordeaux.code and response.json()["counts"]["tablet"] == 1
    # The station's first check-in in this process reads its context (station, rounds,
    # election, keys, bureaux) and keeps it: three statements.
    assert len(statements) == 3, statements
    assert statements[0].lstrip().startswith("SELECT web_session.")  # the session, read once and kept
    assert "context_epoch" in statements[1] and "FROM station" in statements[1]
    async with counted_statements(session) as statements:
        response = await client.post("/api/v1/polling/checkins", json={"ref": second, **BODY})
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["tablet"] == 2
    # Then ONE read (the voter and both epochs: the session and its tablet are cached too, see
    # test_checkin_session_cache.py) and ONE write (the check-in, its counters and its audit
    # event), and no transaction around them in production (a statement is atomic on its own).
    assert len(statements) == 2, statements
    assert statements[0].lstrip().startswith("SELECT voter.") and "web_session" not in statements[0]
    assert "session_epoch" in statements[0] and "context_epoch" in statements[0]
    assert "INSERT INTO audit_event" in statements[-1] and "INSERT INTO checkin" in statements[-1]
    assert await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "polling.checked_in")) == 2


async def test_a_tablet_of_an_unknown_station_is_refused_in_french(client, users, session, count_writes) -> None:  # noqa: ANN001
    await users.as_role(client, Role.TABLET, station="ZZ9999")
    await session.commit()
    before_writes = await count_writes()
    before = await session.scalar(select(func.count()).select_from(Checkin))
    response = await client.post("/api/v1/polling/checkins", json={"ref": "L-33-1", **BODY})
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_station" and "n'existe pas" in response.json()["message"]
    assert await session.scalar(select(func.count()).select_from(Checkin)) == before
    assert await count_writes() == before_writes


async def test_a_second_api_check_in_is_refused_and_records_nothing(client, users, session, world: World, count_writes) -> None:  # noqa: ANN001
    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    (ref,) = await voter_refs(client, "dupont")
    assert (await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})).status_code == 201
    events_before = await session.scalar(select(func.count()).select_from(AuditEvent))
    recorded = await recorded_rows(session)
    again = await client.post("/api/v1/polling/checkins", json={"ref": ref, **BODY})
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    assert again.json()["message"].startswith("Déjà émargé pour le tour 1 : dans ce bureau")
    # The fast path's write failed as a whole on the unique index (its tuples touched then
    # undone count in `count_writes`): what is recorded is unchanged.
    assert await recorded_rows(session) == recorded
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 1
