"""`primaires registry import` migrates the database only when it is behind, in a child process.

Alembic's environment imports the whole application (every package's models through the
composition root): the import keeps it out of its own process (its memory is capped), and
skips it when every package is already at its head — as `alembic upgrade heads` would find
nothing to do. Alembic keeps in its table only the revisions no other one depends on, so the
check follows the revision graph rather than comparing the table with the heads.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from services.migrations import runner
from tests.voter_registry.conftest import _run_as, with_database_name
from voter_registry import cli as registry_cli


def _versions(url: str) -> set[str]:
    async def read() -> set[str]:
        connection = await asyncpg.connect(url)
        try:
            return {row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")}
        finally:
            await connection.close()

    return asyncio.run(read())


@pytest.fixture
def empty_database(owner_database_url: str) -> Iterator[str]:
    name = f"primaires_migrate_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_run_as(owner_database_url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database_name(owner_database_url, name)
    finally:
        asyncio.run(_run_as(owner_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrates_an_empty_database_then_only_when_behind(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    registry_cli._migrate_in_child(empty_database)  # the real thing, in its child process
    applied = _versions(empty_database)
    script = ScriptDirectory.from_config(runner.alembic_config(empty_database))
    assert applied and applied <= set(script.get_heads())

    upgrades: list[str] = []
    monkeypatch.setattr(runner, "upgrade", lambda url, revision="heads": upgrades.append(url))
    registry_cli._upgrade_if_behind(empty_database)
    assert upgrades == []  # at every head: nothing to do, Alembic's environment not even loaded

    # One package one revision behind.
    head = sorted(applied)[0]
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    asyncio.run(_run_as(empty_database, f"UPDATE alembic_version SET version_num = '{previous}' WHERE version_num = '{head}'"))
    registry_cli._upgrade_if_behind(empty_database)
    assert upgrades == [empty_database]


def test_a_failed_migration_stops_the_import_with_a_message_in_french(empty_database: str) -> None:
    asyncio.run(_run_as(empty_database, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
    asyncio.run(_run_as(empty_database, "INSERT INTO alembic_version VALUES ('revision_inconnue')"))
    with pytest.raises(RuntimeError, match="migrations"):
        registry_cli._migrate_in_child(empty_database)
    assert _versions(empty_database) == {"revision_inconnue"}
