"""Fixtures of the registry tests: an election, small REU files written by hand or generated."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services import db

from services.elections import service as elections
from services.elections.models import Election
from services.elections.schemas import ElectionCreate, RoundSpec
from services.events import Actor
from services.migrations import runner
from services.territory.service import load_territory
from voter_registry.reu import COLUMNS

ACTOR = Actor(id="system:test", role="organiser")
HEADER = ";".join(COLUMNS)


async def make_election(session: AsyncSession, *, slug: str | None = None) -> Election:
    return await elections.create_election(
        session,
        ACTOR,
        ElectionCreate(
            slug=slug or f"test-{uuid.uuid4().hex[:8]}",
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


# --- A database of its own, for tests whose child processes commit for real ---------------------


def with_database_name(url: str, name: str) -> str:
    """The same server and login as `url`, another database."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    head, _, query = plain.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")


async def _run_as(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def scratch_database(owner_database_url: str, database_url: str) -> Iterator[tuple[str, str]]:
    """(owner URL, application URL) of a fresh database, migrated, the territory loaded, and an
    election `scratch` created; dropped at the end.

    For tests that run `primaires registry …` in a child process: what it commits must not
    reach the shared test database (a purge there would empty other tests' committed data).
    Created by the schema owner; the application URL logs in as the restricted role, as in
    production.
    """
    name = f"primaires_scratch_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_run_as(owner_database_url, f'CREATE DATABASE "{name}"'))
    owner_url, app_url = with_database_name(owner_database_url, name), with_database_name(database_url, name)
    try:
        runner.upgrade(owner_url)

        async def prepare() -> None:
            engine = create_async_engine(db.to_async_url(owner_url))
            try:
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    await load_territory(session)
                    await make_election(session, slug="scratch")
                    await session.commit()
            finally:
                await engine.dispose()

        asyncio.run(prepare())
        yield owner_url, app_url
    finally:
        asyncio.run(_run_as(owner_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def child_environment(owner_url: str, app_url: str) -> dict[str, str]:
    """The environment of a `primaires` child process, configured as on a real server."""
    return {
        **os.environ,
        "DATABASE_URL": app_url,
        "PRIMAIRES_MIGRATION_DATABASE_URL": owner_url,
        "PRIMAIRES_MODE": "test",
        "PRIMAIRES_SECRET_KEY": "k" * 40,
        "PYTHONUNBUFFERED": "1",
    }
