"""Pages of polling day: the tablet console (search, charter, contribution, check-in, live
counters, paper late entries), station management for commissions and organisers (team,
credentials, papers), plans, live dashboards, and the public « Où voter ? ».

The console is touch-first and works without JavaScript (plain forms, post/redirect/get);
with htmx the search, the voter's panel and the check-in swap in place and the counters
refresh themselves. A refusal is shown in French and changes nothing: the transaction is
rolled back before the message is rendered.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from polling import checkin, dashboards, plans, printing, privacy, service, where
from polling.checkin import CheckinRequest
from polling.dependencies import (
    DepartmentDashboardReader,
    NationalDashboardReader,
    PlanOrganiser,
    StationManager,
    StationStaffMember,
    department_station,
    sees_phones,
    station_of,
)
from polling.models import Channel, Payment, Station, StationState, StaffRole
from services import web
from services.auth.dependencies import Public
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession, utcnow
from services.elections import service as elections
from services.elections.models import Election, Phase, Round
from services.errors import AppError, InvalidInput, NotFound
from services.territory.models import Department
from voter_registry import service as registry
from voter_registry.eligibility import Status
from voter_registry.search import Level, VoterQuery

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 5 * 1024 * 1024


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def parse_euros(text_: str) -> int:
    """« 2 », « 2,50 », « 2.5 € » → cents; French refusal otherwise."""
    cleaned = (text_ or "").replace("€", "").replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        raise InvalidInput("Indiquez le montant de la participation.", code="contribution_missing")
    try:
        value = round(float(cleaned) * 100)
    except ValueError:
        raise InvalidInput(f"Montant illisible : « {text_[:12]} » (exemple : 2 ou 2,50).", code="contribution_invalid") from None
    return value


def pdf_response(data: bytes, file_name: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{file_name}"', "cache-control": "no-store"},
    )


async def _refusal(session: AsyncSession, error: AppError) -> str:
    """Undo everything the request did, then give the French message."""
    await session.rollback()
    return error.message


# --- The tablet console ----------------------------------------------------------------------------


async def _console_context(session: AsyncSession, principal: Principal) -> dict:
    station = await station_of(session, principal)
    election = await elections.get_election(session, station.election_id)
    round_ = await service.active_round(session, election.id)
    row = await service.station_round(session, station, round_)
    day, opens, closes = service.station_hours(station, round_)
    return {
        "station": station,
        "election": election,
        "round": round_,
        "state": StationState(row.state) if row else StationState.PLANNED,
        "station_round": row,
        "counts": service.counts_of(row),
        "day": day,
        "opens": opens,
        "closes": closes,
        "exercise": await checkin.is_exercise(session, election.id),
        "polls_open": round_.phase == Phase.POLLS_OPEN.value,
        "StationState": StationState,
        "can_open": row is not None and row.state in (StationState.READY.value, StationState.PLANNED.value)
        and round_.phase == Phase.POLLS_OPEN.value,
        "can_close": row is not None and row.state == StationState.OPEN.value,
    }


@router.get("/bureau")
async def console(request: Request, session: DbSession, who: StationStaffMember, q: str = "", ref: str = "") -> Response:
    context = await _console_context(session, who)
    context.update({"query": q, "paper": False, "results": None, "panel": None})
    if q.strip():
        context["results"] = await _search(session, who, context, q)
    if ref.strip():
        context["panel"] = await _panel(session, context, ref)
    return web.render(request, "polling/console.html", context)


@router.get("/bureau/saisie-papier")
async def paper_entry(request: Request, session: DbSession, who: StationStaffMember, q: str = "", ref: str = "") -> Response:
    context = await _console_context(session, who)
    context.update({"query": q, "paper": True, "results": None, "panel": None})
    if q.strip():
        context["results"] = await _search(session, who, context, q)
    if ref.strip():
        context["panel"] = await _panel(session, context, ref)
    return web.render(request, "polling/console.html", context)


async def _search(session: AsyncSession, who: Principal, context: dict, text_: str) -> dict:
    station: Station = context["station"]
    election: Election = context["election"]
    query = VoterQuery.from_text(text_)
    try:
        scope = await registry.scope_for(session, who)
        lists_election = await checkin.lists_election(session, election)
        results = await registry.search_voters(session, who.actor, query, scope, election=lists_election, channel="tablette")
    except AppError as error:
        return {"error": error.message, "hits": [], "notes": [], "truncated": False}
    hits = []
    for hit in results.hits:
        elsewhere = None
        if hit.level != Level.AREA:
            elsewhere = await service.station_for_bureau(
                session, election.id, hit.voter.department_code, hit.voter.commune_code, hit.voter.bureau_code
            )
        hits.append({"hit": hit, "elsewhere": elsewhere, "here": hit.level == Level.AREA})
    return {"error": None, "hits": hits, "notes": results.notes, "truncated": results.truncated, "station": station}


@router.get("/bureau/recherche")
async def console_search(request: Request, session: DbSession, who: StationStaffMember, q: str = "", papier: str = "") -> Response:
    context = await _console_context(session, who)
    context["paper"] = bool(papier)
    if not _htmx(request):
        return web.redirect(("/bureau/saisie-papier" if papier else "/bureau") + "?" + urlencode({"q": q}))
    results = await _search(session, who, context, q) if q.strip() else None
    return web.render(request, "polling/_results.html", {**context, "results": results, "query": q})


async def _panel(session: AsyncSession, context: dict, ref: str) -> dict:
    station: Station = context["station"]
    election: Election = context["election"]
    round_: Round = context["round"]
    voter = await registry.get_voter(session, ref)
    if voter is None:
        return {"error": "Électeur introuvable : refaites la recherche.", "voter": None}
    eligibility = await checkin.eligibility_for(session, voter, election)
    home = await checkin.voter_station(session, election.id, voter)
    already = None
    covered = False
    try:
        keys = await privacy.election_keys(session, election.id)
        token = keys.token(registry.voter_identity(voter))
        already = await checkin.already_checked_in(session, round_, token)
        covered = await checkin.round_1_paid(session, election, round_, token)
    except AppError as error:
        return {"error": error.message, "voter": None}
    minimum = election.contribution_min_cents
    amounts = sorted({minimum, max(minimum, 200), 500, 1000})
    return {
        "error": None,
        "voter": voter,
        "ref": ref,
        "eligibility": eligibility,
        "Status": Status,
        "home": home,
        "here": home is not None and home.id == station.id,
        "already": already,
        "already_when": already[1].astimezone(service.station_zone(already[0])).strftime("%d/%m à %Hh%M") if already else "",
        "covered": covered,
        "amounts": amounts,
        "minimum": minimum,
    }


@router.get("/bureau/electeurs/{ref}")
async def voter_panel(request: Request, ref: str, session: DbSession, who: StationStaffMember, papier: str = "") -> Response:
    if not _htmx(request):
        return web.redirect(("/bureau/saisie-papier" if papier else "/bureau") + "?" + urlencode({"ref": ref}))
    context = await _console_context(session, who)
    context["paper"] = bool(papier)
    return web.render(
        request, "polling/_panel.html", {**context, "panel": await _panel(session, context, ref), "clear_results": True}
    )


@router.post("/bureau/emargements")
async def check_in(
    request: Request,
    session: DbSession,
    who: StationStaffMember,
    ref: Annotated[str, Form(max_length=40)],
    montant: Annotated[str, Form(max_length=20)] = "",
    autre_montant: Annotated[str, Form(max_length=20)] = "",
    paiement: Annotated[str, Form(max_length=10)] = "cash",
    charte: Annotated[str, Form(max_length=5)] = "",
    identite: Annotated[str, Form(max_length=5)] = "",
    canal: Annotated[str, Form(max_length=10)] = "tablet",
    heure: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    back = "/bureau/saisie-papier" if canal == Channel.PAPER.value else "/bureau"
    try:
        context = await _console_context(session, who)
        channel = Channel.PAPER if canal == Channel.PAPER.value else Channel.TABLET
        amount_text = autre_montant if montant == "autre" or (autre_montant.strip() and not montant) else montant
        if montant == "couverte":
            cents, payment = 0, Payment.COVERED
        else:
            cents = parse_euros(amount_text)
            payment = Payment.CHEQUE if paiement == Payment.CHEQUE.value else Payment.CASH
        at = None
        if channel == Channel.PAPER and heure.strip():
            try:
                clock = time.fromisoformat(heure.strip())
            except ValueError:
                raise InvalidInput("Heure illisible : écrivez hh:mm, par exemple 10:45.", code="bad_time") from None
            at = datetime.combine(context["day"], clock, tzinfo=service.station_zone(context["station"]))
        result = await checkin.check_in(
            session,
            who.actor,
            context["station"],
            context["round"],
            CheckinRequest(
                voter_ref=ref,
                contribution_cents=cents,
                payment=payment,
                charter_signed=charte == "oui",
                channel=channel,
                identity_checked=identite == "oui",
                checked_in_at=at,
            ),
        )
    except AppError as error:
        message = await _refusal(session, error)
        if not _htmx(request):
            return web.redirect(f"{back}?" + urlencode({"ref": ref}), message, "error")
        return web.render(request, "polling/_checkin_refused.html", {"message": message, "ref": ref, "paper": canal == "paper"})
    local = result.checked_in_at.astimezone(service.station_zone(context["station"]))
    done = (
        f"{result.voter_name} a émargé à {local:%Hh%M}"
        f"{' (liste papier)' if result.channel == Channel.PAPER else ''} — participation "
        f"{checkin.euros(result.contribution_cents)} ({result.payment.label.lower()})."
    )
    if not _htmx(request):
        return web.redirect(back, done)
    return web.render(
        request, "polling/_checkin_done.html", {"message": done, "counts": result.counts, "paper": result.channel == Channel.PAPER}
    )


@router.get("/bureau/compteurs")
async def counters(request: Request, session: DbSession, who: StationStaffMember) -> Response:
    context = await _console_context(session, who)
    return web.render(request, "polling/_counters.html", context)


@router.post("/bureau/ouverture")
async def open_station(session: DbSession, who: StationStaffMember) -> Response:
    try:
        context = await _console_context(session, who)
        via = "tablet" if who.role == Role.TABLET else "web"
        await service.open_station(session, who.actor, context["station"], context["round"], via=via)
    except AppError as error:
        return web.redirect("/bureau", await _refusal(session, error), "error")
    return web.redirect("/bureau", "Bureau ouvert : les émargements peuvent commencer.")


@router.post("/bureau/cloture")
async def close_station(session: DbSession, who: StationStaffMember) -> Response:
    try:
        context = await _console_context(session, who)
        await service.close_station(session, who.actor, context["station"], context["round"], via="tablet" if who.role == Role.TABLET else "web")
    except AppError as error:
        return web.redirect("/bureau", await _refusal(session, error), "error")
    return web.redirect(
        "/bureau", "Bureau clos. Saisissez les émargements de la liste papier s'il y en a, puis transmettez les résultats."
    )


@router.get("/bureau/rapprochement")
async def reconciliation(request: Request, session: DbSession, who: StationStaffMember) -> Response:
    context = await _console_context(session, who)
    lines = await checkin.station_checkins(session, context["station"], context["round"])
    return web.render(request, "polling/reconciliation.html", {**context, "lines": lines, "tz": service.station_zone(context["station"])})


@router.get("/bureau/liste-emargement.pdf")
async def own_list(session: DbSession, who: StationStaffMember) -> Response:
    context = await _console_context(session, who)
    data = await printing.emargement_list(session, context["station"], context["round"])
    return pdf_response(data, f"liste-emargement-{context['station'].code}.pdf")


@router.get("/bureau/pv-vierge.pdf")
async def own_pv(session: DbSession, who: StationStaffMember) -> Response:
    context = await _console_context(session, who)
    data = await printing.blank_pv(session, context["station"], context["round"])
    return pdf_response(data, f"pv-{context['station'].code}.pdf")


# --- Station management (commissions, organisers) ------------------------------------------------------


async def _department(session: AsyncSession, code: str) -> Department:
    department = await session.get(Department, code)
    if department is None:
        raise NotFound(f"Département inconnu : « {code} ».", code="unknown_department")
    return department


async def _election(session: AsyncSession, election_id: int | None) -> Election:
    if election_id:
        return await elections.get_election(session, election_id)
    election = await elections.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


@router.get("/departements/{department_code}/bureaux")
async def department_stations(
    request: Request, department_code: str, session: DbSession, who: StationManager, election: int | None = None
) -> Response:
    department = await _department(session, department_code)
    current = await _election(session, election)
    round_ = await service.active_round(session, current.id)
    lines = await dashboards.station_lines(session, round_, department_code, phones=True)
    others = [
        e for e in await _elections_with_stations(session, department_code) if e.id != current.id
    ]
    return web.render(
        request,
        "polling/department_stations.html",
        {"department": department, "election": current, "round": round_, "lines": lines, "other_elections": others,
         "exercise": await checkin.is_exercise(session, current.id)},
    )


async def _elections_with_stations(session: AsyncSession, department_code: str) -> list[Election]:
    from sqlalchemy import select

    ids = select(Station.election_id).where(Station.department_code == department_code).distinct()
    return list(await session.scalars(select(Election).where(Election.id.in_(ids)).order_by(Election.id)))


@router.get("/departements/{department_code}/bureaux/tableau-de-bord")
async def department_dashboard(
    request: Request, department_code: str, session: DbSession, who: DepartmentDashboardReader, election: int | None = None
) -> Response:
    context = await _dashboard_context(session, who, department_code, election)
    template = "polling/_dashboard.html" if _htmx(request) else "polling/dashboard.html"
    return web.render(request, template, context)


@router.get("/departements/{department_code}/bureaux/{station_code}")
async def station_page(request: Request, department_code: str, station_code: str, session: DbSession, who: StationManager) -> Response:
    station = await department_station(session, department_code, station_code)
    election = await elections.get_election(session, station.election_id)
    round_ = await service.active_round(session, election.id)
    row = await service.station_round(session, station, round_)
    day, opens, closes = service.station_hours(station, round_)
    return web.render(
        request,
        "polling/station.html",
        {
            "station": station,
            "election": election,
            "round": round_,
            "state": StationState(row.state) if row else StationState.PLANNED,
            "station_round": row,
            "counts": service.counts_of(row),
            "staff": await service.staff_of(session, station.id),
            "bureaux": await service.station_bureaux(session, station.id),
            "has_pin": await service.has_pin(session, station),
            "day": day,
            "opens": opens,
            "closes": closes,
            "StaffRole": StaffRole,
            "StationState": StationState,
        },
    )


def _station_url(station: Station) -> str:
    return f"/departements/{station.department_code}/bureaux/{station.code}"


@router.post("/departements/{department_code}/bureaux/{station_code}/modifier")
async def update_station(
    department_code: str,
    station_code: str,
    session: DbSession,
    who: StationManager,
    name: Annotated[str, Form(max_length=200)],
    address: Annotated[str, Form(max_length=300)] = "",
    opens_at: Annotated[str, Form(max_length=5)] = "",
    closes_at: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    station = await department_station(session, department_code, station_code)
    url = _station_url(station)
    try:
        opens = time.fromisoformat(opens_at) if opens_at.strip() else None
        closes = time.fromisoformat(closes_at) if closes_at.strip() else None
        await service.update_station(
            session, who.actor, station, name=name, address=address, opens_at=opens, closes_at=closes,
            clear_hours=not opens_at.strip() and not closes_at.strip(),
        )
    except ValueError:
        return web.redirect(url, await _refusal(session, InvalidInput("Heure illisible : écrivez hh:mm.")), "error")
    except AppError as error:
        return web.redirect(url, await _refusal(session, error), "error")
    return web.redirect(url, "Bureau de vote enregistré.")


@router.post("/departements/{department_code}/bureaux/{station_code}/equipe")
async def add_staff(
    department_code: str,
    station_code: str,
    session: DbSession,
    who: StationManager,
    role: Annotated[StaffRole, Form()],
    name: Annotated[str, Form(max_length=200)],
    phone: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    station = await department_station(session, department_code, station_code)
    url = _station_url(station)
    try:
        await service.add_staff(session, who.actor, station, role=role, name=name, phone=phone)
    except AppError as error:
        return web.redirect(url, await _refusal(session, error), "error")
    return web.redirect(url, f"{role.label} ajouté(e) à l'équipe du bureau.")


@router.post("/departements/{department_code}/bureaux/{station_code}/equipe/{staff_id}/retrait")
async def remove_staff(department_code: str, station_code: str, staff_id: int, session: DbSession, who: StationManager) -> Response:
    station = await department_station(session, department_code, station_code)
    staff = await service.get_staff(session, staff_id)
    if staff.station_id != station.id:
        raise NotFound("Ce membre n'appartient pas à ce bureau.", code="staff_not_found")
    await service.remove_staff(session, who.actor, staff)
    return web.redirect(_station_url(station), "Membre retiré de l'équipe du bureau.")


@router.post("/departements/{department_code}/bureaux/{station_code}/identifiants")
async def station_credentials(department_code: str, station_code: str, session: DbSession, who: StationManager) -> Response:
    station = await department_station(session, department_code, station_code)
    election = await elections.get_election(session, station.election_id)
    try:
        data = await printing.issue_credentials(session, who.actor, election, [station])
    except AppError as error:
        return web.redirect(_station_url(station), await _refusal(session, error), "error")
    return pdf_response(data, f"identifiants-{station.code}.pdf")


@router.post("/departements/{department_code}/bureaux-identifiants")
async def department_credentials(
    department_code: str, session: DbSession, who: StationManager, election: Annotated[int, Form()] = 0
) -> Response:
    current = await _election(session, election or None)
    stations = await service.stations_of(session, current.id, department_code)
    try:
        data = await printing.issue_credentials(session, who.actor, current, stations)
    except AppError as error:
        return web.redirect(f"/departements/{department_code}/bureaux", await _refusal(session, error), "error")
    return pdf_response(data, f"identifiants-{department_code}.pdf")


@router.post("/departements/{department_code}/bureaux-equipes")
async def import_staff(
    department_code: str,
    session: DbSession,
    who: StationManager,
    fichier: Annotated[UploadFile, File()],
    election: Annotated[int, Form()] = 0,
) -> Response:
    url = f"/departements/{department_code}/bureaux"
    current = await _election(session, election or None)
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return web.redirect(url, "Fichier trop volumineux (5 Mo au plus).", "error")
    try:
        report = await service.import_staff(
            session, who.actor, current, fichier.filename or "equipes.csv", data, department=department_code
        )
    except AppError as error:
        return web.redirect(url, await _refusal(session, error), "error")
    return web.redirect(
        url, f"Équipes importées : {report.added} membre(s) ajouté(s), {report.updated} mis à jour, {len(report.stations)} bureau(x)."
    )


@router.get("/departements/{department_code}/bureaux/{station_code}/liste-emargement.pdf")
async def station_list(department_code: str, station_code: str, session: DbSession, who: StationManager) -> Response:
    station = await department_station(session, department_code, station_code)
    round_ = await service.active_round(session, station.election_id)
    return pdf_response(await printing.emargement_list(session, station, round_), f"liste-emargement-{station.code}.pdf")


@router.get("/departements/{department_code}/bureaux/{station_code}/pv-vierge.pdf")
async def station_pv(department_code: str, station_code: str, session: DbSession, who: StationManager) -> Response:
    station = await department_station(session, department_code, station_code)
    round_ = await service.active_round(session, station.election_id)
    return pdf_response(await printing.blank_pv(session, station, round_), f"pv-{station.code}.pdf")


@router.post("/departements/{department_code}/bureaux/{station_code}/etat")
async def station_state(
    department_code: str, station_code: str, session: DbSession, who: StationManager, to: Annotated[StationState, Form()]
) -> Response:
    """The commission opens or closes a station on its behalf (a president who phoned in)."""
    station = await department_station(session, department_code, station_code)
    round_ = await service.active_round(session, station.election_id)
    if to not in (StationState.OPEN, StationState.CLOSED):
        return web.redirect(_station_url(station), "Seules l'ouverture et la clôture se font ici.", "error")
    try:
        await service.set_station_state(session, who.actor, station, round_, to, via="web")
    except AppError as error:
        return web.redirect(_station_url(station), await _refusal(session, error), "error")
    return web.redirect(_station_url(station), f"Bureau {station.code} : « {to.label} ».")


@router.post("/departements/{department_code}/bureaux/{station_code}/participation")
async def station_turnout(
    department_code: str,
    station_code: str,
    session: DbSession,
    who: StationManager,
    heure: Annotated[str, Form(max_length=5)],
    votants: Annotated[int, Form(ge=0, le=1_000_000)],
) -> Response:
    """Turnout phoned in by a president, keyed by the commission."""
    station = await department_station(session, department_code, station_code)
    round_ = await service.active_round(session, station.election_id)
    try:
        clock = time.fromisoformat(heure.strip())
        await service.record_turnout(session, who.actor, station, round_, clock, votants, via="commission")
    except ValueError:
        return web.redirect(_station_url(station), await _refusal(session, InvalidInput("Heure illisible : écrivez hh:mm.")), "error")
    except AppError as error:
        return web.redirect(_station_url(station), await _refusal(session, error), "error")
    return web.redirect(_station_url(station), f"Participation de {clock:%Hh%M} enregistrée : {votants} votants.")


# --- Plans (organisers) ----------------------------------------------------------------------------------


@router.get("/organisation/bureaux")
async def plans_page(request: Request, session: DbSession, who: PlanOrganiser) -> Response:
    election = await _election(session, None)
    summaries = await registry.department_summaries(session)
    stations = await service.stations_of(session, election.id)
    per_department: dict[str, int] = {}
    for station in stations:
        per_department[station.department_code] = per_department.get(station.department_code, 0) + 1
    return web.render(
        request,
        "polling/plans.html",
        {"election": election, "summaries": summaries, "per_department": per_department, "drafts": await plans.drafts_of(session, election.id)},
    )


@router.post("/organisation/bureaux/plans")
async def compute_plan(
    session: DbSession,
    who: PlanOrganiser,
    department: Annotated[str, Form(max_length=3)] = "",
    max_voters: Annotated[int, Form(ge=1, le=1_000_000)] = 5000,
) -> Response:
    election = await _election(session, None)
    try:
        view = await plans.draft_plan(session, who.actor, election, department=department.strip().upper() or None, max_voters=max_voters)
    except AppError as error:
        return web.redirect("/organisation/bureaux", await _refusal(session, error), "error")
    return web.redirect(f"/organisation/bureaux/plans/{view.draft.id}", f"Plan calculé : {len(view.plan.stations)} bureaux de vote.")


@router.get("/organisation/bureaux/plans/{plan_id}")
async def plan_page(request: Request, plan_id: int, session: DbSession, who: PlanOrganiser) -> Response:
    view = await plans.get_draft(session, plan_id)
    return web.render(request, "polling/plan.html", {"view": view, "plan": view.plan})


@router.get("/organisation/bureaux/plans/{plan_id}/plan.csv")
async def plan_csv(plan_id: int, session: DbSession, who: PlanOrganiser) -> Response:
    view = await plans.get_draft(session, plan_id)
    return Response(
        view.csv_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="plan-{plan_id}.csv"'},
    )


@router.post("/organisation/bureaux/plans/{plan_id}/ajustement")
async def adjust_plan(
    plan_id: int,
    session: DbSession,
    who: PlanOrganiser,
    adjustment: Annotated[str, Form(max_length=10)],
    station: Annotated[str, Form(max_length=20)] = "",
    other: Annotated[str, Form(max_length=20)] = "",
    bureaux: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    url = f"/organisation/bureaux/plans/{plan_id}"
    try:
        await plans.adjust_draft(
            session, who.actor, plan_id, adjustment=adjustment, station=station.strip(), other=other.strip(),
            bureaux=[part for part in bureaux.replace(",", "\n").splitlines() if part.strip()],
        )
    except AppError as error:
        return web.redirect(url, await _refusal(session, error), "error")
    return web.redirect(url, "Ajustement enregistré : le plan respecte toujours les règles.")


@router.post("/organisation/bureaux/plans/{plan_id}/application")
async def apply_plan(plan_id: int, session: DbSession, who: PlanOrganiser) -> Response:
    election = await _election(session, None)
    try:
        stations = await plans.apply_draft(session, who.actor, election, plan_id)
    except AppError as error:
        return web.redirect(f"/organisation/bureaux/plans/{plan_id}", await _refusal(session, error), "error")
    return web.redirect("/organisation/bureaux", f"{len(stations)} bureaux de vote créés, avec leurs codes.")


# --- Dashboards ------------------------------------------------------------------------------------------


async def _dashboard_context(session: AsyncSession, principal: Principal, department: str | None, election_id: int | None) -> dict:
    election = await _election(session, election_id)
    round_ = await service.active_round(session, election.id)
    totals = await service.round_totals(session, round_.id, department)
    points = await dashboards.turnout_curve(session, round_, department)
    now = utcnow().astimezone(service.PARIS)
    now_clock = now.time() if now.date() == round_.polling_date else None
    lines = await dashboards.station_lines(session, round_, department, phones=sees_phones(principal))
    reported = await dashboards.reported_only(session, round_, department)
    context = {
        "election": election,
        "round": round_,
        "phase": Phase(round_.phase),
        "totals": totals,
        "reported": reported,
        "voters": totals.checkins + reported,
        "curve": points,
        "curve_svg": dashboards.curve_svg(points, now=now_clock, registered=totals.registered),
        "not_opened": [line for line in lines if not dashboards.is_opened(line.state)],
        "opened": [line for line in lines if dashboards.is_opened(line.state)],
        "department": None,
        "map_svg": "",
        "departments": [],
        "phones_visible": sees_phones(principal),
        "exercise": await checkin.is_exercise(session, election.id),
        "tz": service.PARIS,
    }
    if department:
        context["department"] = await _department(session, department)
    else:
        figures = await dashboards.department_figures(session, round_)
        names = {d.code: d.name for d in await _departments(session)}
        context["map_svg"] = dashboards.turnout_map(figures, names)
        context["departments"] = [(code, names.get(code, ""), figure) for code, figure in sorted(figures.items())]
    return context


async def _departments(session: AsyncSession) -> list[Department]:
    from sqlalchemy import select

    return list(await session.scalars(select(Department)))


@router.get("/bureaux/tableau-de-bord")
async def national_dashboard(request: Request, session: DbSession, who: NationalDashboardReader, election: int | None = None) -> Response:
    context = await _dashboard_context(session, who, None, election)
    template = "polling/_dashboard.html" if _htmx(request) else "polling/dashboard.html"
    return web.render(request, template, context)


# --- « Où voter ? » ----------------------------------------------------------------------------------------


@router.get("/ou-voter")
async def where_page(request: Request, session: DbSession, who: Public) -> Response:
    return web.render(request, "polling/where.html", {"answer": None, "form": {}, "error": None})


@router.post("/ou-voter")
async def where_search(
    request: Request,
    session: DbSession,
    who: Public,
    nom: Annotated[str, Form(max_length=200)] = "",
    prenoms: Annotated[str, Form(max_length=200)] = "",
    naissance: Annotated[str, Form(max_length=20)] = "",
    commune: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    form = {"nom": nom, "prenoms": prenoms, "naissance": naissance, "commune": commune}
    try:
        await where.rate_limit(session, where.client_bucket(request.client.host if request.client else "?"))
    except AppError as error:
        return web.render(request, "polling/where.html", {"answer": None, "form": form, "error": error.message}, status_code=429)
    try:
        answer = await where.where_to_vote(
            session, await where.public_election(session), name=nom, given_names=prenoms, birth=naissance, commune=commune
        )
    except AppError as error:
        return web.render(request, "polling/where.html", {"answer": None, "form": form, "error": error.message}, status_code=200)
    return web.render(request, "polling/where.html", {"answer": answer, "form": form, "error": None})

