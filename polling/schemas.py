"""Pydantic schemas of the polling JSON API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from polling.models import Channel, Payment


class StaffOut(BaseModel):
    id: int
    role: str
    name: str
    phone: str | None  # E.164 for organisers and commissions, masked for the others
    account_id: int | None


class CountsOut(BaseModel):
    tablet: int
    paper: int
    total: int
    contributions_cents: int
    cash_cents: int
    cheque_cents: int
    covered: int


class StationOut(BaseModel):
    code: str
    election_id: int
    department_code: str
    canton_code: str
    commune_code: str
    plan_key: str
    name: str
    address: str
    registered: int
    bureaux: list[str] = []  # « commune:bureau »
    state: str
    opened_at: datetime | None = None
    counts: CountsOut | None = None
    staff: list[StaffOut] = []


class CheckinIn(BaseModel):
    """A check-in from a station's tablet (or a paper late entry)."""

    model_config = ConfigDict(extra="forbid")

    ref: str = Field(max_length=40, description="La référence de l'électeur renvoyée par la recherche (« L-33-1234 »)")
    contribution_cents: int = Field(ge=0, le=1_000_000)
    payment: Payment = Payment.CASH
    charter_signed: bool
    identity_checked: bool = False
    channel: Channel = Channel.TABLET
    checked_in_at: datetime | None = None


class CheckinOut(BaseModel):
    station_code: str
    round_number: int
    checked_in_at: datetime
    contribution_cents: int
    payment: str
    channel: str
    counts: CountsOut


class StaffImportOut(BaseModel):
    lines: int
    added: int
    updated: int
    stations: int


class CredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(max_length=3)
    election_id: int | None = None
    stations: list[str] = Field(default_factory=list, description="Codes des bureaux ; vide = tout le département")


class CurvePointOut(BaseModel):
    at: str
    voters: int


class TurnoutOut(BaseModel):
    election_id: int
    round_number: int
    department: str | None
    stations: int
    opened: int
    registered: int
    voters: int  # checked in, plus the last « PART » figure of stations without check-ins
    checked_in: int
    contributions_cents: int
    curve: list[CurvePointOut]


class WhereIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nom: str = Field(max_length=200)
    prenoms: str = Field(default="", max_length=200)
    naissance: str = Field(max_length=20, description="jj/mm/aaaa")
    commune: str = Field(max_length=100, description="nom ou code INSEE")


class CommuneChoiceOut(BaseModel):
    code: str
    label: str


class WhereOut(BaseModel):
    found: bool
    message: str = ""
    station: str = ""
    address: str = ""
    day: date | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    communes: list[CommuneChoiceOut] = []
