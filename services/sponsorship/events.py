"""Audit events of sponsorship. They carry roster ids, never names: the roster also holds party
members (adherents), whose membership is a political opinion; the public list of sponsors is
derived from the database, not from the log."""

from __future__ import annotations

from typing import Any, ClassVar

from services.events import Event


class SponsorshipRulesSet(Event):
    kind: ClassVar[str] = "sponsorship.rules_set"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    preset: str
    rule: dict[str, Any]
    deadline: str | None
    withdrawal_policy: str


class RneFileImported(Event):
    kind: ClassVar[str] = "sponsorship.rne_imported"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    rne_kind: str
    filename: str
    sha256: str
    encoding: str
    separator: str
    data_lines: int
    imported: int
    rejected: int
    mandates_replaced: int


class PartyFileImported(Event):
    kind: ClassVar[str] = "sponsorship.party_file_imported"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    category: str
    filename: str
    sha256: str
    encoding: str
    separator: str
    data_lines: int
    listed: int
    rejected: int


class SponsorshipRecorded(Event):
    kind: ClassVar[str] = "sponsorship.recorded"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "candidate_id", "sponsorship_id")
    election_id: int
    candidate_id: int
    sponsorship_id: int
    official_id: int
    category: str
    department_code: str | None
    received_on: str
    scan_sha256: str


class SponsorshipWithdrawn(Event):
    kind: ClassVar[str] = "sponsorship.withdrawn"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "candidate_id", "sponsorship_id")
    election_id: int
    candidate_id: int
    sponsorship_id: int
    official_id: int
    reason: str


class CandidacyQualificationRuled(Event):
    """The high authority's decision on a candidacy, with the board as it stood."""

    kind: ClassVar[str] = "sponsorship.candidacy_validated"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "candidate_id")
    election_id: int
    candidate_id: int
    qualified: bool
    active_sponsorships: int
    routes: list[dict[str, Any]]
    override_reason: str | None


class BallotOrderDrawn(Event):
    kind: ClassVar[str] = "sponsorship.ballot_drawn"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id")
    election_id: int
    round_id: int
    seed: str
    algorithm: str
    candidate_ids: list[int]
    keys: dict[str, str]
