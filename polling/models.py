"""Polling stations and polling day: the tables.

Ownership: a *station* (bureau de vote de la primaire) belongs to one election, sits in one
department and one canton, and covers whole official bureaux of the electoral lists
(`station_bureau`), so that each voter has exactly one station. Its state is kept per round
(`station_round`: planned → ready → open → closed → reported → validated, with the time of
each step) together with the round's live counters (check-ins from the tablet and from paper
lists keyed afterwards, contributions).

Participation (`checkin`) is the sensitive table (ARCHITECTURE.md, principle 4). It holds
no name and no registry id: only a keyed token — HMAC-SHA256 of the voter's stable identity
under a per-election secret — the station, the time, the contribution and the channel. What
must be shown again (the paper-list reconciliation of a station) is AES-GCM encrypted under a
per-election key. Both keys live, wrapped by the installation's key, in `election_privacy_key`
and are destroyed on the retention date (`primaires privacy shred`): afterwards the tokens
cannot be recomputed from an identity and the display data cannot be read, while the counts
and the audit log still verify. The UNIQUE (round, token) constraint is what refuses a second
participation in the same round anywhere in the country.

Hot tables (`checkin`) carry the department code first in their primary key, as the
registry's, so that a distributed PostgreSQL can shard them by department.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, TimestampMixin, utcnow

# --- Stations ---------------------------------------------------------------------------------


class StationState(StrEnum):
    """The life of a station in one round, in order."""

    PLANNED = "planned"  # created from the plan: bureaux assigned
    READY = "ready"  # staff and credentials issued: may open on polling day
    OPEN = "open"  # voting (signalled by tablet, SMS or the commission)
    CLOSED = "closed"  # polls closed at the station: counting
    REPORTED = "reported"  # results received (results package)
    VALIDATED = "validated"  # report validated by the departmental commission (results package)

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    StationState.PLANNED: "Planifié",
    StationState.READY: "Prêt",
    StationState.OPEN: "Ouvert",
    StationState.CLOSED: "Clos",
    StationState.REPORTED: "Résultats transmis",
    StationState.VALIDATED: "Résultats validés",
}
STATE_ORDER = list(StationState)


class StaffRole(StrEnum):
    PRESIDENT = "president"
    ASSESSOR = "assessor"

    @property
    def label(self) -> str:
        return {"president": "Président", "assessor": "Assesseur"}[self.value]


class Channel(StrEnum):
    TABLET = "tablet"  # checked in on the station's tablet
    PAPER = "paper"  # signed on the paper list, keyed afterwards (late entry)

    @property
    def label(self) -> str:
        return {"tablet": "Tablette", "paper": "Liste papier"}[self.value]


class Payment(StrEnum):
    CASH = "cash"
    CHEQUE = "cheque"
    COVERED = "covered"  # round 2: the round-1 contribution covers it (when the election says so)

    @property
    def label(self) -> str:
        return {"cash": "Espèces", "cheque": "Chèque", "covered": "Couverte par le 1er tour"}[self.value]


class Station(TimestampMixin, Base):
    """A primary polling station.

    `code`: 7 digits with a Damm check digit (`polling.codes`), unique in the installation
    (every channel — tablet pairing, SMS, voice, paper — names a station by code alone).
    `sequence` is the allocation number the code derives from. `plan_key` (« 33-014 ») is the
    planner's name for it, stable within the election. Hours default to the round's.
    """

    __tablename__ = "station"
    __table_args__ = (
        UniqueConstraint("election_id", "plan_key"),
        Index("ix_station_election_department", "election_id", "department_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(7), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    canton_code: Mapped[str] = mapped_column(String(8))  # a canton, or a pseudo-canton « 69-SC »
    commune_code: Mapped[str] = mapped_column(String(5))  # main commune (where the room is)
    plan_key: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    registered: Mapped[int] = mapped_column(Integer, default=0)  # registered voters of its bureaux
    oversized: Mapped[bool] = mapped_column(Boolean, default=False)


class StationBureau(Base):
    """An official bureau of the lists attached to a station (one station per bureau and election)."""

    __tablename__ = "station_bureau"
    __table_args__ = (Index("ix_station_bureau_station", "station_id"),)

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    bureau_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"))
    registered: Mapped[int] = mapped_column(Integer, default=0)


class StationRound(Base):
    """A station in one round: its state with the time of each step, and the live counters.

    Counters are maintained by the check-in in the same transaction (a station's row is only
    contended by its own tablets); they are what the dashboards read. Nothing else writes them:
    they are sums of check-ins, never typed.
    """

    __tablename__ = "station_round"
    __table_args__ = (
        UniqueConstraint("round_id", "station_id"),
        Index("ix_station_round_round_department", "round_id", "department_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"))
    department_code: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(12), default=StationState.PLANNED.value)
    ready_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    validated_at: Mapped[datetime | None]
    opened_via: Mapped[str] = mapped_column(String(12), default="")  # tablet | sms | web
    checkins_tablet: Mapped[int] = mapped_column(Integer, default=0)
    checkins_paper: Mapped[int] = mapped_column(Integer, default=0)
    contributions_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cash_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cheque_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    covered: Mapped[int] = mapped_column(Integer, default=0)  # round 2: paid in round 1
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def checkins(self) -> int:
        return self.checkins_tablet + self.checkins_paper


class StationStaff(TimestampMixin, Base):
    """A member of a station's team. `phone` is E.164 (`normalise_phone`): SMS from this number
    are accepted for the station (with its PIN). `account_id`: an optional sign-in account."""

    __tablename__ = "station_staff"
    __table_args__ = (
        UniqueConstraint("station_id", "phone"),
        Index("ix_station_staff_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), index=True)
    department_code: Mapped[str] = mapped_column(String(3))
    role: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class StationPin(Base):
    """The station's PIN for SMS and phone: only a keyed hash (HMAC-SHA256 under a key derived
    from the installation secret, salted with the station code). A 6-digit PIN has 20 bits: a
    slow hash would not stop an offline search, the key kept out of the database does; online
    guessing is stopped by the lock-out (`pin_failure`)."""

    __tablename__ = "station_pin"

    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class PinFailure(Base):
    """A wrong PIN, counted for the lock-out (5 in 15 minutes, per station and per phone).

    Operational, not election state: kept out of the audit guard. `key` is « station:<code> »
    or « phone:<HMAC of the number> » (no phone number in clear here)."""

    __tablename__ = "pin_failure"
    __audit_exempt__ = True
    __table_args__ = (Index("ix_pin_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Plans ---------------------------------------------------------------------------------------


class StationPlanDraft(TimestampMixin, Base):
    """A plan computed by the planner, reviewed (and adjusted) by the organiser before it is applied.

    `stations`: the planner's stations as JSON ([{key, department_code, canton_code, bureaux:
    [[commune, bureau], ...]}]); `department_code` None for a national plan."""

    __tablename__ = "station_plan_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    department_code: Mapped[str | None] = mapped_column(String(3))
    max_voters: Mapped[int] = mapped_column(Integer)
    stations: Mapped[list] = mapped_column(JSONB)
    applied_at: Mapped[datetime | None]


# --- Participation ------------------------------------------------------------------------------


class ElectionPrivacyKey(Base):
    """The per-election secrets of participation, wrapped (AES-GCM) by the installation's key.

    `token_secret` keys the HMAC of identities; `display_key` encrypts the display data of
    check-ins. Both are set to NULL by the crypto-shredding on the retention date
    (`shredded_at`): from then on nobody can tell who took part."""

    __tablename__ = "election_privacy_key"

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), primary_key=True)
    token_secret_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    display_key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retention_until: Mapped[date | None] = mapped_column(Date)
    shredded_at: Mapped[datetime | None]


class Checkin(Base):
    """One participation: a voter checked in (émargement) at a station in a round.

    No identity here: `token` = HMAC-SHA256(election secret, stable identity); `display`
    = AES-GCM(election display key, what the paper-list reconciliation shows), nonce first.
    UNIQUE (round_id, token): one participation per voter and round in the whole country.

    A check-in belongs to its station's row of the round (one foreign key to `station_round`,
    which itself references the round and the station): that row is the one the check-in's
    statement locks and counts in, so the key check finds it already locked by the same
    statement. Two keys to `election_round` and `station` instead made every check-in of the
    country lock the round's row (FOR KEY SHARE: a tuple rewrite, and a MultiXact shared by all
    check-ins in flight at once) and the station's row."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("round_id", "token"),
        ForeignKeyConstraint(["round_id", "station_id"], ["station_round.round_id", "station_round.station_id"]),
        Index("ix_checkin_station", "department_code", "round_id", "station_id", "checked_in_at"),
        Index("ix_checkin_round_time", "round_id", "checked_in_at"),
        CheckConstraint("contribution_cents >= 0", name="contribution_not_negative"),
    )

    department_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    round_id: Mapped[int] = mapped_column(Integer)
    token: Mapped[bytes] = mapped_column(LargeBinary)
    station_id: Mapped[int] = mapped_column(Integer)
    checked_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    contribution_cents: Mapped[int] = mapped_column(Integer)
    payment: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    display: Mapped[bytes | None] = mapped_column(LargeBinary)


