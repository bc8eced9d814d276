"""JSON shapes of the log's API. Hashes are lowercase hexadecimal; checkpoint notes are given
verbatim (their root is base64 inside, as the C2SP format wants)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class CheckpointOut(BaseModel):
    tree_size: int = Field(description="Nombre d'événements couverts")
    root_hash: str = Field(description="Racine de l'arbre de Merkle (hexadécimal)")
    signed_at: datetime
    note: str = Field(description="Point de contrôle signé, format C2SP tlog-checkpoint")


class CheckOut(BaseModel):
    label: str
    ok: bool
    detail: str


class VerificationOut(BaseModel):
    verified_at: datetime
    tree_size: int
    checkpoints: int
    ok: bool
    first_bad_index: int | None
    message: str
    seconds: float
    requested_by: str


class StatusOut(BaseModel):
    tree_size: int = Field(description="Événements scellés (feuilles de l'arbre)")
    pending: int = Field(description="Événements enregistrés, pas encore scellés")
    checkpoints: int
    latest_checkpoint: CheckpointOut | None
    public_key: str | None = Field(description="Clé publique (format verifier key des notes signées)")
    checks: list[CheckOut]
    last_verification: VerificationOut | None


class InclusionProofOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str] = Field(description="Preuve d'inclusion RFC 9162, de la feuille vers la racine")
    root_hash: str
    checkpoint: str


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    hashes: list[str] = Field(description="Preuve de cohérence RFC 9162")
    first_checkpoint: str
    second_checkpoint: str


class EventOut(BaseModel):
    id: int
    leaf_index: int | None = Field(description="Index dans l'arbre ; null tant qu'il n'est pas scellé")
    recorded_at: datetime
    kind: str
    actor: str
    actor_scope: str
    subjects: dict[str, Any]
    entry: str = Field(description="Entrée canonique, octet pour octet ce que la feuille hache")


class EventDetailOut(EventOut):
    leaf_hash: str | None
    inclusion_proof: InclusionProofOut | None
    proof_verified: bool | None
