"""Polling stations and polling day: the services (take the session, flush, never commit).

API for other packages (results night, dashboards, the registry's resolvers)
------------------------------------------------------------------------------
Stations (one election each; codes are unique in the installation):

- `station_by_code(session, text) -> Station` — what a volunteer typed (« 371 82 84 »):
  check digit verified (`InvalidInput`, French, saying what is wrong), unknown → `NotFound`;
- `get_station(session, station_id)`, `stations_of(session, election_id, department=None)`;
- `Station` fields: `code`, `election_id`, `department_code`, `canton_code`, `commune_code`,
  `name`, `address`, `registered` (registered voters of its bureaux), `opens_at`/`closes_at`
  (None: the round's hours, see `station_hours`); `station_bureaux(session, station_id)` →
  the official bureaux assigned, with their registered voters.

Staff (president, assessors; names, E.164 phones, optional account):

- `staff_of(session, station_id) -> list[StationStaff]` (`role`, `name`, `phone`, `account_id`);
- `staff_for_phone(session, phone, station) -> StationStaff` — the sender registered for the
  station, else `Forbidden` « numéro non enregistré pour ce bureau » (French);
- `stations_for_phone(session, phone) -> list[Station]`.

PIN (6 digits, only a keyed hash stored):

- `check_pin(session, station, pin, *, phone=None, on_failure=None)` — raises `InvalidInput`
  (wrong PIN, with the attempts left) or `TooManyAttempts` (5 failures in 15 minutes, per
  station and per phone). A failure must be counted even though the caller's work rolls
  back: pass `on_failure=sms.after_rollback` (or `call.after_rollback`) from a telephony
  handler; without it the failure is written in the current transaction (commit it).

Per-round state, planned → ready → open → closed → reported → validated (timestamps kept):

- `station_round(session, station, round_) -> StationRound | None` (read only) and
  `state_of(session, station, round_) -> StationState`;
- `set_station_state(session, actor, station, round_, to, via=...)` — forward moves (a step
  may be skipped from « ready » on: a station that only ever sent a paper report goes straight
  to « reported »), plus validated → reported (a corrected report). Refusals in French;
- shorthands: `open_station`, `close_station`, `mark_reported`, `mark_validated`,
  `close_open_stations(session, actor, round_)` (at the close of polls).

Check-ins (counts only; participation itself is private):

- `station_counts(session, station, round_) -> StationCounts` (`tablet`, `paper`, `total`,
  `contributions_cents`, `cash_cents`, `cheque_cents`, `covered`);
- `round_station_counts(session, round_id, department=None) -> list[StationRoundRow]`,
  `round_totals(session, round_id, department=None) -> RoundTotals`;
- `check_in(...)` (tablet and paper late entries) is in `polling.checkin`.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polling import codes, events, privacy
from polling.models import (
    STATE_ORDER,
    PinFailure,
    Station,
    StationBureau,
    StationPin,
    StationRound,
    StationStaff,
    StationState,
    StaffRole,
    TurnoutReport,
)
from services.auth.models import Account
from services.db import utcnow
from services.elections import service as elections
from services.elections.models import Election, Phase, Round
from services.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts, WrongPhase
from services.events import Actor, record
from services.settings import settings
from services.telephony.phone import mask_phone, normalise_phone
from voter_registry.service import StationArea

PARIS = ZoneInfo("Europe/Paris")
PIN_MAX_FAILURES = 5
PIN_WINDOW = timedelta(minutes=15)

# --- Stations ------------------------------------------------------------------------------------


def code_problem_message(text_: str) -> str | None:
    problem = codes.station_code_problem(text_)
    return problem.message if problem else None


async def station_by_code(session: AsyncSession, text_: str) -> Station:
    """The station a volunteer named by its code (separators allowed), or a French refusal."""
    code = codes.normalise(text_ or "")
    if code is None:
        problem = codes.station_code_problem(text_ or "")
        raise InvalidInput(problem.message if problem else "Code de bureau invalide.", code=f"station_code_{problem.kind if problem else 'invalid'}")
    station = await session.scalar(select(Station).where(Station.code == code))
    if station is None:
        raise NotFound(
            f"Aucun bureau de vote n'a le code {codes.display(code)} : vérifiez les 7 chiffres sur la fiche du bureau.",
            code="unknown_station",
        )
    return station


async def get_station(session: AsyncSession, station_id: int) -> Station:
    station = await session.get(Station, station_id)
    if station is None:
        raise NotFound(f"Bureau de vote n° {station_id} introuvable.", code="unknown_station")
    return station


async def stations_of(session: AsyncSession, election_id: int, department: str | None = None) -> list[Station]:
    query = select(Station).where(Station.election_id == election_id)
    if department:
        query = query.where(Station.department_code == department)
    return list(await session.scalars(query.order_by(Station.department_code, Station.plan_key)))


async def station_bureaux(session: AsyncSession, station_id: int) -> list[StationBureau]:
    return list(
        await session.scalars(
            select(StationBureau)
            .where(StationBureau.station_id == station_id)
            .order_by(StationBureau.commune_code, StationBureau.bureau_code)
        )
    )


async def station_for_bureau(
    session: AsyncSession, election_id: int, department_code: str, commune_code: str, bureau_code: str
) -> Station | None:
    return await session.scalar(
        select(Station)
        .join(StationBureau, StationBureau.station_id == Station.id)
        .where(
            StationBureau.election_id == election_id,
            StationBureau.department_code == department_code,
            StationBureau.commune_code == commune_code,
            StationBureau.bureau_code == bureau_code,
        )
    )


# Resolvers registered with the platform (auth: station → department) and the registry
# (station → its bureaux), by the composition root.


async def station_department(session: AsyncSession, station_code: str) -> str | None:
    return await session.scalar(select(Station.department_code).where(Station.code == station_code))


async def station_area(session: AsyncSession, station_code: str) -> StationArea | None:
    station = await session.scalar(select(Station).where(Station.code == station_code))
    if station is None:
        return None
    rows = await session.execute(
        select(StationBureau.commune_code, StationBureau.bureau_code).where(StationBureau.station_id == station.id)
    )
    return StationArea(station.code, station.department_code, tuple((r.commune_code, r.bureau_code) for r in rows))


# The same area in SQL, read by the registry's search within its own statement (one round trip
# for the tablet's session, its station's area and the election: `voter_registry.api`).
station_area.area_sql = (  # type: ignore[attr-defined]
    f"SELECT s.department_code, b.commune_code, b.bureau_code FROM {Station.__tablename__} AS s "
    f"JOIN {StationBureau.__tablename__} AS b ON b.station_id = s.id WHERE s.code = {{station}}"
)


@dataclass
class StationSpec:
    """A station to create: where, what it covers (bureaux with their registered voters)."""

    department_code: str
    canton_code: str
    commune_code: str
    plan_key: str
    name: str
    bureaux: list[tuple[str, str, int]]  # (commune INSEE code, bureau code, registered)
    address: str = ""
    oversized: bool = False
    opens_at: time | None = None
    closes_at: time | None = None


async def _next_sequences(session: AsyncSession, count: int) -> list[int]:
    """Allocation numbers for `count` new stations (serialised by a transaction-level lock)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('polling.station_sequence'))"))
    last = await session.scalar(select(func.coalesce(func.max(Station.sequence), 0)))
    if last + count > codes.MAX_SEQUENCE:
        raise Conflict("Plus aucun code de bureau disponible.", code="no_station_code")
    return list(range(last + 1, last + count + 1))


