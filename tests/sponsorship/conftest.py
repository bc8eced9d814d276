"""A small election and a hand-made roster, imported through the real importers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.elections import service as elections
from services.elections.models import Candidate, Election
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import Actor, AuditEvent
from services.sponsorship import service, synthetic
from services.sponsorship.models import Official
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import Category
from services.sponsorship.synthetic import SyntheticOfficial

ORGANISER = Actor(id="account:1", role="organiser")
AUTHORITY = Actor(id="account:2", role="authority")
DEADLINE = date(2011, 7, 13)
TODAY = date(2011, 7, 20)


def person(family: str, given: str, year: int, department: str | None, **facts: object) -> SyntheticOfficial:
    return SyntheticOfficial(family_name=family, given_name=given, sex="F", birth_date=date(year, 3, 14), department_code=department, **facts)  # type: ignore[arg-type]


def mayor(family: str, commune: str, department: str, name: str, population: int, year: int = 1961) -> SyntheticOfficial:
    return person(family, "Maire", year, department, commune_code=commune, commune_name=name, population=population)


DEPUTIES = [
    person("DEPUTE-A", "Anne", 1960, "75", constituency="7501"),
    person("DEPUTE-B", "Bruno", 1961, "33", constituency="3301"),
    person("DEPUTE-C", "Chloé", 1962, "13", constituency="1301"),
    person("DEPUTE-D", "Denis", 1963, "59", constituency="5901"),  # not in the party's file
]
MAYORS = [
    mayor("MAIRE-BORDEAUX", "33063", "33", "Bordeaux", 267991),
    mayor("MAIRE-LILLE", "59350", "59", "Lille", 238246),
    mayor("MAIRE-MARSEILLE", "13055", "13", "Marseille", 886040),
    mayor("MAIRE-PARIS", "75056", "75", "Paris", 2103778),
    mayor("MAIRE-PETIT", "01001", "01", "L'Abergement-Clémenciat", 860),
    mayor("MAIRE-LYON", "69123", "69", "Lyon", 519127),  # not in the party's file
]
DEPARTMENTAL = [
    person("CONSEILLER-A", "Camille", 1970, "33", canton_code="3301"),
    # The mayor of Bordeaux also sits on the departmental council: one person, two mandates.
    person("MAIRE-BORDEAUX", "Maire", 1961, "33", canton_code="3302"),
]
NATIONAL_COUNCIL = [
    person("CN-UN", "Ulysse", 1950, "75"),
    person("CN-DEUX", "Dora", 1951, "33"),
    person("DEPUTE-A", "Anne", 1960, "75"),  # a deputy who also sits on the national council
]


def party(*officials: SyntheticOfficial) -> list[SyntheticOfficial]:
    for number, official in enumerate(officials, start=1000):
        official.member_number = str(number)
    return list(officials)


@dataclass
class Roster:
    election: Election
    candidates: list[Candidate]
    officials: dict[str, Official]

    def __post_init__(self) -> None:
        # Plain ids survive a refused request's rollback (which expires the ORM objects).
        self.official_ids = {name: official.id for name, official in self.officials.items()}
        self.candidate_ids = [candidate.id for candidate in self.candidates]
        self.election_id = self.election.id

    def id(self, family_name: str) -> int:
        return self.official_ids[family_name]


async def make_election(session: AsyncSession, slug: str = "primaire-test-2011") -> tuple[Election, list[Candidate]]:
    election = await elections.create_election(
        session,
        ORGANISER,
        ElectionCreate(
            slug=slug,
            name="Primaire de test",
            rounds=[RoundSpec(number=1, polling_date=date(2011, 10, 9)), RoundSpec(number=2, polling_date=date(2011, 10, 16))],
        ),
    )
    candidates = [
        await elections.add_candidate(session, ORGANISER, election, CandidateCreate(given_name=given, family_name=family))
        for given, family in (("Martine", "Alpha"), ("François", "Bravo"), ("Ségolène", "Charlie"))
    ]
    return election, candidates


async def import_small_roster(session: AsyncSession, election: Election) -> None:
    territory = synthetic.load_territory_files()
    for kind, officials in ((RneKind.DEPUTIES, DEPUTIES), (RneKind.MAYORS, MAYORS), (RneKind.DEPARTMENTAL, DEPARTMENTAL)):
        data = synthetic.rne_file_bytes(officials, kind, territory=territory, release="2023-06")
        await service.import_rne(session, ORGANISER, election, data, f"{kind.value}.csv")
    files = {
        Category.PARLIAMENTARIAN: party(*DEPUTIES[:3]),
        Category.MAYOR: party(*MAYORS[:5]),
        Category.DEPARTMENTAL_COUNCILLOR: party(*DEPARTMENTAL),
        Category.NATIONAL_COUNCIL: party(*NATIONAL_COUNCIL),
    }
    for category, officials in files.items():
        await service.import_party_file(session, ORGANISER, election, category, synthetic.party_file_bytes(officials, category), f"{category.value}.csv")


@pytest.fixture
async def roster(session: AsyncSession) -> Roster:
    election, candidates = await make_election(session)
    await service.configure(session, ORGANISER, election, preset="primaire-2011", deadline=DEADLINE)
    await import_small_roster(session, election)
    officials = {o.family_name: o for o in await session.scalars(select(Official).where(Official.election_id == election.id))}
    # Release the test's savepoint: a refused request rolls back its own work, not the fixture's.
    await session.commit()
    return Roster(election, candidates, officials)


async def events_of(session: AsyncSession, kind: str) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == kind)) or 0


def scan(text: str = "formulaire") -> bytes:
    return synthetic.minimal_pdf(text)
