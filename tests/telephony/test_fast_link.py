"""`fastpath.fast_link`: in production a pool connection in autocommit, given back clean (any
transaction left open rolled back); inside a started session (the tests), the session's own
connection and transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services import db
from services.telephony.fastpath import Claim, FastResult, fast_link


async def test_a_fresh_session_gets_a_pool_connection_in_autocommit(database: db.Database) -> None:
    async with database.sessionmaker() as session:
        async with fast_link(session) as link:
            assert link.own
            assert not link.connection.is_in_transaction()
            # One statement is its own transaction: nothing is left open after it.
            assert await link.connection.fetchval("SELECT 1") == 1
            assert not link.connection.is_in_transaction()
            await link.begin()
            assert link.connection.is_in_transaction()
            first_backend = await link.connection.fetchval("SELECT pg_backend_pid()")
            # Left open (a handler that declined): rolled back when the link is given back.
        assert not session.in_transaction()  # the session itself was never used

    # The pool hands out clean connections: none is still inside the abandoned transaction.
    async with database.sessionmaker() as session:
        async with fast_link(session) as link:
            assert link.own
            assert not link.connection.is_in_transaction()
            await link.begin()
            await link.commit()
            assert not link.connection.is_in_transaction()
            assert isinstance(first_backend, int)
            # A declined message is claimed again by the gateway: the own transaction is gone.
            assert link.declined(FastResult(Claim.CLAIMED)) is Claim.NOT_TRIED


async def test_a_started_session_lends_its_own_connection(session: AsyncSession) -> None:
    async with fast_link(session) as link:
        assert not link.own
        backend = await link.connection.fetchval("SELECT pg_backend_pid()")
        await link.begin()  # nothing: the session's transaction is the request's
        await link.commit()
        assert link.declined(FastResult(Claim.CLAIMED)) is Claim.CLAIMED
    assert session.in_transaction()
    from sqlalchemy import text

    assert await session.scalar(text("SELECT pg_backend_pid()")) == backend
