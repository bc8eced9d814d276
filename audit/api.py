"""JSON API of the transparency log, and the well-known addresses of its key and checkpoint.

Public: the key, the checkpoints and the proofs (they reveal sizes and hashes, nothing of the
events), so that anyone can check what they were shown. National readers (organisers, the
high authority, candidates' representatives): the events and the export. Verification runs:
the high authority and the organisers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import export, keys, service, verifier
from audit.models import AuditCheckpoint, AuditVerification
from audit.schemas import (
    CheckOut,
    CheckpointOut,
    ConsistencyProofOut,
    EventDetailOut,
    EventOut,
    InclusionProofOut,
    StatusOut,
    VerificationOut,
)
from services import db
from services.auth.dependencies import Access, NationalReader, Public
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.errors import NotFound

router = APIRouter(prefix="/api/v1/audit", tags=["journal d'audit"])
well_known = APIRouter(tags=["journal d'audit"])

Verifier = Annotated[Principal, Depends(Access(Role.AUTHORITY, Role.ORGANISER))]

KEY_PATH = "/.well-known/primaires/audit-key"
CHECKPOINT_PATH = "/.well-known/primaires/checkpoint"


async def stream_session() -> AsyncIterator[AsyncSession]:
    """A read-only session that lives until a streamed response is fully sent (the request's
    own session is closed when the handler returns, before the body streams)."""
    async with db.database().sessionmaker() as session:
        yield session


StreamSession = Annotated[AsyncSession, Depends(stream_session, scope="request")]


def checkpoint_out(checkpoint: AuditCheckpoint) -> CheckpointOut:
    return CheckpointOut(
        tree_size=checkpoint.tree_size,
        root_hash=bytes(checkpoint.root_hash).hex(),
        signed_at=checkpoint.signed_at,
        note=checkpoint.note,
    )


def verification_out(result: AuditVerification) -> VerificationOut:
    return VerificationOut.model_validate(result, from_attributes=True)


def inclusion_out(proof: service.InclusionProof) -> InclusionProofOut:
    return InclusionProofOut(
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        leaf_hash=proof.leaf_hash.hex(),
        hashes=[value.hex() for value in proof.hashes],
        root_hash=bytes(proof.checkpoint.root_hash).hex(),
        checkpoint=proof.checkpoint.note,
    )


def event_out(row: service.EventRow) -> EventOut:
    event = row.event
    return EventOut(
        id=event.id,
        leaf_index=row.leaf_index,
        recorded_at=event.recorded_at,
        kind=event.kind,
        actor=event.actor,
        actor_scope=event.actor_scope,
        subjects=event.subjects,
        entry=event.entry,
    )


# --- Well-known addresses --------------------------------------------------------------------------


@well_known.get(KEY_PATH, response_class=PlainTextResponse, summary="Clé publique du journal (verifier key)")
async def public_key_text(_who: Public) -> PlainTextResponse:
    return PlainTextResponse(keys.require_signer().verifier_key + "\n")


@well_known.get(CHECKPOINT_PATH, response_class=PlainTextResponse, summary="Dernier point de contrôle signé")
async def latest_checkpoint_text(session: DbSession, _who: Public) -> PlainTextResponse:
    checkpoint = await service.checkpoint_at(session, None)
    return PlainTextResponse(checkpoint.note)


# --- Status, checkpoints, proofs (public) ------------------------------------------------------------


@router.get("/status", response_model=StatusOut, summary="État du journal et contrôles rapides")
async def status(session: DbSession, _who: Public) -> StatusOut:
    current = await service.log_status(session)
    return StatusOut(
        tree_size=current.tree_size,
        pending=current.pending,
        checkpoints=current.checkpoint_count,
        latest_checkpoint=checkpoint_out(current.latest) if current.latest else None,
        public_key=current.public_key.text if current.public_key else None,
        checks=[CheckOut(label=check.label, ok=check.ok, detail=check.detail) for check in current.checks],
        last_verification=verification_out(current.last_verification) if current.last_verification else None,
    )


@router.get("/checkpoints", response_model=list[CheckpointOut], summary="Points de contrôle signés")
async def list_checkpoints(
    session: DbSession,
    _who: Public,
    after: Annotated[int, Query(ge=0, description="Taille à partir de laquelle lister (exclue)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CheckpointOut]:
    rows = await session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.tree_size > after).order_by(AuditCheckpoint.tree_size).limit(limit)
    )
    return [checkpoint_out(row) for row in rows]


@router.get("/checkpoints/latest", response_model=CheckpointOut, summary="Dernier point de contrôle signé")
async def read_latest_checkpoint(session: DbSession, _who: Public) -> CheckpointOut:
    return checkpoint_out(await service.checkpoint_at(session, None))


@router.get("/checkpoints/{tree_size}", response_model=CheckpointOut, summary="Point de contrôle d'une taille donnée")
async def read_checkpoint(tree_size: int, session: DbSession, _who: Public) -> CheckpointOut:
    return checkpoint_out(await service.checkpoint_at(session, tree_size))


@router.get("/proofs/inclusion", response_model=InclusionProofOut, summary="Preuve d'inclusion d'un événement")
async def inclusion_proof(
    session: DbSession,
    _who: Public,
    index: Annotated[int, Query(ge=0, description="Index de la feuille")],
    tree_size: Annotated[int | None, Query(ge=1, description="Taille d'un point de contrôle (défaut : le dernier)")] = None,
) -> InclusionProofOut:
    return inclusion_out(await service.inclusion_proof(session, index, tree_size))


@router.get("/proofs/consistency", response_model=ConsistencyProofOut, summary="Preuve de cohérence entre deux points de contrôle")
async def consistency_proof(
    session: DbSession,
    _who: Public,
    first: Annotated[int, Query(ge=1, description="Taille du premier point de contrôle")],
    second: Annotated[int | None, Query(ge=1, description="Taille du second (défaut : le dernier)")] = None,
) -> ConsistencyProofOut:
    proof = await service.consistency_proof(session, first, second)
    return ConsistencyProofOut(
        first=proof.first.tree_size,
        second=proof.second.tree_size,
        first_root=bytes(proof.first.root_hash).hex(),
        second_root=bytes(proof.second.root_hash).hex(),
        hashes=[value.hex() for value in proof.hashes],
        first_checkpoint=proof.first.note,
        second_checkpoint=proof.second.note,
    )


# --- Events (national readers) -------------------------------------------------------------------


@router.get("/events", response_model=list[EventOut], summary="Rechercher des événements")
async def search_events(
    session: DbSession,
    _who: NationalReader,
    station: Annotated[str | None, Query(max_length=12, description="Bureau de vote (objet ou auteur)")] = None,
    subject_key: Annotated[str | None, Query(max_length=40, description="Type d'objet, ex. round_id")] = None,
    subject_value: Annotated[str | None, Query(max_length=80, description="Identifiant de l'objet")] = None,
    actor: Annotated[str | None, Query(max_length=80, description="Acteur : account:12 ou identifiant de compte")] = None,
    kind: Annotated[str | None, Query(max_length=80, description="Type d'événement, ex. round.phase_changed")] = None,
    before: Annotated[int | None, Query(ge=1, description="Événements antérieurs à cet identifiant")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = service.PAGE_SIZE,
) -> list[EventOut]:
    filters = service.EventFilters(station, subject_key, subject_value, actor, kind)
    return [event_out(row) for row in await service.search_events(session, filters, before=before, limit=limit)]


@router.get("/events/{event_id}", response_model=EventDetailOut, summary="Un événement et sa preuve d'inclusion")
async def read_event(event_id: int, session: DbSession, _who: NationalReader) -> EventDetailOut:
    detail = await service.event_detail(session, event_id)
    return EventDetailOut(
        **event_out(detail.row).model_dump(),
        leaf_hash=detail.leaf_hash.hex() if detail.leaf_hash else None,
        inclusion_proof=inclusion_out(detail.proof) if detail.proof else None,
        proof_verified=detail.proof_ok,
    )


# --- Export files --------------------------------------------------------------------------------


@router.get("/export/public-key.vkey", response_class=PlainTextResponse, summary="Export : clé publique")
async def export_key(_who: Public) -> PlainTextResponse:
    return PlainTextResponse(keys.require_signer().verifier_key + "\n")


JSONL = {200: {"content": {"application/jsonl": {"schema": {"type": "string"}}}, "description": "Une ligne JSON par élément"}}


class JsonLinesResponse(PlainTextResponse):
    media_type = "application/jsonl"


@router.get(
    "/export/checkpoints.jsonl",
    summary="Export : points de contrôle signés (JSONL)",
    response_class=JsonLinesResponse,
    responses=JSONL,
)
async def export_checkpoints(session: DbSession, _who: Public) -> PlainTextResponse:
    notes = await export.checkpoint_notes(session)
    body = b"".join(verifier.checkpoint_line(note) for note in notes)
    return PlainTextResponse(body, media_type="application/jsonl")


@router.get(
    "/export/events.jsonl",
    summary="Export : événements scellés (JSONL, en flux)",
    response_class=JsonLinesResponse,
    responses=JSONL,
)
async def export_events(
    session: DbSession,
    streaming: StreamSession,
    _who: NationalReader,
    tree_size: Annotated[int | None, Query(ge=1, description="Taille d'un point de contrôle (défaut : le dernier)")] = None,
) -> StreamingResponse:
    size = (await service.checkpoint_at(session, tree_size)).tree_size

    async def body() -> AsyncIterator[bytes]:
        async with streaming.begin():
            async for lines in export.event_lines(streaming, size):
                yield b"".join(lines)

    return StreamingResponse(
        body(),
        media_type="application/jsonl",
        headers={"Content-Disposition": f'attachment; filename="{verifier.EVENTS_FILE}"'},
    )


# --- Verification runs ---------------------------------------------------------------------------


@router.post("/verifications", response_model=VerificationOut, status_code=201, summary="Vérifier tout le journal stocké")
async def run_verification(session: DbSession, who: Verifier) -> VerificationOut:
    result = await service.verify_on_request(session, who.actor.id)
    return verification_out(result)


@router.get("/verifications/latest", response_model=VerificationOut, summary="Dernière vérification complète")
async def latest_verification(session: DbSession, _who: NationalReader) -> VerificationOut:
    result = await session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))
    if result is None:
        raise NotFound("Aucune vérification complète n'a encore été faite.", code="no_verification")
    return verification_out(result)

