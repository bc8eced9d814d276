"""Fixtures of the polling tests: an election with rounds and candidates, bureaux in the
registry (through the real importer), stations created by the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service
from polling.models import Station, StaffRole
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election, Phase, Round
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import Actor
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
