"""Audit events of results night.

Every figure that can count is in the log, in full: a station's report (all its figures, its
channel, its version), the fact that made it count, the paper entries, the commission's
validations, the high authority's decisions and the proclamation. So the published totals can
be recomputed from the log's export alone (`results.publication` computes them "at a
checkpoint" from exactly these facts).

Staff appear as masked phone numbers or account actors; PINs and confirmation codes never
(a code is a secret until used: it is not logged).
"""

from __future__ import annotations

from typing import Any, ClassVar

from services.events import Event


class Figures(Event):
    """Base of the events that carry a station report's figures (votes in ballot order)."""

    signatures: int
    blank: int
    null: int
    votes: list[int]
    contributions_cents: int | None


class ReportReceived(Figures):
    kind: ClassVar[str] = "results.report_received"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    version: int
    channel: str
    sender: str
    # What did not add up (code, size, unit): recorded and shown, never hidden.
    findings: list[dict[str, Any]]
    # Unconfirmed earlier versions this one replaces (their codes stop working).
    supersedes_pending: list[int]
    paper_entry_ids: list[int] | None = None


class ReportCounted(Event):
    """A report now counts (confirmed by OK, by the phone key, countersigned, keyed twice alike)."""

    kind: ClassVar[str] = "results.report_counted"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    version: int
    channel: str
    via: str
    # The counted version it replaces as the station's provisional figures, if any.
    supersedes_counted: int | None


class PaperEntryKeyed(Figures):
    kind: ClassVar[str] = "results.paper_entry_keyed"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    entry_id: int
    account_id: int
    # The earlier entry (by another member) it agrees with, if any: the PV is then established.
    agrees_with: int | None
    disagrees_with: list[int]


class StationValidated(Figures):
    kind: ClassVar[str] = "results.station_validated"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    validation_version: int
    report_version: int
    channel: str
    comment: str
    # Differences with the other channels' latest figures at validation time: {channel: [fields]}.
    mismatches: dict[str, list[str]]


class StationReopened(Event):
    kind: ClassVar[str] = "results.station_reopened"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    validation_version: int
    comment: str


class DecisionRecorded(Event):
    kind: ClassVar[str] = "results.decision_recorded"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id", "department_code", "station_code")
    election_id: int
    round_id: int
    department_code: str
    station_code: str
    decision_id: int
    decision: str  # annul | replace
    reference: str
    motive: str
    figures: dict[str, Any] | None
    after_proclamation: bool


class RoundProclaimed(Event):
    kind: ClassVar[str] = "results.round_proclaimed"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id")
    election_id: int
    round_id: int
    number: int
    # The signed checkpoint the proclaimed figures were computed at.
    checkpoint_tree_size: int
    checkpoint_root_hash: str
    stations: int
    signatures: int
    blank: int
    null: int
    votes: list[int]
    valid_votes: int
    contributions_cents: int
    outcome: str  # elected | runoff | no_votes
    elected_candidate_id: int | None
    qualified_candidate_ids: list[int]
    explanation: str
