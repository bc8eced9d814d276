"""Audit events of the election's set-up and of its rounds' phases."""

from __future__ import annotations

from typing import Any, ClassVar

from services.events import Event


class ElectionCreated(Event):
    kind: ClassVar[str] = "election.created"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    slug: str
    name: str
    contribution_min_cents: int
    contribution_covers_both_rounds: bool
    charter_text: str


class ElectionUpdated(Event):
    kind: ClassVar[str] = "election.updated"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    changes: dict[str, Any]


class RoundCreated(Event):
    kind: ClassVar[str] = "round.created"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id")
    election_id: int
    round_id: int
    number: int
    polling_date: str
    opens_at: str
    closes_at: str
    early_departments: list[str]


class RoundUpdated(Event):
    kind: ClassVar[str] = "round.updated"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id")
    election_id: int
    round_id: int
    changes: dict[str, Any]


class RoundPhaseChanged(Event):
    kind: ClassVar[str] = "round.phase_changed"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id")
    election_id: int
    round_id: int
    number: int
    from_phase: str
    to_phase: str


class CandidateAdded(Event):
    kind: ClassVar[str] = "candidate.added"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "candidate_id")
    election_id: int
    candidate_id: int
    given_name: str
    family_name: str
    party: str


class CandidateUpdated(Event):
    kind: ClassVar[str] = "candidate.updated"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "candidate_id")
    election_id: int
    candidate_id: int
    changes: dict[str, Any]


class CandidateStatusChanged(Event):
    kind: ClassVar[str] = "candidate.status_changed"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "candidate_id")
    election_id: int
    candidate_id: int
    from_status: str
    to_status: str


class BallotSet(Event):
    kind: ClassVar[str] = "round.ballot_set"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "round_id")
    election_id: int
    round_id: int
    # Candidate ids in ballot order, and how the order was decided ("manual", or a draw's seed).
    candidate_ids: list[int]
    method: str
