"""Alembic environment: async engine, one advisory lock, a lock timeout.

The advisory lock lets several replicas run `primaires db upgrade` at start-up without racing;
the lock timeout makes a migration that waits on a busy table fail fast instead of queueing
every request behind it on polling day.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.composition import import_models
from services.db import Base, to_async_url
from services.migrations.privileges import apply_application_privileges

MIGRATION_LOCK_ID = 0x7072696D  # "prim"

import_models()
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    connection.execute(text("SET lock_timeout = '10s'"))
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    try:
        with context.begin_transaction():
            context.run_migrations()
            # The application's role gets its privileges on every table, the log's excepted.
            apply_application_privileges(connection)
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()


async def _run_online() -> None:
    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    engine = create_async_engine(to_async_url(url), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Les migrations s'exécutent sur une base réelle (pas de mode hors ligne).")
asyncio.run(_run_online())
