"""Pages of results night.

Public (under the server's embargo, figures at a signed log checkpoint):
- ``/resultats`` — the rounds and where their results stand;
- ``/resultats/tour/{number}`` — national figures, choropleth, bars, departments, share reported;
- ``/resultats/tour/{number}/departements/{code}`` — a department and its stations.

The station (paired tablet, president, assessor):
- ``/resultats/bureau`` — enter the figures (president), countersign them (assessor).

The departmental commission (and, read-only, the national committee, the high authority and
the candidates' representatives):
- ``/departements/{code}/resultats`` — dashboard: validation queue, stations not reported
  (with the staff's phones), discrepancies, channel agreement;
- ``/departements/{code}/resultats/bureaux/{station_code}`` — one station: every report of
  every channel and version, the paper keying (blind until two entries exist), validation.

National: ``/organisation/resultats`` (committee's dashboard), ``/haute-autorite/resultats``
(decisions, proclamation).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service as polling
from polling.models import Station
from results import dashboards, publication, service
from results.figures import Kind
from results.models import Channel, DecisionKind, ResultsProclamation
from results.proclamation import proclaim_round
from results.report import StationReport
from services import web
from services.auth.dependencies import Access, Authority, NationalReader, Public
from services.auth.models import Account, LoginFailure
from services.auth.principal import Principal
from services.auth.roles import Role
from services.auth.service import verify_password
from services.db import DbSession, utcnow
from services.elections import service as elections
from services.elections.models import Election, Phase, Round
from services.errors import AppError, Forbidden, InvalidInput, NotFound, TooManyAttempts
from services.settings import settings
from services.territory.maps import department_map_svg
from services.territory.models import Department

router = APIRouter(include_in_schema=False)

StationMember = Annotated[Principal, Depends(Access(Role.TABLET, Role.PRESIDENT, Role.ASSESSOR))]
DepartmentReader = Annotated[
    Principal,
    Depends(Access(Role.COMMISSION, Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER, department_param="code")),
]
CommissionMember = Annotated[Principal, Depends(Access(Role.COMMISSION, department_param="code"))]
PHONE_READERS = frozenset({Role.COMMISSION, Role.ORGANISER})


async def _election(session: AsyncSession) -> Election:
    election = await elections.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


def _common() -> dict[str, Any]:
    return {"Channel": Channel, "Kind": Kind, "colour": publication.candidate_colour, "Phase": Phase}


# --- Figures typed in a form ------------------------------------------------------------------------


def _integer(label: str, raw: str | None, problems: list[str]) -> int:
    text = (raw or "").strip().replace(" ", "").replace("\u202f", "")
    if not text:
        problems.append(f"{label} : champ vide (tapez 0 s'il n'y en a pas).")
        return 0
    if not text.isdigit() or len(text) > 6:
        problems.append(f"{label} : « {text[:12]} » n'est pas un nombre entier positif.")
        return 0
    return int(text)


def _euros(raw: str | None, problems: list[str]) -> int | None:
    text = (raw or "").strip().replace(" ", "").replace("\u202f", "").replace("€", "")
    if not text:
        return None
    whole, _, decimals = text.replace(".", ",").partition(",")
    if not whole.isdigit() or (decimals and (not decimals.isdigit() or len(decimals) > 2)) or len(whole) > 7:
        problems.append(f"Contributions : « {text[:12]} » n'est pas un montant (exemple : 612,50).")
        return None
    return int(whole) * 100 + int((decimals or "0").ljust(2, "0"))


def figures_from_form(form: Any, rules: service.RoundRules) -> StationReport:
    """The report typed in a form (fields emargements, blancs, nuls, voix_<position>, euros)."""
    problems: list[str] = []
    report = StationReport(
        _integer("Émargements", form.get("emargements"), problems),
        _integer("Bulletins blancs", form.get("blancs"), problems),
        _integer("Bulletins nuls", form.get("nuls"), problems),
        tuple(_integer(f"Voix de {c.full_name}", form.get(f"voix_{c.position}"), problems) for c in rules.ballot),
        _euros(form.get("euros"), problems),
    )
    if problems:
        raise InvalidInput("Saisie incomplète : " + " ".join(problems), code="invalid_figures")
    return report


def _text_field(form: Any, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


# --- Public pages -------------------------------------------------------------------------------------


@router.get("/resultats")
async def results_home(request: Request, session: DbSession, who: Public) -> Response:
    election = await elections.current_election(session)
    rounds = []
    if election is not None:
        for round_ in await elections.rounds_of(session, election.id):
            published = await publication.is_published(session, round_)
            end = await publication.embargo_end(session, round_) if round_.phase != Phase.SETUP.value else None
            rounds.append({"round": round_, "published": published, "embargo_until": end})
    return web.render(request, "results/home.html", {"election": election, "rounds": rounds, "paris": service.paris_time, **_common()})


def _kind_param(value: str | None, round_: Round) -> Kind:
    if value in ("definitifs", "final"):
        return Kind.FINAL
    if value in ("provisoires", "provisional"):
        return Kind.PROVISIONAL
    return publication.default_kind(round_)


def _point_param(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput("Paramètre « point » : la taille d'un point de contrôle du journal (un entier).", code="invalid_point")
    return int(value)


async def _public_snapshot(session: AsyncSession, number: int, resultats: str | None, point: str | None) -> publication.Snapshot:
    election = await _election(session)
    round_ = await publication.published_round(session, election, number)
    return await publication.published_snapshot(
        session, round_, _kind_param(resultats, round_), tree_size=_point_param(point)
    )


@router.get("/resultats/tour/{number}")
async def round_page(
    request: Request, number: int, session: DbSession, who: Public, resultats: str | None = None, point: str | None = None
) -> Response:
    snapshot = await _public_snapshot(session, number, resultats, point)
    fills, titles = publication.leader_fills(snapshot)
    links = {code: f"/resultats/tour/{number}/departements/{code}" for code in snapshot.aggregation.departments}
    svg = department_map_svg(fills, titles, links=links, label="Carte des départements : candidat en tête")
    return web.render(
        request,
        "results/round.html",
        {
            "s": snapshot,
            "totals": snapshot.nation,
            "svg": svg,
            "outcome": publication.outcome_text(snapshot),
            "departments": sorted(snapshot.aggregation.departments.items()),
            "query": _query(resultats, point),
            **_common(),
        },
    )


def _query(resultats: str | None, point: str | None) -> str:
    parts = [f"resultats={resultats}" if resultats else "", f"point={point}" if point else ""]
    joined = "&".join(part for part in parts if part)
    return f"?{joined}" if joined else ""


@router.get("/resultats/tour/{number}/departements/{code}")
async def department_results_page(
    request: Request,
    number: int,
    code: str,
    session: DbSession,
    who: Public,
    resultats: str | None = None,
    point: str | None = None,
) -> Response:
    snapshot = await _public_snapshot(session, number, resultats, point)
    totals = snapshot.aggregation.departments.get(code.upper())
    if totals is None:
        raise NotFound(f"Aucun bureau de vote dans le département « {code} » pour cette élection.", code="unknown_department")
    stations = [
        (station, snapshot.aggregation.stations[station.code])
        for station in snapshot.stations
        if station.department_code == totals.code
    ]
    return web.render(
        request,
        "results/department.html",
        {
            "s": snapshot,
            "totals": totals,
            "name": snapshot.department_names.get(totals.code, totals.code),
            "stations": stations,
            "query": _query(resultats, point),
            **_common(),
        },
    )


# --- The station: tablet entry and countersignature -------------------------------------------------------


async def _station_of(session: AsyncSession, who: Principal) -> Station:
    if not who.station_code:
        raise Forbidden("Ce compte n'est rattaché à aucun bureau de vote.", code="no_station")
    return await polling.station_by_code(session, who.station_code)


async def _station_round(session: AsyncSession, station: Station) -> Round | None:
    return await dashboards.dashboard_round(session, station.election_id)


@router.get("/resultats/bureau")
async def station_results_page(request: Request, session: DbSession, who: StationMember) -> Response:
    station = await _station_of(session, who)
    round_ = await _station_round(session, station)
    context: dict[str, Any] = {"station": station, "round": round_, "line": None, "rules": None}
    if round_ is not None:
        context["rules"] = await service.round_rules(session, round_)
        context["line"] = await dashboards.station_line(session, round_, station)
        context["accepting"] = round_.phase in (Phase.POLLS_OPEN.value, Phase.POLLS_CLOSED.value)
    return web.render(request, "results/station.html", {**context, **_common()})


@router.post("/resultats/bureau/saisie")
async def enter_station_results(request: Request, session: DbSession, who: StationMember) -> Response:
    if who.role == Role.ASSESSOR:
        raise Forbidden(
            "La saisie des résultats revient au président du bureau ; l'assesseur la confirme ensuite.", code="president_enters"
        )
    station = await _station_of(session, who)
    round_ = await _station_round(session, station)
    if round_ is None:
        raise NotFound("Aucun tour n'est en cours.", code="round_not_found")
    form = await request.form()
    try:
        rules = await service.round_rules(session, round_)
        report = figures_from_form(form, rules)
        pin = _text_field(form, "pin", 20) if who.role == Role.TABLET else None
        received = await service.enter_tablet_report(
            session, who.actor, station, round_, report, account_id=who.account_id, pin=pin
        )
    except AppError as error:
        # A wrong PIN is written (lock-out) before the refusal: the redirect commits it, nothing else.
        return web.redirect("/resultats/bureau", error.message, "error")
    gaps = " Écart signalé : " + " ; ".join(gap.message for gap in received.gaps) if received.gaps else ""
    return web.redirect(
        "/resultats/bureau",
        f"Résultats saisis (version {received.report.version}) : un assesseur doit maintenant les confirmer pour qu'ils comptent.{gaps}",
        "warn" if gaps else "ok",
    )


async def _throttled(session: AsyncSession, keys: list[str]) -> bool:
    window = utcnow() - timedelta(minutes=settings().login_failure_window_minutes)
    for key in keys:
        count = await session.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.key == key, LoginFailure.at > window))
        if (count or 0) >= settings().login_max_failures:
            return True
    return False


async def assessor_by_password(session: AsyncSession, station: Station, username: str, password: str, client_ip: str) -> Account:
    """The assessor countersigning on the station's tablet, by their own credentials. Failures
    are counted with the sign-in's (same keys): the caller must commit them."""
    username = username.strip().lower()
    keys = [f"user:{username}", f"ip:{client_ip}"]
    if await _throttled(session, keys):
        raise TooManyAttempts("Trop de tentatives infructueuses : réessayez dans quelques minutes.")
    account = await session.scalar(select(Account).where(Account.username == username))
    if account is None or not account.active or not verify_password(account.password_hash, password):
        session.add_all(LoginFailure(key=key) for key in keys)
        raise InvalidInput("Identifiant ou mot de passe de l'assesseur incorrect.", code="countersign_refused")
    if account.role != Role.ASSESSOR.value or account.station_code != station.code:
        raise Forbidden(
            f"Ce compte n'est pas celui d'un assesseur du bureau {station.code} : seul un assesseur du bureau confirme.",
            code="countersign_not_assessor",
        )
    return account


