"""JSON API of the election set-up (organisers script it; the OpenAPI schema documents it)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.dependencies import Authority, NationalReader, Organiser
from services.db import DbSession
from services.elections import service
from services.elections.models import Election
from services.elections.schemas import (
    BallotEntryOut,
    BallotSpec,
    CandidateCreate,
    CandidateOut,
    CandidateStatusChange,
    CandidateUpdate,
    ElectionCreate,
    ElectionOut,
    ElectionUpdate,
    PhaseChange,
    RoundOut,
    RoundSpec,
    RoundUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["élections"])


async def _election_out(session: AsyncSession, election: Election) -> ElectionOut:
    out = ElectionOut.model_validate(election)
    out.rounds = [RoundOut.model_validate(r) for r in await service.rounds_of(session, election.id)]
    out.candidates = [CandidateOut.model_validate(c) for c in await service.candidates_of(session, election.id)]
    return out


@router.get("/elections", response_model=list[ElectionOut], summary="Lister les élections")
async def list_elections(session: DbSession, _who: NationalReader) -> list[ElectionOut]:
    elections = await session.scalars(select(Election).order_by(Election.id))
    return [await _election_out(session, election) for election in elections]


@router.post("/elections", response_model=ElectionOut, status_code=201, summary="Créer une élection et ses tours")
async def create_election(spec: ElectionCreate, session: DbSession, who: Organiser) -> ElectionOut:
    election = await service.create_election(session, who.actor, spec)
    return await _election_out(session, election)


@router.get("/elections/{election_id}", response_model=ElectionOut, summary="Lire une élection")
async def read_election(election_id: int, session: DbSession, _who: NationalReader) -> ElectionOut:
    return await _election_out(session, await service.get_election(session, election_id))


@router.patch("/elections/{election_id}", response_model=ElectionOut, summary="Modifier une élection")
async def update_election(election_id: int, spec: ElectionUpdate, session: DbSession, who: Organiser) -> ElectionOut:
    election = await service.get_election(session, election_id)
    await service.update_election(session, who.actor, election, spec)
    return await _election_out(session, election)


@router.post("/elections/{election_id}/rounds", response_model=RoundOut, status_code=201, summary="Ajouter un tour")
async def add_round(election_id: int, spec: RoundSpec, session: DbSession, who: Organiser) -> RoundOut:
    election = await service.get_election(session, election_id)
    return RoundOut.model_validate(await service.add_round(session, who.actor, election, spec))


@router.patch("/rounds/{round_id}", response_model=RoundOut, summary="Modifier la date ou les horaires d'un tour")
async def update_round(round_id: int, spec: RoundUpdate, session: DbSession, who: Organiser) -> RoundOut:
    round_ = await service.get_round(session, round_id)
    return RoundOut.model_validate(await service.update_round(session, who.actor, round_, spec))


@router.post("/rounds/{round_id}/phase", response_model=RoundOut, summary="Faire passer un tour à la phase suivante")
async def change_phase(round_id: int, spec: PhaseChange, session: DbSession, who: Organiser) -> RoundOut:
    round_ = await service.get_round(session, round_id)
    return RoundOut.model_validate(await service.change_phase(session, who.actor, round_, spec.to))


@router.get("/rounds/{round_id}/ballot", response_model=list[BallotEntryOut], summary="Lire le bulletin d'un tour")
async def read_ballot(round_id: int, session: DbSession, _who: NationalReader) -> list[BallotEntryOut]:
    await service.get_round(session, round_id)
    return [
        BallotEntryOut(position=position, candidate_id=c.id, name=c.full_name)
        for position, c in await service.ballot_of(session, round_id)
    ]


@router.put("/rounds/{round_id}/ballot", response_model=list[BallotEntryOut], summary="Fixer l'ordre du bulletin")
async def set_ballot(round_id: int, spec: BallotSpec, session: DbSession, who: Organiser) -> list[BallotEntryOut]:
    round_ = await service.get_round(session, round_id)
    ballot = await service.set_ballot(session, who.actor, round_, spec.candidate_ids)
    return [BallotEntryOut(position=position, candidate_id=c.id, name=c.full_name) for position, c in ballot]


@router.post(
    "/elections/{election_id}/candidates", response_model=CandidateOut, status_code=201, summary="Déclarer un candidat"
)
async def add_candidate(election_id: int, spec: CandidateCreate, session: DbSession, who: Organiser) -> CandidateOut:
    election = await service.get_election(session, election_id)
    return CandidateOut.model_validate(await service.add_candidate(session, who.actor, election, spec))


@router.patch("/candidates/{candidate_id}", response_model=CandidateOut, summary="Modifier un candidat")
async def update_candidate(candidate_id: int, spec: CandidateUpdate, session: DbSession, who: Organiser) -> CandidateOut:
    candidate = await service.get_candidate(session, candidate_id)
    return CandidateOut.model_validate(await service.update_candidate(session, who.actor, candidate, spec))


@router.post(
    "/candidates/{candidate_id}/status",
    response_model=CandidateOut,
    summary="Valider (Haute Autorité) ou retirer une candidature",
)
async def set_candidate_status(
    candidate_id: int, spec: CandidateStatusChange, session: DbSession, who: Authority
) -> CandidateOut:
    candidate = await service.get_candidate(session, candidate_id)
    return CandidateOut.model_validate(await service.set_candidate_status(session, who.actor, candidate, spec.status))
