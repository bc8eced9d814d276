"""JSON shapes of the election set-up API."""

from __future__ import annotations

from datetime import date, time

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from services.elections.models import CandidateStatus, Phase


def _wall_clock(value: time) -> time:
    # Opening hours are read on each station's own clock (Paris, Pointe-à-Pitre, Nouméa…): an
    # hour with a UTC offset would mean something else in each time zone.
    if value.tzinfo is not None:
        raise ValueError("une heure d'ouverture ou de clôture est une heure locale, sans fuseau horaire (ex. 09:00)")
    return value


WallClock = Annotated[time, AfterValidator(_wall_clock)]


# Served as « HH:MM:SS », a local wall-clock time: documented as such (JSON Schema's "time"
# format would demand a UTC offset, which these hours do not have).
LocalTimeOut = Annotated[
    time,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "description": "heure locale du bureau"}),
]


class RoundSpec(BaseModel):
    number: int = Field(ge=1, le=2, description="1 ou 2")
    polling_date: date
    opens_at: WallClock = time(9, 0)
    closes_at: WallClock = time(19, 0)
    early_departments: list[str] = Field(default_factory=list, description="Départements votant la veille")


class ElectionCreate(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$", description="Identifiant court, ex. « primaire-2027 »")
    name: str = Field(min_length=3, max_length=200)
    contribution_min_cents: int = Field(default=100, ge=100, le=100_000, description="Au moins 1 € (100 centimes)")
    contribution_covers_both_rounds: bool = True
    charter_text: str | None = Field(default=None, max_length=2000)
    list_extraction_date: date | None = None
    majority_date: date | None = None
    supplementary_deadline: date | None = None
    rounds: list[RoundSpec] = Field(default_factory=list, max_length=2)


class ElectionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=3, max_length=200)
    contribution_min_cents: int | None = Field(default=None, ge=100, le=100_000)
    contribution_covers_both_rounds: bool | None = None
    charter_text: str | None = Field(default=None, min_length=10, max_length=2000)
    list_extraction_date: date | None = None
    majority_date: date | None = None
    supplementary_deadline: date | None = None


class RoundUpdate(BaseModel):
    polling_date: date | None = None
    opens_at: WallClock | None = None
    closes_at: WallClock | None = None
    early_departments: list[str] | None = None


class PhaseChange(BaseModel):
    to: Phase


class CandidateCreate(BaseModel):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    party: str = Field(default="", max_length=200)


class CandidateUpdate(BaseModel):
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    party: str | None = Field(default=None, max_length=200)


class CandidateStatusChange(BaseModel):
    status: CandidateStatus


class BallotSpec(BaseModel):
    candidate_ids: list[int] = Field(min_length=1, description="Identifiants des candidats dans l'ordre du bulletin")


class RoundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    polling_date: date
    opens_at: LocalTimeOut
    closes_at: LocalTimeOut
    early_departments: list[str]
    phase: Phase


class CandidateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    given_name: str
    family_name: str
    party: str
    status: CandidateStatus


class BallotEntryOut(BaseModel):
    position: int
    candidate_id: int
    name: str


class ElectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    contribution_min_cents: int
    contribution_covers_both_rounds: bool
    charter_text: str
    list_extraction_date: date | None
    majority_date: date | None
    supplementary_deadline: date | None
    rounds: list[RoundOut] = Field(default_factory=list)
    candidates: list[CandidateOut] = Field(default_factory=list)