@router.post("/resultats/bureau/confirmation")
async def countersign_station_results(request: Request, session: DbSession, who: StationMember) -> Response:
    station = await _station_of(session, who)
    round_ = await _station_round(session, station)
    if round_ is None:
        raise NotFound("Aucun tour n'est en cours.", code="round_not_found")
    form = await request.form()
    raw_id = _text_field(form, "report_id", 20)
    try:
        if not raw_id.isdigit():
            raise InvalidInput("Saisie à confirmer introuvable.", code="report_not_found")
        if who.role == Role.ASSESSOR:
            assessor_id = who.account_id
            actor = who.actor
        elif who.role == Role.TABLET:
            client = request.client.host if request.client else "inconnu"
            account = await assessor_by_password(
                session, station, _text_field(form, "identifiant", 80), _text_field(form, "mot_de_passe", 200), client
            )
            assessor_id = account.id
            actor = Principal(Role.ASSESSOR, account.display_name, account_id=account.id, station_code=station.code).actor
        else:
            raise Forbidden("Seul un assesseur du bureau confirme les résultats saisis par le président.", code="countersign_not_assessor")
        assert assessor_id is not None
        await service.countersign_tablet_report(session, actor, station, round_, int(raw_id), assessor_account_id=assessor_id)
    except AppError as error:
        return web.redirect("/resultats/bureau", error.message, "error")
    return web.redirect("/resultats/bureau", "Résultats confirmés par l'assesseur : ils comptent. Merci !")