async def create_stations(session: AsyncSession, actor: Actor, election: Election, specs: list[StationSpec]) -> list[Station]:
    """Create stations with their codes, bureaux and per-round state (planned). One event each."""
    if not specs:
        return []
    await privacy.ensure_keys(session, actor, election)
    rounds = await elections.rounds_of(session, election.id)
    stations: list[Station] = []
    for sequence, spec in zip(await _next_sequences(session, len(specs)), specs, strict=True):
        if not spec.name.strip():
            raise InvalidInput("Chaque bureau de vote a un nom.", code="station_name_required")
        station = Station(
            code=codes.generate(sequence),
            sequence=sequence,
            election_id=election.id,
            department_code=spec.department_code,
            canton_code=spec.canton_code,
            commune_code=spec.commune_code,
            plan_key=spec.plan_key,
            name=spec.name.strip(),
            address=spec.address.strip(),
            opens_at=spec.opens_at,
            closes_at=spec.closes_at,
            registered=sum(registered for _c, _b, registered in spec.bureaux),
            oversized=spec.oversized,
        )
        session.add(station)
        stations.append(station)
    await session.flush()
    for station, spec in zip(stations, specs, strict=True):
        session.add_all(
            StationBureau(
                election_id=election.id,
                department_code=spec.department_code,
                commune_code=commune,
                bureau_code=bureau,
                station_id=station.id,
                registered=registered,
            )
            for commune, bureau, registered in spec.bureaux
        )
        session.add_all(
            StationRound(round_id=round_.id, station_id=station.id, department_code=station.department_code)
            for round_ in rounds
        )
        record(
            session,
            events.StationCreated(
                actor=actor,
                election_id=election.id,
                department_code=station.department_code,
                station_code=station.code,
                plan_key=station.plan_key,
                canton_code=station.canton_code,
                name=station.name,
                registered=station.registered,
                bureaux=[f"{commune}:{bureau}" for commune, bureau, _r in spec.bureaux],
            ),
        )
    try:
        await session.flush()
    except Exception as error:  # an IntegrityError: a bureau already attached to another station
        if "station_bureau" in str(error):
            raise Conflict(
                "Un des bureaux est déjà rattaché à un autre bureau de vote de cette élection.", code="bureau_taken"
            ) from None
        raise
    return stations


