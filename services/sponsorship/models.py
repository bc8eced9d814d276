"""Sponsorship: the election's rules, the roster of officials who may sponsor, the forms received,
and the ballot-order draw.

The roster is per election (each primary freezes its own): one `Official` per person (so that
exclusivity — one candidate per sponsor — holds across all the person's capacities) and one
`OfficialMandate` per capacity. Elected mandates come from the State's register (RNE) and say
where the official sits (department, commune and its population); whether the official belongs
to the party comes only from the party's own files (`party_listed`), never from the RNE.

A `Sponsorship` keeps a snapshot of the sponsor's facts as verified at intake (capacity,
department, commune population, membership): the qualification board is computed from these
rows alone, so a later roster re-import cannot silently rewrite what was accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow


class WithdrawalPolicy(StrEnum):
    IRREVOCABLE = "irrevocable"  # the 2011 and presidential practice: a signed form stands
    REVOCABLE_UNTIL_DEADLINE = "revocable_until_deadline"

    @property
    def label(self) -> str:
        return {
            "irrevocable": "Irrévocable : un parrainage enregistré ne peut pas être retiré",
            "revocable_until_deadline": "Révocable jusqu'à la clôture : le parrain peut retirer son parrainage",
        }[self.value]


class SponsorshipStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class SponsorshipSettings(Base):
    """The election's sponsorship rule (a preset or a custom tree, stored expanded), deadline and
    withdrawal policy."""

    __tablename__ = "sponsorship_settings"

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), primary_key=True)
    preset: Mapped[str] = mapped_column(String(40))  # preset name, or "personnalisee"
    rule: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Last day on which a form may be received (inclusive), in the election's time zone.
    deadline: Mapped[date | None] = mapped_column(Date)
    withdrawal_policy: Mapped[str] = mapped_column(String(30), default=WithdrawalPolicy.IRREVOCABLE.value)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Official(Base):
    """A person of the election's sponsor roster."""

    __tablename__ = "sponsorship_official"
    __table_args__ = (UniqueConstraint("election_id", "person_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    # Normalised FAMILY|FIRSTGIVEN|birth date: recognises the person across the RNE and party files.
    person_key: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    given_name: Mapped[str] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    # Listed in at least one of the party's files (kept in step with the mandates' `party_listed`).
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    member_number: Mapped[str | None] = mapped_column(String(40))
    # Lower-cased, accent-free "family given" for the intake search.
    search_name: Mapped[str] = mapped_column(Text)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class OfficialMandate(Base):
    """One capacity of an official: an RNE mandate, or a party office (national council, member)."""

    __tablename__ = "sponsorship_mandate"
    __table_args__ = (
        UniqueConstraint("official_id", "category"),
        Index("ix_sponsorship_mandate_election_id_category", "election_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("sponsorship_official.id"), index=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    category: Mapped[str] = mapped_column(String(24))
    # "rne:<kind>" (maires, deputes…) or "parti".
    source: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str | None] = mapped_column(String(3))
    commune_code: Mapped[str | None] = mapped_column(String(5))
    commune_name: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    # Listed in the party's own file of this category.
    party_listed: Mapped[bool] = mapped_column(Boolean, default=False)


class RosterFile(Base):
    """Each roster file imported: what was read, how, and which lines were refused."""

    __tablename__ = "sponsorship_roster_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    source: Mapped[str] = mapped_column(String(8))  # rne | parti
    kind: Mapped[str] = mapped_column(String(24))  # RNE kind, or the party file's category
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(20))
    separator: Mapped[str] = mapped_column(String(20))
    data_lines: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    # [{"line": 12, "message": "…"}], at most the first 1,000.
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormScan(Base):
    """The scanned sponsorship form, stored in the database (same transaction as the form: a refused
    form leaves no orphan file) and addressed by its SHA-256."""

    __tablename__ = "sponsorship_scan"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Sponsorship(Base):
    """One sponsorship form accepted for a candidate."""

    __tablename__ = "sponsorship"
    __table_args__ = (
        # Exclusivity, enforced by the database even under concurrent intake: one active
        # sponsorship per official and election, whatever the capacity.
        Index(
            "uq_sponsorship_active_official",
            "election_id",
            "official_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("sponsorship_official.id"), index=True)
    # The capacity declared on the form, and the sponsor's facts as verified at intake.
    category: Mapped[str] = mapped_column(String(24))
    department_code: Mapped[str | None] = mapped_column(String(3))
    commune_code: Mapped[str | None] = mapped_column(String(5))
    population: Mapped[int | None] = mapped_column(Integer)
    party_member: Mapped[bool] = mapped_column(Boolean)
    received_on: Mapped[date] = mapped_column(Date)
    scan_sha256: Mapped[str] = mapped_column(ForeignKey("sponsorship_scan.sha256"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=SponsorshipStatus.ACTIVE.value)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class BallotDraw(Base):
    """The public draw of a round's ballot order: the seed and the order it gave."""

    __tablename__ = "sponsorship_ballot_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"), index=True)
    seed: Mapped[str] = mapped_column(Text)
    candidate_ids: Mapped[list[int]] = mapped_column(JSONB)
    # {candidate_id: sha256(seed|id)} so anyone can check the order from the published seed.
    keys: Mapped[dict[str, str]] = mapped_column(JSONB)
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