class TurnoutReport(Base):
    """Turnout announced by a station at a time of day (SMS « PART », or the commission),
    for stations that check voters in on paper: the dashboards' curve uses it where the
    station has no tablet check-ins."""

    __tablename__ = "turnout_report"
    __table_args__ = (UniqueConstraint("station_round_id", "at_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_round_id: Mapped[int] = mapped_column(ForeignKey("station_round.id", ondelete="CASCADE"))
    department_code: Mapped[str] = mapped_column(String(3))
    at_time: Mapped[time] = mapped_column(Time)
    voters: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(12))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateLimitHit(Base):
    """Request counts per client and time window (« où voter ? »): shared by every worker
    through the database. Operational, not audited; old windows are deleted as new ones open."""

    __tablename__ = "rate_limit_hit"
    __audit_exempt__ = True

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)  # « ou-voter:<HMAC of the client> »
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class PollingExercise(Base):
    """An exercise election: a rehearsal of polling day (training of station staff, full-scale
    test of every channel before the day). Its stations check in real voters of the lists
    bound to `lists_election_id`, judged by that election's eligibility rules, but its
    check-ins are its own (own keys, own rounds): nothing of it counts for the real election."""

    __tablename__ = "polling_exercise"

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), primary_key=True)
    lists_election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The tables whose rows a check-in's cached context is made of (`polling.checkin`: the station,
