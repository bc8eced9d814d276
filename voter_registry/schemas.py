"""Pydantic schemas of the registry's JSON API and of supplementary registrations."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MemberCategory(StrEnum):
    MINOR = "minor"  # aged 16–17 by the majority date
    FOREIGN = "foreign"  # a foreigner who cannot be on a French list

    @property
    def label(self) -> str:
        return {"minor": "Adhérent de 16 ou 17 ans", "foreign": "Adhérent de nationalité étrangère"}[self.value]


class ProofKind(StrEnum):
    TOWN_HALL = "mairie"  # attestation d'inscription délivrée par la mairie
    SERVICE_PUBLIC = "service_public"  # attestation de situation électorale (service-public.fr)
    COURT = "tribunal"  # décision de justice ordonnant l'inscription
    OTHER = "autre"

    @property
    def label(self) -> str:
        return {
            "mairie": "Attestation d'inscription de la mairie",
            "service_public": "Attestation de situation électorale (service-public.fr)",
            "tribunal": "Décision du tribunal ordonnant l'inscription",
            "autre": "Autre justificatif d'inscription",
        }[self.value]


class SupplementaryCreate(BaseModel):
    """One supplementary registration: a party member (16–17 or foreign) or a voter with an attestation."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["member", "attestation"]
    category: str = Field(description="member : minor | foreign ; attestation : mairie | service_public | tribunal | autre")
    birth_name: str = Field(min_length=1, max_length=200)
    usage_name: str = Field(default="", max_length=200)
    given_names: str = Field(default="", max_length=300)
    sex: Literal["M", "F"]
    birth_date: str = Field(description="jj/mm/aaaa (00 pour une partie inconnue)", max_length=10)
    birth_commune_code: str = Field(default="", max_length=5)
    birth_commune: str = Field(default="", max_length=200)
    birth_department_code: str = Field(default="", max_length=3)
    birth_country: str = Field(default="FRANCE", max_length=200)
    nationality: str = Field(default="Française", max_length=100)
    address: str = Field(default="", max_length=300)
    commune_code: str = Field(min_length=5, max_length=5)
    bureau_code: str = Field(min_length=1, max_length=10)
    party: str = Field(default="", max_length=200)
    proof_date: date | None = None


class SupplementaryOut(BaseModel):
    ref: str
    kind: str
    category: str
    department_code: str
    commune_code: str
    bureau_code: str
    birth_name: str
    usage_name: str
    given_names: str
    birth_date: str
    registered_on: date
    party: str
    proof_date: date | None


class EligibilityOut(BaseModel):
    status: str
    label: str
    reasons: list[str]


class VoterOut(BaseModel):
    ref: str
    source: str
    level: str
    full_detail: bool
    score: int
    birth_name: str
    usage_name: str
    given_names: str
    sex: str
    birth_date: str
    birth_place: str
    nationality: str
    address: str
    department_code: str
    commune_code: str
    commune_name: str
    bureau_code: str
    bureau_label: str
    lists: list[str]
    order_number: int
    eligibility: EligibilityOut


class SearchOut(BaseModel):
    results: list[VoterOut]
    levels_searched: list[str]
    truncated: bool
    notes: list[str]


class BureauCountOut(BaseModel):
    department_code: str
    commune_code: str
    commune_name: str
    bureau_code: str
    bureau_label: str
    canton_code: str | None
    canton_name: str
    voters: int
    supplementary: int
    total: int


class RejectOut(BaseModel):
    line: int
    column: str
    reason: str


class ImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_code: str
    commune_code: str
    file_name: str
    file_sha256: str
    extracted_at: object | None
    imported_at: object
    encoding: str
    lines: int
    voters: int
    rejected: int
    merged: int
    added: int
    removed: int
    changed: int
    replaced: bool
    warnings: list[str]


class ImportDetailOut(ImportOut):
    rejects: list[RejectOut] = []


class SupplementaryFileOut(BaseModel):
    lines: int
    registered: int
    already_registered: int
    rejected: int
    rejects: list[RejectOut]
