"""Fixtures of the polling tests: an election with rounds and candidates, bureaux in the
registry (through the real importer), stations created by the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polling import checkin, service
from polling.models import Station, StaffRole, StationState
from services import db
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election, Phase, Round
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import AUDIT_COLUMNS, Actor, audit_row
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.reu import COLUMNS

ORGANISER = Actor(id="system:test", role="organiser")
AUTHORITY = Actor(id="system:test", role="authority")
HEADER = ";".join(COLUMNS)
PRESIDENT_PHONE = "+33612345678"


def reu_line(
    *,
    commune: str = "33063",
    commune_name: str = "BORDEAUX",
    birth_name: str = "MARTIN",
    given_names: str = "Jean Pierre",
    birth_date: str = "12/04/1953",
    bureau: str = "0001",
    bureau_label: str = "École Jules Ferry",
    canton: str = "Bordeaux-1",
    sex: str = "M",
    order: int = 1,
) -> str:
    fields = [
        commune, commune_name, "Liste principale", birth_name, "", given_names, sex, birth_date,
        "33063", "Bordeaux", "33", "FRANCE", "Française", "12", "rue Victor Hugo", "", "", "", "33000",
        commune_name, "FRANCE", bureau, bureau_label, "3302", canton, "", str(order),
    ]  # fmt: skip
    return ";".join(fields)


def reu_file(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


def file_name(commune: str) -> str:
    return f"ListesElecteursActifs-com{commune}-01-09-2026-10h00.csv"


async def make_election(session: AsyncSession, *, covers_both_rounds: bool = True, day_offset: int = 0) -> Election:
    today = date.today() + timedelta(days=day_offset)
    election = await elections.create_election(
        session,
        ORGANISER,
        ElectionCreate(
            slug=f"test-{uuid.uuid4().hex[:8]}",
            name="Primaire de test",
            contribution_min_cents=200,
            contribution_covers_both_rounds=covers_both_rounds,
            list_extraction_date=today - timedelta(days=60),
            majority_date=today,
            supplementary_deadline=today - timedelta(days=30),
            rounds=[RoundSpec(number=1, polling_date=today), RoundSpec(number=2, polling_date=today + timedelta(days=7))],
        ),
    )
    candidates = []
    for given, family in (("Camille", "Laurent"), ("Mathieu", "Garnier")):
        candidate = await elections.add_candidate(
            session, ORGANISER, election, CandidateCreate(given_name=given, family_name=family, party="P")
        )
        await elections.set_candidate_status(session, AUTHORITY, candidate, CandidateStatus.VALIDATED)
        candidates.append(candidate)
    round_1 = await elections.round_by_number(session, election.id, 1)
    await elections.set_ballot(session, ORGANISER, round_1, [c.id for c in candidates])
    return election


async def open_polls(session: AsyncSession, round_: Round) -> None:
    await elections.change_phase(session, ORGANISER, round_, Phase.POLLS_OPEN)


@dataclass
class World:
    election: Election
    round_1: Round
    round_2: Round
    bordeaux: Station  # bureaux 0001 and 0002 of Bordeaux
    merignac: Station  # bureau 0001 of Mérignac
    bordeaux_pin: str
    merignac_pin: str


async def load_lists(session: AsyncSession, election: Election) -> None:
    bordeaux = [
        reu_line(),
        reu_line(birth_name="DUPONT", given_names="Marie", sex="F", bureau="0002", bureau_label="Mairie", order=2),
        reu_line(birth_name="DURAND", given_names="Léa", birth_date="01/12/2015", sex="F", order=3),
        reu_line(birth_name="LEFEVRE", given_names="Paul", birth_date="03/03/1980", order=4),
    ]
    merignac = [reu_line(commune="33281", commune_name="MERIGNAC", birth_name="MARTIN", given_names="Jeanne", sex="F", birth_date="05/05/1970", canton="Mérignac-1")]
    for commune, lines in (("33063", bordeaux), ("33281", merignac)):
        await import_commune_file(session, ORGANISER, election, bytes_file(file_name(commune), reu_file(lines)))


async def build_world(
    session: AsyncSession, *, covers_both_rounds: bool = True, open_round: bool = True, day_offset: int = 0
) -> World:
    election = await make_election(session, covers_both_rounds=covers_both_rounds, day_offset=day_offset)
    await load_lists(session, election)
    round_1 = await elections.round_by_number(session, election.id, 1)
    round_2 = await elections.round_by_number(session, election.id, 2)
    bordeaux, merignac = await service.create_stations(
        session,
        ORGANISER,
        election,
        [
            service.StationSpec("33", "3303", "33063", "33-001", "Bordeaux — école Jules Ferry",
                                [("33063", "0001", 3), ("33063", "0002", 1)], address="12 rue Victor Hugo, Bordeaux"),
            service.StationSpec("33", "3311", "33281", "33-002", "Mérignac", [("33281", "0001", 1)], address="Place de la mairie"),
        ],
    )  # fmt: skip
    pins = []
    for station, phone in ((bordeaux, PRESIDENT_PHONE), (merignac, "+33698765432")):
        await service.add_staff(session, ORGANISER, station, role=StaffRole.PRESIDENT, name="Présidente Test", phone=phone)
        pins.append(await service.issue_pin(session, ORGANISER, station))
        await service.mark_ready(session, ORGANISER, station)
    if open_round:
        await open_polls(session, round_1)
    return World(election, round_1, round_2, bordeaux, merignac, pins[0], pins[1])


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


# --- A database of its own, for real commits (concurrency, browser) ------------------------------
# The registry holds ONE copy of the lists, bound to one election: tests that commit lists and
# stations must not do so in the shared test database, where every other test binds its own.

POLLING_DATABASE = "primaires_test_polling"


def votant_name(index: int) -> str:
    """VOTANTAA, VOTANTAB…: letters only (a word with digits would be read as a birth date)."""
    high, low = divmod(index, 26)
    return f"VOTANT{chr(65 + high)}{chr(65 + low)}"


@dataclass
class CommittedWorld:
    owner_url: str
    app_url: str
    database: object  # services.db.Database
    election_id: int
    round_id: int
    bordeaux_code: str
    merignac_code: str
    twice_listed: tuple[str, str]  # the same person's refs in Bordeaux and in Mérignac


@pytest.fixture(scope="session")
def polling_database_urls(owner_database_url: str, database_url: str) -> tuple[str, str]:
    import asyncio

    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine

    from services import db
    from services.migrations import runner
    from services.territory.service import load_territory
    from tests.audit.conftest import plain, with_database

    async def create() -> None:
        connection = await asyncpg.connect(plain(owner_database_url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{POLLING_DATABASE}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{POLLING_DATABASE}"')
        finally:
            await connection.close()

    asyncio.run(create())
    owner = with_database(owner_database_url, POLLING_DATABASE)
    runner.upgrade(owner)

    async def territory() -> None:
        engine = create_async_engine(db.to_async_url(owner))
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await load_territory(session)
            await session.commit()
        await engine.dispose()

    asyncio.run(territory())
    return owner, with_database(database_url, POLLING_DATABASE)


@pytest.fixture(scope="session")
async def committed_world(polling_database_urls: tuple[str, str]) -> CommittedWorld:
    """An election with lists, two open stations in round 1 (committed), and a person listed
    in two communes (the real-life double registration a nationwide check must catch)."""
    from services import db

    owner, app = polling_database_urls
    database = db.Database(app, pool_size=12)
    async with database.sessionmaker() as session:
        election = await make_election(session)
        doublon = {"birth_name": "DOUBLON", "given_names": "Camille", "sex": "F", "birth_date": "07/07/1977"}
        merignac_lines = [
            reu_line(commune="33281", commune_name="MERIGNAC", canton="Mérignac-1", order=9, **doublon),
            reu_line(commune="33281", commune_name="MERIGNAC", birth_name="MARTIN", given_names="Jeanne", sex="F",
                     birth_date="05/05/1970", canton="Mérignac-1"),
        ]  # fmt: skip
        bordeaux_lines = [
            reu_line(), reu_line(birth_name="DUPONT", given_names="Marie", sex="F", bureau="0002", bureau_label="Mairie", order=2),
            reu_line(birth_name="DURAND", given_names="Léa", birth_date="01/12/2015", sex="F", order=3),
            reu_line(birth_name="LEFEVRE", given_names="Paul", birth_date="03/03/1980", order=4),
            reu_line(order=5, **doublon),
        ] + [reu_line(birth_name=votant_name(i), given_names="Alex", birth_date="01/01/1960", order=10 + i) for i in range(300)]
        for commune, lines in (("33063", bordeaux_lines), ("33281", merignac_lines)):
            await import_commune_file(session, ORGANISER, election, bytes_file(file_name(commune), reu_file(lines)))
        round_1 = await elections.round_by_number(session, election.id, 1)
        bordeaux, merignac = await service.create_stations(
            session, ORGANISER, election,
            [service.StationSpec("33", "3303", "33063", "33-001", "Bordeaux — école Jules Ferry", [("33063", "0001", 304), ("33063", "0002", 1)]),
             service.StationSpec("33", "3311", "33281", "33-002", "Mérignac", [("33281", "0001", 2)])],
        )  # fmt: skip
        for station, phone in ((bordeaux, PRESIDENT_PHONE), (merignac, "+33698765432")):
            await service.add_staff(session, ORGANISER, station, role=StaffRole.PRESIDENT, name="Présidente", phone=phone)
            await service.issue_pin(session, ORGANISER, station)
            await service.mark_ready(session, ORGANISER, station)
        await open_polls(session, round_1)
        for station in (bordeaux, merignac):
            await service.open_station(session, ORGANISER, station, round_1)
        from voter_registry import service as registry
        from voter_registry.search import SearchScope, VoterQuery

        found = await registry.search_voters(
            session, ORGANISER, VoterQuery(name="doublon"), SearchScope(department="33"), election=election, limit=5
        )
        refs = {hit.voter.commune_code: hit.voter.ref for hit in found.hits}
        world = CommittedWorld(owner, app, database, election.id, round_1.id, bordeaux.code, merignac.code, (refs["33063"], refs["33281"]))
        await session.commit()
    yield world
    await database.dispose()


async def voter_refs(client, *names: str) -> list[str]:  # noqa: ANN001
    """The registry reference of the first voter the tablet's search finds for each name."""
    return [(await client.get("/api/v1/registry/search", params={"nom": name})).json()["results"][0]["ref"] for name in names]


