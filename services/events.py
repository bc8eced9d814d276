"""The write side of the transparency log: typed events recorded in the caller's transaction.

Every change of election state is described by one `Event` subclass (one class per kind,
named after what happened) and recorded with `record(session, event)` in the same database
transaction as the change: if the change commits, so does its event; if it rolls back, the
event disappears with it. The `audit` package then sequences the committed events into a
Merkle tree, signs checkpoints and lets anyone verify the log from an export.

This primitive lives in `services` (the lowest layer) because the platform's own services
(elections, accounts, sponsorship) must record events too, and `services` may not import
the domain packages; everything else about the log (sequencer, tree, proofs, verifier,
pages) lives in `audit`.

The entry is canonical JSON (sorted keys, no insignificant white space, UTF-8): these exact
bytes are what the Merkle leaf hashes, so the verifier needs nothing but the export.
Events never carry a voter's name or any other clear identity of a participant.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, note_audit_event, utcnow

ENTRY_VERSION = 1


def canonical_json(value: Any) -> str:
    """Deterministic JSON: the same value always gives the same bytes (no floats allowed)."""
    return _CANONICAL.encode(value)


# = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
# which builds this encoder at every call (the tablet check-in encodes two documents per request).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Actor(BaseModel):
    """Who did it: an account, a paired tablet, a phone number of station staff, or the system."""

    model_config = ConfigDict(frozen=True)

    id: str  # "account:12", "tablet:…", "phone:…1234", "system:cli"
    role: str
    scope: str = "national"  # "national", a department code, or a station code


SYSTEM = Actor(id="system", role="system")


class Event(BaseModel):
    """Base of every audit event. Subclasses set `kind` and declare their fields.

    Fields named in `subject_fields` identify the objects the event is about (election,
    round, station, department…): they are indexed so the high authority can search the log
    by object. Every other field is the payload.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    subject_fields: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type[Event]]] = {}

    actor: Actor

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            if kind in Event.registry and Event.registry[kind] is not cls:
                raise TypeError(f"Audit event kind {kind!r} declared twice")
            Event.registry[kind] = cls

    def subjects(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", include=set(self.subject_fields))
        return {key: value for key, value in data.items() if value is not None}

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"actor", *self.subject_fields})

    def entry(self, at: datetime) -> str:
        return canonical_json(
            {
                "v": ENTRY_VERSION,
                "kind": self.kind,
                "at": at.isoformat(timespec="microseconds"),
                "actor": self.actor.model_dump(mode="json"),
                "subjects": self.subjects(),
                "payload": self.payload(),
            }
        )


class AuditEvent(Base):
    """One recorded event. Insert-only: the database refuses UPDATE and DELETE (see migrations).

    `xid` is the recording transaction's id: the sequencer (`audit.sequencer`) integrates
    events in (xid, id) order once every transaction below a watermark has finished, without
    any lock on the hot path. `actor_scope` (a department or station code, or "national")
    lets the high authority find what was done *from* a station as well as *about* it.
    """

    __tablename__ = "audit_event"
    __audit_exempt__ = True  # it *is* the audit record
    __table_args__ = (
        Index("ix_audit_event_subjects", "subjects", postgresql_using="gin", postgresql_ops={"subjects": "jsonb_path_ops"}),
        Index("ix_audit_event_actor", "actor"),
        Index("ix_audit_event_actor_scope", "actor_scope"),
        Index("ix_audit_event_kind", "kind"),
        Index("ix_audit_event_xid_id", "xid", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    xid: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    recorded_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    actor_scope: Mapped[str] = mapped_column(Text, server_default="national")
    subjects: Mapped[dict[str, Any]] = mapped_column(JSONB)
    entry: Mapped[str] = mapped_column(Text)


# --- The same record, without pydantic or the ORM (hot paths) ----------------------------------

# The columns a raw INSERT gives, in the order of `audit_row` (`id` and `xid` are the
# database's, exactly as for an ORM insert).
AUDIT_COLUMNS = ("recorded_at", "kind", "actor", "actor_scope", "subjects", "entry")


def entry_of(kind: str, actor: Actor, subjects: dict[str, Any], payload: dict[str, Any], at: datetime) -> str:
    """`Event.entry` from plain JSON values: `subjects` without its None values (as
    `Event.subjects`), `payload` with every other field, None included (as `Event.payload`).
    The caller passes JSON-ready values (str, int, bool, None, lists and dicts of them)."""
    return canonical_json(
        {
            "v": ENTRY_VERSION,
            "kind": kind,
            "at": at.isoformat(timespec="microseconds"),
            "actor": {"id": actor.id, "role": actor.role, "scope": actor.scope},
            "subjects": subjects,
            "payload": payload,
        }
    )


def audit_row(
    kind: str, actor: Actor, subjects: dict[str, Any], payload: dict[str, Any], at: datetime
) -> tuple[datetime, str, str, str, str, str]:
    """The values of `AUDIT_COLUMNS` for one event, byte for byte what `record` would store
    (`subjects` as canonical JSON text, to be cast to jsonb by the statement).

    For a hot path that writes the event in the same SQL statement as its change (the tablet
    check-in): the caller must then call `note_audit_event(session)`, and `note_write` for the
    change, so the commit guard sees both. `tests/test_events_raw.py` proves the identity."""
    subjects = {key: value for key, value in subjects.items() if value is not None}
    return at, kind, actor.id, actor.scope, canonical_json(subjects), entry_of(kind, actor, subjects, payload, at)


def event_row(event: Event, at: datetime) -> tuple[datetime, str, str, str, str, str]:
    """`audit_row` for an event object: the values of `AUDIT_COLUMNS` that `record` would
    store for `event` at `at` (built by the event class itself, `Event.entry`)."""
    return at, event.kind, event.actor.id, event.actor.scope, canonical_json(event.subjects()), event.entry(at)


def record(session: AsyncSession, event: Event) -> AuditEvent:
    """Add `event` to the caller's transaction. Never commits: the caller's commit point does."""
    at = utcnow()
    row = AuditEvent(
        recorded_at=at,
        kind=event.kind,
        actor=event.actor.id,
        actor_scope=event.actor.scope,
        subjects=event.subjects(),
        entry=event.entry(at),
    )
    session.add(row)
    note_audit_event(session)
    return row