async def update_station(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    *,
    name: str | None = None,
    address: str | None = None,
    opens_at: time | None = None,
    closes_at: time | None = None,
    clear_hours: bool = False,
) -> Station:
    changes: dict[str, str | None] = {}
    if name is not None and name.strip() and name.strip() != station.name:
        station.name = changes["name"] = name.strip()
    if address is not None and address.strip() != station.address:
        station.address = changes["address"] = address.strip()
    if clear_hours:
        opens_at = closes_at = None
    if clear_hours or opens_at is not None or closes_at is not None:
        new_open, new_close = opens_at, closes_at
        if (new_open is None) != (new_close is None):
            raise InvalidInput("Donnez l'heure d'ouverture et l'heure de clôture, ou aucune des deux.", code="invalid_hours")
        if new_open is not None and new_close is not None and new_open >= new_close:
            raise InvalidInput("L'heure d'ouverture doit précéder l'heure de clôture.", code="invalid_hours")
        if (new_open, new_close) != (station.opens_at, station.closes_at):
            station.opens_at, station.closes_at = new_open, new_close
            changes["hours"] = f"{new_open:%H:%M}-{new_close:%H:%M}" if new_open and new_close else None
    if changes:
        record(
            session,
            events.StationUpdated(
                actor=actor,
                election_id=station.election_id,
                department_code=station.department_code,
                station_code=station.code,
                changes=changes,
            ),
        )
        await session.flush()
    return station


# Overseas departments and collectivities vote in their own time zone (station hours are local).
ZONES = {
    "971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne", "974": "Indian/Reunion",
    "975": "America/Miquelon", "976": "Indian/Mayotte", "977": "America/St_Barthelemy", "978": "America/Marigot",
    "986": "Pacific/Wallis", "987": "Pacific/Tahiti", "988": "Pacific/Noumea",
}  # fmt: skip


def zone_of(department_code: str) -> ZoneInfo:
    """The time zone of a department (Europe/Paris for metropolitan France)."""
    return ZoneInfo(ZONES[department_code]) if department_code in ZONES else PARIS


def station_zone(station: Station) -> ZoneInfo:
    return zone_of(station.department_code)


def station_hours(station: Station, round_: Round) -> tuple[date, time, time]:
    """The day and hours the station votes in this round (early departments vote the day before)."""
    day = round_.polling_date - timedelta(days=1) if station.department_code in (round_.early_departments or []) else round_.polling_date
    return day, station.opens_at or round_.opens_at, station.closes_at or round_.closes_at


# --- Rounds and states ---------------------------------------------------------------------------


async def active_round(session: AsyncSession, election_id: int) -> Round:
    """The round polling day pages work on: the one whose polls are open, else the latest
    round that has left set-up, else round 1."""
    return pick_active_round(await elections.rounds_of(session, election_id))


def pick_active_round(rounds: list[Round]) -> Round:
    """`active_round` among the election's rounds (ordered by number)."""
    if not rounds:
        raise NotFound("Cette élection n'a aucun tour.", code="round_not_found")
    for round_ in rounds:
        if round_.phase == Phase.POLLS_OPEN.value:
            return round_
    started = [round_ for round_ in rounds if round_.phase != Phase.SETUP.value]
    if started:
        last = started[-1]
        # Round 1 proclaimed, round 2 being prepared: show round 2.
        following = [round_ for round_ in rounds if round_.number == last.number + 1]
        if last.phase == Phase.PROCLAIMED.value and following:
            return following[0]
        return last
    return rounds[0]


async def station_round(session: AsyncSession, station: Station, round_: Round) -> StationRound | None:
    return await session.scalar(
        select(StationRound).where(StationRound.round_id == round_.id, StationRound.station_id == station.id)
    )


async def _has_credentials(session: AsyncSession, station: Station) -> bool:
    pin = await session.get(StationPin, station.id)
    president = await session.scalar(
        select(StationStaff.id).where(
            StationStaff.station_id == station.id,
            StationStaff.role == StaffRole.PRESIDENT.value,
            StationStaff.phone.is_not(None),
        )
    )
    return pin is not None and president is not None


async def _station_round_for_update(session: AsyncSession, station: Station, round_: Round) -> StationRound:
    """The row, locked; created (planned) for a round added after the station."""
    row = await session.scalar(
        select(StationRound)
        .where(StationRound.round_id == round_.id, StationRound.station_id == station.id)
        .with_for_update()
    )
    if row is None:
        row = StationRound(round_id=round_.id, station_id=station.id, department_code=station.department_code)
        session.add(row)
        await session.flush()
    return row


async def state_of(session: AsyncSession, station: Station, round_: Round) -> StationState:
    row = await station_round(session, station, round_)
    return StationState(row.state) if row else StationState.PLANNED


_STATE_TIMESTAMPS = {
    StationState.READY: "ready_at",
    StationState.OPEN: "opened_at",
    StationState.CLOSED: "closed_at",
    StationState.REPORTED: "reported_at",
    StationState.VALIDATED: "validated_at",
}


