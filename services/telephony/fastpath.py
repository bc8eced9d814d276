"""The fast path of the SMS webhook: one self-contained statement per message, on a pool connection.

On results night ≈ 10,000 stations send their results SMS and its « OK » within the hour: the
ORM's unit of work, statement compilation and result processing cost several times the SQL
itself, and so do a transaction's BEGIN and COMMIT round trips. A command may therefore
register a *fast handler* (``@sms_command(..., fast=...)``) beside its ordinary handler. The
gateway then:

1. gives the fast handler a `Link`: in production an asyncpg connection of the engine's pool,
   in autocommit, outside any session — on the webhook's driver fast path
   (`service.receive_sms_on_driver`, no session at all: the common case of results night), or
   from the regular route (`fast_link`); in the tests the request session's own connection and
   transaction (rolled back at the end of each test);
2. the handler reads what it needs in a first, read-only statement (which also tells whether
   the MessageSid was already received: then the stored reply is sent again), runs the
   ordinary path's own checks in Python, and writes in ONE statement everything the message
   changes: the election state, its audit events, and the message claimed with its reply
   (`claim_with_reply_cte`) — a single statement is atomic, so nothing is ever half applied.
   The claim comes last, from the rows written: if the same MessageSid was claimed meanwhile
   (a redelivery at the same instant), the statement fails whole (its `claim_check` divides by
   zero) and the regular route answers the message;
3. a message the fast handler does not answer (having written nothing) goes through the
   ordinary guarded handler, which claims it and words every refusal (wrong PIN, closed
   station, …) exactly as before.

The audit rows come from `services.events.event_row`, built by the event classes themselves
(`Event.entry`), so they are byte for byte those `services.events.record` writes; in the tests'
shared transaction the writes are declared to the commit guard (`Link.wrote`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn

from services.db import driver_connection, note_audit_event, note_write

PREVIOUS_REPLY_SQL = "SELECT reply FROM telephony_inbound_sms WHERE message_sid = $1"


def claim_with_reply_cte(first: int, *, when_exists: str) -> str:
    """A CTE `claim` claiming the message with its reply already stored, outcome « ok » — for a
    handler whose ONE statement writes everything (no transaction around it) — only if the CTE
    `when_exists` returned a row. Parameters from `first`: the 6 of `FastSms.claim`, the reply,
    the time handled. A MessageSid claimed meanwhile leaves `claim` empty (ON CONFLICT)."""
    n = first
    return f"""claim AS (
    INSERT INTO telephony_inbound_sms (message_sid, from_number, to_number, body, keyword, received_at, reply, outcome, handled_at)
    SELECT ${n}::text, ${n + 1}::text, ${n + 2}::text, ${n + 3}::text, ${n + 4}::text, ${n + 5}::timestamptz,
           ${n + 6}::text, 'ok', ${n + 7}::timestamptz
    FROM {when_exists}
    ON CONFLICT (message_sid) DO NOTHING
    RETURNING message_sid
)"""


class Claim(Enum):
    NOT_TRIED = "not_tried"  # the handler sent nothing: the gateway claims the message itself
    CLAIMED = "claimed"  # this request owns the message
    ALREADY_RECEIVED = "already_received"  # a redelivery: the stored reply is sent again


@dataclass(frozen=True)
class FastResult:
    """What a fast handler did: how the claim went and, when it handled the message, the reply
    (already stored in the claimed row by its last statement)."""

    claim: Claim
    reply: str | None = None  # the reply sent (handled), or the stored one (already received), if known


@dataclass(frozen=True)
class FastSms:
    """One inbound SMS as a fast handler sees it (in the request's transaction, not yet claimed)."""

    sid: str
    from_number: str
    to_number: str
    text: str
    received_at: datetime
    claim: tuple[Any, ...]  # the message's row: sid, from, to, body, keyword, received_at (`claim_with_reply_cte`)
    fit: Callable[[str], str]  # the reply as sent (the command's length budget: `fit_sms`)


class Link:
    """Where a fast handler's statements go.

    In production (`own`): an asyncpg connection of the engine's pool, outside any session and
    in autocommit — a self-contained statement is its own transaction, with no BEGIN / COMMIT
    round trips and none of the session's machinery. A handler that needs several statements
    in one transaction opens it (`begin` / `commit`); one left open is rolled back when the link
    is given back. In the tests (the request's session is bound to the test's connection, whose
    transaction is rolled back at the end), the same statements run in the session's
    transaction: `begin` / `commit` do nothing there, the request's commit does it.
    """

    __slots__ = ("connection", "own", "session")

    def __init__(self, connection: Any, *, own: bool, session: AsyncSession | None) -> None:
        self.connection = connection
        self.own = own
        self.session = session

    async def begin(self) -> None:
        if self.own:
            await self.connection.execute("BEGIN")

    async def commit(self) -> None:
        if self.own:
            await self.connection.execute("COMMIT")

    def wrote(self, table: str, *, events: int) -> None:
        """Declares a write made with its audit events to the session's commit guard (when the
        statements ran in the session's transaction; on an own connection the statement that
        wrote carried its events, and the session has nothing to guard)."""
        if not self.own and self.session is not None:
            note_write(self.session, table)
            for _ in range(events):
                note_audit_event(self.session)

    def declined(self, result: FastResult) -> Claim:
        """How the claim stands for the ordinary handler after a handler declined: on an own
        connection whatever it did is rolled back, so the gateway claims the message again."""
        return Claim.NOT_TRIED if self.own else result.claim


# One per engine: how many fast handlers may hold a pool connection at once.
_turns: dict[int, tuple[AsyncEngine, asyncio.Semaphore]] = {}


def _turnstile(engine: AsyncEngine) -> asyncio.Semaphore:
    """At most the pool's size of fast handlers on the pool at once; the others wait their turn
    (a few milliseconds). Beyond it the pool opens « overflow » connections and closes them on
    return: each new connection costs PostgreSQL a backend start and every statement prepared
    and planned again — measured at 8 ms of database CPU per report during the closing burst
    with 16 messages in flight on a pool of 10, 3.5 ms without the churn."""
    entry = _turns.get(id(engine))
    if entry is None or entry[0] is not engine:
        size = engine.pool.size() if hasattr(engine.pool, "size") else 10  # type: ignore[attr-defined]
        entry = (engine, asyncio.Semaphore(max(1, size)))
        _turns[id(engine)] = entry
    return entry[1]


@asynccontextmanager
async def fast_link(session: AsyncSession) -> AsyncIterator[Link]:
    """The link of one fast handler's run: a pool connection of the session's engine when the
    session has not started (production), else the session's own connection (tests)."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or session.in_transaction():
        yield Link(await driver_connection(session), own=False, session=session)
        return
    async with _turnstile(bind), _pooled(bind, session) as link:
        yield link


@asynccontextmanager
async def _pooled(bind: AsyncEngine, session: AsyncSession) -> AsyncIterator[Link]:
    pooled = await bind.raw_connection()
    connection = pooled.driver_connection
    try:
        yield Link(connection, own=True, session=session)
    finally:
        try:
            if connection.is_in_transaction():
                await connection.execute("ROLLBACK")
        except BaseException:
            # A connection that cannot roll back is not given back to the pool.
            await greenlet_spawn(pooled.invalidate)
            raise
        # In a greenlet: the pool may close the connection (an overflow one, the pool full),
        # which awaits.
        await greenlet_spawn(pooled.close)


# (session, link, message) → what it did. A handler that does not answer has written nothing
# (`Claim.NOT_TRIED`): the ordinary guarded handler then claims and takes the message. The
# session is None on the webhook's driver fast path (`service.receive_sms_on_driver`): the
# handler then reads only through the link, and declines what would need the session.
FastHandler = Callable[[AsyncSession | None, Link, FastSms], Awaitable[FastResult]]
