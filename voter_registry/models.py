"""The registry: a copy of the electoral lists, usable only for one primary, then purged.

Hot tables (`voter`, `supplementary_voter`) carry the department code first in their primary
key and in every index, so that a distributed PostgreSQL (Citus) can shard them by
department without changing a query: every search, count and import names its department.

Search keys (`birth_key`, `usage_key`, `given_key`) are folded in Python at import time (see
`voter_registry.normalize`) and compared byte by byte (collation "C"): a prefix search is a
b-tree range scan whatever the database's locale, and needs no contrib extension.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow

KEY = Text(collation="C")
# What the department- and country-wide search indexes carry besides their keys (see `Voter`).
# Not the bureau: with it, the planner found these indexes as good as the area's ones for a
# station's search (both index-only) and scanned the department's name range instead.
SEARCH_INCLUDE = ("given_key", "birth_month", "birth_day", "name_flags", "commune_code", "id")
AREA_INCLUDE = ("given_key", "birth_year", "birth_month", "birth_day", "name_flags", "id")
NATIONAL_INCLUDE = (*SEARCH_INCLUDE[:-1], "department_code", "id")


class RegistryState(Base):
    """The one copy of the lists this installation holds, and the election it was made for.

    The lists are communicated to the organisers for this primary only: the copy is bound to
    one election at its first import and deleted by `primaires registry purge --election X`.
    """

    __tablename__ = "registry_state"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistryCommune(Base):
    """The extract currently loaded for one commune (what idempotence and replacement compare)."""

    __tablename__ = "registry_commune"

    department_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    extracted_at: Mapped[datetime | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    voters: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int] = mapped_column(Integer)


class RegistryBureau(Base):
    """A polling place of the lists (bureau de vote), with its canton and its registered count.

    `canton_code` maps the REU's « libellé canton du bureau de vote » to the territory
    reference (`canton_source` = "libelle"); when the label is missing or unknown, the
    commune's canton from the reference is used (`canton_source` = "commune").
    """

    __tablename__ = "registry_bureau"

    department_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    bureau_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    label: Mapped[str] = mapped_column(Text, default="")
    circonscription_code: Mapped[str] = mapped_column(String(20), default="")
    canton_label: Mapped[str] = mapped_column(Text, default="")
    canton_code: Mapped[str | None] = mapped_column(String(6))
    canton_source: Mapped[str] = mapped_column(String(10), default="")
    voters: Mapped[int] = mapped_column(Integer, default=0)


class RegistryImport(Base):
    """The report of one commune file's import: counts, warnings; its rejected lines follow."""

    __tablename__ = "registry_import"
    __table_args__ = (Index("ix_registry_import_department_commune", "department_code", "commune_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(3))
    commune_code: Mapped[str] = mapped_column(String(5))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    extracted_at: Mapped[datetime | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(20))
    lines: Mapped[int] = mapped_column(Integer)  # data lines read (header and blank lines excluded)
    voters: Mapped[int] = mapped_column(Integer)  # voters of the commune after the import
    rejected: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)  # lines of a person already read (several lists)
    added: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    replaced: Mapped[bool] = mapped_column(Boolean)  # a previous extract of the commune was replaced
    warnings: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)


