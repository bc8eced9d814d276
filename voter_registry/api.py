"""JSON API of the registry (the station tablet, commissions' scripts, organisers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.dependencies import Access
from services.db import DbSession, driver_connection
from services.elections import service as elections
from services.elections.models import Election
from services.errors import InvalidInput, NotFound
from services.settings import settings
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
from voter_registry.models import RegistryState
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


def search_query(nom: str, prenoms: str, naissance: str, commune: str, q: str) -> VoterQuery:
    """The separate fields, or the free search box « nom prénoms année » (with a commune)."""
    query = VoterQuery.from_text(q) if q.strip() and not nom.strip() else VoterQuery(nom, prenoms, naissance, commune)
    if q.strip() and not nom.strip() and commune:
        query = VoterQuery(query.name, query.given_names, query.birth, commune)
    return query


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
    query = search_query(nom, prenoms, naissance, commune, q)
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


# --- The search without FastAPI's machinery (`services.app.FastPaths`) ------------------------------
#
# The tablets' peak: 200 searches per second on a 10 M-voter registry (bench/registry_search.py).
# FastAPI's dependency solving, pydantic's models of the answer and the ORM cost several times
# the search itself; this path does the same with the same rule, the same service and the same
# bytes (tests/voter_registry/test_search_fast.py), and hands anything unusual to the route.

_SEARCHER_RULE: Access = RegistrySearcher.__metadata__[0].dependency
# The route's query parameters and their maximum lengths (as its `Query(max_length=...)`).
_TEXT_PARAMETERS = {"nom": 200, "prenoms": 200, "naissance": 20, "commune": 100, "q": 300}


class HandOver(Exception):  # noqa: N818 - not an error: the regular route answers
    """A request the fast path leaves to the regular route (which validates and answers it)."""


@dataclass(frozen=True)
class ElectionDates:
    """What a search needs of the current election (its id and dates, as `Election`'s)."""

    id: int
    majority_date: date | None
    list_extraction_date: date | None
    supplementary_deadline: date | None


# `services.elections.service.current_election` (the configured slug, else the latest) and the
# election of the loaded lists, in one statement.
#
# It also sets, for this transaction only (it holds nothing but the search), PostgreSQL's
# `plan_cache_mode` to reuse the generic plan of the search's prepared statements: planning
# a level's query (four range branches, five indexes on `voter`) cost more CPU than running it
# — per search on the 10 M bench, ≈ 1.85 ms of PostgreSQL CPU with a plan per execution,
# ≈ 1.3 ms with the generic plan, the same rows (the plans are the same index-only scans:
# nothing in the values changes which index fits).
_ELECTION_COLUMNS = "e.id, e.majority_date, e.list_extraction_date, e.supplementary_deadline"
_REGISTRY = (
    f"(SELECT election_id FROM {RegistryState.__tablename__} WHERE id = 1) AS registry_election, "
    "set_config('plan_cache_mode', 'force_generic_plan', true) AS plan_cache_mode"
)
_CURRENT_ELECTION = f"SELECT {_ELECTION_COLUMNS}, {_REGISTRY} FROM election AS e ORDER BY e.id DESC LIMIT 1"
_NAMED_ELECTION = f"SELECT {_ELECTION_COLUMNS}, {_REGISTRY} FROM election AS e WHERE e.slug = $1 ORDER BY e.id DESC LIMIT 1"


def _parameters(request: Request) -> dict[str, Any]:
    """The route's parameters when they are plainly valid; anything else is the route's to judge."""
    query = request.query_params
    values: dict[str, Any] = {}
    for name, longest in _TEXT_PARAMETERS.items():
        value = query.get(name, "")
        if len(value) > longest:
            raise HandOver(name)
        values[name] = value
    department = query.get("departement")
    if department is not None and len(department) > 3:
        raise HandOver("departement")
    values["departement"] = department
    widen = query.get("elargir", "auto")
    if widen not in ("auto", "tout"):
        raise HandOver("elargir")
    values["elargir"] = widen
    limit = query.get("limite", "20")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 50):
        raise HandOver("limite")
    values["limite"] = int(limit)
    return values


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    """`hit_out` as plain JSON values, in `VoterOut`'s field order."""
    voter = hit.voter
    return {
        "ref": voter.ref,
        "source": voter.source.value,
        "level": hit.level.value,
        "full_detail": hit.full_detail,
        "score": hit.score,
        "birth_name": voter.birth_name,
        "usage_name": voter.usage_name,
        "given_names": voter.given_names,
        "sex": voter.sex,
        "birth_date": voter.birth_date,
        "birth_place": voter.birth_place,
        "nationality": voter.nationality,
        "address": voter.address,
        "department_code": voter.department_code,
        "commune_code": voter.commune_code,
        "commune_name": voter.commune_name,
        "bureau_code": voter.bureau_code,
        "bureau_label": voter.bureau_label,
        "lists": list(voter.lists),
        "order_number": voter.order_number,
        "eligibility": {
            "status": hit.eligibility.status.value,
            "label": hit.eligibility.status.label,
            "reasons": list(hit.eligibility.reasons),
        },
    }


def search_json(results: SearchResults) -> bytes:
    """`results_out(results)` as FastAPI writes it (pydantic's compact JSON, UTF-8 unescaped)."""
    return json.dumps(
        {
            "results": [_hit_json(hit) for hit in results.hits],
            "levels_searched": [level.value for level in results.levels_searched],
            "truncated": results.truncated,
            "notes": list(results.notes),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


async def _fast_search(request: Request, session: AsyncSession) -> Response:
    """`search` without FastAPI's per-request machinery: the same access rule (the very object
    the route depends on), the same parameters, service and answer. Any refusal raises, and
    the regular route then answers it (in French, with nothing recorded)."""
    who = await _SEARCHER_RULE(request, session)
    values = _parameters(request)
    query = search_query(values["nom"], values["prenoms"], values["naissance"], values["commune"], values["q"])
    scope = await service.scope_for(session, who, values["departement"])
    connection = await driver_connection(session)
    slug = settings().election
    row = await (connection.fetchrow(_NAMED_ELECTION, slug) if slug else connection.fetchrow(_CURRENT_ELECTION))
    if row is None:
        raise HandOver("no_election")
    results = await service.search_voters(
        session,
        who.actor,
        query,
        scope,
        election=ElectionDates(row["id"], row["majority_date"], row["list_extraction_date"], row["supplementary_deadline"]),  # type: ignore[arg-type]
        widen="all" if values["elargir"] == "tout" else "auto",
        limit=values["limite"],
        channel="api",
        registry_election=row["registry_election"],
    )
    return Response(search_json(results), media_type="application/json")


search.fast_path = _fast_search  # type: ignore[attr-defined]
