"""The station's papers, from the database: credentials (a new PIN and a new tablet pairing
code for each station, printed once), the émargement list, the blank PV."""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from polling import checkin, documents, events, service
from polling.models import Station, StationBureau
from services.auth import service as auth_service
from services.elections import service as elections
from services.elections.models import Election, Round
from services.errors import InvalidInput
from services.events import Actor, record
from services.settings import settings
from voter_registry.models import SupplementaryKind, SupplementaryVoter, Voter
from voter_registry.reu import format_birth_date


def _euros(cents: int) -> str:
    units, rest = divmod(cents, 100)
    return f"{units},{rest:02d} €" if rest else f"{units} €"


async def issue_credentials(session: AsyncSession, actor: Actor, election: Election, stations: list[Station]) -> bytes:
    """New PIN and pairing code for each station, the stations marked ready when they have a
    president with a phone; returns the PDF (one page per station). The previous PINs stop
    working: print, distribute, and keep no copy."""
    if not stations:
        raise InvalidInput("Aucun bureau de vote à imprimer.", code="no_station")
    round_ = await service.active_round(session, election.id)
    exercise = await checkin.is_exercise(session, election.id)
    sheets = []
    for station in stations:
        if station.election_id != election.id:
            raise InvalidInput(f"Le bureau {station.code} appartient à une autre élection.", code="wrong_election")
        pin = await service.issue_pin(session, actor, station)
        pairing, pairing_code = await auth_service.issue_pairing_code(session, actor, station.code)
        await service.mark_ready(session, actor, station)
        day, opens, closes = service.station_hours(station, round_)
        staff = await service.staff_of(session, station.id)
        sheets.append(
            documents.CredentialsSheet(
                election_name=election.name,
                station_code=station.code,
                station_name=station.name,
                address=station.address,
                department=station.department_code,
                day=day,
                opens_at=opens,
                closes_at=closes,
                pin=pin,
                pairing_code=pairing_code,
                pairing_expires=pairing.expires_at.astimezone(service.PARIS).strftime("%d/%m/%Y à %Hh%M"),
                site_url=settings().public_url.rstrip("/"),
                sms_number=settings().twilio_from_number or "numéro communiqué par votre commission",
                voice_number=settings().twilio_from_number or "numéro communiqué par votre commission",
                staff=tuple((("Président" if s.role == "president" else "Assesseur"), s.name) for s in staff),
                exercise=exercise,
            )
        )
    departments = {station.department_code for station in stations}
    record(
        session,
        events.CredentialsIssued(
            actor=actor,
            election_id=election.id,
            department_code=departments.pop() if len(departments) == 1 else None,
            stations=[station.code for station in stations],
        ),
    )
    return documents.credentials_pdf(sheets)


async def station_voters(session: AsyncSession, station: Station) -> list[documents.ListVoter]:
    """Every voter of the station's bureaux (lists and supplementary registrations), by name."""
    election = await session.get(Election, station.election_id)
    lists_election = await checkin.lists_election(session, election) if election else None
    pairs = [
        (b.commune_code, b.bureau_code)
        for b in await session.scalars(select(StationBureau).where(StationBureau.station_id == station.id))
    ]
    if not pairs:
        return []
    rows: list[tuple[str, str, documents.ListVoter]] = []
    for table, kind in ((Voter, None), (SupplementaryVoter, "supplementary")):
        query = select(table).where(
            table.department_code == station.department_code,
            tuple_(table.commune_code, table.bureau_code).in_(pairs),
        )
        if kind:
            query = query.where(SupplementaryVoter.election_id == (lists_election.id if lists_election else 0))
        for person in await session.scalars(query):
            name = person.birth_name + (f" (usage : {person.usage_name})" if person.usage_name else "") + f" {person.given_names}"
            label = ""
            if kind:
                label = "adhérent" if person.kind == SupplementaryKind.MEMBER else "attestation"
            rows.append(
                (
                    person.birth_key,
                    person.given_key,
                    documents.ListVoter(name.strip(), format_birth_date(person.birth_year, person.birth_month, person.birth_day), person.bureau_code, label),
                )
            )
    rows.sort(key=lambda row: (row[0], row[1], row[2].birth_date))
    return [row[2] for row in rows]


async def emargement_list(session: AsyncSession, station: Station, round_: Round) -> bytes:
    election = await elections.get_election(session, station.election_id)
    day, _opens, _closes = service.station_hours(station, round_)
    return documents.emargement_pdf(
        election_name=election.name,
        round_number=round_.number,
        station_code=station.code,
        station_name=station.name,
        day=day,
        contribution_min=_euros(election.contribution_min_cents),
        charter=election.charter_text,
        voters=await station_voters(session, station),
    )


async def blank_pv(session: AsyncSession, station: Station, round_: Round) -> bytes:
    election = await elections.get_election(session, station.election_id)
    day, _opens, _closes = service.station_hours(station, round_)
    ballot = await elections.ballot_of(session, round_.id)
    return documents.blank_pv_pdf(
        election_name=election.name,
        round_number=round_.number,
        station_code=station.code,
        station_name=station.name,
        department=station.department_code,
        day=day,
        candidates=[candidate.full_name for _position, candidate in ballot],
    )
