"""`primaires registry purge` as the organisers run it on the server, in a child process.

Configured as in production: DATABASE_URL is the restricted application role,
PRIMAIRES_MIGRATION_DATABASE_URL the schema owner. Lists are imported, the purge is
refused before the end of the election without --force, then done: every registry table is
empty and the log holds the purge with its counts and no name.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services import db
from services.elections.models import Election
from tests.voter_registry.conftest import ACTOR, child_environment, file_name, line, reu_file
from voter_registry.importer import bytes_file, import_commune_file


def _primaires(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from services.cli import main; main()", *arguments],
        env={**environment, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetch(query)
        finally:
            await connection.close()

    return asyncio.run(run())


async def _import(app_url: str, files: list) -> None:  # noqa: ANN001
    engine = create_async_engine(db.to_async_url(app_url))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            election = await session.scalar(select(Election).where(Election.slug == "scratch"))
            for file in files:
                await import_commune_file(session, ACTOR, election, file)
            await session.commit()
    finally:
        await engine.dispose()


def test_purge_from_the_command_line(scratch_database: tuple[str, str]) -> None:
    owner_url, app_url = scratch_database
    environment = child_environment(owner_url, app_url)
    # The lists are loaded in this process (the command-line import, as the application role,
    # is exercised by test_kill.py; each child process costs seconds of imports).
    asyncio.run(_import(app_url, [
        bytes_file(file_name("33063"), reu_file([line(), line(birth_name="DUPONT", bureau="0002")])),
        bytes_file(file_name("2A004"), reu_file([line(commune="2A004", birth_name="SANTONI")])),
    ]))  # fmt: skip
    assert _fetch(owner_url, "SELECT count(*) FROM voter")[0][0] == 3

    refused = _primaires(environment, "registry", "purge", "--election", "scratch", "--yes")
    assert refused.returncode == 1
    assert "--force" in refused.stdout and "pas terminée" in refused.stdout
    assert _fetch(owner_url, "SELECT count(*) FROM voter")[0][0] == 3

    # After the election (every round proclaimed), no --force needed.
    _fetch(owner_url, "UPDATE election_round SET phase = 'proclaimed'")
    purged = _primaires(environment, "registry", "purge", "--election", "scratch", "--yes")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "Listes purgées : 3 électeurs de 2 communes" in purged.stdout
    for table in ("voter", "registry_commune", "registry_bureau", "registry_import", "registry_reject", "registry_state", "supplementary_voter"):
        assert _fetch(owner_url, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    rows = _fetch(owner_url, "SELECT entry FROM audit_event WHERE kind = 'registry.purged'")
    assert len(rows) == 1
    entry = json.loads(rows[0]["entry"])
    payload = entry["payload"]
    assert (payload["voters"], payload["communes"], payload["before_end"]) == (3, 2, False)
    assert payload["method"] == "truncate"  # run with the owner's URL: the files are gone at once
    assert "MARTIN" not in rows[0]["entry"].upper() and "SANTONI" not in rows[0]["entry"].upper()
