"""Results night: the tables. Every one of them is a record of FACTS, insert-only.

What a station sent, what a commission keyed, who confirmed, who validated, what the high
authority decided: each is a row that is never updated nor deleted (a trigger refuses it to
every role, see `results/migrations/0001_results.py`). What a figure *is* at any moment is
derived from these facts, never stored:

- a station's **provisional** figures are those of its latest *counted* report (`results_report`
  with a `results_confirmation`), of any channel — SMS confirmed by « OK », phone confirmed by
  « 1 », tablet countersigned by a second member of the station, paper PV keyed twice alike;
- its **final** figures are those of the report its departmental commission validated
  (`results_validation`, the latest action wins: « validated » or « reopened »), unless a
  decision of the high authority (`results_decision`) annuls or replaces them;
- a round's **proclamation** (`results_proclamation`) names the transparency-log checkpoint
  the proclaimed figures were computed at.

"Latest" is by `version`: a number per (round, station) given under a per-station lock, so
that the order of a station's reports is the order the server accepted them in, whatever the
order in which their transactions commit. Supersession is therefore derived too: a report is
superseded by any later version (an unconfirmed one as soon as a new one arrives, a counted
one as soon as a newer one counts), and the audit events name what they supersede.

Each row that makes a figure count carries the id of its audit event (`event_id`): published
figures are computed "at a checkpoint" by keeping only the facts whose event is a leaf of the
signed tree of that size (`results.publication`), so anyone holding the log's export can
recompute them, and a page computed at a checkpoint never changes.

Staff phone numbers are not kept here (these tables cannot be purged): the SMS sender is
identified by a keyed hash of the number (`sender_key`) and shown masked (`sender`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow


class Channel(StrEnum):
    SMS = "sms"
    PHONE = "phone"  # the voice server (DTMF)
    TABLET = "tablet"
    PAPER = "paper"  # the paper PV keyed twice at the departmental commission
    NOT_OPENED = "not_opened"  # « procès-verbal de carence »: the station never opened (all zeros)

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]

    @property
    def provisional(self) -> bool:
        """Channels sent by the station on the night (against which the paper PV is reconciled)."""
        return self in (Channel.SMS, Channel.PHONE, Channel.TABLET)


CHANNEL_LABELS = {
    Channel.SMS: "SMS",
    Channel.PHONE: "Téléphone",
    Channel.TABLET: "Tablette",
    Channel.PAPER: "PV papier",
    Channel.NOT_OPENED: "PV de carence",
}


class ConfirmedVia(StrEnum):
    SMS_OK = "sms_ok"  # « OK <code> » from the same number within 30 minutes
    VOICE_KEY = "voice_key"  # « 1 » after the spoken read-back
    COUNTERSIGN = "countersign"  # a second member of the station, with their own account
    DOUBLE_ENTRY = "double_entry"  # two commission members keyed the same figures
    COMMISSION = "commission"  # a commission's PV de carence


class ValidationAction(StrEnum):
    VALIDATED = "validated"
    REOPENED = "reopened"


class DecisionKind(StrEnum):
    ANNUL = "annul"
    REPLACE = "replace"

    @property
    def label(self) -> str:
        return {"annul": "Annulation des résultats du bureau", "replace": "Rectification des résultats du bureau"}[self.value]


class _Figures:
    """What a station report says (the `results.report.StationReport` value, as columns)."""

    signatures: Mapped[int] = mapped_column(Integer)
    blank: Mapped[int] = mapped_column(Integer)
    null: Mapped[int] = mapped_column("nulls", Integer)  # « null » is an SQL keyword
    votes: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    contributions_cents: Mapped[int | None] = mapped_column(BigInteger)


class ResultsReport(_Figures, Base):
    """One report of one station for one round, as received on one channel (every version kept).

    `findings`: what did not add up when it was received (gaps, with their sizes, in French:
    see `results.report.check_report`); reports with errors are refused, never stored.
    `confirmation_code`: the 4 characters of an SMS read-back (« OK K7PX »)."""

    __tablename__ = "results_report"
    __table_args__ = (
        UniqueConstraint("round_id", "station_id", "version"),
        Index("ix_results_report_round_department", "round_id", "department_code"),
        Index("ix_results_report_sender_code", "sender_key", "confirmation_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No foreign keys on the two hot tables of results night: a key check share-locks the
    # referenced row, and every report of the round would lock the same round row (a hot
    # multixact under thousands of concurrent messages). The service checks both.
    round_id: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[int] = mapped_column(Integer)
    department_code: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(12))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    sender: Mapped[str] = mapped_column(Text)  # masked phone, or the actor (« account:12 »)
    sender_key: Mapped[str | None] = mapped_column(String(40))  # keyed hash of the SMS sender's number
    confirmation_code: Mapped[str | None] = mapped_column(String(8))
    staff_id: Mapped[int | None] = mapped_column(Integer)  # the station staff member who sent it
    account_id: Mapped[int | None] = mapped_column(Integer)  # the account that entered it (tablet)
    paper_entry_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))  # a paper PV's two entries
    message_sid: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResultsConfirmation(Base):
    """The fact that made a report count. One per report at most."""

    __tablename__ = "results_confirmation"
    __table_args__ = (Index("ix_results_confirmation_round_station", "round_id", "station_id", "version"),)

    report_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round_id: Mapped[int] = mapped_column(Integer)
    station_id: Mapped[int] = mapped_column(Integer)
    department_code: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(16))
    confirmed_by: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResultsPaperEntry(_Figures, Base):
    """One keying of a station's paper PV by one commission member. A PV counts when two
    members' entries made since the station's last PV agree (`ResultsReport.paper_entry_ids`)."""

    __tablename__ = "results_paper_entry"
    __table_args__ = (Index("ix_results_paper_entry_round_station", "round_id", "station_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    department_code: Mapped[str] = mapped_column(String(3))
    account_id: Mapped[int] = mapped_column(Integer)
    keyed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResultsValidation(Base):
    """A departmental commission's act on a station's results: « validated » (this report's
    figures are the station's final figures) or « reopened » (they are not any more)."""

    __tablename__ = "results_validation"
    __table_args__ = (UniqueConstraint("round_id", "station_id", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    department_code: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("results_report.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    account_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ResultsDecision(Base):
    """A recorded decision of the high authority on one station's results (annul or replace),
    with its reference (« décision n° 2027-14 ») and motive. Applied in the order recorded."""

    __tablename__ = "results_decision"
    __table_args__ = (Index("ix_results_decision_round", "round_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    department_code: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str] = mapped_column(Text)
    motive: Mapped[str] = mapped_column(Text)
    signatures: Mapped[int | None] = mapped_column(Integer)
    blank: Mapped[int | None] = mapped_column(Integer)
    null: Mapped[int | None] = mapped_column("nulls", Integer)
    votes: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    contributions_cents: Mapped[int | None] = mapped_column(BigInteger)
    account_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ResultsProclamation(Base):
    """The high authority's proclamation of a round, resting on one signed log checkpoint:
    the final figures proclaimed are those computed at `tree_size` (root `root_hash`)."""

    __tablename__ = "results_proclamation"

    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    checkpoint_note: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    account_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


APPEND_ONLY_TABLES = (
    "results_report",
    "results_confirmation",
    "results_paper_entry",
    "results_validation",
    "results_decision",
    "results_proclamation",
)
