"""An import killed half-way (SIGKILL) leaves complete communes and no half-imported one.

Runs `primaires registry import` in a child process, configured as on a server (the restricted
application role, the owner's URL for migrations), against a database of its own (created next
to the test database, migrated, dropped at the end), kills it while the second, large commune
file is being copied, and checks what survived.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from tests.voter_registry.conftest import child_environment, file_name, line, reu_file
from voter_registry.generator import GeneratorOptions, generate


def test_killed_import_leaves_no_half_imported_commune(scratch_database: tuple[str, str], tmp_path: Path) -> None:
    owner_url, app_url = scratch_database
    kill_database = owner_url  # the checks below read as the owner
    folder = tmp_path / "listes"
    folder.mkdir()
    # File 1: a small commune. File 2: a large one (takes seconds to copy) — sorted after.
    (folder / file_name("2A004")).write_bytes(reu_file([line(commune="2A004", birth_name=f"NOM{i}") for i in range(50)]))
    big = next(f for f in generate(GeneratorOptions(departments=("33",), voters=1_200_000, seed=7, malformed_share=0)) if f.commune_code == "33063")
    (folder / big.name).write_bytes(big.data)
    environment = child_environment(owner_url, app_url)
    child = subprocess.Popen(
        [sys.executable, "-c", "from services.cli import main; main()", "registry", "import", str(folder), "--election", "scratch"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    async def committed(query: str) -> int:
        connection = await asyncpg.connect(kill_database.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return int(await connection.fetchval(query))
        finally:
            await connection.close()

    try:
        deadline = time.monotonic() + 240
        # Wait until the first commune is committed, then until the big COPY is under way.
        while asyncio.run(committed("SELECT count(*) FROM registry_commune")) < 1:
            assert child.poll() is None, child.stdout.read().decode() if child.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        while asyncio.run(committed("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%voter%'")) < 1:
            assert child.poll() is None, "l'import s'est terminé avant d'avoir pu être interrompu"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    # Wait for the server to notice the dead client and roll its transaction back.
    deadline = time.monotonic() + 60
    while asyncio.run(committed("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%voter%' AND state <> 'idle'")):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert asyncio.run(committed("SELECT count(*) FROM voter WHERE commune_code = '2A004'")) == 50
    assert asyncio.run(committed("SELECT count(*) FROM voter WHERE commune_code = '33063'")) == 0
    assert asyncio.run(committed("SELECT count(*) FROM registry_import WHERE commune_code = '33063'")) == 0
    assert asyncio.run(committed("SELECT count(*) FROM registry_commune")) == 1
    # Every commune present is complete; no voter row without its commune's extract.
    assert asyncio.run(
        committed(
            "SELECT count(*) FROM registry_commune c WHERE c.voters <> "
            "(SELECT count(*) FROM voter v WHERE v.department_code = c.department_code AND v.commune_code = c.commune_code)"
        )
    ) == 0
    assert asyncio.run(
        committed("SELECT count(*) FROM voter v WHERE NOT EXISTS (SELECT 1 FROM registry_commune c WHERE c.commune_code = v.commune_code)")
    ) == 0
    # The child process (--jobs 2) died with the command: nothing is connected any more.
    deadline = time.monotonic() + 30
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    while asyncio.run(committed(query)):
        assert time.monotonic() < deadline, "un processus d'import a survécu à la commande"
        time.sleep(0.2)
