"""The fast path of the SMS webhook: the request's own transaction, on the raw asyncpg connection.

On results night ≈ 10,000 stations send their results SMS and its « OK » within the hour: the
ORM's unit of work, statement compilation and result processing cost several times the SQL
itself. A command may therefore register a *fast handler* (``@sms_command(..., fast=...)``)
beside its ordinary handler. The gateway then:

1. calls the fast handler on the raw connection of the request's session — the SAME
   transaction, committed once by `DbSession`. Its first statement claims the message
   (``INSERT … ON CONFLICT DO NOTHING``, as the ordinary path: `CLAIM_CTE`) while it reads;
   its last, the only one that writes election state, stores the reply in the claimed row
   (`store_reply_cte`) — so nothing is ever half applied;
2. a redelivered message (the claim found the row) gets the stored reply again;
3. a message the fast handler does not answer (having written nothing but the claim) goes
   through the ordinary guarded handler, which words every refusal (wrong PIN, closed
   station, …) exactly as before.

A fast handler that writes audited tables records its audit events in the same statement and
declares both to the commit guard (`services.db.note_write` / `note_audit_event`); the rows
come from `services.events.event_row`, built by the event classes themselves (`Event.entry`),
so they are byte for byte those `services.events.record` writes. The raw connection is
`services.db.driver_connection`, shared with the other hot paths.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import driver_connection

# The inbound store's statements (see `services.telephony.service`), in SQL for asyncpg. A fast
# handler claims the message in its FIRST statement (`CLAIM_CTE`, parameters $1…$6 = `FastSms.claim`,
# its own from $7) and stores its reply in its LAST, writing one (`store_reply_cte`): a results
# SMS then costs the database two statements between BEGIN and COMMIT.
CLAIM_CTE = """claim AS (
    INSERT INTO telephony_inbound_sms (message_sid, from_number, to_number, body, keyword, received_at)
    VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::timestamptz)
    ON CONFLICT (message_sid) DO NOTHING
    RETURNING message_sid
)"""
CLAIM_PARAMETERS = 6
CLAIM_SQL = f"WITH {CLAIM_CTE} SELECT message_sid FROM claim"
PREVIOUS_REPLY_SQL = "SELECT reply FROM telephony_inbound_sms WHERE message_sid = $1"


def store_reply_cte(sid: int, reply: int, at: int, *, when: str) -> str:
    """A CTE storing the reply (parameter numbers `sid`, `reply`, `at`) in the claimed row,
    outcome « ok », only if the SQL condition `when` holds (the write it answers happened)."""
    return f"""reply_stored AS (
    UPDATE telephony_inbound_sms SET reply = ${reply}::text, outcome = 'ok', handled_at = ${at}::timestamptz
    WHERE message_sid = ${sid}::text AND {when}
    RETURNING 1
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
    reply: str | None = None


@dataclass(frozen=True)
class FastSms:
    """One inbound SMS as a fast handler sees it (in the request's transaction, not yet claimed)."""

    sid: str
    from_number: str
    to_number: str
    text: str
    received_at: datetime
    claim: tuple[Any, ...]  # the parameters $1…$6 of `CLAIM_CTE`
    fit: Callable[[str], str]  # the reply as sent (the command's length budget: `fit_sms`)


# (session, asyncpg connection, message) → what it did. A handler that does not answer has
# written nothing but, perhaps, the claim: the ordinary guarded handler then takes the message.
FastHandler = Callable[[AsyncSession, Any, FastSms], Awaitable[FastResult]]