# --- Departmental commission -------------------------------------------------------------------------------


async def _department(session: AsyncSession, code: str) -> Department:
    department = await session.get(Department, code.upper())
    if department is None:
        raise NotFound(f"Département inconnu : « {code} ».", code="unknown_department")
    return department


async def _round_param(session: AsyncSession, election: Election, tour: str | None) -> Round:
    number = int(tour) if tour and tour.isdigit() and len(tour) < 3 else None
    round_ = await dashboards.dashboard_round(session, election.id, number)
    if round_ is None:
        raise NotFound("Ce tour n'existe pas.", code="round_not_found")
    return round_


@router.get("/departements/{code}/resultats")
async def department_dashboard(
    request: Request, code: str, session: DbSession, who: DepartmentReader, tour: str | None = None
) -> Response:
    department = await _department(session, code)
    election = await _election(session)
    round_ = await _round_param(session, election, tour)
    view = await dashboards.overview(session, round_, department.code)
    return web.render(
        request,
        "results/dashboard.html",
        {
            "department": department,
            "view": view,
            "round": round_,
            "show_phones": who.role in PHONE_READERS,
            "rules": await service.round_rules(session, round_),
            "labels": dashboards.STATUS_LABELS,
            "national": False,
            **_common(),
        },
    )


async def _station_in(session: AsyncSession, department: Department, station_code: str) -> Station:
    station = await polling.station_by_code(session, station_code)
    if station.department_code != department.code:
        raise NotFound(f"Le bureau {station.code} n'est pas dans le département {department.code}.", code="unknown_station")
    return station