async def first_tablet_checkin(client, users, session: AsyncSession, world: World):  # noqa: ANN001, ANN201
    """A tablet of the open Bordeaux station checks Dupont in (through the API, with the
    process's caches emptied first, so the check-in fills them); returns the tablet's principal
    and the reference of Lefèvre, not yet checked in."""
    from services.auth.roles import Role
    from voter_registry.territory_cache import territory

    principal = await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    dupont, lefevre = await voter_refs(client, "dupont", "lefevre")
    await territory(session)
    checkin.forget_cached_contexts()
    body = {"ref": dupont, "contribution_cents": 200, "payment": "cash", "charter_signed": True}
    assert (await client.post("/api/v1/polling/checkins", json=body)).status_code == 201
    return principal, lefevre


def bordeaux_checkin_write(world: World, *, epoch: int | None):  # noqa: ANN201 - the statement and its values
    """The check-in's one write statement, bound as the hot path binds it for a tablet check-in
    at Bordeaux in round 1 (cash, 2 €), with its audit row; `epoch` None is the regular route's
    statement (`_insert_count_and_log_sql`), an epoch the driver fast path's (`_count_insert_and_log_sql`)."""
    now = db.utcnow()
    actor = Actor(id="tablet:1", role="tablet", scope=world.bordeaux.code)
    event = audit_row("polling.checked_in", actor, {"round_id": world.round_1.id}, {"contribution_cents": 200}, now)
    values = {
        "p_department_code": "33", "p_round_id": world.round_1.id, "p_token": b"t" * 32, "p_station_id": world.bordeaux.id,
        "p_checked_in_at": now, "p_recorded_at": now, "p_contribution_cents": 200, "p_payment": "cash",
        "p_channel": "tablet", "p_display": b"x", "p_cash_cents": 200, "p_cheque_cents": 0, "p_covered": 0,
        "p_states": [StationState.OPEN.value], "p_epoch": epoch,
        **{f"e_{name}": value for name, value in zip(AUDIT_COLUMNS, event, strict=True)},
    }
    if epoch is None:
        return checkin._insert_count_and_log_sql(False), values  # noqa: SLF001
    return checkin._count_insert_and_log_sql(False), values  # noqa: SLF001


async def recorded_rows(session: AsyncSession) -> tuple:
    """What a check-in records, as committed state: the check-ins, the audit events and every
    station's counters. `count_writes` counts the tuples a transaction touched, those of a
    statement that failed as a whole included (the driver fast path's write on a second
    check-in: its counters' update then the unique index refusing the insert); this counts
    what is left."""
    from sqlalchemy import text

    return tuple(
        (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM checkin), (SELECT count(*) FROM audit_event), "
                    "(SELECT array_agg((round_id, station_id, checkins_tablet, checkins_paper, contributions_cents, cash_cents, "
                    "cheque_cents, covered, updated_at)::text ORDER BY round_id, station_id) FROM station_round)"
                )
            )
        ).one()
    )
