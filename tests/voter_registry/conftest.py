"""Fixtures of the registry tests: an election, small REU files written by hand or generated."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.elections import service as elections
from services.elections.models import Election
from services.elections.schemas import ElectionCreate, RoundSpec
from services.events import Actor
from voter_registry.reu import COLUMNS

ACTOR = Actor(id="system:test", role="organiser")
HEADER = ";".join(COLUMNS)


async def make_election(session: AsyncSession) -> Election:
    return await elections.create_election(
        session,
        ACTOR,
        ElectionCreate(
            slug=f"test-{uuid.uuid4().hex[:8]}",
            name="Primaire de test",
            list_extraction_date=date(2026, 9, 1),
            majority_date=date(2026, 11, 1),
            supplementary_deadline=date(2026, 10, 1),
            rounds=[RoundSpec(number=1, polling_date=date(2026, 11, 1)), RoundSpec(number=2, polling_date=date(2026, 11, 8))],
        ),
    )


@pytest.fixture
async def election(session: AsyncSession) -> Election:
    return await make_election(session)


def line(
    *,
    commune: str = "33063",
    list_type: str = "Liste principale",
    birth_name: str = "MARTIN",
    usage_name: str = "",
    given_names: str = "Jean Pierre",
    sex: str = "M",
    birth_date: str = "12/04/1953",
    birth_commune_code: str = "33063",
    birth_commune: str = "Bordeaux",
    birth_department: str = "33",
    birth_country: str = "FRANCE",
    nationality: str = "Française",
    bureau: str = "0001",
    bureau_label: str = "Mairie",
    canton: str = "Bordeaux-1",
    order: str = "1",
) -> str:
    fields = [
        commune, "BORDEAUX", list_type, birth_name, usage_name, given_names, sex, birth_date,
        birth_commune_code, birth_commune, birth_department, birth_country, nationality,
        "12", "rue Victor Hugo", "", "", "", "33000", "BORDEAUX", "FRANCE",
        bureau, bureau_label, "3302", canton, "", order,
    ]  # fmt: skip
    return ";".join(fields)


def reu_file(lines: list[str], *, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def file_name(commune: str = "33063", stamp: str = "01-09-2026-10h00") -> str:
    return f"ListesElecteursActifs-com{commune}-{stamp}.csv"