@router.get("/departements/{code}/resultats/bureaux/{station_code}")
async def station_detail(
    request: Request, code: str, station_code: str, session: DbSession, who: DepartmentReader, tour: str | None = None
) -> Response:
    department = await _department(session, code)
    station = await _station_in(session, department, station_code)
    election = await session.get(Election, station.election_id)
    assert election is not None
    round_ = await _round_param(session, election, tour)
    line = await dashboards.station_line(session, round_, station)
    rules = await service.round_rules(session, round_)
    members = {entry.account_id for entry in line.paper_entries_open}
    # Blind double entry: a member does not see the figures already keyed until two members
    # have keyed (then disagreements show both, the differing figures marked).
    reveal = len(members) >= 2 or who.role != Role.COMMISSION
    return web.render(
        request,
        "results/station_detail.html",
        {
            "department": department,
            "station": station,
            "round": round_,
            "line": line,
            "rules": rules,
            "reveal_entries": reveal,
            "keyed_by_me": who.account_id in members,
            "can_act": who.role == Role.COMMISSION and round_.phase in (Phase.POLLS_OPEN.value, Phase.POLLS_CLOSED.value),
            "show_phones": who.role in PHONE_READERS,
            "differing": service.differing_fields,
            "report_of": service.report_of,
            **_common(),
        },
    )