# its election and rounds, the exercise, the privacy keys, the loaded lists, the station's
# bureaux). Any write to one of them gives `polling_context_epoch` a new value (triggers of
# migration polling 0004), which the check-in's read and write compare with the cache's.
CONTEXT_TABLES = (
    "election", "election_round", "election_privacy_key", "polling_exercise", "registry_state", "station", "station_bureau",
)


# The tables a check-in's cached session is read from (`polling.checkin`: the session, its
# account or tablet). Any UPDATE, DELETE or TRUNCATE of one of them (a revocation, a sign-out, a
# deactivation) gives row 2 of `polling_context_epoch` a new value (triggers of migration polling
# 0005); an INSERT (a new session) changes no cached one.
SESSION_TABLES = ("web_session", "account", "tablet")
CONTEXT_EPOCH_ROW = 1
SESSION_EPOCH_ROW = 2


class PollingContextEpoch(Base):
    """TWO rows: the version of everything a check-in keeps in its per-process caches, row 1
    for the stations' contexts (see `CONTEXT_TABLES`), row 2 for the sessions (see
    `SESSION_TABLES`). Set by triggers to a value of a sequence, never reused even when the
    transaction that set it rolls back: a cache filled from data later rolled back can never
    match again. Operational (written by triggers only), not audited: the changes it follows
    are audited where they are made."""

    __tablename__ = "polling_context_epoch"
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
