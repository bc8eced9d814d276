"""Audit events of accounts and access. Passwords, tokens and codes never appear in them."""

from __future__ import annotations

from typing import ClassVar

from services.events import Event


class AccountCreated(Event):
    kind: ClassVar[str] = "account.created"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id", "department_code", "station_code")
    account_id: int
    username: str
    role: str
    department_code: str | None = None
    station_code: str | None = None


class AccountUpdated(Event):
    kind: ClassVar[str] = "account.updated"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id",)
    account_id: int
    changes: dict[str, str | bool | None]


class PasswordChanged(Event):
    kind: ClassVar[str] = "account.password_changed"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id",)
    account_id: int


class SignedIn(Event):
    kind: ClassVar[str] = "account.signed_in"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id",)
    account_id: int


class SignedOut(Event):
    kind: ClassVar[str] = "account.signed_out"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id",)
    account_id: int


class ApiTokenCreated(Event):
    kind: ClassVar[str] = "api_token.created"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id", "token_id")
    account_id: int
    token_id: int
    name: str
    prefix: str


class ApiTokenRevoked(Event):
    kind: ClassVar[str] = "api_token.revoked"
    subject_fields: ClassVar[tuple[str, ...]] = ("account_id", "token_id")
    account_id: int
    token_id: int


class PairingCodeIssued(Event):
    kind: ClassVar[str] = "tablet.pairing_code_issued"
    subject_fields: ClassVar[tuple[str, ...]] = ("station_code",)
    station_code: str
    pairing_id: int
    expires_at: str


class TabletPaired(Event):
    kind: ClassVar[str] = "tablet.paired"
    subject_fields: ClassVar[tuple[str, ...]] = ("station_code", "tablet_id")
    station_code: str
    tablet_id: int
    label: str


class TabletRevoked(Event):
    kind: ClassVar[str] = "tablet.revoked"
    subject_fields: ClassVar[tuple[str, ...]] = ("station_code", "tablet_id")
    station_code: str
    tablet_id: int
