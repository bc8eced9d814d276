"""The tablet check-in's hot path reads and answers exactly what the general code does: the
voter re-read on the driver connection is the registry's record, and the API answer has the
shape of `CheckinOut`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from polling import checkin, service
from polling.schemas import CheckinOut
from services.auth.roles import Role
from services.db import driver_connection, driver_sql
from tests.polling.conftest import ORGANISER, World, file_name, recorded_rows, reu_file, reu_line
from voter_registry import service as registry
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import Voter
from voter_registry.schemas import SupplementaryCreate


async def test_the_voter_re_read_is_the_registrys(session, world: World) -> None:  # noqa: ANN001
    member = await registry.register_supplementary(
        session, ORGANISER, world.election,
        SupplementaryCreate(kind="member", category="minor", birth_name="Lefèvre-Nguyen", given_names="Zoé Anh", sex="F",
                            birth_date="15/03/2010", birth_commune_code="33063", birth_commune="Bordeaux",
                            birth_department_code="33", commune_code="33063", bureau_code="0001", party="Jeunes"),
        today=world.election.supplementary_deadline - timedelta(days=1),
    )  # fmt: skip
    await session.flush()
    listed = (await client_free_search(session, world))
    refs = [listed, f"S-33-{member.id}", f"s-33-{member.id} ", "L-33-999999999", "S-33-999999999", "X-33-1", "L-33-", ""]
    for ref in refs:
        assert await checkin.read_voter(session, ref) == await registry.get_voter(session, ref), ref
        found = await checkin.station_checkin_context(session, world.bordeaux.code, ref)
        assert found is not None and found[2].voter == await registry.get_voter(session, ref), ref
        assert found[2].voter_ref == (ref if ref.strip()[:1].upper() in "LS" and ref.strip()[-1:].isdigit() else None), ref
    assert (await checkin.read_voter(session, listed)) is not None
    assert (await checkin.read_voter(session, f"S-33-{member.id}")).party == "Jeunes"


async def client_free_search(session, world: World) -> str:  # noqa: ANN001
    from voter_registry.search import SearchScope, VoterQuery

    results = await registry.search_voters(
        session, ORGANISER, VoterQuery(name="dupont"), SearchScope(department="33", national=False), election=world.election
    )
    return results.hits[0].voter.ref


async def test_the_api_answer_has_the_shape_of_checkin_out(client, users, session, world: World) -> None:  # noqa: ANN001
    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    ref = await client_free_search(session, world)
    response = await client.post(
        "/api/v1/polling/checkins", json={"ref": ref, "contribution_cents": 350, "payment": "cheque", "charter_signed": True}
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    parsed = CheckinOut.model_validate(answer)
    assert set(answer) == set(CheckinOut.model_fields) and set(answer["counts"]) == set(type(parsed.counts).model_fields)
    assert (parsed.station_code, parsed.round_number, parsed.contribution_cents, parsed.payment, parsed.channel) == (
        world.bordeaux.code, 1, 350, "cheque", "tablet",
    )
    assert parsed.counts.model_dump() == {
        "tablet": 1, "paper": 0, "total": 1, "contributions_cents": 350, "cash_cents": 0, "cheque_cents": 350, "covered": 0,
    }
    assert parsed.checked_in_at.tzinfo is not None


async def test_the_fast_path_answers_success_and_hands_refusals_to_the_route(
    client, users, session, world: World, monkeypatch, count_writes  # noqa: ANN001
) -> None:
    """`services.app.FastPaths` answers a check-in on a bare driver connection, without
    FastAPI's machinery nor a session; a refusal writes nothing there and is answered by the
    regular route, in French, with nothing recorded."""
    from polling import api

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
    await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    ref = await client_free_search(session, world)
    body = {"ref": ref, "contribution_cents": 200, "payment": "cash", "charter_signed": True}
    assert (await client.post("/api/v1/polling/checkins", json=body)).status_code == 201
    assert calls == ["driver"]  # answered by the fast path alone

    calls.clear()
    recorded = await recorded_rows(session)
    again = await client.post("/api/v1/polling/checkins", json=body)
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    assert again.json()["message"].startswith("Déjà émargé pour le tour 1 : dans ce bureau")
    assert calls == ["driver", "route"]  # tried, nothing written (the statement failed as a whole), answered by the route
    assert await recorded_rows(session) == recorded
    writes = await count_writes()

    calls.clear()
    invalid = await client.post("/api/v1/polling/checkins", json={**body, "contribution_cents": "beaucoup"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "invalid_input"
    assert invalid.headers["x-content-type-options"] == "nosniff"  # the security headers, whichever path
    assert calls == []
    assert await count_writes() == writes


async def test_the_voter_re_read_reads_one_bureau_before_any_statistics(session, world: World) -> None:  # noqa: ANN001
    """The re-read (each check-in's first statement) reaches its bureau's label by the whole key,
    even when the lists were just loaded and PostgreSQL has no statistics on them yet: a join
    let it look the label up by the department alone and filter the department's bureaux one
    by one (314 for Gironde: twice the CPU of the whole read)."""
    lines = [
        reu_line(commune="2A004", commune_name="AJACCIO", bureau=f"{number:04d}", bureau_label=f"Bureau {number}",
                 canton="Ajaccio-1", order=number, birth_date=f"{1 + number % 28:02d}/{1 + number % 12:02d}/{1950 + number % 40}")
        for number in range(1, 301)  # 300 people (another birth date each), one per bureau
    ]  # fmt: skip
    await import_commune_file(session, ORGANISER, world.election, bytes_file(file_name("2A004"), reu_file(lines)))
    await session.flush()
    voter_id = await session.scalar(select(Voter.id).where(Voter.department_code == "2A", Voter.bureau_code == "0150"))
    statement = driver_sql(registry._voter_statement("L"))  # noqa: SLF001 - the statement the check-in sends
    connection = await driver_connection(session)
    plan = await connection.fetchval(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement.sql, *statement.arguments({"department": "2A", "row_id": voter_id})
    )

    def nodes(node: dict):  # noqa: ANN202
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    tree = plan[0]["Plan"]  # the driver connection decodes json (`services.db`'s codecs)
    bureau_scans = [node for node in nodes(tree) if node.get("Relation Name") == "registry_bureau"]
    assert len(bureau_scans) == 1
    assert bureau_scans[0]["Actual Rows"] == 1
    assert not any(node.get("Rows Removed by Join Filter") for node in nodes(tree))
    assert (await registry.get_voter(session, f"L-2A-{voter_id}")).bureau_label == "Bureau 150"
