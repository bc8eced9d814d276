"""Pages of sponsorship: the public board and sponsor lists, the organisers' desk (rules, roster
imports, intake of forms), and the high authority's validation and ballot draw."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services import web
from services.auth.dependencies import Access, Authority, Organiser, Public
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election
from services.errors import AppError, NotFound
from services.sponsorship import service
from services.sponsorship.api import read_upload
from services.sponsorship.models import WithdrawalPolicy
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import PRESETS, REGION_MAP_LABELS, Category, RouteResult
from services.territory.maps import department_map_svg

router = APIRouter(include_in_schema=False)

RosterReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY))]
DESK = "/organisation/parrainages"
AUTHORITY_DESK = "/haute-autorite/parrainages"


async def _election(session: AsyncSession) -> Election:
    election = await elections.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


def _common() -> dict:
    return {
        "Category": Category,
        "CandidateStatus": CandidateStatus,
        "RouteResult": RouteResult,
        "REGION_MAP_LABELS": REGION_MAP_LABELS,
        "route_results": service.rules.route_results,
    }


def _sponsor_map(board: service.Board, entry: service.CandidateBoard) -> str:
    """Departments covered by the candidate's sponsors (all routes), shaded by count."""
    counts: dict[str, int] = {}
    for route in entry.routes:
        for code, count in route.department_counts.items():
            counts[code] = max(counts.get(code, 0), count)
    top = max(counts.values(), default=1)
    fills = {code: f"rgba(43, 58, 140, {0.25 + 0.75 * count / top:.2f})" for code, count in counts.items()}
    names = board.geography.department_names
    titles = {code: f"{names.get(code, code)} ({code}) : {count} parrain{'s' if count > 1 else ''}" for code, count in counts.items()}
    return department_map_svg(fills, titles, label=f"Départements des parrains de {entry.candidate.full_name}")


# --- Public -------------------------------------------------------------------------------------------


@router.get("/parrainages")
async def public_board(request: Request, session: DbSession, _who: Public) -> Response:
    election = await _election(session)
    board = await service.qualification_board(session, election)
    round_1 = await elections.round_by_number(session, election.id, 1)
    draw = await service.latest_draw(session, round_1.id)
    ballot = await elections.ballot_of(session, round_1.id)
    return web.render(
        request,
        "sponsorship/public_board.html",
        {**_common(), "election": election, "board": board, "draw": draw, "ballot": ballot},
    )


@router.get("/parrainages/tableau")
async def board_fragment(request: Request, session: DbSession, _who: Public) -> Response:
    """The live board alone (htmx refreshes it as forms arrive)."""
    election = await _election(session)
    board = await service.qualification_board(session, election)
    return web.render(request, "sponsorship/_board.html", {**_common(), "election": election, "board": board, "desk": False})


@router.get("/parrainages/candidats/{candidate_id}")
async def public_candidate(request: Request, candidate_id: int, session: DbSession, _who: Public) -> Response:
    election = await _election(session)
    board = await service.qualification_board(session, election)
    entry = board.for_candidate(candidate_id)
    sponsors = await service.public_sponsors(session, election, candidate_id)
    members = (await service.member_counts(session, election)).get(candidate_id, {})
    return web.render(
        request,
        "sponsorship/public_candidate.html",
        {
            **_common(),
            "election": election,
            "board": board,
            "entry": entry,
            "sponsors": sponsors,
            "members": members,
            "map_svg": _sponsor_map(board, entry) if entry.active else "",
        },
    )


