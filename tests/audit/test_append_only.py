"""Append-only in the database: the application's role cannot rewrite the log, and the
trigger refuses it to everyone else, the owner included."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from audit import service
from services.events import SYSTEM, record
from tests.audit.conftest import plain
from tests.audit.events import ProbeRecorded

LOG_TABLES = ("audit_event", "audit_leaf", "audit_node", "audit_checkpoint", "audit_verification")
CHANGES = {
    "audit_event": "UPDATE audit_event SET kind = 'falsifié'",
    "audit_leaf": "UPDATE audit_leaf SET leaf_hash = leaf_hash",
    "audit_node": "UPDATE audit_node SET node_hash = node_hash",
    "audit_checkpoint": "UPDATE audit_checkpoint SET note = note",
    "audit_verification": "UPDATE audit_verification SET ok = true",
}


@pytest.fixture(scope="module")
async def populated(log_database, signer):  # noqa: ANN001
    """At least one row in every log table (a row trigger only fires on existing rows)."""
    async with AsyncSession(log_database.database.engine, expire_on_commit=False) as session:
        for number in range(20):
            record(session, ProbeRecorded(actor=SYSTEM, station_code="330001", marker="append-only", number=number))
        await session.commit()
    await log_database.seal(signer)
    async with AsyncSession(log_database.database.engine, expire_on_commit=False) as session:
        # 16 leaves complete a stored level-4 node; the verification row needs the key.
        assert await session.scalar(text("SELECT count(*) FROM audit_node")) > 0
        await service.verify_stored_log(session, "test")
        await session.commit()
    return log_database


async def test_the_application_connects_as_the_restricted_role(session):
    user = await session.scalar(text("SELECT current_user"))
    assert user != "postgres"
    assert await session.scalar(text("SELECT pg_has_role(current_user, 'primaires_app', 'MEMBER')"))
    assert not await session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))


@pytest.mark.parametrize("table", LOG_TABLES)
async def test_the_application_role_may_only_read_and_append(populated, table):
    connection = await populated.connect()
    try:
        for privilege, expected in (("SELECT", True), ("INSERT", True), ("UPDATE", False), ("DELETE", False), ("TRUNCATE", False)):
            assert await connection.fetchval("SELECT has_table_privilege($1, $2)", table, privilege) is expected, privilege
        for statement in (CHANGES[table], f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await connection.execute(statement)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="must be owner"):
            await connection.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    finally:
        await connection.close()


@pytest.mark.parametrize("table", LOG_TABLES)
async def test_the_trigger_refuses_changes_even_to_the_owner(populated, table):
    connection = await asyncpg.connect(plain(populated.owner_url))
    try:
        assert await connection.fetchval(f"SELECT count(*) FROM {table}") > 0
        for statement in (CHANGES[table], f"DELETE FROM {table}", f"TRUNCATE {table} CASCADE"):
            with pytest.raises(asyncpg.PostgresError, match="journal d'audit en ajout seul"):
                await connection.execute(statement)
    finally:
        await connection.close()


async def test_the_application_role_keeps_its_rights_on_election_tables(populated):
    connection = await populated.connect()
    try:
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            assert await connection.fetchval("SELECT has_table_privilege('election', $1)", privilege)
        assert not await connection.fetchval("SELECT has_table_privilege('alembic_version', 'UPDATE')")
    finally:
        await connection.close()