def _fmt(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%H:%M") if moment else "?"


async def set_station_state(
    session: AsyncSession, actor: Actor, station: Station, round_: Round, to: StationState, *, via: str = "web"
) -> StationRound:
    """Move the station to state `to` in this round (see the module docstring for the rules)."""
    if round_.election_id != station.election_id:
        raise InvalidInput("Ce tour n'appartient pas à l'élection de ce bureau.", code="wrong_round")
    row = await _station_round_for_update(session, station, round_)
    current = StationState(row.state)
    if to == current:
        raise Conflict(f"Le bureau {station.code} est déjà à l'état « {to.label} ».", code="same_state")
    reopening = current == StationState.VALIDATED and to == StationState.REPORTED
    if not reopening:
        if STATE_ORDER.index(to) < STATE_ORDER.index(current):
            raise WrongPhase(
                f"Le bureau {station.code} est à l'état « {current.label} » : il ne peut pas revenir à « {to.label} ».",
                code="state_backwards",
            )
        if current == StationState.PLANNED and to != StationState.READY and not await _has_credentials(session, station):
            raise WrongPhase(
                f"Le bureau {station.code} n'est pas prêt : désignez son président (avec son téléphone) et éditez ses "
                "identifiants (code PIN) d'abord.",
                code="station_not_ready",
            )
    if to == StationState.READY and not await _has_credentials(session, station):
        raise WrongPhase(
            f"Le bureau {station.code} n'est pas prêt : il lui faut un président avec un numéro de téléphone et un "
            "code PIN (éditez la fiche d'identifiants).",
            code="station_not_ready",
        )
    if to == StationState.OPEN:
        elections.require_phase(round_, Phase.POLLS_OPEN, "ouvrir un bureau de vote")
    if to == StationState.CLOSED:
        elections.require_phase(round_, (Phase.POLLS_OPEN, Phase.POLLS_CLOSED), "clore un bureau de vote")
    now = utcnow()
    row.state = to.value
    setattr(row, _STATE_TIMESTAMPS[to], now)
    if to == StationState.OPEN:
        row.opened_via = via
    row.updated_at = now
    record(
        session,
        events.StationStateChanged(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            from_state=current.value,
            to_state=to.value,
            via=via,
        ),
    )
    await session.flush()
    return row


async def open_station(session: AsyncSession, actor: Actor, station: Station, round_: Round, *, via: str = "web") -> StationRound:
    """Open the station (from « ready »). Already open: a `Conflict` saying since when."""
    row = await station_round(session, station, round_)
    if row is not None and row.state == StationState.OPEN.value:
        raise Conflict(f"Le bureau {station.code} est déjà ouvert depuis {_fmt(row.opened_at)}.", code="already_open")
    if row is not None and STATE_ORDER.index(StationState(row.state)) > STATE_ORDER.index(StationState.OPEN):
        raise WrongPhase(f"Le bureau {station.code} est déjà clos ({StationState(row.state).label}).", code="already_closed")
    return await set_station_state(session, actor, station, round_, StationState.OPEN, via=via)


async def close_station(session: AsyncSession, actor: Actor, station: Station, round_: Round, *, via: str = "web") -> StationRound:
    return await set_station_state(session, actor, station, round_, StationState.CLOSED, via=via)


async def mark_reported(session: AsyncSession, actor: Actor, station: Station, round_: Round, *, via: str = "web") -> StationRound:
    """Results received for the station (called by the results package). Idempotent."""
    row = await station_round(session, station, round_)
    if row is not None and row.state == StationState.REPORTED.value:
        return row
    return await set_station_state(session, actor, station, round_, StationState.REPORTED, via=via)


async def mark_validated(session: AsyncSession, actor: Actor, station: Station, round_: Round, *, via: str = "web") -> StationRound:
    row = await station_round(session, station, round_)
    if row is not None and row.state == StationState.VALIDATED.value:
        return row
    return await set_station_state(session, actor, station, round_, StationState.VALIDATED, via=via)


async def close_open_stations(session: AsyncSession, actor: Actor, round_: Round, *, via: str = "system") -> int:
    """Close every station still open in this round (at the close of polls); returns how many."""
    rows = list(
        await session.execute(
            select(Station, StationRound)
            .join(StationRound, StationRound.station_id == Station.id)
            .where(StationRound.round_id == round_.id, StationRound.state == StationState.OPEN.value)
        )
    )
    for station, _row in rows:
        await set_station_state(session, actor, station, round_, StationState.CLOSED, via=via)
    return len(rows)


async def mark_ready(session: AsyncSession, actor: Actor, station: Station, *, via: str = "web") -> bool:
    """Mark the station ready in every round where it is still planned, if it has its
    credentials (a president with a phone, a PIN); returns whether it is ready."""
    if not await _has_credentials(session, station):
        return False
    for round_ in await elections.rounds_of(session, station.election_id):
        row = await station_round(session, station, round_)
        if row is None or row.state == StationState.PLANNED.value:
            await set_station_state(session, actor, station, round_, StationState.READY, via=via)
    return True


# --- Staff ---------------------------------------------------------------------------------------


async def staff_of(session: AsyncSession, station_id: int) -> list[StationStaff]:
    return list(
        await session.scalars(
            select(StationStaff)
            .where(StationStaff.station_id == station_id)
            .order_by(StationStaff.role.desc(), StationStaff.name)  # president first
        )
    )


async def add_staff(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    *,
    role: StaffRole,
    name: str,
    phone: str | None,
    account_id: int | None = None,
) -> StationStaff:
    """Add a member to the station's team (phone normalised to E.164)."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Donnez le nom du membre du bureau.", code="staff_name_required")
    number = normalise_phone(phone) if phone and phone.strip() else None
    if role == StaffRole.PRESIDENT and number is None:
        raise InvalidInput(
            "Le président du bureau doit avoir un numéro de téléphone (ouverture et participation par SMS).",
            code="president_phone_required",
        )
    if number and await session.scalar(
        select(StationStaff.id).where(StationStaff.station_id == station.id, StationStaff.phone == number)
    ):
        raise Conflict(f"Le numéro {mask_phone(number)} est déjà enregistré pour ce bureau.", code="phone_taken")
    if account_id is not None:
        account = await session.get(Account, account_id)
        if account is None or account.station_code != station.code:
            raise InvalidInput("Le compte indiqué n'est pas rattaché à ce bureau de vote.", code="account_scope")
    staff = StationStaff(
        station_id=station.id,
        department_code=station.department_code,
        role=role.value,
        name=name[:200],
        phone=number,
        account_id=account_id,
    )
    session.add(staff)
    await session.flush()
    record(
        session,
        events.StaffAdded(
            actor=actor,
            department_code=station.department_code,
            station_code=station.code,
            staff_id=staff.id,
            role=role.value,
            phone=mask_phone(number) if number else None,
            account_id=account_id,
        ),
    )
    return staff


async def update_staff(
    session: AsyncSession, actor: Actor, staff: StationStaff, *, name: str | None = None, phone: str | None = None, role: StaffRole | None = None
) -> StationStaff:
    station = await get_station(session, staff.station_id)
    changes: dict[str, str | None] = {}
    if name is not None and " ".join(name.split()) and " ".join(name.split()) != staff.name:
        staff.name = " ".join(name.split())[:200]
        changes["name"] = "modifié"
    if phone is not None:
        number = normalise_phone(phone) if phone.strip() else None
        if number != staff.phone:
            if number and await session.scalar(
                select(StationStaff.id).where(
                    StationStaff.station_id == staff.station_id, StationStaff.phone == number, StationStaff.id != staff.id
                )
            ):
                raise Conflict(f"Le numéro {mask_phone(number)} est déjà enregistré pour ce bureau.", code="phone_taken")
            staff.phone = number
            changes["phone"] = mask_phone(number) if number else None
    if role is not None and role.value != staff.role:
        staff.role = role.value
        changes["role"] = role.value
    if staff.role == StaffRole.PRESIDENT.value and not staff.phone:
        raise InvalidInput("Le président du bureau doit avoir un numéro de téléphone.", code="president_phone_required")
    if changes:
        record(
            session,
            events.StaffUpdated(
                actor=actor, department_code=station.department_code, station_code=station.code, staff_id=staff.id, changes=changes
            ),
        )
        await session.flush()
    return staff


async def remove_staff(session: AsyncSession, actor: Actor, staff: StationStaff) -> None:
    station = await get_station(session, staff.station_id)
    await session.delete(staff)
    record(
        session,
        events.StaffRemoved(actor=actor, department_code=station.department_code, station_code=station.code, staff_id=staff.id),
    )
    await session.flush()


async def get_staff(session: AsyncSession, staff_id: int) -> StationStaff:
    staff = await session.get(StationStaff, staff_id)
    if staff is None:
        raise NotFound(f"Membre de bureau n° {staff_id} introuvable.", code="staff_not_found")
    return staff


async def staff_for_phone(session: AsyncSession, phone: str, station: Station) -> StationStaff:
    """The member of `station` whose phone sent this (E.164 on both sides), or a French refusal."""
    staff = await session.scalar(
        select(StationStaff).where(StationStaff.station_id == station.id, StationStaff.phone == phone).limit(1)
    )
    if staff is None:
        raise Forbidden(
            f"Le numéro {mask_phone(phone)} n'est pas enregistré pour le bureau {station.code}. Envoyez depuis le "
            "téléphone déclaré du président ou d'un assesseur, ou appelez votre commission départementale.",
            code="phone_not_registered",
        )
    return staff


async def stations_for_phone(session: AsyncSession, phone: str) -> list[Station]:
    return list(
        await session.scalars(
            select(Station).join(StationStaff, StationStaff.station_id == Station.id).where(StationStaff.phone == phone)
        )
    )


# Bulk import: « code du bureau ; rôle ; nom ; téléphone », all or nothing.

STAFF_COLUMNS = ("bureau", "role", "nom", "telephone")
_ROLE_WORDS = {
    "president": StaffRole.PRESIDENT,
    "presidente": StaffRole.PRESIDENT,
    "président": StaffRole.PRESIDENT,
    "présidente": StaffRole.PRESIDENT,
    "assesseur": StaffRole.ASSESSOR,
    "assesseure": StaffRole.ASSESSOR,
    "assessor": StaffRole.ASSESSOR,
}


@dataclass
class StaffImportReport:
    lines: int = 0
    added: int = 0
    updated: int = 0
    stations: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


async def import_staff(
    session: AsyncSession, actor: Actor, election: Election, file_name: str, data: bytes, *, department: str | None = None
) -> StaffImportReport:
    """Import staff from a CSV (`;` or `,`; columns bureau, role, nom, telephone; header optional).

    All or nothing: any bad line refuses the whole file with every problem listed (line
    numbers, French). A line whose phone is already on the station updates its name and role.
    `department`: a commission may only import for its own department.
    """
    textual = _decode(data)
    sample = textual[:2000]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    rows = list(csv.reader(io.StringIO(textual), delimiter=delimiter))
    report = StaffImportReport()
    parsed: list[tuple[int, Station, StaffRole, str, str | None]] = []
    stations_cache: dict[str, Station] = {}
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells and not any(ch.isdigit() for ch in cells[0]):
            continue  # header
        report.lines += 1
        if len(cells) < 3:
            report.problems.append(f"Ligne {number} : 4 colonnes attendues (bureau ; rôle ; nom ; téléphone).")
            continue
        code_text, role_text, name = cells[0], cells[1], cells[2]
        phone_text = cells[3] if len(cells) > 3 else ""
        code = codes.normalise(code_text)
        if code is None:
            problem = codes.station_code_problem(code_text)
            report.problems.append(f"Ligne {number} : {problem.message if problem else 'code de bureau invalide.'}")
            continue
        station = stations_cache.get(code)
        if station is None:
            station = await session.scalar(select(Station).where(Station.code == code, Station.election_id == election.id))
            if station is None:
                report.problems.append(f"Ligne {number} : aucun bureau de cette élection n'a le code {code}.")
                continue
            stations_cache[code] = station
        if department and station.department_code != department:
            report.problems.append(f"Ligne {number} : le bureau {code} est hors de votre département ({station.department_code}).")
            continue
        role = _ROLE_WORDS.get(role_text.lower())
        if role is None:
            report.problems.append(f"Ligne {number} : rôle « {role_text[:20]} » inconnu (président ou assesseur).")
            continue
        if not name:
            report.problems.append(f"Ligne {number} : nom manquant.")
            continue
        phone: str | None = None
        if phone_text:
            try:
                phone = normalise_phone(phone_text)
            except AppError as error:
                report.problems.append(f"Ligne {number} : {error.message}")
                continue
        elif role == StaffRole.PRESIDENT:
            report.problems.append(f"Ligne {number} : le président doit avoir un numéro de téléphone.")
            continue
        parsed.append((number, station, role, name, phone))
    if not report.lines:
        report.problems.append("Le fichier ne contient aucune ligne (bureau ; rôle ; nom ; téléphone).")
    if report.problems:
        raise InvalidInput(
            f"Fichier refusé, rien n'a été importé : {len(report.problems)} problème(s). " + " ".join(report.problems[:20]),
            code="staff_file_refused",
            detail={"problems": report.problems},
        )
    for _number, station, role, name, phone in parsed:
        existing = None
        if phone:
            existing = await session.scalar(
                select(StationStaff).where(StationStaff.station_id == station.id, StationStaff.phone == phone)
            )
        if existing is not None:
            before = (existing.name, existing.role)
            await update_staff(session, actor, existing, name=name, role=role)
            report.updated += int(before != (existing.name, existing.role))
        else:
            await add_staff(session, actor, station, role=role, name=name, phone=phone)
            report.added += 1
        report.stations.add(station.code)
    record(
        session,
        events.StaffImported(
            actor=actor,
            election_id=election.id,
            file_name=file_name[:200],
            file_sha256=hashlib.sha256(data).hexdigest(),
            added=report.added,
            updated=report.updated,
            stations=len(report.stations),
        ),
    )
    return report


# --- PIN -------------------------------------------------------------------------------------------


def _pin_key() -> bytes:
    return hmac.new(settings().secret_key.encode(), b"primaires/polling/pin/v1", hashlib.sha256).digest()


def pin_hash(station_code: str, pin: str) -> str:
    return hmac.new(_pin_key(), f"{station_code}:{pin}".encode(), hashlib.sha256).hexdigest()


def phone_key(phone: str) -> str:
    """The key PIN failures from one phone number are counted under (a keyed hash: no number in
    clear). Public because the results SMS path counts its PIN failures under the same key."""
    return "phone:" + hmac.new(_pin_key(), phone.encode(), hashlib.sha256).hexdigest()[:32]


async def issue_pin(session: AsyncSession, actor: Actor, station: Station) -> str:
    """A new PIN for the station (the previous one stops working); returned in clear, once, to print."""
    pin = codes.generate_pin(avoid=(station.code,))
    row = await session.get(StationPin, station.id)
    if row is None:
        row = StationPin(station_id=station.id, pin_hash=pin_hash(station.code, pin), version=1, issued_at=utcnow())
        session.add(row)
    else:
        row.pin_hash = pin_hash(station.code, pin)
        row.version += 1
        row.issued_at = utcnow()
    await session.flush()
    record(
        session,
        events.StationPinIssued(actor=actor, department_code=station.department_code, station_code=station.code, version=row.version),
    )
    return pin


async def has_pin(session: AsyncSession, station: Station) -> bool:
    return await session.get(StationPin, station.id) is not None


async def _recent_failures(session: AsyncSession, key: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(PinFailure).where(PinFailure.key == key, PinFailure.at > utcnow() - PIN_WINDOW)
        )
        or 0
    )


OnFailure = Callable[[Callable], None]


async def check_pin(
    session: AsyncSession,
    station: Station,
    pin: str,
    *,
    phone: str | None = None,
    on_failure: OnFailure | None = None,
) -> None:
    """Check the station's PIN; lock-out after 5 failures in 15 minutes per station and per phone.

    Raises `TooManyAttempts` while locked, `InvalidInput` for a malformed or wrong PIN (the
    message never echoes the digits). Each wrong PIN is counted: through `on_failure(callback)`
    when given (telephony handlers: `sms.after_rollback`), else written at once.
    """
    keys = [f"station:{station.code}"] + ([phone_key(phone)] if phone else [])
    failures = [await _recent_failures(session, key) for key in keys]
    if max(failures) >= PIN_MAX_FAILURES:
        raise TooManyAttempts(
            "Trop de codes PIN erronés : bloqué pendant 15 minutes. Vérifiez le PIN sur la fiche du bureau, ou appelez "
            "votre commission départementale.",
            code="pin_locked",
        )
    problem = codes.pin_problem(pin)
    stored = await session.get(StationPin, station.id)
    if problem is None and stored is not None:
        typed = codes.normalise_pin(pin) or ""
        if hmac.compare_digest(stored.pin_hash, pin_hash(station.code, typed)):
            return
    if stored is None and problem is None:
        raise WrongPhase(
            f"Le bureau {station.code} n'a pas encore de code PIN : la commission départementale doit éditer sa fiche.",
            code="no_pin",
        )

    async def note(target: AsyncSession) -> None:
        target.add_all(PinFailure(key=key) for key in keys)
        await target.flush()

    if on_failure is not None:
        on_failure(note)
    else:
        await note(session)
    if problem is not None:
        raise InvalidInput(problem.message, code=f"pin_{problem.kind}")
    left = PIN_MAX_FAILURES - 1 - max(failures)
    hint = f" Encore {left} essai(s) avant blocage de 15 minutes." if left > 0 else " Bloqué pendant 15 minutes."
    raise InvalidInput(f"Code PIN incorrect pour le bureau {station.code}.{hint}", code="wrong_pin")


# --- Counts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationCounts:
    tablet: int = 0
    paper: int = 0
    contributions_cents: int = 0
    cash_cents: int = 0
    cheque_cents: int = 0
    covered: int = 0

    @property
    def total(self) -> int:
        return self.tablet + self.paper


def counts_of(row: StationRound | None) -> StationCounts:
    if row is None:
        return StationCounts()
    return StationCounts(
        row.checkins_tablet, row.checkins_paper, row.contributions_cents, row.cash_cents, row.cheque_cents, row.covered
    )


async def station_counts(session: AsyncSession, station: Station, round_: Round) -> StationCounts:
    row = await session.scalar(
        select(StationRound)
        .where(StationRound.round_id == round_.id, StationRound.station_id == station.id)
        .execution_options(populate_existing=True)
    )
    return counts_of(row)


@dataclass(frozen=True)
class StationRoundRow:
    station: Station
    state: StationState
    counts: StationCounts
    opened_at: datetime | None
    closed_at: datetime | None
    reported_at: datetime | None


async def round_station_counts(session: AsyncSession, round_id: int, department: str | None = None) -> list[StationRoundRow]:
    round_ = await elections.get_round(session, round_id)
    query = (
        select(Station, StationRound)
        .outerjoin(StationRound, (StationRound.station_id == Station.id) & (StationRound.round_id == round_id))
        .where(Station.election_id == round_.election_id)
        .order_by(Station.department_code, Station.plan_key)
    )
    if department:
        query = query.where(Station.department_code == department)
    return [
        StationRoundRow(
            station,
            StationState(row.state) if row else StationState.PLANNED,
            counts_of(row),
            row.opened_at if row else None,
            row.closed_at if row else None,
            row.reported_at if row else None,
        )
        for station, row in await session.execute(query)
    ]


@dataclass(frozen=True)
class RoundTotals:
    stations: int
    by_state: dict[StationState, int]
    registered: int
    tablet: int
    paper: int
    contributions_cents: int
    cash_cents: int
    cheque_cents: int
    covered: int

    @property
    def checkins(self) -> int:
        return self.tablet + self.paper

    @property
    def opened(self) -> int:
        return sum(n for state, n in self.by_state.items() if STATE_ORDER.index(state) >= STATE_ORDER.index(StationState.OPEN))


async def round_totals(session: AsyncSession, round_id: int, department: str | None = None) -> RoundTotals:
    round_ = await elections.get_round(session, round_id)
    query = (
        select(
            func.coalesce(StationRound.state, StationState.PLANNED.value).label("state"),
            func.count(Station.id),
            func.coalesce(func.sum(Station.registered), 0),
            func.coalesce(func.sum(StationRound.checkins_tablet), 0),
            func.coalesce(func.sum(StationRound.checkins_paper), 0),
            func.coalesce(func.sum(StationRound.contributions_cents), 0),
            func.coalesce(func.sum(StationRound.cash_cents), 0),
            func.coalesce(func.sum(StationRound.cheque_cents), 0),
            func.coalesce(func.sum(StationRound.covered), 0),
        )
        .select_from(Station)
        .outerjoin(StationRound, (StationRound.station_id == Station.id) & (StationRound.round_id == round_id))
        .where(Station.election_id == round_.election_id)
        .group_by(text("1"))
    )
    if department:
        query = query.where(Station.department_code == department)
    by_state: dict[StationState, int] = {}
    sums = [0] * 7
    for state, count, *values in await session.execute(query):
        by_state[StationState(state)] = int(count)
        sums = [a + int(b) for a, b in zip(sums, values, strict=True)]
    return RoundTotals(sum(by_state.values()), by_state, *sums)


async def delete_stale_failures(session: AsyncSession) -> None:
    """Forget PIN failures older than the lock-out window (operational housekeeping)."""
    await session.execute(delete(PinFailure).where(PinFailure.at < utcnow() - PIN_WINDOW * 4))


def iter_codes(stations: Iterable[Station]) -> list[str]:
    return [station.code for station in stations]


# --- Turnout reported by the stations (SMS « PART », commission) ------------------------------------


async def record_turnout(
    session: AsyncSession, actor: Actor, station: Station, round_: Round, at_time: time, voters: int, *, via: str = "sms"
) -> TurnoutReport:
    """Record the number of voters checked in at the station by `at_time` (local time).

    Refused, in French: polls not open, station not open, an hour outside the station's hours
    or still to come, more voters than registered, fewer than an earlier report. A report for
    the same hour replaces the earlier one (a correction).
    """
    elections.require_phase(round_, (Phase.POLLS_OPEN, Phase.POLLS_CLOSED), "transmettre la participation")
    row = await _station_round_for_update(session, station, round_)
    if row.state not in (StationState.OPEN.value, StationState.CLOSED.value):
        raise WrongPhase(
            f"Le bureau {station.code} n'est pas ouvert : envoyez d'abord OUV {station.code} <PIN>.",
            code="station_not_open",
        )
    day, opens, closes = station_hours(station, round_)
    if not (opens <= at_time <= closes):
        raise InvalidInput(
            f"Heure {at_time:%Hh%M} hors des horaires du bureau ({opens:%Hh%M}-{closes:%Hh%M}).", code="hour_outside"
        )
    zone = station_zone(station)
    if datetime.combine(day, at_time, tzinfo=zone) > utcnow().astimezone(zone) + timedelta(minutes=10):
        raise InvalidInput(f"Heure {at_time:%Hh%M} pas encore arrivée : donnez la participation à une heure passée.", code="hour_future")
    if voters > station.registered:
        raise InvalidInput(
            f"{voters} votants pour {station.registered} inscrits au bureau {station.code} : vérifiez le nombre.",
            code="voters_above_registered",
        )
    earlier = await session.scalar(
        select(func.max(TurnoutReport.voters)).where(
            TurnoutReport.station_round_id == row.id, TurnoutReport.at_time < at_time
        )
    )
    if earlier is not None and voters < earlier:
        raise InvalidInput(
            f"{voters} votants à {at_time:%Hh%M}, moins que les {earlier} annoncés plus tôt : vérifiez le nombre.",
            code="voters_decreasing",
        )
    report = await session.scalar(
        select(TurnoutReport).where(TurnoutReport.station_round_id == row.id, TurnoutReport.at_time == at_time)
    )
    if report is None:
        report = TurnoutReport(station_round_id=row.id, department_code=station.department_code, at_time=at_time, voters=voters, via=via)
        session.add(report)
    else:
        report.voters, report.via, report.reported_at = voters, via, utcnow()
    record(
        session,
        events.TurnoutReported(
            actor=actor,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            at_time=at_time.strftime("%H:%M"),
            voters=voters,
            via=via,
        ),
    )
    await session.flush()
    return report
