"""Elections, their rounds and their candidates."""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, TimestampMixin

# The 2011 charter sentence (DOMAIN.md), the default text every voter signs.
CHARTER_2011 = (
    "Je me reconnais dans les valeurs de la Gauche et de la République, dans le projet d'une société "
    "de liberté, d'égalité, de fraternité, de laïcité, de justice et de progrès solidaire."
)


class Phase(StrEnum):
    SETUP = "setup"
    POLLS_OPEN = "polls_open"
    POLLS_CLOSED = "polls_closed"
    RESULTS_VALIDATED = "results_validated"
    PROCLAIMED = "proclaimed"

    @property
    def label(self) -> str:
        return PHASE_LABELS[self]


PHASE_LABELS = {
    Phase.SETUP: "Préparation",
    Phase.POLLS_OPEN: "Scrutin ouvert",
    Phase.POLLS_CLOSED: "Scrutin clos",
    Phase.RESULTS_VALIDATED: "Résultats validés",
    Phase.PROCLAIMED: "Résultats proclamés",
}
PHASE_ORDER = list(Phase)


class CandidateStatus(StrEnum):
    DECLARED = "declared"  # candidacy filed, sponsorships being gathered
    VALIDATED = "validated"  # validated by the high authority
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"declared": "Déclarée", "validated": "Validée", "withdrawn": "Retirée"}[self.value]


class Election(TimestampMixin, Base):
    __tablename__ = "election"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(Text)
    # Minimum contribution in cents (at least 1 €). When `contribution_covers_both_rounds`, a
    # voter who paid in round 1 pays nothing more in round 2 (the 2011 rule).
    contribution_min_cents: Mapped[int] = mapped_column(Integer, default=100)
    contribution_covers_both_rounds: Mapped[bool] = mapped_column(Boolean, default=True)
    charter_text: Mapped[str] = mapped_column(Text, default=CHARTER_2011)
    # Electoral lists as extracted at this date; voters must be 18 by `majority_date`
    # (16 for party members, see voter_registry); supplementary registrations close at the deadline.
    list_extraction_date: Mapped[date | None] = mapped_column(Date)
    majority_date: Mapped[date | None] = mapped_column(Date)
    supplementary_deadline: Mapped[date | None] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Paris")


class Round(Base):
    __tablename__ = "election_round"
    __table_args__ = (UniqueConstraint("election_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    polling_date: Mapped[date] = mapped_column(Date)
    opens_at: Mapped[time] = mapped_column(Time, default=time(9, 0))
    closes_at: Mapped[time] = mapped_column(Time, default=time(19, 0))
    # Departments that vote the day before (overseas, across the date line and the Atlantic).
    early_departments: Mapped[list[str]] = mapped_column(ARRAY(String(3)), default=list)
    phase: Mapped[str] = mapped_column(String(20), default=Phase.SETUP.value)


class Candidate(TimestampMixin, Base):
    __tablename__ = "candidate"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    given_name: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    party: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=CandidateStatus.DECLARED.value)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class BallotEntry(Base):
    """A candidate's place on a round's ballot (round 2 holds only the two qualified)."""

    __tablename__ = "ballot_entry"
    __table_args__ = (UniqueConstraint("round_id", "position"), UniqueConstraint("round_id", "candidate_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("election_round.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"))
    position: Mapped[int] = mapped_column(Integer)
