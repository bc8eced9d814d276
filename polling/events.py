"""Audit events of polling stations and polling day.

None carries a voter's name, identity, registry reference or participation token: a
check-in is logged with its station, round, time, contribution and channel only (the
station and the time are not identifying), so that anyone can recount turnout and
contributions per station from the public log. Staff phone numbers appear masked
(`mask_phone`), PINs and pairing codes never.
"""

from __future__ import annotations

from typing import Any, ClassVar

from services.events import Event


class StationPlanDrafted(Event):
    kind: ClassVar[str] = "polling.plan_drafted"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code")
    election_id: int
    department_code: str | None
    plan_id: int
    max_voters: int
    stations: int
    bureaux: int
    registered: int
    lower_bound: int


class StationPlanAdjusted(Event):
    kind: ClassVar[str] = "polling.plan_adjusted"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code")
    election_id: int
    department_code: str | None
    plan_id: int
    adjustment: str  # split | merge | move
    detail: dict[str, Any]
    stations: int


class StationPlanApplied(Event):
    kind: ClassVar[str] = "polling.plan_applied"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code")
    election_id: int
    department_code: str | None
    plan_id: int
    stations: int
    bureaux: int


class StationCreated(Event):
    kind: ClassVar[str] = "polling.station_created"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code", "station_code")
    election_id: int
    department_code: str
    station_code: str
    plan_key: str
    canton_code: str
    name: str
    registered: int
    bureaux: list[str]  # « commune:bureau »


class StationUpdated(Event):
    kind: ClassVar[str] = "polling.station_updated"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code", "station_code")
    election_id: int
    department_code: str
    station_code: str
    changes: dict[str, Any]


class StationStateChanged(Event):
    kind: ClassVar[str] = "polling.station_state_changed"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    from_state: str
    to_state: str
    via: str


class StaffAdded(Event):
    kind: ClassVar[str] = "polling.staff_added"
    subject_fields: ClassVar[tuple[str, ...]] = ("department_code", "station_code")
    department_code: str
    station_code: str
    staff_id: int
    role: str
    phone: str | None  # masked
    account_id: int | None


class StaffUpdated(Event):
    kind: ClassVar[str] = "polling.staff_updated"
    subject_fields: ClassVar[tuple[str, ...]] = ("department_code", "station_code")
    department_code: str
    station_code: str
    staff_id: int
    changes: dict[str, Any]


class StaffRemoved(Event):
    kind: ClassVar[str] = "polling.staff_removed"
    subject_fields: ClassVar[tuple[str, ...]] = ("department_code", "station_code")
    department_code: str
    station_code: str
    staff_id: int


class StaffImported(Event):
    kind: ClassVar[str] = "polling.staff_imported"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    file_name: str
    file_sha256: str
    added: int
    updated: int
    stations: int


class StationPinIssued(Event):
    """A new PIN (the previous one stops working). Never the PIN itself."""

    kind: ClassVar[str] = "polling.pin_issued"
    subject_fields: ClassVar[tuple[str, ...]] = ("department_code", "station_code")
    department_code: str
    station_code: str
    version: int


class CredentialsIssued(Event):
    """Credentials sheets printed: new PINs and pairing codes for these stations."""

    kind: ClassVar[str] = "polling.credentials_issued"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code")
    election_id: int
    department_code: str | None
    stations: list[str]


class VoterCheckedIn(Event):
    """One participation (émargement). No identity, no token: station, round, time, money."""

    kind: ClassVar[str] = "polling.checked_in"
    subject_fields: ClassVar[tuple[str, ...]] = ("round_id", "department_code", "station_code")
    round_id: int
    department_code: str
    station_code: str
    checked_in_at: str
    contribution_cents: int
    payment: str
    channel: str


class TurnoutReported(Event):
    kind: ClassVar[str] = "polling.turnout_reported"
    subject_fields: ClassVar[tuple[str, ...]] = ("round_id", "department_code", "station_code")
    round_id: int
    department_code: str
    station_code: str
    at_time: str
    voters: int
    via: str


class PrivacyKeysCreated(Event):
    kind: ClassVar[str] = "polling.privacy_keys_created"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    retention_until: str | None


class PrivacyKeysShredded(Event):
    """The per-election participation keys are destroyed: nobody can tell who took part any more.
    The counts are recorded so that the log still states what was counted before the shredding."""

    kind: ClassVar[str] = "polling.privacy_keys_shredded"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    retention_until: str | None
    checkins_per_round: dict[str, int]
    before_retention_date: bool


class ExerciseDeclared(Event):
    """An election is declared an exercise (rehearsal) using the lists of another election."""

    kind: ClassVar[str] = "polling.exercise_declared"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    lists_election_id: int