class RegistryReject(Base):
    """One rejected line: where it is and why, in French. Never the line's content."""

    __tablename__ = "registry_reject"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("registry_import.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class Voter(Base):
    """A person on the electoral lists of a commune (main and/or complementary lists).

    One person is one row even when on several lists (`lists` is a bit mask: 1 main,
    2 complementary municipal, 4 complementary European). `identity_hash` is the person's
    stable identity (`voter_registry.normalize`), unique within a commune.
    `id` is kept across re-imports for an unchanged person; `identity_hash` survives even a
    purge-and-reload of the same lists, which is why polling keys on it, not on `id`.
    Birth dates keep the REU's unknown parts as 0 (« 00/00/1953 » → 1953, 0, 0).
    """

    __tablename__ = "voter"
    __table_args__ = (
        # Identity first after the department: finds a person in a department (supplementary
        # registrations refuse people already listed) and compares extracts of a commune.
        UniqueConstraint("department_code", "identity_hash", "commune_code"),
        # A station's bureaux: the same, INCLUDE making its searches index-only too (without
        # them the planner preferred the department-wide covering index for a station's search).
        Index(
            "ix_voter_area_birth",
            "department_code",
            "commune_code",
            "bureau_code",
            "birth_key",
            postgresql_include=list(AREA_INCLUDE),
        ),
        # The birth year in the key is checked in the index itself: a search by name and year in
        # a whole department or country reads only the matching rows. The INCLUDEd columns are
        # every other filter of a search (given names, full birth date, particles, commune) and
        # the row's id: a department or national search filters in an index-only scan and reads
        # the table only for the ≤ 201 people it keeps (on 10 M voters, a prefix and a given
        # name read ≈ 1,300 table pages before, for 7 people — see bench/registry_search.py).
        Index("ix_voter_birth", "department_code", "birth_key", "birth_year", postgresql_include=list(SEARCH_INCLUDE)),
        Index(
            "ix_voter_area_usage",
            "department_code",
            "commune_code",
            "bureau_code",
            "usage_key",
            postgresql_where=text("usage_key <> ''"),
            postgresql_include=list(AREA_INCLUDE),
        ),
        Index(
            "ix_voter_usage",
            "department_code",
            "usage_key",
            "birth_year",
            postgresql_where=text("usage_key <> ''"),
            postgresql_include=list(SEARCH_INCLUDE),
        ),
        # The whole country with a birth year (a voter registered elsewhere: « nom prénom
        # année »): the year first, then the name, so that only that year's entries of the name
        # range are read — the department-led indexes above read the name range of every
        # department, the year being a filter (« MARTIN Patrick 1958 »: 30,000 entries, 37 ms of
        # PostgreSQL CPU on the 10 M bench, now 1,400 and 1 ms). See migration 0004.
        Index("ix_voter_national_birth", "birth_year", "birth_key", postgresql_include=list(NATIONAL_INCLUDE)),
        Index(
            "ix_voter_national_usage",
            "birth_year",
            "usage_key",
            postgresql_where=text("usage_key <> ''"),
            postgresql_include=list(NATIONAL_INCLUDE),
        ),
    )

    department_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5))
    bureau_code: Mapped[str] = mapped_column(String(10))
    lists: Mapped[int] = mapped_column(SmallInteger)
    identity_hash: Mapped[bytes] = mapped_column(LargeBinary)
    birth_name: Mapped[str] = mapped_column(Text)
    usage_name: Mapped[str] = mapped_column(Text, default="")
    given_names: Mapped[str] = mapped_column(Text)
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    birth_month: Mapped[int] = mapped_column(SmallInteger)
    birth_day: Mapped[int] = mapped_column(SmallInteger)
    birth_commune_code: Mapped[str] = mapped_column(String(5), default="")
    birth_commune: Mapped[str] = mapped_column(Text, default="")
    birth_department_code: Mapped[str] = mapped_column(String(3), default="")
    birth_country: Mapped[str] = mapped_column(Text, default="")
    nationality: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(Text, default="")
    order_number: Mapped[int] = mapped_column(Integer, default=0)
    birth_key: Mapped[str] = mapped_column(KEY)
    usage_key: Mapped[str] = mapped_column(KEY, default="")
    given_key: Mapped[str] = mapped_column(KEY)
    name_flags: Mapped[int] = mapped_column(SmallInteger, default=0)


class SupplementaryKind:
    MEMBER = "member"  # party or youth-organisation member who cannot be on a list
    ATTESTATION = "attestation"  # registered voter missing from the copy, with a proof


class SupplementaryVoter(Base):
    """A supplementary registration for one election, attached to a commune and a bureau.

    Members (aged 16–17, or foreigners) are registered before the election's deadline from
    the parties' files or one by one; voters with an attestation of registration (registered
    after the extraction, moved) are recorded with the kind of proof. Same search keys and
    identity as `Voter`, so the station finds them the same way.
    """

    __tablename__ = "supplementary_voter"
    __table_args__ = (
        UniqueConstraint("department_code", "election_id", "identity_hash"),
        Index("ix_supplementary_voter_birth", "department_code", "birth_key"),
        Index("ix_supplementary_voter_usage", "department_code", "usage_key"),
        Index("ix_supplementary_voter_area", "department_code", "commune_code", "bureau_code"),
    )

    department_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    # member: "minor" (16–17) or "foreign"; attestation: the kind of proof (see schemas).
    category: Mapped[str] = mapped_column(String(20))
    party: Mapped[str] = mapped_column(Text, default="")
    proof_date: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    commune_code: Mapped[str] = mapped_column(String(5))
    bureau_code: Mapped[str] = mapped_column(String(10))
    identity_hash: Mapped[bytes] = mapped_column(LargeBinary)
    birth_name: Mapped[str] = mapped_column(Text)
    usage_name: Mapped[str] = mapped_column(Text, default="")
    given_names: Mapped[str] = mapped_column(Text)
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    birth_month: Mapped[int] = mapped_column(SmallInteger)
    birth_day: Mapped[int] = mapped_column(SmallInteger)
    birth_commune_code: Mapped[str] = mapped_column(String(5), default="")
    birth_commune: Mapped[str] = mapped_column(Text, default="")
    birth_department_code: Mapped[str] = mapped_column(String(3), default="")
    birth_country: Mapped[str] = mapped_column(Text, default="")
    nationality: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(Text, default="")
    birth_key: Mapped[str] = mapped_column(KEY)
    usage_key: Mapped[str] = mapped_column(KEY, default="")
    given_key: Mapped[str] = mapped_column(KEY)
    name_flags: Mapped[int] = mapped_column(SmallInteger, default=0)
