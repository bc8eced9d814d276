"""Pages of the transparency log (French): its state, the verification status, the search of
events by station, object and actor, one event with its inclusion proof, the checkpoints.

Read by the high authority, the organisers and the candidates' representatives (observers):
the log is there to be checked by those who do not run the election. Running a full
verification (which records its result) is for the high authority and the organisers.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from audit import api, service
from audit.models import AuditCheckpoint
from services import web
from services.auth.dependencies import Access, NationalReader
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.errors import AppError

router = APIRouter(include_in_schema=False)

Verifier = Annotated[Principal, Depends(Access(Role.AUTHORITY, Role.ORGANISER))]
CHECKPOINT_PAGE = 50


@router.get("/journal")
async def log_home(
    request: Request,
    session: DbSession,
    who: NationalReader,
    bureau: Annotated[str, Query(max_length=12)] = "",
    objet: Annotated[str, Query(max_length=40)] = "",
    identifiant: Annotated[str, Query(max_length=80)] = "",
    acteur: Annotated[str, Query(max_length=80)] = "",
    type: Annotated[str, Query(max_length=80)] = "",  # noqa: A002 - the query parameter's French name
    avant: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    filters = service.EventFilters(
        station=bureau or None,
        subject_key=objet or None,
        subject_value=identifiant or None,
        actor=acteur or None,
        kind=type or None,
    )
    search_error = None
    try:
        rows = await service.search_events(session, filters, before=avant)
    except AppError as error:
        rows, search_error = [], error.message
    query = {"bureau": bureau, "objet": objet, "identifiant": identifiant, "acteur": acteur, "type": type}
    next_page = None
    if len(rows) == service.PAGE_SIZE:
        kept = {key: value for key, value in query.items() if value}
        next_page = "/journal?" + urlencode({**kept, "avant": rows[-1].event.id}) + "#evenements"
    return web.render(
        request,
        "audit/log.html",
        {
            "status": await service.log_status(session),
            "rows": rows,
            "filters": filters,
            "query": query,
            "search_error": search_error,
            "next_page": next_page,
            "subject_keys": service.subject_keys(),
            "event_kinds": service.event_kinds(),
            "can_verify": who.role in (Role.AUTHORITY, Role.ORGANISER),
            "key_path": api.KEY_PATH,
            "checkpoint_path": api.CHECKPOINT_PATH,
        },
    )


@router.get("/journal/etat")
async def status_panel(request: Request, session: DbSession, who: NationalReader) -> Response:
    """The log's state as a panel of the role homes (loaded by htmx, see web.add_home_panel)."""
    return web.render(request, "audit/_status_panel.html", {"status": await service.log_status(session)})


@router.get("/journal/evenements/{event_id}")
async def event_page(request: Request, event_id: int, session: DbSession, who: NationalReader) -> Response:
    detail = await service.event_detail(session, event_id)
    return web.render(request, "audit/event.html", {"detail": detail, "row": detail.row})


@router.get("/journal/points-de-controle")
async def checkpoints_page(
    request: Request,
    session: DbSession,
    who: NationalReader,
    avant: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(CHECKPOINT_PAGE)
    if avant is not None:
        query = query.where(AuditCheckpoint.tree_size < avant)
    checkpoints = list(await session.scalars(query))
    next_page = f"/journal/points-de-controle?avant={checkpoints[-1].tree_size}" if len(checkpoints) == CHECKPOINT_PAGE else None
    return web.render(request, "audit/checkpoints.html", {"checkpoints": checkpoints, "next_page": next_page})


@router.post("/journal/verification")
async def verify_now(session: DbSession, who: Verifier) -> Response:
    try:
        result = await service.verify_on_request(session, who.actor.id)
    except AppError as error:
        return web.redirect("/journal", error.message, "error")
    if result.ok:
        return web.redirect("/journal", f"Vérification complète réussie : {result.message}")
    return web.redirect(
        "/journal", f"Vérification complète en ÉCHEC à l'index {result.first_bad_index} : {result.message}", "error"
    )
