"""Fixtures of the results-night tests: an election whose round 1 is open, with stations in
three departments (one of them voting the day before), their staff, PINs, and helpers to
send SMS and seal the transparency log inside the test's transaction."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, time, timedelta

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from audit import keys, sequencer
from polling import service as polling
from polling.models import Station, StaffRole
from results import service as results
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election, Phase, Round
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import Actor
from services.telephony.testing import TwilioSimulator

ORGANISER = Actor(id="system:test-results", role="organiser")
AUTHORITY = Actor(id="system:test-results", role="authority")
CANDIDATES = (("Camille", "Laurent"), ("Mathieu", "Garnier"), ("Nadia", "Benali"))


@dataclass
class Night:
    """An election on results night: round 1 open, stations open, staff and PINs known."""

    election: Election
    round_1: Round
    round_2: Round
    stations: list[Station]
    pins: dict[str, str]  # station code → PIN
    presidents: dict[str, str]  # station code → president's phone (E.164)
    assessors: dict[str, str] = field(default_factory=dict)

    @property
    def bordeaux(self) -> Station:
        return self.stations[0]

    @property
    def merignac(self) -> Station:
        return self.stations[1]

    @property
    def paris(self) -> Station:
        return self.stations[2]

    @property
    def guadeloupe(self) -> Station:
        return self.stations[3]

    def sms(self, station: Station, figures: str, *, round_number: int = 1) -> str:
        return f"T{round_number} {station.code} {self.pins[station.code]} {figures}"


STATION_SPECS = (
    ("33", "3303", "33063", "Bordeaux — école Jules Ferry", 900),
    ("33", "3311", "33281", "Mérignac — mairie", 700),
    ("75", "7501", "75101", "Paris 1er — mairie", 1200),
    ("971", "97101", "97101", "Les Abymes — école", 400),
)


async def build_night(
    session: AsyncSession, *, polling_date: date | None = None, open_round: bool = True, candidates: int = 3
) -> Night:
    polling_date = polling_date or date.today() - timedelta(days=2)
    election = await elections.create_election(
        session,
        ORGANISER,
        ElectionCreate(
            slug=f"resultats-{uuid.uuid4().hex[:8]}",
            name="Primaire de test des résultats",
            contribution_min_cents=100,
            contribution_covers_both_rounds=True,
            list_extraction_date=polling_date - timedelta(days=60),
            majority_date=polling_date,
            supplementary_deadline=polling_date - timedelta(days=30),
            rounds=[
                RoundSpec(number=1, polling_date=polling_date, early_departments=["971"]),
                RoundSpec(number=2, polling_date=polling_date + timedelta(days=7), early_departments=["971"]),
            ],
        ),
    )
    ids = []
    for given, family in CANDIDATES[:candidates]:
        candidate = await elections.add_candidate(
            session, ORGANISER, election, CandidateCreate(given_name=given, family_name=family, party="P")
        )
        await elections.set_candidate_status(session, AUTHORITY, candidate, CandidateStatus.VALIDATED)
        ids.append(candidate.id)
    round_1 = await elections.round_by_number(session, election.id, 1)
    round_2 = await elections.round_by_number(session, election.id, 2)
    await elections.set_ballot(session, ORGANISER, round_1, ids)
    suffix = uuid.uuid4().hex[:4]
    stations = await polling.create_stations(
        session,
        ORGANISER,
        election,
        [
            polling.StationSpec(dep, canton, commune, f"{dep}-{suffix}{n}", name, [(commune, f"{suffix}{n}", registered)])
            for n, (dep, canton, commune, name, registered) in enumerate(STATION_SPECS)
        ],
    )
    pins, presidents = {}, {}
    for number, station in enumerate(stations):
        phone = f"+3361234{number:04d}"
        await polling.add_staff(session, ORGANISER, station, role=StaffRole.PRESIDENT, name=f"Présidence {number}", phone=phone)
        pins[station.code] = await polling.issue_pin(session, ORGANISER, station)
        presidents[station.code] = phone
        await polling.mark_ready(session, ORGANISER, station)
    night = Night(election, round_1, round_2, stations, pins, presidents)
    assessor_phone = "+33698000001"
    await polling.add_staff(session, ORGANISER, stations[0], role=StaffRole.ASSESSOR, name="Assesseur Bordeaux", phone=assessor_phone)
    night.assessors[stations[0].code] = assessor_phone
    if open_round:
        await elections.change_phase(session, ORGANISER, round_1, Phase.POLLS_OPEN)
        for station in stations:
            await polling.open_station(session, ORGANISER, station, round_1)
    await session.commit()
    return night


@pytest.fixture(autouse=True)
def results_transition_checks() -> None:
    """The checks the composition root registers (tests that create no app need them too)."""
    elections.register_transition_check(results.check_phase_change)


async def refresh(session: AsyncSession, night: Night) -> None:
    """Reload the fixture's objects after a refused request rolled the session back."""
    for item in (night.election, night.round_1, night.round_2, *night.stations):
        await session.refresh(item)


@pytest.fixture
async def night(session: AsyncSession) -> Night:
    return await build_night(session)


@pytest.fixture
def twilio(client: httpx.AsyncClient) -> TwilioSimulator:
    return TwilioSimulator(client)


async def seal(session: AsyncSession) -> sequencer.SealReport:
    """Integrate every event of this transaction into the log and sign a checkpoint."""
    signer = keys.signer()
    assert signer is not None
    await session.flush()
    for _attempt in range(50):
        watermark = int(await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))) + 1
        report = await sequencer.seal(session, signer, watermark=watermark)
        if not report.skipped:
            while report.integrated >= sequencer.BATCH:
                report = await sequencer.seal(session, signer, watermark=watermark)
            await session.commit()
            return report
        await asyncio.sleep(0.1)
    raise AssertionError("Le séquenceur du journal est resté verrouillé.")


async def report_rows(session: AsyncSession) -> int:
    from results.models import ResultsReport

    return int(await session.scalar(select(func.count()).select_from(ResultsReport)) or 0)


def figures(signatures: int, blank: int, null: int, *votes: int, euros: str | None = None) -> str:
    text_ = f"V{signatures} B{blank} N{null} " + " ".join(str(v) for v in votes)
    return text_ + (f" E{euros}" if euros else "")


async def close_polls(session: AsyncSession, night: Night) -> None:
    await polling.close_open_stations(session, ORGANISER, night.round_1)
    await elections.change_phase(session, ORGANISER, night.round_1, Phase.POLLS_CLOSED)
    await session.commit()


__all__ = ["AUTHORITY", "ORGANISER", "Night", "build_night", "close_polls", "figures", "refresh", "report_rows", "results", "seal", "time"]
