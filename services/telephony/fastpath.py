"""The fast path of the SMS webhook: the request's own transaction, on the raw asyncpg connection.

On results night ≈ 10,000 stations send their results SMS and its « OK » within the hour: the
ORM's unit of work, statement compilation and result processing cost several times the SQL
itself. A command may therefore register a *fast handler* (``@sms_command(..., fast=...)``)
beside its ordinary handler. The gateway then:

1. claims the message (``INSERT … ON CONFLICT DO NOTHING``, as the ordinary path) on the raw
   connection of the request's session — the SAME transaction, committed once by `DbSession`;
2. calls the fast handler, which either answers (it has done all its work: reads, then at
   most ONE writing statement, so that nothing is ever half applied) or returns None, having
   written nothing: the message then goes through the ordinary guarded handler, which words
   every refusal (wrong PIN, closed station, …) exactly as before;
3. stores the reply in the claimed row.

A fast handler that writes audited tables records its audit events in the same statement and
declares both to the commit guard (`services.db.note_write` / `note_audit_event`); the entries
are built by the event classes themselves (`Event.entry`), so they are byte for byte those
`services.events.record` writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.events import Event, canonical_json

# The inbound store's statements (see `services.telephony.service`), in SQL for asyncpg.
CLAIM_SQL = """
INSERT INTO telephony_inbound_sms (message_sid, from_number, to_number, body, keyword, received_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (message_sid) DO NOTHING
RETURNING message_sid
"""
PREVIOUS_REPLY_SQL = "SELECT reply FROM telephony_inbound_sms WHERE message_sid = $1"
STORE_REPLY_SQL = "UPDATE telephony_inbound_sms SET reply = $2, outcome = $3, handled_at = $4 WHERE message_sid = $1"


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection of `session`, inside the session's transaction (begun here if
    the session has not executed anything yet): what is done on it commits or rolls back with
    the session, at the request's one commit point."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    # SQLAlchemy's asyncpg adapter begins the database transaction lazily, before the first
    # statement it runs itself; a statement sent straight to asyncpg must not run outside it.
    if getattr(adapted, "_transaction", None) is None and getattr(adapted, "isolation_level", None) != "autocommit":
        await adapted._start_transaction()  # noqa: SLF001 - see above
    return raw.driver_connection


@dataclass(frozen=True)
class FastSms:
    """One inbound SMS as a fast handler sees it (already claimed, in the request's transaction)."""

    sid: str
    from_number: str
    to_number: str
    text: str
    received_at: datetime


# (session, asyncpg connection, message) → the reply, or None to hand the message to the
# ordinary handler (having written nothing).
FastHandler = Callable[[AsyncSession, Any, FastSms], Awaitable[str | None]]


@dataclass(frozen=True)
class EventRow:
    """The `audit_event` columns `services.events.record(session, event)` would write at `at`
    (`xid` and `id` are the database's defaults)."""

    recorded_at: datetime
    kind: str
    actor: str
    actor_scope: str
    subjects: str  # canonical JSON, cast to jsonb in SQL
    entry: str

    @classmethod
    def of(cls, event: Event, at: datetime) -> EventRow:
        return cls(at, event.kind, event.actor.id, event.actor.scope, canonical_json(event.subjects()), event.entry(at))

    def params(self) -> tuple[datetime, str, str, str, str, str]:
        return (self.recorded_at, self.kind, self.actor, self.actor_scope, self.subjects, self.entry)
