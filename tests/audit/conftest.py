"""Fixtures of the transparency-log tests.

Most tests work inside the usual rolled-back transaction. The sequencer's tests need real
commits from real concurrent connections, and the log's tables refuse DELETE: they run in a
database of their own (`log_database`), created and migrated once per test session, so what
they commit never reaches the other tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from audit import sequencer
from audit.checkpoints import Signer
from services import db
from services.migrations import runner

LOG_DATABASE = "primaires_test_journal"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class LogDatabase:
    owner_url: str
    app_url: str
    database: db.Database

    async def connect(self) -> asyncpg.Connection:
        """A raw connection as the application's role (for concurrency tests)."""
        return await asyncpg.connect(plain(self.app_url))

    async def seal(self, signer: Signer | None, **kwargs) -> sequencer.SealReport:  # noqa: ANN003
        async with AsyncSession(self.database.engine, expire_on_commit=False) as session:
            report = await sequencer.seal(session, signer, **kwargs)
            await session.commit()
        return report


@pytest.fixture(scope="session")
def log_database_urls(owner_database_url: str, database_url: str) -> tuple[str, str]:
    owner = with_database(owner_database_url, LOG_DATABASE)

    async def create() -> None:
        connection = await asyncpg.connect(plain(owner_database_url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{LOG_DATABASE}"')
            await connection.execute(f'CREATE DATABASE "{LOG_DATABASE}"')
        finally:
            await connection.close()

    asyncio.run(create())
    runner.upgrade(owner)
    return owner, with_database(database_url, LOG_DATABASE)


@pytest.fixture(scope="session")
async def log_database(log_database_urls: tuple[str, str]) -> AsyncIterator[LogDatabase]:
    owner, app = log_database_urls
    database = db.Database(app, pool_size=4)
    yield LogDatabase(owner, app, database)
    await database.dispose()


@pytest.fixture(scope="session")
def signer(database_url: str) -> Signer:
    """The log's key in test mode (generated in a temporary folder): the checkpoints of the
    log database and the service's checks all use it."""
    from audit import keys

    found = keys.signer()
    assert found is not None
    return found


async def own_watermark(session: AsyncSession) -> int:
    """Inside a test's single transaction, every event of the database is final for the test:
    the watermark is just above our own transaction id."""
    return int(await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))) + 1