def _station_url(department: Department, station: Station, round_: Round) -> str:
    return f"/departements/{department.code}/resultats/bureaux/{station.code}?tour={round_.number}"


async def _commission_target(session: AsyncSession, code: str, station_code: str, form: Any) -> tuple[Department, Station, Round]:
    department = await _department(session, code)
    station = await _station_in(session, department, station_code)
    election = await session.get(Election, station.election_id)
    assert election is not None
    round_ = await _round_param(session, election, _text_field(form, "tour", 3) or None)
    return department, station, round_


@router.post("/departements/{code}/resultats/bureaux/{station_code}/saisie-papier")
async def key_paper(request: Request, code: str, station_code: str, session: DbSession, who: CommissionMember) -> Response:
    form = await request.form()
    department, station, round_ = await _commission_target(session, code, station_code, form)
    url = _station_url(department, station, round_)
    try:
        report = figures_from_form(form, await service.round_rules(session, round_))
        assert who.account_id is not None
        outcome = await service.key_paper_entry(session, who.actor, station, round_, report, account_id=who.account_id)
    except AppError as error:
        return web.redirect(url, error.message, "error")
    if outcome.established is not None:
        return web.redirect(url, "Les deux saisies concordent : le procès-verbal papier est enregistré et compte.")
    if outcome.disagreements:
        return web.redirect(url, "Votre saisie diffère de celle d'un autre membre : les deux sont affichées, vérifiez le PV et saisissez-le à nouveau.", "error")
    return web.redirect(url, "Saisie enregistrée : un second membre de la commission doit saisir le même PV.", "warn")


@router.post("/departements/{code}/resultats/bureaux/{station_code}/validation")
async def validate(request: Request, code: str, station_code: str, session: DbSession, who: CommissionMember) -> Response:
    form = await request.form()
    department, station, round_ = await _commission_target(session, code, station_code, form)
    url = _station_url(department, station, round_)
    raw_id = _text_field(form, "report_id", 20)
    try:
        if not raw_id.isdigit():
            raise InvalidInput("Choisissez le procès-verbal à valider.", code="report_required")
        await service.validate_station(
            session, who.actor, station, round_, int(raw_id), comment=_text_field(form, "commentaire"), account_id=who.account_id
        )
    except AppError as error:
        return web.redirect(url, error.message, "error")
    return web.redirect(f"/departements/{department.code}/resultats?tour={round_.number}", f"Bureau {station.code} validé.")


@router.post("/departements/{code}/resultats/bureaux/{station_code}/reouverture")
async def reopen(request: Request, code: str, station_code: str, session: DbSession, who: CommissionMember) -> Response:
    form = await request.form()
    department, station, round_ = await _commission_target(session, code, station_code, form)
    url = _station_url(department, station, round_)
    try:
        await service.reopen_station(session, who.actor, station, round_, comment=_text_field(form, "commentaire"), account_id=who.account_id)
    except AppError as error:
        return web.redirect(url, error.message, "error")
    return web.redirect(url, f"Résultats du bureau {station.code} rouverts : un nouveau PV est attendu.", "warn")


@router.post("/departements/{code}/resultats/bureaux/{station_code}/carence")
async def not_opened(request: Request, code: str, station_code: str, session: DbSession, who: CommissionMember) -> Response:
    form = await request.form()
    department, station, round_ = await _commission_target(session, code, station_code, form)
    url = _station_url(department, station, round_)
    try:
        await service.declare_not_opened(session, who.actor, station, round_, comment=_text_field(form, "commentaire"), account_id=who.account_id)
    except AppError as error:
        return web.redirect(url, error.message, "error")
    return web.redirect(url, f"Bureau {station.code} déclaré non ouvert (PV de carence validé).")


# --- National committee and high authority ------------------------------------------------------------------


