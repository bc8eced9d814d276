"""JSON shapes of the sponsorship API."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from services.sponsorship.models import WithdrawalPolicy
from services.sponsorship.rules import GroupResult, Result, RouteResult, RuleSet


class SettingsSpec(BaseModel):
    preset: str | None = Field(default=None, description="primaire-2011, primaire-2011-article, presidentielle, primaire-2016")
    rule: RuleSet | None = Field(default=None, description="Règle personnalisée (à la place d'une règle prédéfinie)")
    deadline: date | None = Field(default=None, description="Dernier jour de réception des formulaires (inclus)")
    withdrawal_policy: WithdrawalPolicy = WithdrawalPolicy.IRREVOCABLE


class SettingsOut(BaseModel):
    election_id: int
    preset: str
    rule: dict[str, Any]
    deadline: date | None
    withdrawal_policy: WithdrawalPolicy


class LineErrorOut(BaseModel):
    line: int
    message: str


class ImportReportOut(BaseModel):
    source: str
    kind: str
    filename: str
    sha256: str
    encoding: str
    separator: str
    data_lines: int
    imported: int
    rejected: list[LineErrorOut]
    summary: str


class MandateOut(BaseModel):
    category: str
    label: str
    source: str
    department_code: str | None
    commune_code: str | None
    commune_name: str | None
    population: int | None
    party_listed: bool


class OfficialOut(BaseModel):
    id: int
    family_name: str
    given_name: str
    birth_date: date
    party_member: bool
    member_number: str | None
    mandates: list[MandateOut]
    sponsored_candidate_id: int | None


class SponsorshipOut(BaseModel):
    id: int
    candidate_id: int
    official_id: int
    category: str
    department_code: str | None
    received_on: date
    scan_sha256: str
    status: str


class WithdrawalSpec(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class ValidationSpec(BaseModel):
    override_reason: str | None = Field(
        default=None, max_length=2000, description="Motif, si la Haute Autorité valide une candidature incomplète"
    )


class DrawSpec(BaseModel):
    seed: str = Field(min_length=4, max_length=200, description="Graine publique annoncée à l'avance")


class DrawOut(BaseModel):
    round_id: int
    seed: str
    algorithm: str
    candidate_ids: list[int]
    keys: dict[str, str]


class RouteResultOut(BaseModel):
    type: str = "route"
    key: str
    label: str
    met: bool
    eligible_total: int
    required: int
    sponsors: int
    counted: int
    departments: int
    min_departments: int
    regions: int
    min_regions: int
    region_map: str
    department_cap: int | None
    over_cap: dict[str, int]
    missing: list[str]


class GroupResultOut(BaseModel):
    type: str
    label: str
    met: bool
    missing: list[str]
    children: list[RouteResultOut | GroupResultOut]


GroupResultOut.model_rebuild()


def result_out(result: Result) -> RouteResultOut | GroupResultOut:
    if isinstance(result, RouteResult):
        return RouteResultOut(
            key=result.key,
            label=result.label,
            met=result.met,
            eligible_total=result.eligible_total,
            required=result.required,
            sponsors=result.sponsors,
            counted=result.counted,
            departments=result.departments,
            min_departments=result.min_departments,
            regions=result.regions,
            min_regions=result.min_regions,
            region_map=result.region_map,
            department_cap=result.department_cap,
            over_cap=result.over_cap,
            missing=list(result.missing),
        )
    assert isinstance(result, GroupResult)
    return GroupResultOut(
        type=result.type,
        label=result.label,
        met=result.met,
        missing=list(result.missing),
        children=[result_out(child) for child in result.children],
    )


class CandidateQualificationOut(BaseModel):
    candidate_id: int
    name: str
    status: str
    qualified: bool
    active_sponsorships: int
    missing: list[str]
    result: RouteResultOut | GroupResultOut


class BoardOut(BaseModel):
    election_id: int
    preset: str | None
    rule_label: str | None
    deadline: date | None
    eligible_totals: dict[str, int]
    candidates: list[CandidateQualificationOut]


class PublicSponsorOut(BaseModel):
    candidate_id: int
    candidat: str
    nom: str
    prenom: str
    qualite: str
    code_departement: str | None
    departement: str | None
    commune: str | None
    date_reception: date


class PublicSponsorsOut(BaseModel):
    election_id: int
    sponsors: list[PublicSponsorOut]
    # Party members are not named (political opinion): counts per candidate and department.
    adherents_par_departement: dict[int, dict[str, int]]
