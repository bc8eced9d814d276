"""JSON API of the registry (the station tablet, commissions' scripts, organisers)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import DbSession
from services.elections import service as elections
from services.elections.models import Election
from services.errors import InvalidInput, NotFound
from voter_registry import service
from voter_registry.dependencies import (
    ListsOrganiser,
    ListsReader,
    RegistrySearcher,
    SupplementaryManager,
    SupplementaryWriter,
    check_import_scope,
    department_in_scope,
)
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import RegistryImport, SupplementaryVoter
from voter_registry.schemas import (
    BureauCountOut,
    EligibilityOut,
    ImportDetailOut,
    ImportOut,
    RejectOut,
    SearchOut,
    SupplementaryCreate,
    SupplementaryFileOut,
    SupplementaryOut,
    VoterOut,
)
from voter_registry.search import SearchHit, SearchResults, VoterQuery

router = APIRouter(prefix="/api/v1/registry", tags=["listes électorales"])
MAX_UPLOAD = 50 * 1024 * 1024
# Row ids are PostgreSQL `integer`s: a larger number in a URL is a 422 for the client, not a
# driver overflow (a 500) — found by tests/test_api_fuzz.py.
MAX_ROW_ID = 2**31 - 1


async def current_election(session: AsyncSession) -> Election:
    election = await elections.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


def hit_out(hit: SearchHit) -> VoterOut:
    voter = hit.voter
    return VoterOut(
        ref=voter.ref,
        source=voter.source.value,
        level=hit.level.value,
        full_detail=hit.full_detail,
        score=hit.score,
        birth_name=voter.birth_name,
        usage_name=voter.usage_name,
        given_names=voter.given_names,
        sex=voter.sex,
        birth_date=voter.birth_date,
        birth_place=voter.birth_place,
        nationality=voter.nationality,
        address=voter.address,
        department_code=voter.department_code,
        commune_code=voter.commune_code,
        commune_name=voter.commune_name,
        bureau_code=voter.bureau_code,
        bureau_label=voter.bureau_label,
        lists=list(voter.lists),
        order_number=voter.order_number,
        eligibility=EligibilityOut(
            status=hit.eligibility.status.value, label=hit.eligibility.status.label, reasons=list(hit.eligibility.reasons)
        ),
    )


def results_out(results: SearchResults) -> SearchOut:
    return SearchOut(
        results=[hit_out(hit) for hit in results.hits],
        levels_searched=[level.value for level in results.levels_searched],
        truncated=results.truncated,
        notes=results.notes,
    )


def supplementary_out(registration: SupplementaryVoter) -> SupplementaryOut:
    return SupplementaryOut(
        ref=f"S-{registration.department_code}-{registration.id}",
        kind=registration.kind,
        category=registration.category,
        department_code=registration.department_code,
        commune_code=registration.commune_code,
        bureau_code=registration.bureau_code,
        birth_name=registration.birth_name,
        usage_name=registration.usage_name,
        given_names=registration.given_names,
        birth_date=service.supplementary_birth_date(registration),
        registered_on=registration.registered_on,
        party=registration.party,
        proof_date=registration.proof_date,
    )


@router.get("/search", response_model=SearchOut, summary="Rechercher un électeur (périmètre selon le rôle ; journalisé)")
async def search(
    session: DbSession,
    who: RegistrySearcher,
    nom: Annotated[str, Query(max_length=200, description="Nom de naissance ou d'usage, ou son début")] = "",
    prenoms: Annotated[str, Query(max_length=200, description="Prénoms, dans n'importe quel ordre")] = "",
    naissance: Annotated[str, Query(max_length=20, description="jj/mm/aaaa, mm/aaaa ou aaaa")] = "",
    commune: Annotated[str, Query(max_length=100, description="Commune d'inscription : code INSEE ou nom")] = "",
    q: Annotated[str, Query(max_length=300, description="Recherche libre : « nom prénoms année »")] = "",
    departement: Annotated[str | None, Query(max_length=3, description="Département où commencer (national)")] = None,
    elargir: Annotated[Literal["auto", "tout"], Query(description="auto : s'arrêter au premier niveau trouvé")] = "auto",
    limite: Annotated[int, Query(ge=1, le=50)] = 20,
) -> SearchOut:
    query = VoterQuery.from_text(q) if q.strip() and not nom.strip() else VoterQuery(nom, prenoms, naissance, commune)
    if q.strip() and not nom.strip() and commune:
        query = VoterQuery(query.name, query.given_names, query.birth, commune)
    scope = await service.scope_for(session, who, departement)
    results = await service.search_voters(
        session,
        who.actor,
        query,
        scope,
        election=await current_election(session),
        widen="all" if elargir == "tout" else "auto",
        limit=limite,
        channel="api",
    )
    return results_out(results)


@router.get("/bureaux", response_model=list[BureauCountOut], summary="Électeurs inscrits par bureau de vote de la liste")
async def bureaux(
    session: DbSession, who: ListsReader, departement: Annotated[str | None, Query(max_length=3)] = None
) -> list[BureauCountOut]:
    department = department_in_scope(who, departement)
    return [BureauCountOut(**count.__dict__) for count in await service.bureau_counts(session, department)]


@router.get("/imports", response_model=list[ImportOut], summary="Rapports d'import des extraits communaux")
async def imports(
    session: DbSession,
    who: ListsReader,
    departement: Annotated[str | None, Query(max_length=3)] = None,
    limite: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RegistryImport]:
    return await service.recent_imports(session, department_in_scope(who, departement), limite)


@router.get("/imports/{import_id}", response_model=ImportDetailOut, summary="Rapport d'import d'une commune et ses rejets")
async def import_report(
    import_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Numéro du rapport d'import")],
    session: DbSession,
    who: ListsReader,
) -> ImportDetailOut:
    check_import_scope(who, await session.get(RegistryImport, import_id))
    report, rejects = await service.import_detail(session, import_id)
    out = ImportDetailOut.model_validate(report)
    out.rejects = [RejectOut(line=r.line, column=r.column, reason=r.reason) for r in rejects]
    return out


@router.post("/imports", response_model=ImportOut, status_code=201, summary="Importer l'extrait REU d'une commune (CSV)")
async def upload_extract(session: DbSession, who: ListsOrganiser, fichier: Annotated[UploadFile, File()]) -> RegistryImport:
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("Fichier trop volumineux pour l'envoi en ligne : utilisez « primaires registry import ».", code="too_large")
    report = await import_commune_file(
        session, who.actor, await current_election(session), bytes_file(fichier.filename or "extrait.csv", data)
    )
    if report.import_id is None:
        raise NotFound("Rapport d'import introuvable.", code="import_not_found")
    return await session.get(RegistryImport, report.import_id)  # type: ignore[return-value]


@router.get("/supplementary", response_model=list[SupplementaryOut], summary="Inscriptions complémentaires")
async def list_supplementary(
    session: DbSession, who: ListsReader, departement: Annotated[str | None, Query(max_length=3)] = None
) -> list[SupplementaryOut]:
    registrations = await service.list_supplementary(
        session, await current_election(session), department_in_scope(who, departement)
    )
    return [supplementary_out(registration) for registration in registrations]


@router.post("/supplementary", response_model=SupplementaryOut, status_code=201, summary="Inscrire un adhérent ou un électeur muni d'une attestation")
async def add_supplementary(spec: SupplementaryCreate, session: DbSession, who: SupplementaryWriter) -> SupplementaryOut:
    scope = await service.scope_for(session, who)
    registration = await service.register_supplementary(session, who.actor, await current_election(session), spec, scope=scope)
    return supplementary_out(registration)


class CancelSpec(BaseModel):
    reason: str = Field(min_length=3, max_length=300)


@router.post("/supplementary/{ref}/cancel", status_code=204, summary="Annuler une inscription complémentaire")
async def cancel_supplementary(ref: str, spec: CancelSpec, session: DbSession, who: SupplementaryManager) -> Response:
    await service.cancel_supplementary(session, who.actor, ref, spec.reason, scope=await service.scope_for(session, who))
    return Response(status_code=204)


@router.post("/supplementary/file", response_model=SupplementaryFileOut, summary="Importer le fichier des adhérents d'un parti")
async def import_members(session: DbSession, who: ListsOrganiser, fichier: Annotated[UploadFile, File()]) -> SupplementaryFileOut:
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("Fichier trop volumineux.", code="too_large")
    report = await service.import_members_file(
        session, who.actor, await current_election(session), fichier.filename or "adherents.csv", data
    )
    return SupplementaryFileOut(
        lines=report.lines,
        registered=report.registered,
        already_registered=report.already_registered,
        rejected=len(report.rejects),
        rejects=[RejectOut(line=line, column=column, reason=reason) for line, column, reason in report.rejects],
    )
