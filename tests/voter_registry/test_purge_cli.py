"""`primaires registry purge` as the organisers run it on the server, in a child process.

Configured as in production: DATABASE_URL is the restricted application role,
PRIMAIRES_MIGRATION_DATABASE_URL the schema owner. Lists are imported with the CLI, the purge is
refused before the end of the election without --force, then done: every registry table is
empty and the log holds the purge with its counts and no name.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from pathlib import Path

import asyncpg

from tests.voter_registry.conftest import child_environment, file_name, line, reu_file


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


def test_purge_from_the_command_line(scratch_database: tuple[str, str], tmp_path: Path) -> None:
    owner_url, app_url = scratch_database
    environment = child_environment(owner_url, app_url)
    folder = tmp_path / "listes"
    folder.mkdir()
    (folder / file_name("33063")).write_bytes(reu_file([line(), line(birth_name="DUPONT", bureau="0002")]))
    (folder / file_name("2A004")).write_bytes(reu_file([line(commune="2A004", birth_name="SANTONI")]))
    imported = _primaires(environment, "registry", "import", str(folder), "--election", "scratch")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    # Statistics refreshed by the owner at the end of the import (the application role may not).
    assert _fetch(owner_url, "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'voter'")[0][0]
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
