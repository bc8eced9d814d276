"""JSON API of polling day: stations, staff import, credentials, check-ins, turnout,
« où voter ? ». Same rules and French refusals as the pages."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _string
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from polling import checkin, dashboards, printing, service, where
from polling.checkin import CheckinRequest
from polling.dependencies import StaffManager, StationsReader, StationStaffMember, sees_phones, station_of
from polling.schemas import (
    CheckinIn,
    CheckinOut,
    CommuneChoiceOut,
    CountsOut,
    CredentialsIn,
    CurvePointOut,
    StaffImportOut,
    StaffOut,
    StationOut,
    TurnoutOut,
    WhereIn,
    WhereOut,
)
from services.auth.dependencies import Access
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.elections import service as elections
from services.elections.models import Election
from services.errors import Forbidden, InvalidInput, NotFound
from services.telephony.phone import mask_phone
from voter_registry.territory_cache import territory
router = APIRouter(prefix="/api/v1/polling", tags=["bureaux de vote"])
public_router = APIRouter(prefix="/api/v1", tags=["où voter"])
MAX_UPLOAD = 5 * 1024 * 1024

# « Où voter ? » is a public, anonymous, side-effect-free look-up: no CSRF token (other
# sites' pages cannot read the answer anyway), rate-limited per client.
PublicLookup = Annotated[Principal | None, Depends(Access(public=True, csrf=False))]


def counts_out(counts: service.StationCounts) -> CountsOut:
    return CountsOut(
        tablet=counts.tablet, paper=counts.paper, total=counts.total, contributions_cents=counts.contributions_cents,
        cash_cents=counts.cash_cents, cheque_cents=counts.cheque_cents, covered=counts.covered,
    )


async def _election(session, election_id: int | None) -> Election:  # noqa: ANN001
    if election_id:
        return await elections.get_election(session, election_id)
    election = await elections.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


def _department_scope(who: Principal, department: str | None) -> str | None:
    if who.role == Role.COMMISSION:
        if department and department.upper() != who.department_code:
            raise Forbidden(f"Vous n'avez pas accès au département « {department} ».", code="out_of_scope")
        return who.department_code
    return department.upper() if department else None


@router.get("/stations", response_model=list[StationOut])
async def list_stations(
    session: DbSession, who: StationsReader, department: str | None = None, election: int | None = None
) -> list[StationOut]:
    """Les bureaux de vote d'une élection (par défaut l'élection courante), avec leur état au tour en cours."""
    current = await _election(session, election)
    round_ = await service.active_round(session, current.id)
    rows = await service.round_station_counts(session, round_.id, _department_scope(who, department))
    return [
        StationOut(
            code=row.station.code, election_id=row.station.election_id, department_code=row.station.department_code,
            canton_code=row.station.canton_code, commune_code=row.station.commune_code, plan_key=row.station.plan_key,
            name=row.station.name, address=row.station.address, registered=row.station.registered, state=row.state.value,
            opened_at=row.opened_at, counts=counts_out(row.counts),
        )
        for row in rows
    ]


@router.get("/stations/{station_code}", response_model=StationOut)
async def read_station(station_code: str, session: DbSession, who: StationsReader) -> StationOut:
    station = await service.station_by_code(session, station_code)
    if not who.covers_department(station.department_code):
        raise Forbidden(f"Le bureau {station.code} est hors de votre département.", code="out_of_scope")
    round_ = await service.active_round(session, station.election_id)
    row = await service.station_round(session, station, round_)
    phones = sees_phones(who)
    return StationOut(
        code=station.code, election_id=station.election_id, department_code=station.department_code,
        canton_code=station.canton_code, commune_code=station.commune_code, plan_key=station.plan_key, name=station.name,
        address=station.address, registered=station.registered,
        bureaux=[f"{b.commune_code}:{b.bureau_code}" for b in await service.station_bureaux(session, station.id)],
        state=(row.state if row else "planned"), opened_at=row.opened_at if row else None,
        counts=counts_out(service.counts_of(row)),
        staff=[
            StaffOut(id=s.id, role=s.role, name=s.name, phone=(s.phone if phones or not s.phone else mask_phone(s.phone)), account_id=s.account_id)
            for s in await service.staff_of(session, station.id)
        ],
    )


def _checkin_request(body: CheckinIn) -> CheckinRequest:
    return CheckinRequest(
        voter_ref=body.ref, contribution_cents=body.contribution_cents, payment=body.payment,
        charter_signed=body.charter_signed, channel=body.channel, identity_checked=body.identity_checked,
        checked_in_at=body.checked_in_at,
    )


async def _check_in(session: AsyncSession, who: Principal, body: CheckinIn) -> Response:
    found = await checkin.station_checkin_context(session, who.station_code or "", body.ref)
    if found is None:
        await station_of(session, who)  # raises the French refusal
    station, round_, context = found
    result = await checkin.check_in(
        session,
        who.actor,
        station,
        round_,
        _checkin_request(body),
        context,
    )
    return _checkin_response(result)


@router.post("/checkins", response_model=CheckinOut, status_code=201)
async def create_checkin(body: CheckinIn, session: DbSession, who: StationStaffMember) -> Response:
    """Émarger un électeur au bureau de la tablette (ou saisir un émargement de la liste papier)."""
    return await _check_in(session, who, body)


_STATION_STAFF_RULE: Access = StationStaffMember.__metadata__[0].dependency


def _checkin_response(result: checkin.CheckinResult) -> Response:
    # The hot path of polling day: the answer is written as JSON text straight away (the shape
    # of `CheckinOut`, which documents it and which a test checks it against): no pydantic
    # round trip, no generic encoder walking a dict (each cost more than the rest of the answer).
    counts = result.counts
    body = (
        f'{{"station_code":{_string(result.station_code)},"round_number":{int(result.round_number)},'
        f'"checked_in_at":"{result.checked_in_at.isoformat()}","contribution_cents":{int(result.contribution_cents)},'
        f'"payment":{_string(result.payment.value)},"channel":{_string(result.channel.value)},'
        f'"counts":{{"tablet":{int(counts.tablet)},"paper":{int(counts.paper)},"total":{int(counts.total)},'
        f'"contributions_cents":{int(counts.contributions_cents)},"cash_cents":{int(counts.cash_cents)},'
        f'"cheque_cents":{int(counts.cheque_cents)},"covered":{int(counts.covered)}}}}}'
    )
    return Response(body.encode(), status_code=201, media_type="application/json")


async def _driver_check_in(request: Request, connection: asyncpg.Connection) -> Response:
    """`create_checkin` without FastAPI's machinery nor a session (`services.app.FastPaths`,
    driver fast path): the same access rule (the very object the route depends on, applied to
    the principal read with the station: `checkin.check_in_on_driver`), the same body model,
    the same checks; two round trips. Any refusal raises, and the regular route answers it."""
    try:
        # The territory (commune names) is read once per process, by the regular route: until
        # then (a session is needed to read it) the regular route answers.
        world = await territory(None)  # type: ignore[arg-type] - answered from the process cache
    except AttributeError:
        raise checkin.HandOver from None
    body = CheckinIn.model_validate_json(await request.body())
    result = await checkin.check_in_on_driver(
        connection, request, _STATION_STAFF_RULE.authorize,
        _checkin_request(body),
        world,
    )
    return _checkin_response(result)


create_checkin.driver_fast_path = _driver_check_in  # type: ignore[attr-defined]


@router.get("/counts", response_model=CountsOut)
async def own_counts(session: DbSession, who: StationStaffMember) -> CountsOut:
    """Les compteurs du bureau de la tablette au tour en cours."""
    station = await station_of(session, who)
    round_ = await service.active_round(session, station.election_id)
    return counts_out(await service.station_counts(session, station, round_))


@router.post("/staff/import", response_model=StaffImportOut)
async def import_staff(
    session: DbSession, who: StaffManager, fichier: Annotated[UploadFile, File()], election: int | None = None
) -> StaffImportOut:
    """Importe les équipes (CSV : bureau ; rôle ; nom ; téléphone). Tout ou rien."""
    current = await _election(session, election)
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("Fichier trop volumineux (5 Mo au plus).", code="file_too_large")
    report = await service.import_staff(
        session, who.actor, current, fichier.filename or "equipes.csv", data,
        department=who.department_code if who.role == Role.COMMISSION else None,
    )
    return StaffImportOut(lines=report.lines, added=report.added, updated=report.updated, stations=len(report.stations))


@router.post("/credentials", response_class=Response)
async def credentials(body: CredentialsIn, session: DbSession, who: StaffManager) -> Response:
    """Édite les fiches d'identifiants (PDF) : nouveau PIN et nouveau code d'appairage pour chaque bureau."""
    department = _department_scope(who, body.department)
    current = await _election(session, body.election_id)
    stations = await service.stations_of(session, current.id, department)
    if body.stations:
        wanted = set(body.stations)
        stations = [station for station in stations if station.code in wanted]
        missing = wanted - {station.code for station in stations}
        if missing:
            raise NotFound(f"Bureaux inconnus dans ce département : {', '.join(sorted(missing))}.", code="unknown_station")
    data = await printing.issue_credentials(session, who.actor, current, stations)
    return Response(data, media_type="application/pdf", headers={"content-disposition": f'attachment; filename="identifiants-{department}.pdf"'})


@router.get("/turnout", response_model=TurnoutOut)
async def turnout(session: DbSession, who: StationsReader, department: str | None = None, election: int | None = None) -> TurnoutOut:
    """Participation en direct : bureaux ouverts, votants, participations, courbe par quart d'heure."""
    scope = _department_scope(who, department)
    current = await _election(session, election)
    round_ = await service.active_round(session, current.id)
    totals = await service.round_totals(session, round_.id, scope)
    points = await dashboards.turnout_curve(session, round_, scope)
    reported = await dashboards.reported_only(session, round_, scope)
    return TurnoutOut(
        election_id=current.id, round_number=round_.number, department=scope, stations=totals.stations, opened=totals.opened,
        registered=totals.registered, voters=totals.checkins + reported, checked_in=totals.checkins, contributions_cents=totals.contributions_cents,
        curve=[CurvePointOut(at=p.at.strftime("%H:%M"), voters=p.voters) for p in points],
    )


@public_router.post("/ou-voter", response_model=WhereOut)
async def where_to_vote(body: WhereIn, request: Request, session: DbSession, who: PublicLookup) -> WhereOut:
    """Où voter ? Nom, date de naissance et commune d'inscription → adresse et horaires du bureau, rien d'autre."""
    await where.rate_limit(session, where.client_bucket(request.client.host if request.client else "?"))
    answer = await where.where_to_vote(
        session, await where.public_election(session), name=body.nom, given_names=body.prenoms, birth=body.naissance, commune=body.commune
    )
    return WhereOut(
        found=answer.found, message=answer.message, station=answer.station_name, address=answer.address, day=answer.day,
        opens_at=answer.opens_at.strftime("%H:%M") if answer.opens_at else None,
        closes_at=answer.closes_at.strftime("%H:%M") if answer.closes_at else None,
        communes=[CommuneChoiceOut(code=c.code, label=c.label) for c in answer.communes],
    )