@router.get("/organisation/resultats")
async def national_dashboard(request: Request, session: DbSession, who: NationalReader, tour: str | None = None) -> Response:
    election = await _election(session)
    round_ = await _round_param(session, election, tour)
    view = await dashboards.overview(session, round_)
    departments = dict((await session.execute(select(Department.code, Department.name))).all())
    return web.render(
        request,
        "results/dashboard.html",
        {
            "department": None,
            "department_names": departments,
            "view": view,
            "round": round_,
            "show_phones": who.role in PHONE_READERS,
            "rules": await service.round_rules(session, round_),
            "labels": dashboards.STATUS_LABELS,
            "national": True,
            "published": await publication.is_published(session, round_),
            **_common(),
        },
    )


@router.get("/haute-autorite/resultats")
async def authority_page(request: Request, session: DbSession, who: Authority, tour: str | None = None) -> Response:
    election = await _election(session)
    round_ = await _round_param(session, election, tour)
    live = await publication.compute_snapshot(session, round_, Kind.FINAL, None)
    stamp = await publication.latest_stamp(session)
    return web.render(
        request,
        "results/authority.html",
        {
            "round": round_,
            "rounds": await elections.rounds_of(session, election.id),
            "live": live,
            "stamp": stamp,
            "unvalidated": await service.unvalidated_stations(session, round_),
            "proclamation": await session.get(ResultsProclamation, round_.id),
            "rules": await service.round_rules(session, round_),
            "DecisionKind": DecisionKind,
            "outcome": publication.outcome_text(live),
            **_common(),
        },
    )


@router.post("/haute-autorite/resultats/tours/{number}/decisions")
async def record_decision(request: Request, number: int, session: DbSession, who: Authority) -> Response:
    election = await _election(session)
    round_ = await publication.published_round(session, election, number)
    url = f"/haute-autorite/resultats?tour={number}"
    form = await request.form()
    try:
        station = await polling.station_by_code(session, _text_field(form, "bureau", 20))
        if station.election_id != election.id:
            raise NotFound("Ce bureau n'appartient pas à cette élection.", code="unknown_station")
        kind = DecisionKind(_text_field(form, "nature", 10)) if _text_field(form, "nature", 10) in ("annul", "replace") else None
        if kind is None:
            raise InvalidInput("Choisissez la nature de la décision : annulation ou rectification.", code="decision_kind")
        report = figures_from_form(form, await service.round_rules(session, round_)) if kind == DecisionKind.REPLACE else None
        await service.record_decision(
            session, who.actor, station, round_, kind=kind, reference=_text_field(form, "reference", 200),
            motive=_text_field(form, "motif", 4000), report=report, account_id=who.account_id,
        )  # fmt: skip
    except AppError as error:
        return web.redirect(url, error.message, "error")
    return web.redirect(url, f"Décision enregistrée pour le bureau {station.code}.")


@router.post("/haute-autorite/resultats/tours/{number}/proclamation")
async def proclaim(number: int, session: DbSession, who: Authority) -> Response:
    election = await _election(session)
    round_ = await publication.published_round(session, election, number)
    url = f"/haute-autorite/resultats?tour={number}"
    try:
        proclamation = await proclaim_round(session, who.actor, round_, account_id=who.account_id)
    except AppError as error:
        return web.redirect(url, error.message, "error")
    return web.redirect(
        url, f"Tour {number} proclamé, sur le point de contrôle n° {proclamation.tree_size} du journal ({proclamation.root_hash[:16]}…)."
    )


# --- Home panels -----------------------------------------------------------------------------------------------


@router.get("/resultats/panneau")
async def results_panel(request: Request, session: DbSession, who: NationalReader) -> Response:
    election = await elections.current_election(session)
    round_ = await dashboards.dashboard_round(session, election.id) if election else None
    view = await dashboards.overview(session, round_, with_staff=False) if round_ else None
    return web.render(request, "results/_panel.html", {"view": view, "round": round_, **_common()})

