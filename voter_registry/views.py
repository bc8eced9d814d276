"""Pages of the registry: overview and import reports (organisers, high authority), the
department's lists (commissions), the search page (everyone who may search), supplementary
registrations."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import Response

from services import web
from services.auth.roles import STATION_ROLES, Role
from services.db import DbSession
from services.errors import AppError, InvalidInput
from services.validation import french_validation_errors
from voter_registry import service
from voter_registry.api import MAX_ROW_ID, MAX_UPLOAD, current_election
from voter_registry.dependencies import (
    DepartmentListsReader,
    ListsOrganiser,
    ListsReader,
    NationalListsReader,
    RegistrySearcher,
    SupplementaryManager,
    SupplementaryWriter,
    check_import_scope,
)
from voter_registry.eligibility import Status
from voter_registry.importer import ENCODING_LABELS, bytes_file, import_commune_file
from voter_registry.models import RegistryImport
from voter_registry.schemas import MemberCategory, ProofKind, SupplementaryCreate
from voter_registry.search import VoterQuery
from voter_registry.territory_cache import territory

router = APIRouter(include_in_schema=False)


def _common() -> dict:
    return {
        "ENCODING_LABELS": ENCODING_LABELS,
        "MemberCategory": MemberCategory,
        "ProofKind": ProofKind,
        "Status": Status,
    }


@router.get("/registre")
async def overview(request: Request, session: DbSession, who: NationalListsReader) -> Response:
    summaries = await service.department_summaries(session)
    return web.render(
        request,
        "voter_registry/overview.html",
        {
            **_common(),
            "bound_election": await service.registry_election(session),
            "summaries": summaries,
            "totals": {
                "communes": sum(s.communes for s in summaries),
                "voters": sum(s.voters for s in summaries),
                "bureaux": sum(s.bureaux for s in summaries),
                "rejected": sum(s.rejected for s in summaries),
                "supplementary": sum(s.supplementary for s in summaries),
            },
            "imports": await service.recent_imports(session, limit=30),
            "can_import": who.role == Role.ORGANISER,
        },
    )


@router.get("/registre/imports/{import_id}")
async def import_page(import_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], request: Request, session: DbSession, who: ListsReader) -> Response:
    check_import_scope(who, await session.get(RegistryImport, import_id))
    report, rejects = await service.import_detail(session, import_id)
    world = await territory(session)
    commune = world.communes.get(report.commune_code)
    return web.render(
        request,
        "voter_registry/import_report.html",
        {**_common(), "report": report, "rejects": rejects, "commune_name": commune.name if commune else report.commune_code},
    )


@router.post("/registre/imports")
async def upload_extract(session: DbSession, who: ListsOrganiser, fichier: Annotated[UploadFile, File()]) -> Response:
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return web.redirect("/registre", "Fichier trop volumineux pour l'envoi en ligne : utilisez « primaires registry import ».", "error")
    try:
        async with session.begin_nested():
            report = await import_commune_file(
                session, who.actor, await current_election(session), bytes_file(fichier.filename or "extrait.csv", data)
            )
    except AppError as error:
        return web.redirect("/registre", error.message, "error")
    if report.status == "unchanged":
        return web.redirect(f"/registre/imports/{report.import_id}", report.message)
    return web.redirect(
        f"/registre/imports/{report.import_id}",
        f"Commune {report.commune_code} importée : {report.voters} électeurs, {report.rejected} ligne(s) rejetée(s).",
    )


@router.get("/departements/{department_code}/registre")
async def department_page(department_code: str, request: Request, session: DbSession, who: DepartmentListsReader) -> Response:
    world = await territory(session)
    election = await current_election(session)
    summaries = await service.department_summaries(session, department_code)
    counts = await service.bureau_counts(session, department_code)
    return web.render(
        request,
        "voter_registry/department.html",
        {
            **_common(),
            "department_code": department_code,
            "department_name": world.departments.get(department_code, ""),
            "summary": summaries[0] if summaries else None,
            "extracts": await service.commune_extracts(session, department_code),
            "communes": world.communes,
            "bureaux": counts[:400],
            "bureaux_total": len(counts),
            "supplementary": await service.list_supplementary(session, election, department_code, limit=200),
            "election": election,
            "birth_date": service.supplementary_birth_date,
        },
    )


def _search_url(department: str | None) -> str:
    return "/registre/recherche" + (f"?departement={department}" if department else "")


@router.get("/registre/recherche")
async def search_page(
    request: Request,
    session: DbSession,
    who: RegistrySearcher,
    nom: str = "",
    prenoms: str = "",
    naissance: str = "",
    commune: str = "",
    departement: str = "",
    elargir: str = "auto",
) -> Response:
    query = VoterQuery(nom[:200], prenoms[:200], naissance[:20], commune[:100])
    results = None
    error = None
    department = departement.strip().upper()[:3] or None
    if who.role == Role.COMMISSION:
        department = who.department_code
    if query.name.strip():
        try:
            scope = await service.scope_for(session, who, department)
            results = await service.search_voters(
                session,
                who.actor,
                query,
                scope,
                election=await current_election(session),
                widen="all" if elargir == "tout" else "auto",
                channel="page",
            )
        except AppError as problem:
            if problem.status >= 500 or problem.code in ("station_without_area", "registry_forbidden", "out_of_scope"):
                raise
            error = problem.message
    context = {
        **_common(),
        "query": query,
        "results": results,
        "error": error,
        "departement": department or "",
        "elargir": elargir,
        "station": who.role in STATION_ROLES,
    }
    if request.headers.get("hx-request"):
        return web.render(request, "voter_registry/_results.html", context)
    return web.render(request, "voter_registry/search.html", context)


@router.post("/registre/complementaires")
async def add_supplementary(
    request: Request,
    session: DbSession,
    who: SupplementaryWriter,
    back: Annotated[str, Form(max_length=200)] = "/registre",
) -> Response:
    form = await request.form()
    data = {key: str(value) for key, value in form.items() if key not in ("csrf_token", "back") and isinstance(value, str)}
    data = {key: value for key, value in data.items() if value.strip() or key in ("usage_name",)}
    target = back if back.startswith("/") and not back.startswith("//") else "/registre"
    try:
        if data.get("proof_date"):
            data["proof_date"] = date.fromisoformat(data["proof_date"]).isoformat()
        spec = SupplementaryCreate.model_validate(data)
    except ValueError as problem:
        errors = getattr(problem, "errors", None)
        message = "; ".join(french_validation_errors(errors())) if callable(errors) else "date d'attestation invalide"
        return web.redirect(target, f"Inscription refusée : {message}", "error")
    try:
        async with session.begin_nested():
            registration = await service.register_supplementary(
                session, who.actor, await current_election(session), spec, scope=await service.scope_for(session, who)
            )
    except AppError as problem:
        return web.redirect(target, problem.message, "error")
    return web.redirect(
        target,
        f"Inscription complémentaire enregistrée : S-{registration.department_code}-{registration.id}, "
        f"bureau {registration.bureau_code} de la commune {registration.commune_code}.",
    )


@router.post("/registre/complementaires/{ref}/annuler")
async def cancel_supplementary(
    ref: str,
    session: DbSession,
    who: SupplementaryManager,
    reason: Annotated[str, Form(max_length=300)],
    back: Annotated[str, Form(max_length=200)] = "/registre",
) -> Response:
    target = back if back.startswith("/") and not back.startswith("//") else "/registre"
    try:
        async with session.begin_nested():
            await service.cancel_supplementary(session, who.actor, ref, reason, scope=await service.scope_for(session, who))
    except AppError as problem:
        return web.redirect(target, problem.message, "error")
    return web.redirect(target, f"Inscription {ref} annulée.")


@router.post("/registre/adherents")
async def import_members(
    request: Request, session: DbSession, who: ListsOrganiser, fichier: Annotated[UploadFile, File()]
) -> Response:
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("Fichier trop volumineux.", code="too_large")
    try:
        async with session.begin_nested():
            report = await service.import_members_file(
                session, who.actor, await current_election(session), fichier.filename or "adherents.csv", data
            )
    except AppError as problem:
        return web.redirect("/registre", problem.message, "error")
    return web.render(
        request,
        "voter_registry/members_report.html",
        {**_common(), "report": report, "file_name": fichier.filename or "adherents.csv", "columns": service.MEMBER_COLUMNS},
    )
