"""Pages of the election set-up (organiser), the high authority's and observers' homes and
the departmental home. (The station home, « /bureau », is the polling package's tablet console.)"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import web
from services.auth import service as auth_service
from services.auth.dependencies import Access, Authority, Organiser
from services.auth.models import Account
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.elections import service
from services.elections.models import PHASE_ORDER, CandidateStatus, Election, Phase
from services.elections.schemas import CandidateCreate, ElectionUpdate, RoundUpdate
from services.errors import AppError, InvalidInput, NotFound
from services.territory.models import Canton, Commune, Department
from services.validation import french_validation_errors

router = APIRouter(include_in_schema=False)

DepartmentReader = Annotated[
    Principal,
    Depends(Access(Role.COMMISSION, Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER, department_param="department_code")),
]


async def _election_or_404(session: AsyncSession) -> Election:
    election = await service.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


async def _setup_context(session: AsyncSession) -> dict:
    election = await service.current_election(session)
    if election is None:
        return {"election": None, "rounds": [], "candidates": [], "ballots": {}, "next_phase": {}}
    rounds = await service.rounds_of(session, election.id)
    ballots = {round_.id: await service.ballot_of(session, round_.id) for round_ in rounds}
    next_phase = {
        round_.id: PHASE_ORDER[PHASE_ORDER.index(Phase(round_.phase)) + 1]
        for round_ in rounds
        if Phase(round_.phase) != Phase.PROCLAIMED
    }
    return {
        "election": election,
        "rounds": rounds,
        "candidates": await service.candidates_of(session, election.id),
        "ballots": ballots,
        "next_phase": next_phase,
        "Phase": Phase,
        "CandidateStatus": CandidateStatus,
    }


def _back(url: str, error: AppError) -> Response:
    return web.redirect(url, error.message, "error")


@router.get("/organisation")
async def organiser_home(request: Request, session: DbSession, who: Organiser) -> Response:
    return web.render(request, "services/organiser_setup.html", await _setup_context(session))


@router.post("/organisation/election")
async def update_election(
    session: DbSession,
    who: Organiser,
    name: Annotated[str, Form(max_length=200)],
    contribution_euros: Annotated[str, Form(max_length=12)],
    charter_text: Annotated[str, Form(max_length=2000)],
    contribution_covers_both_rounds: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    election = await _election_or_404(session)
    try:
        cents = _parse_euros(contribution_euros)
        spec = ElectionUpdate(
            name=name,
            contribution_min_cents=cents,
            charter_text=charter_text,
            contribution_covers_both_rounds=bool(contribution_covers_both_rounds),
        )
    except (ValueError, AppError) as error:
        return web.redirect("/organisation", _message(error), "error")
    try:
        await service.update_election(session, who.actor, election, spec)
    except AppError as error:
        return _back("/organisation", error)
    return web.redirect("/organisation", "Paramètres de l'élection enregistrés.")


def _parse_euros(text: str) -> int:
    cleaned = text.replace("€", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = round(float(cleaned) * 100)
    except ValueError:
        raise InvalidInput(f"Montant illisible : « {text} » (exemple : 1 ou 2,50).") from None
    if value < 100:
        raise InvalidInput("La participation minimale est d'au moins 1 €.")
    return value


def _message(error: Exception) -> str:
    if isinstance(error, AppError):
        return error.message
    errors = getattr(error, "errors", None)
    if callable(errors):
        return "Données invalides : " + " ; ".join(french_validation_errors(errors()))
    return "Données invalides."


@router.post("/organisation/tours/{round_id}")
async def update_round(
    round_id: int,
    session: DbSession,
    who: Organiser,
    polling_date: Annotated[date, Form()],
    opens_at: Annotated[time, Form()],
    closes_at: Annotated[time, Form()],
    early_departments: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    round_ = await service.get_round(session, round_id)
    spec = RoundUpdate(
        polling_date=polling_date,
        opens_at=opens_at,
        closes_at=closes_at,
        early_departments=[code for code in early_departments.replace(";", ",").split(",") if code.strip()],
    )
    try:
        await service.update_round(session, who.actor, round_, spec)
    except AppError as error:
        return _back("/organisation", error)
    return web.redirect("/organisation", f"Tour {round_.number} enregistré.")


@router.post("/organisation/tours/{round_id}/phase")
async def change_phase(
    round_id: int, session: DbSession, who: Organiser, to: Annotated[Phase, Form()]
) -> Response:
    round_ = await service.get_round(session, round_id)
    try:
        await service.change_phase(session, who.actor, round_, to)
    except AppError as error:
        return _back("/organisation", error)
    return web.redirect("/organisation", f"Tour {round_.number} : phase « {to.label} ».")


@router.post("/organisation/candidats")
async def add_candidate(
    session: DbSession,
    who: Organiser,
    given_name: Annotated[str, Form(max_length=100)],
    family_name: Annotated[str, Form(max_length=100)],
    party: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    election = await _election_or_404(session)
    try:
        spec = CandidateCreate(given_name=given_name, family_name=family_name, party=party)
        candidate = await service.add_candidate(session, who.actor, election, spec)
    except (ValueError, AppError) as error:
        return web.redirect("/organisation", _message(error), "error")
    return web.redirect("/organisation", f"Candidature de {candidate.full_name} enregistrée.")


@router.post("/organisation/tours/{round_id}/bulletin")
async def set_ballot(
    round_id: int, session: DbSession, who: Organiser, candidate_ids: Annotated[str, Form(max_length=500)]
) -> Response:
    round_ = await service.get_round(session, round_id)
    try:
        ids = [int(part) for part in candidate_ids.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        return web.redirect("/organisation", "Ordre illisible : donnez les numéros des candidats séparés par des virgules.", "error")
    try:
        await service.set_ballot(session, who.actor, round_, ids)
    except AppError as error:
        return _back("/organisation", error)
    return web.redirect("/organisation", f"Bulletin du tour {round_.number} fixé.")


# --- Accounts -------------------------------------------------------------------------------------


@router.get("/organisation/comptes")
async def accounts_page(request: Request, session: DbSession, who: Organiser) -> Response:
    accounts = list(await session.scalars(select(Account).order_by(Account.role, Account.username)))
    departments = list(await session.scalars(select(Department).order_by(Department.code)))
    roles = [role for role in Role if role != Role.TABLET]
    return web.render(
        request, "services/accounts.html", {"accounts": accounts, "departments": departments, "roles": roles}
    )


@router.post("/organisation/comptes")
async def create_account(
    session: DbSession,
    who: Organiser,
    username: Annotated[str, Form(max_length=80)],
    display_name: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=200)],
    role: Annotated[Role, Form()],
    department_code: Annotated[str, Form(max_length=3)] = "",
    station_code: Annotated[str, Form(max_length=12)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    spec = auth_service.AccountSpec(
        username=username,
        display_name=display_name,
        password=password,
        role=role,
        department_code=department_code or None,
        station_code=station_code or None,
        phone=phone or None,
    )
    try:
        if spec.station_code:
            await auth_service.check_station_exists(session, spec.station_code)
        account = await auth_service.create_account(session, who.actor, spec)
    except AppError as error:
        return _back("/organisation/comptes", error)
    return web.redirect("/organisation/comptes", f"Compte « {account.username} » créé.")


@router.post("/organisation/comptes/{account_id}/actif")
async def toggle_account(account_id: int, session: DbSession, who: Organiser) -> Response:
    account = await auth_service.get_account(session, account_id)
    if account.id == who.account_id:
        return web.redirect("/organisation/comptes", "Vous ne pouvez pas désactiver votre propre compte.", "error")
    await auth_service.update_account(session, who.actor, account, active=not account.active)
    state = "réactivé" if account.active else "désactivé"
    return web.redirect("/organisation/comptes", f"Compte « {account.username} » {state}.")


# --- High authority, observers -------------------------------------------------------------------


@router.get("/haute-autorite")
async def authority_home(request: Request, session: DbSession, who: Authority) -> Response:
    return web.render(request, "services/authority_home.html", await _setup_context(session))


@router.post("/haute-autorite/candidats/{candidate_id}/statut")
async def set_candidate_status(
    candidate_id: int, session: DbSession, who: Authority, status: Annotated[CandidateStatus, Form()]
) -> Response:
    candidate = await service.get_candidate(session, candidate_id)
    try:
        await service.set_candidate_status(session, who.actor, candidate, status)
    except AppError as error:
        return _back("/haute-autorite", error)
    return web.redirect("/haute-autorite", f"Candidature de {candidate.full_name} : « {status.label} ».")


@router.post("/haute-autorite/tours/{round_id}/proclamation")
async def proclaim(round_id: int, session: DbSession, who: Authority) -> Response:
    round_ = await service.get_round(session, round_id)
    try:
        await service.change_phase(session, who.actor, round_, Phase.PROCLAIMED)
    except AppError as error:
        return _back("/haute-autorite", error)
    return web.redirect("/haute-autorite", f"Résultats du tour {round_.number} proclamés.")


@router.get("/observation")
async def observer_home(
    request: Request, session: DbSession, who: Annotated[Principal, Depends(Access(Role.OBSERVER))]
) -> Response:
    return web.render(request, "services/observer_home.html", await _setup_context(session))


# --- Department and station homes ----------------------------------------------------------------


@router.get("/departements/{department_code}")
async def department_home(request: Request, department_code: str, session: DbSession, who: DepartmentReader) -> Response:
    department = await session.get(Department, department_code)
    if department is None:
        raise NotFound(f"Département inconnu : « {department_code} ».", code="unknown_department")
    cantons = await session.scalar(select(func.count()).select_from(Canton).where(Canton.department_code == department_code))
    communes, population = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Commune.population), 0)).where(
                Commune.department_code == department_code, Commune.kind == "commune"
            )
        )
    ).one()
    members = list(
        await session.scalars(
            select(Account).where(Account.department_code == department_code, Account.role == Role.COMMISSION.value)
        )
    )
    context = await _setup_context(session)
    context.update(
        {
            "department": department,
            "canton_count": cantons,
            "commune_count": communes,
            "population": population,
            "members": members,
            "department_sections": web.department_sections(),
        }
    )
    return web.render(request, "services/department_home.html", context)