@router.get("/parrainages/parrains.csv")
async def public_csv(session: DbSession, _who: Public, candidat: int | None = None) -> Response:
    election = await _election(session)
    output = io.StringIO(newline="")
    writer = csv.writer(output, delimiter=";", lineterminator="\r\n")
    writer.writerow(service.PUBLIC_CSV_HEADER)
    for s in await service.public_sponsors(session, election, candidat):
        writer.writerow(
            (s.candidate, s.family_name, s.given_name, s.capacity, s.department_code or "", s.department or "", s.commune or "", s.received_on.isoformat())
        )
    # UTF-8 with BOM: spreadsheet software then reads the accents right.
    return Response(
        ("\ufeff" + output.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="parrains-{election.slug}.csv"'},
    )


@router.get("/parrainages/parrains.json")
async def public_json(session: DbSession, _who: Public, candidat: int | None = None) -> Response:
    election = await _election(session)
    sponsors = await service.public_sponsors(session, election, candidat)
    members = await service.member_counts(session, election)
    body = {
        "election": election.slug,
        "parrains": [
            {
                "candidat_id": s.candidate_id,
                "candidat": s.candidate,
                "nom": s.family_name,
                "prenom": s.given_name,
                "qualite": s.capacity,
                "code_departement": s.department_code,
                "departement": s.department,
                "commune": s.commune,
                "date_reception": s.received_on.isoformat(),
            }
            for s in sponsors
        ],
        "adherents_par_departement": {str(cid): counts for cid, counts in members.items() if candidat in (None, cid)},
    }
    return Response(json.dumps(body, ensure_ascii=False, indent=1), media_type="application/json; charset=utf-8")


@router.get("/parrainages/tirage")
async def public_draw(request: Request, session: DbSession, _who: Public) -> Response:
    election = await _election(session)
    round_1 = await elections.round_by_number(session, election.id, 1)
    draw = await service.latest_draw(session, round_1.id)
    candidates = {c.id: c for c in await elections.candidates_of(session, election.id)}
    return web.render(
        request,
        "sponsorship/public_draw.html",
        {"election": election, "draw": draw, "candidates": candidates, "algorithm": service.DRAW_ALGORITHM},
    )


# --- Organisers' desk ---------------------------------------------------------------------------------


@router.get(DESK)
async def desk(request: Request, session: DbSession, who: Organiser, q: str = "", official: int | None = None) -> Response:
    election = await _election(session)
    current = await service.get_settings(session, election)
    results = await service.search_officials(session, election, q[:100]) if q else []
    selected = None
    if official is not None:
        selected = await service.official_view(session, election, official)
    elif len(results) == 1:
        selected = results[0]
    candidates = [c for c in await elections.candidates_of(session, election.id) if c.status != CandidateStatus.WITHDRAWN.value]
    return web.render(
        request,
        "sponsorship/desk.html",
        {
            **_common(),
            "election": election,
            "settings": current,
            "rule": service.ruleset_of(current) if current else None,
            "presets": PRESETS,
            "policies": list(WithdrawalPolicy),
            "rne_kinds": list(RneKind),
            "stats": await service.roster_stats(session, election),
            "q": q,
            "results": results,
            "selected": selected,
            "candidates": candidates,
            "recent": await service.recent_sponsorships(session, election),
            "today": service.today_in(election),
        },
    )


def _fail(error: AppError, url: str = DESK) -> Response:
    return web.redirect(url, error.message, "error")


@router.post(f"{DESK}/regles")
async def set_rules(
    session: DbSession,
    who: Organiser,
    preset: Annotated[str, Form(max_length=40)],
    withdrawal_policy: Annotated[WithdrawalPolicy, Form()],
    deadline: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    election = await _election(session)
    try:
        closing = date.fromisoformat(deadline) if deadline else None
    except ValueError:
        return web.redirect(DESK, f"Date de clôture illisible : « {deadline} » (format AAAA-MM-JJ).", "error")
    try:
        await service.configure(session, who.actor, election, preset=preset, deadline=closing, withdrawal_policy=withdrawal_policy)
    except AppError as error:
        return _fail(error)
    return web.redirect(DESK, f"Règles de parrainage enregistrées : {PRESETS[preset].label}.")


@router.post(f"{DESK}/rne")
async def upload_rne(
    session: DbSession,
    who: Organiser,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    election = await _election(session)
    try:
        rne_kind = RneKind(kind) if kind else None
    except ValueError:
        return web.redirect(DESK, f"Type de fichier RNE inconnu : « {kind} ».", "error")
    try:
        data = await read_upload(file, service.MAX_ROSTER_BYTES, "Le fichier RNE")
        report = await service.import_rne(session, who.actor, election, data, file.filename or "rne.csv", rne_kind)
    except AppError as error:
        return _fail(error)
    return web.redirect(DESK, report.summary, "warn" if report.errors else "ok")


@router.post(f"{DESK}/parti")
async def upload_party_file(
    session: DbSession,
    who: Organiser,
    file: Annotated[UploadFile, File()],
    category: Annotated[Category, Form()],
) -> Response:
    election = await _election(session)
    try:
        data = await read_upload(file, service.MAX_ROSTER_BYTES, "Le fichier du parti")
        report = await service.import_party_file(session, who.actor, election, category, data, file.filename or "parti.csv")
    except AppError as error:
        return _fail(error)
    return web.redirect(DESK, report.summary, "warn" if report.errors else "ok")


@router.post(f"{DESK}/formulaires")
async def intake(
    session: DbSession,
    who: Organiser,
    official_id: Annotated[int, Form()],
    candidate_id: Annotated[int, Form()],
    category: Annotated[Category, Form()],
    received_on: Annotated[date, Form()],
    scan: Annotated[UploadFile, File()],
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    election = await _election(session)
    back = f"{DESK}?q={quote(q)}" if q else DESK
    try:
        data = await read_upload(scan, service.MAX_SCAN_BYTES, "Le formulaire numérisé")
        sponsorship = await service.record_sponsorship(
            session,
            who.actor,
            election,
            service.FormIntake(official_id=official_id, candidate_id=candidate_id, category=category, received_on=received_on, scan=data),
        )
    except AppError as error:
        return _fail(error, back)
    candidate = await elections.get_candidate(session, candidate_id)
    return web.redirect(DESK, f"Parrainage n° {sponsorship.id} enregistré pour {candidate.full_name}.")


@router.post(DESK + "/formulaires/{sponsorship_id}/retrait")
async def withdraw(
    sponsorship_id: int, session: DbSession, who: Organiser, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    election = await _election(session)
    try:
        sponsorship = await service.get_sponsorship(session, election, sponsorship_id)
        await service.withdraw_sponsorship(session, who.actor, election, sponsorship, reason)
    except AppError as error:
        return _fail(error)
    return web.redirect(DESK, f"Parrainage n° {sponsorship_id} retiré.")


@router.get(DESK + "/formulaires/{sponsorship_id}/scan")
async def view_scan(sponsorship_id: int, session: DbSession, _who: RosterReader) -> Response:
    election = await _election(session)
    sponsorship = await service.get_sponsorship(session, election, sponsorship_id)
    scan = await service.get_scan(session, sponsorship)
    return Response(scan.content, media_type=scan.media_type, headers={"X-Content-SHA256": scan.sha256})


# --- High authority -----------------------------------------------------------------------------------


@router.get(AUTHORITY_DESK)
async def authority_desk(request: Request, session: DbSession, who: Authority) -> Response:
    election = await _election(session)
    board = await service.qualification_board(session, election)
    round_1 = await elections.round_by_number(session, election.id, 1)
    return web.render(
        request,
        "sponsorship/authority.html",
        {
            **_common(),
            "election": election,
            "board": board,
            "draw": await service.latest_draw(session, round_1.id),
            "ballot": await elections.ballot_of(session, round_1.id),
        },
    )


@router.post(AUTHORITY_DESK + "/candidats/{candidate_id}/validation")
async def validate(
    candidate_id: int, session: DbSession, who: Authority, override_reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    try:
        candidate = await elections.get_candidate(session, candidate_id)
        entry = await service.validate_candidacy(session, who.actor, candidate, override_reason=override_reason or None)
    except AppError as error:
        return _fail(error, AUTHORITY_DESK)
    note = "" if entry.qualified else " (décision motivée malgré des parrainages incomplets)"
    return web.redirect(AUTHORITY_DESK, f"Candidature de {candidate.full_name} validée{note}.")


@router.post(AUTHORITY_DESK + "/tirage")
async def draw(session: DbSession, who: Authority, seed: Annotated[str, Form(max_length=200)]) -> Response:
    election = await _election(session)
    try:
        await service.draw_ballot(session, who.actor, election, seed)
    except AppError as error:
        return _fail(error, AUTHORITY_DESK)
    return web.redirect(AUTHORITY_DESK, f"Ordre du bulletin tiré au sort avec la graine « {seed.strip()} ».")
