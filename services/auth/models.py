"""Accounts, API tokens, browser sessions, paired tablets and login throttling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, TimestampMixin, utcnow


class Account(TimestampMixin, Base):
    """A person who signs in. One role, one scope (a department or a station code, or none)."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    # Station codes belong to the polling package; kept as a plain code so that the platform
    # layer does not depend on it. The polling package checks the code exists when it grants.
    station_code: Mapped[str | None] = mapped_column(String(12), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(TimestampMixin, Base):
    """A bearer token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    revoked_at: Mapped[datetime | None]


class Tablet(TimestampMixin, Base):
    """A tablet paired to one station with a one-time code."""

    __tablename__ = "tablet"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(String(12), index=True)
    label: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[datetime | None]


class PairingCode(TimestampMixin, Base):
    """A one-time code that pairs a tablet with a station; only its SHA-256 is stored."""

    __tablename__ = "pairing_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(String(12), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    tablet_id: Mapped[int | None] = mapped_column(ForeignKey("tablet.id"))


class WebSession(Base):
    """A signed-in browser (an account) or a paired tablet. Only the token's SHA-256 is stored.

    Operational state, not election state: creating one is not an audited change by itself
    (the sign-in and the pairing are recorded as events by the service).
    """

    __tablename__ = "web_session"
    __audit_exempt__ = True

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    tablet_id: Mapped[int | None] = mapped_column(ForeignKey("tablet.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginFailure(Base):
    """A failed sign-in or pairing attempt, counted for throttling. Operational, not audited."""

    __tablename__ = "login_failure"
    __audit_exempt__ = True
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text)  # "user:<name>", "ip:<address>", "pairing:<address>"
    at: Mapped[datetime] = mapped_column(default=utcnow)
