"""Counting the SQL statements a piece of code sends on the test session's connection, whether
through SQLAlchemy or straight on the asyncpg driver connection (`services.db.driver_connection`,
used by the hot paths). Transaction control (BEGIN, SAVEPOINT, COMMIT…) is not counted, nor the
tests' own plan-mode set-up of a driver connection (see below)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import driver_connection

# Not counted: transaction control, and the plan mode the tests' driver connections set and
# reset around each fast-path attempt (`services.app.session_driver_connections`): production
# sets it once per pooled connection, not per request (`services.db.pooled_driver_connection`).
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET PLAN_CACHE_MODE", "RESET PLAN_CACHE_MODE")


def is_harness(statement: str) -> bool:
    """Whether the tests' harness sent `statement` (see `TRANSACTION_CONTROL`), not the code measured."""
    return statement.lstrip().upper().startswith(TRANSACTION_CONTROL)


@asynccontextmanager
async def counted_statements(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements sent while the block runs, in order (filled when the block ends)."""
    statements: list[str] = []

    def through_sqlalchemy(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if not is_harness(statement):
            statements.append(statement)

    def on_the_driver(query) -> None:  # noqa: ANN001 - asyncpg's LoggedQuery
        if not is_harness(query.query):
            statements.append(query.query)

    sync_engine = (await session.connection()).sync_engine
    driver = await driver_connection(session)
    event.listen(sync_engine, "before_cursor_execute", through_sqlalchemy)
    driver.add_query_logger(on_the_driver)
    try:
        yield statements
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after each query
    finally:
        event.remove(sync_engine, "before_cursor_execute", through_sqlalchemy)
        driver.remove_query_logger(on_the_driver)
