"""Check-in (émargement): one participation per voter and round, in the whole country.

A voter found on the lists (or a supplementary registration) is checked in at their station
once they have signed the charter and paid the contribution. What is stored is private by
construction (`polling.privacy`): a keyed token, the station, the time, the contribution,
the channel, and display data encrypted for the station's paper-list reconciliation.

The one-vote rule is the database's: `INSERT … ON CONFLICT (round_id, token) DO NOTHING` (the
driver fast path: a plain INSERT whose unique violation fails its whole statement). Two stations checking the same person in at the same instant both reach the insert; the
unique index makes the second wait for the first transaction, then find the row: exactly
one wins, and the other is told where and when the first check-in happened.

Every refusal is an `AppError` with a French message and is raised before anything is
written (or with the transaction rolled back by the caller): unknown voter, voter of another
station, ineligible voter, charter not signed, contribution under the minimum, station not
open, polls not open, already checked in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from datetime import date, datetime, time, timedelta

import asyncpg
from fastapi import Request
from sqlalchemy import ARRAY, BigInteger, DateTime, cast, or_, any_, true, Integer, LargeBinary, String, and_, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from polling import events, privacy
from polling.models import (
    CONTEXT_EPOCH_ROW,
    SESSION_EPOCH_ROW,
    Channel,
    Checkin,
    ElectionPrivacyKey,
    Payment,
    PollingContextEpoch,
    PollingExercise,
    Station,
    StationBureau,
    StationRound,
    StationState,
)
from polling.service import StationCounts, pick_active_round, station_hours, station_zone
from services.auth import service as auth_service
from services.auth.models import Account, Tablet
from services.auth.principal import Principal
from services.auth.service import sha256_hex
from services.web import SESSION_COOKIE
from services.db import DriverStatement, driver_connection, driver_sql, note_audit_event, note_write, utcnow
from services.elections.models import Election, Phase, Round
from services.errors import Conflict, InvalidInput, NotFound, WrongPhase
from services.events import AUDIT_COLUMNS, Actor, AuditEvent, audit_row, record
from voter_registry import service as registry
from voter_registry.eligibility import Eligibility, Status
from voter_registry.models import RegistryState
from voter_registry.search import VoterRecord, eligibility_of
from voter_registry.search import _record as voter_record  # noqa: PLC2701 - see read_voter
from voter_registry.territory_cache import Territory, territory

MAX_CONTRIBUTION_CENTS = 100_000  # 1,000 €: beyond, surely a typing mistake


def euros(cents: int) -> str:
    units, rest = divmod(cents, 100)
    return f"{units},{rest:02d}\u00a0€"


@dataclass(frozen=True)
class CheckinRequest:
    """What the station recorded for one voter.

    `voter_ref`: the registry reference of the person found (« L-33-1234 »);
    `identity_checked`: staff checked the identity document when the registry says « à
    vérifier » (incomplete birth date, early attestation); `checked_in_at`: for a paper late
    entry, the time written on the signed list (default: now)."""

    voter_ref: str
    contribution_cents: int
    payment: Payment
    charter_signed: bool
    channel: Channel = Channel.TABLET
    identity_checked: bool = False
    checked_in_at: datetime | None = None


@dataclass(frozen=True)
class CheckinResult:
    station_code: str
    round_number: int
    checked_in_at: datetime
    contribution_cents: int
    payment: Payment
    channel: Channel
    counts: StationCounts
    voter_name: str  # for the screen only (never stored in clear)


async def lists_election(session: AsyncSession, election: Election) -> Election:
    """The election whose lists and eligibility rules apply: itself, or for an exercise the
    election it rehearses."""
    exercise = await session.get(PollingExercise, election.id)
    if exercise is None:
        return election
    return await session.get(Election, exercise.lists_election_id) or election


async def is_exercise(session: AsyncSession, election_id: int) -> bool:
    return await session.get(PollingExercise, election_id) is not None


async def eligibility_for(session: AsyncSession, voter: VoterRecord, election: Election) -> Eligibility:
    return await registry.evaluate_eligibility(session, voter, await lists_election(session, election))


async def voter_station(session: AsyncSession, election_id: int, voter: VoterRecord) -> Station | None:
    """The station of this election whose bureaux include the voter's."""
    return await session.scalar(
        select(Station)
        .join(StationBureau, StationBureau.station_id == Station.id)
        .where(
            StationBureau.election_id == election_id,
            StationBureau.department_code == voter.department_code,
            StationBureau.commune_code == voter.commune_code,
            StationBureau.bureau_code == voter.bureau_code,
        )
    )


async def round_1_paid(session: AsyncSession, election: Election, round_: Round, token: bytes) -> bool:
    """Round 2 of an election whose round-1 contribution covers both rounds: did they pay in round 1?"""
    if round_.number != 2 or not election.contribution_covers_both_rounds:
        return False
    first = await session.scalar(select(Round).where(Round.election_id == election.id, Round.number == 1))
    if first is None:
        return False
    paid = await session.scalar(
        select(Checkin.contribution_cents).where(Checkin.round_id == first.id, Checkin.token == token)
    )
    return paid is not None and paid >= election.contribution_min_cents


def _when(moment: datetime, station: Station) -> str:
    local = moment.astimezone(station_zone(station))
    return f"le {local:%d/%m} à {local:%H:%M}"


async def already_checked_in(session: AsyncSession, round_: Round, token: bytes) -> tuple[Station, datetime, str] | None:
    row = (
        await session.execute(
            select(Station, Checkin.checked_in_at, Checkin.channel)
            .join(Station, Station.id == Checkin.station_id)
            .where(Checkin.round_id == round_.id, Checkin.token == token)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


def _already_message(round_: Round, station: Station, at: datetime, channel: str, here: Station) -> str:
    where = "dans ce bureau" if station.id == here.id else f"au bureau {station.code} ({station.name})"
    how = " (liste papier)" if channel == Channel.PAPER.value else ""
    return f"Déjà émargé pour le tour {round_.number} : {where}, {_when(at, station)}{how}. Un seul vote par tour."


@dataclass(frozen=True)
class _Context:
    """Everything a check-in needs to know besides the voter, read in ONE query (a check-in is
    the hot path of polling day: each round trip to the database counts at 200 per second)."""

    election: Election
    state: str | None
    lists_election_id: int | None
    keys_exist: bool
    token_wrapped: bytes | None
    display_wrapped: bytes | None
    registry_election_id: int | None
    area: frozenset[tuple[str, str, str]]  # (department, commune, bureau) of the station's bureaux
    # The voter, when read in the same query (`station_checkin_context`): for this ref only.
    voter_ref: str | None = None
    voter: VoterRecord | None = None


# The hot path's statements are built once, with bound parameters: building a SELECT of this
# size costs about half a millisecond of CPU each time, and a built statement's cache key is
# memoised by SQLAlchemy.
@cache
def _context_statement():  # noqa: ANN202 - a SQLAlchemy Select
    station_id, round_id = bindparam("station_id", type_=Integer), bindparam("round_id", type_=Integer)
    bureaux = (
        select(func.array_agg(StationBureau.department_code + ":" + StationBureau.commune_code + ":" + StationBureau.bureau_code))
        .where(StationBureau.station_id == station_id)
        .scalar_subquery()
    )
    return (
        select(
            Election,
            StationRound.state,
            PollingExercise.lists_election_id,
            ElectionPrivacyKey.election_id,
            ElectionPrivacyKey.token_secret_wrapped,
            ElectionPrivacyKey.display_key_wrapped,
            RegistryState.election_id,  # the election the loaded copy of the lists is for
            bureaux,
        )
        .select_from(Election)
        .outerjoin(StationRound, and_(StationRound.round_id == round_id, StationRound.station_id == station_id))
        .outerjoin(PollingExercise, PollingExercise.election_id == Election.id)
        .outerjoin(ElectionPrivacyKey, ElectionPrivacyKey.election_id == Election.id)
        .outerjoin(RegistryState, RegistryState.id == 1)
        .where(Election.id == bindparam("election_id", type_=Integer))
    )


def _epoch_column(row: int = CONTEXT_EPOCH_ROW):  # noqa: ANN202 - a scalar subquery
    """The version of the check-in's cached contexts (`row` 1) or sessions (`row` 2)
    (`polling.models.PollingContextEpoch`)."""
    return select(PollingContextEpoch.epoch).where(PollingContextEpoch.id == row).scalar_subquery()


def _checkin_values() -> dict:
    """The check-in row's columns, as bind parameters (both write statements)."""
    return {
        "department_code": bindparam("p_department_code", type_=String),
        "round_id": bindparam("p_round_id", type_=Integer),
        "token": bindparam("p_token", type_=LargeBinary),
        "station_id": bindparam("p_station_id", type_=Integer),
        "checked_in_at": bindparam("p_checked_in_at", type_=DateTime(timezone=True)),
        "recorded_at": bindparam("p_recorded_at", type_=DateTime(timezone=True)),
        "contribution_cents": bindparam("p_contribution_cents", type_=Integer),
        "payment": bindparam("p_payment", type_=String),
        "channel": bindparam("p_channel", type_=String),
        "display": bindparam("p_display", type_=LargeBinary),
    }


def _counters_update(paper: bool, condition):  # noqa: ANN001, ANN202 - a SQL condition; an UPDATE … RETURNING CTE
    """The station's counters of the round, plus one check-in and its contribution, on the row
    that is in one of the accepted states and meets `condition` (both write statements)."""
    counter = StationRound.checkins_paper if paper else StationRound.checkins_tablet
    return (
        update(StationRound)
        .where(
            StationRound.round_id == bindparam("p_round_id", type_=Integer),
            StationRound.station_id == bindparam("p_station_id", type_=Integer),
            StationRound.state == any_(bindparam("p_states", type_=ARRAY(String))),
            condition,
        )
        .values(
            {
                counter.key: counter + 1,
                "contributions_cents": StationRound.contributions_cents + bindparam("p_contribution_cents", type_=Integer),
                "cash_cents": StationRound.cash_cents + bindparam("p_cash_cents", type_=Integer),
                "cheque_cents": StationRound.cheque_cents + bindparam("p_cheque_cents", type_=Integer),
                "covered": StationRound.covered + bindparam("p_covered", type_=Integer),
                "updated_at": bindparam("p_recorded_at", type_=DateTime(timezone=True)),
            }
        )
        .returning(
            StationRound.checkins_tablet,
            StationRound.checkins_paper,
            StationRound.contributions_cents,
            StationRound.cash_cents,
            StationRound.cheque_cents,
            StationRound.covered,
        )
        .cte("counted")
    )


_EVENT_TYPES = {
    "recorded_at": DateTime(timezone=True), "kind": String, "actor": String, "actor_scope": String,
    "subjects": JSONB, "entry": String,
}


def _event_insert(after):  # noqa: ANN001, ANN202 - a Select of the event's parameters; an INSERT … RETURNING CTE
    """The audit event's INSERT (`services.events.audit_row`'s values as `e_*` parameters), its
    row only if `after` — the event's values selected with the condition — yields one."""
    return insert(AuditEvent).from_select(list(AUDIT_COLUMNS), after).returning(AuditEvent.id).cte("logged")


def _event_values():  # noqa: ANN202 - a Select
    return select(*(bindparam(f"e_{name}", type_=_EVENT_TYPES[name]) for name in AUDIT_COLUMNS))


def _written(counted, logged, *ctes) -> DriverStatement:  # noqa: ANN001
    """What both write statements answer: the station's counters after the check-in, and how
    many events were written (1, or no row at all when nothing was)."""
    statement = select(
        counted.c.checkins_tablet,
        counted.c.checkins_paper,
        counted.c.contributions_cents,
        counted.c.cash_cents,
        counted.c.cheque_cents,
        counted.c.covered,
        select(func.count()).select_from(logged).scalar_subquery().label("events"),
    ).add_cte(*ctes)
    return driver_sql(statement)


@cache
def _insert_count_and_log_sql(paper: bool) -> DriverStatement:
    """ONE statement, one round trip, all or nothing, complete on its own (it is also sent
    without a transaction around it, by `check_in_on_driver`: a statement is atomic by itself):

    1. lock the station's row of the round while it is in one of the accepted states (FOR NO
       KEY UPDATE: a closing committed meanwhile is waited for, then the row no longer matches);
    2. only then INSERT the check-in (nothing if this person already took part in the round,
       anywhere: the unique index on (round, token) decides between two stations at the same
       instant);
    3. only if it inserted, add it to the station's counters (the row locked in 1: it matches);
    4. only if it counted, INSERT its audit event (`services.events.audit_row`: the same row,
       byte for byte, as `record` would add), in the same statement hence the same transaction.

    So either nothing is written (no row returned), or all three rows are. Compiled once from
    the models, for the driver connection."""
    station_open = (
        select(StationRound.station_id)
        .where(
            StationRound.round_id == bindparam("p_round_id", type_=Integer),
            StationRound.station_id == bindparam("p_station_id", type_=Integer),
            StationRound.state == any_(bindparam("p_states", type_=ARRAY(String))),
            # The driver fast path's cached context is still the database's (see `_cached_context`);
            # the regular route reads its context in its own transaction: no epoch (NULL).
            or_(
                cast(bindparam("p_epoch"), BigInteger).is_(None),
                cast(bindparam("p_epoch"), BigInteger) == _epoch_column(),
            ),
        )
        .with_for_update(key_share=True)
        .cte("station_open")
    )
    checkin_values = _checkin_values()
    inserted = (
        insert(Checkin)
        .from_select(list(checkin_values), select(*checkin_values.values()).where(exists(select(station_open.c.station_id))))
        .on_conflict_do_nothing(index_elements=["round_id", "token"])
        .returning(Checkin.id)
        .cte("inserted")
    )
    counted = _counters_update(paper, exists(select(inserted.c.id)))
    logged = _event_insert(_event_values().where(exists(select(counted.c.checkins_tablet))))
    return _written(counted, logged, station_open, inserted, counted, logged)


@cache
def _count_insert_and_log_sql(paper: bool) -> DriverStatement:
    """The driver fast path's write (`check_in_on_driver`): the same three rows as
    `_insert_count_and_log_sql`, ONE statement sent without a transaction around it (atomic on
    its own), in the order that asks PostgreSQL for the least work:

    1. UPDATE the station's counters, only while its row of the round is in one of the accepted
       states and the cached context's epoch is the database's (the UPDATE locks the row: a
       closing committed meanwhile is waited for, then re-checked on the new row);
    2. only if it counted (one row inserted per row counted: `FROM counted`, 0 or 1), INSERT
       the check-in: a plain INSERT, no ON CONFLICT. If this person
       already took part in the round, anywhere, the unique index on (round, token) fails the
       WHOLE statement (the counters' update with it: nothing is written) and the regular route
       answers « déjà émargé »;
    3. only if it inserted (`FROM inserted`), INSERT its audit event (`services.events.audit_row`,
       byte for byte what `record` would add).

    Compared with the regular route's statement, PostgreSQL no longer locks the row once
    (SELECT … FOR NO KEY UPDATE, one WAL record) then updates it, nor runs the speculative
    insertion of ON CONFLICT (an arbiter index probe, a speculative lock, one more WAL record):
    the rare second attempt costs an error instead. Measured under 16 concurrent connections
    (read and write of a check-in, PostgreSQL CPU): 0.62–0.69 ms → 0.54–0.57 ms."""
    counted = _counters_update(paper, bindparam("p_epoch", type_=BigInteger) == _epoch_column())
    checkin_values = _checkin_values()
    inserted = (
        insert(Checkin)
        .from_select(list(checkin_values), select(*checkin_values.values()).select_from(counted))  # one row per row counted: 0 or 1
        .returning(Checkin.id)
        .cte("inserted")
    )
    logged = _event_insert(_event_values().select_from(inserted))
    return _written(counted, logged, counted, inserted, logged)


async def _context(session: AsyncSession, station: Station, round_: Round) -> _Context | None:
    row = (
        await session.execute(
            _context_statement(), {"station_id": station.id, "round_id": round_.id, "election_id": station.election_id}
        )
    ).first()
    if row is None:
        return None
    election, state, lists_id, keys_id, token_wrapped, display_wrapped, registry_election_id, area = row
    return _Context(
        election, state, lists_id, keys_id is not None, token_wrapped, display_wrapped, registry_election_id,
        frozenset(tuple(item.split(":", 2)) for item in (area or ())),
    )


@dataclass(frozen=True, slots=True)
class StationView:
    """The columns of a station the check-in needs (read as plain values, not ORM objects)."""

    id: int
    code: str
    name: str
    address: str
    department_code: str
    election_id: int
    opens_at: time | None
    closes_at: time | None


@dataclass(frozen=True, slots=True)
class RoundView:
    id: int
    election_id: int
    number: int
    phase: str
    polling_date: date
    opens_at: time
    closes_at: time
    early_departments: list[str]


@dataclass(frozen=True, slots=True)
class ElectionView:
    """What eligibility (`voter_registry.search.rules_of`) and the contribution rules read."""

    id: int
    contribution_min_cents: int
    contribution_covers_both_rounds: bool
    list_extraction_date: date | None
    majority_date: date | None
    supplementary_deadline: date | None


_STATION_COLUMNS = ("id", "code", "name", "address", "department_code", "election_id", "opens_at", "closes_at")
_ROUND_COLUMNS = ("id", "election_id", "number", "phase", "polling_date", "opens_at", "closes_at", "early_departments")
_ELECTION_COLUMNS = (
    "id", "contribution_min_cents", "contribution_covers_both_rounds", "list_extraction_date", "majority_date",
    "supplementary_deadline",
)


def _context_columns() -> list:
    """What both check-in reads take besides the session: the station, each round of its
    election and the station's state in it, the election, and the rest of `_Context`."""
    bureaux = (
        select(func.array_agg(StationBureau.department_code + ":" + StationBureau.commune_code + ":" + StationBureau.bureau_code))
        .where(StationBureau.station_id == Station.id)
        .scalar_subquery()
    )
    return [
        *(getattr(Station, name).label(f"s_{name}") for name in _STATION_COLUMNS),
        *(getattr(Round, name).label(f"r_{name}") for name in _ROUND_COLUMNS),
        *(getattr(Election, name).label(f"e_{name}") for name in _ELECTION_COLUMNS),
        StationRound.state,
        PollingExercise.lists_election_id,
        ElectionPrivacyKey.election_id.label("keys_election_id"),
        ElectionPrivacyKey.token_secret_wrapped,
        ElectionPrivacyKey.display_key_wrapped,
        RegistryState.election_id.label("registry_election_id"),
        bureaux.label("area"),
    ]


def _with_context(statement, voter_kind: str | None) -> DriverStatement:  # noqa: ANN001 - a Select joined to Station and Election
    """`statement` joined to the rest of `_Context` (rows by round number), and to the voter
    re-read by the registry's own statement (`voter_kind`: « L » or « S »), compiled for the
    driver connection."""
    statement = (
        statement.outerjoin(Round, Round.election_id == Station.election_id)
        .outerjoin(StationRound, and_(StationRound.round_id == Round.id, StationRound.station_id == Station.id))
        .outerjoin(PollingExercise, PollingExercise.election_id == Election.id)
        .outerjoin(ElectionPrivacyKey, ElectionPrivacyKey.election_id == Election.id)
        .outerjoin(RegistryState, RegistryState.id == 1)
        .order_by(Round.number)
    )
    if voter_kind is not None:
        voter = registry._voter_statement(voter_kind).subquery("voter_row")  # noqa: SLF001 - see read_voter
        statement = statement.add_columns(*(column.label(f"v_{column.key}") for column in voter.c)).outerjoin(voter, true())
    return driver_sql(statement)


@cache
def _station_context_sql(voter_kind: str | None) -> DriverStatement:
    """The station (by its code), each round of its election with the station's state in it,
    and the rest of `_Context`, as plain columns — and the voter, with the registry's own
    re-read statement (`voter_kind`: « L » or « S ») joined as a subquery: the API check-in's
    station, round, context and voter in ONE round trip on the driver connection (built from
    the models, compiled once per kind)."""
    statement = (
        select(*_context_columns())
        .select_from(Station)
        .join(Election, Election.id == Station.election_id)
        .where(Station.code == bindparam("code", type_=String))
    )
    return _with_context(statement, voter_kind)


@cache
def _keys(prefix: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(prefix + name for name in names)


def _view(cls, row, prefix: str, names: tuple[str, ...]):  # noqa: ANN001, ANN202
    return cls(*map(row.__getitem__, _keys(prefix, names)))


async def station_checkin_context(
    session: AsyncSession, station_code: str, voter_ref: str | None = None
) -> tuple[StationView, RoundView, _Context] | None:
    """The station of this code, the round polling day works on (`pick_active_round`) and the
    check-in context of both — with the voter of `voter_ref` (as `read_voter` reads it), if
    given — in one round trip; None if no station has this code."""
    connection = await driver_connection(session)
    match = registry._REF.match(voter_ref.strip().upper()) if voter_ref else None  # noqa: SLF001
    statement = _station_context_sql(match[1] if match else None)
    values = {"code": station_code}
    if match:
        values |= {"department": match[2], "row_id": int(match[3])}
        world = await territory(session)
    rows = await connection.fetch(statement.sql, *statement.arguments(values))
    if not rows:
        return None
    station = _view(StationView, rows[0], "s_", _STATION_COLUMNS)
    rounds = [_view(RoundView, row, "r_", _ROUND_COLUMNS) for row in rows if row["r_id"] is not None]
    round_ = pick_active_round(rounds)
    row = rows[rounds.index(round_)] if rows[0]["r_id"] is not None else rows[0]
    return station, round_, _Context(
        _view(ElectionView, row, "e_", _ELECTION_COLUMNS),  # type: ignore[arg-type] - the columns it reads
        row["state"], row["lists_election_id"], row["keys_election_id"] is not None, row["token_secret_wrapped"],
        row["display_key_wrapped"], row["registry_election_id"],
        frozenset(tuple(item.split(":", 2)) for item in (row["area"] or ())),
        voter_ref=voter_ref if match else None,
        voter=_voter_of(row, world, "v_") if match and row["v_id"] is not None else None,
    )


class _Columns:
    """Attribute access over one voter's columns of an asyncpg record: what `voter_registry`'s
    row reader reads (filled from the record in one pass, rather than a Python `__getattr__`
    per attribute: the check-in reads 25 of them 200 times a second)."""


@cache
def _voter_columns(prefix: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the registry's voter re-read (the same for both kinds), bare and as read
    under `prefix`."""
    names = tuple(column.key for column in registry._voter_statement("L").selected_columns)  # noqa: SLF001
    assert names == tuple(column.key for column in registry._voter_statement("S").selected_columns)  # noqa: SLF001
    return names, tuple(prefix + name for name in names)


def _voter_of(row, world, prefix: str = "") -> VoterRecord:  # noqa: ANN001
    names, keys = _voter_columns(prefix)
    columns = _Columns()
    columns.__dict__.update(zip(names, map(row.__getitem__, keys), strict=True))
    commune = columns.commune_code
    return voter_record(columns, {commune: world.communes[commune].name} if commune in world.communes else {})


@cache
def _voter_sql(kind: str) -> DriverStatement:
    return driver_sql(registry._voter_statement(kind))  # noqa: SLF001 - the registry's own re-read


async def read_voter(session: AsyncSession, ref: str) -> VoterRecord | None:
    """`voter_registry.service.get_voter` (the same statement and the same record, which a test
    checks) sent on the driver connection: the check-in re-reads the voter 200 times a second."""
    match = registry._REF.match(ref.strip().upper())  # noqa: SLF001
    if match is None:
        return None
    kind, department, row_id = match[1], match[2], int(match[3])
    world = await territory(session)
    connection = await driver_connection(session)
    statement = _voter_sql(kind)
    row = await connection.fetchrow(statement.sql, *statement.arguments({"department": department, "row_id": row_id}))
    return None if row is None else _voter_of(row, world)


class HandOver(Exception):  # noqa: N818 - not an error: a hand-over
    """Raised by the driver fast path (`check_in_on_driver`) for what it does not decide itself
    (a refusal to word, a rare case needing more reads): the regular route takes the request
    over and answers it, with nothing recorded by the attempt."""


def _checked_station(station: StationView | Station, round_: RoundView | Round, request: CheckinRequest, context: _Context | None):  # noqa: ANN202
    """The election, the channel's accepted station states; refuses a round of another election,
    polls not open, a station not open, a charter not signed."""
    election = context.election if context else None
    if context is None or election is None or round_.election_id != election.id:
        raise InvalidInput("Ce tour n'appartient pas à l'élection de ce bureau.", code="wrong_round")
    paper = request.channel == Channel.PAPER
    phases = (Phase.POLLS_OPEN, Phase.POLLS_CLOSED) if paper else (Phase.POLLS_OPEN,)
    if Phase(round_.phase) not in phases:
        raise WrongPhase(
            f"Le scrutin du tour {round_.number} n'est pas ouvert : aucun émargement possible.", code="polls_not_open"
        )
    states = (StationState.OPEN.value, StationState.CLOSED.value) if paper else (StationState.OPEN.value,)
    state = context.state
    if state not in states:
        label = StationState(state).label.lower() if state else "planifié"
        raise WrongPhase(
            f"Le bureau {station.code} n'est pas ouvert (état : {label}) : ouvrez-le d'abord (bouton « Ouvrir le "
            "bureau » ou SMS OUV).",
            code="station_not_open",
        )
    if not request.charter_signed:
        raise InvalidInput(
            "L'électeur doit signer la charte avant de voter : faites-la signer, puis cochez « Charte signée ».",
            code="charter_not_signed",
        )
    return election, paper, states


_UNKNOWN_VOTER = (
    "Électeur introuvable sur la liste électorale : refaites la recherche (nom de naissance ou d'usage, "
    "prénom, date de naissance)."
)


def _checked_eligibility(voter: VoterRecord, rules_election: Election | ElectionView, context: _Context, request: CheckinRequest) -> None:
    eligibility = eligibility_of(voter, rules_election, context.registry_election_id)  # = registry.evaluate_eligibility
    if eligibility.status == Status.INELIGIBLE:
        raise InvalidInput(
            "Cet électeur ne peut pas voter : " + " ".join(eligibility.reasons), code="ineligible_voter"
        )
    if eligibility.status == Status.TO_CHECK and not request.identity_checked:
        raise InvalidInput(
            "À vérifier avant de voter : " + " ".join(eligibility.reasons) + " Cochez « Identité vérifiée » une fois fait.",
            code="identity_to_check",
        )


@dataclass(frozen=True, slots=True)
class _Write:
    """The one statement of a check-in (`_insert_count_and_log_sql`), ready to send."""

    statement: DriverStatement
    arguments: list
    at: datetime
    amount: int
    payment: Payment


def _write(
    actor: Actor,
    station: StationView | Station,
    round_: RoundView | Round,
    request: CheckinRequest,
    election: Election | ElectionView,
    voter: VoterRecord,
    keys: privacy.ElectionKeys,
    token: bytes,
    covered: bool,
    paper: bool,
    states: tuple[str, ...],
    epoch: int | None = None,
) -> _Write:
    """Checks the contribution and the time, seals the display data, builds the audit event:
    the statement and its arguments (nothing is sent)."""
    amount = request.contribution_cents
    if amount < 0 or amount > MAX_CONTRIBUTION_CENTS:
        raise InvalidInput(f"Montant improbable : {euros(max(amount, 0))}. Vérifiez la participation saisie.", code="contribution_invalid")
    payment = request.payment
    if covered and amount == 0:
        payment = Payment.COVERED
    elif amount < election.contribution_min_cents:
        raise InvalidInput(
            f"Participation insuffisante : {euros(amount)} ; le minimum est de {euros(election.contribution_min_cents)}"
            f"{' par tour' if not election.contribution_covers_both_rounds else ''}.",
            code="contribution_too_low",
        )
    elif payment == Payment.COVERED:
        raise InvalidInput("Indiquez le mode de paiement : espèces ou chèque.", code="payment_required")

    now = utcnow()
    at = now
    if paper and request.checked_in_at is not None:
        at = request.checked_in_at
        day, _opens, _closes = station_hours(station, round_)
        if at > now + timedelta(minutes=5) or at.astimezone(station_zone(station)).date() != day:
            raise InvalidInput(
                f"Heure d'émargement impossible : elle doit être le jour du scrutin ({day:%d/%m/%Y}) et déjà passée.",
                code="bad_checkin_time",
            )
    display = keys.seal(
        {
            "nom": voter.display_name,
            "naissance": voter.birth_date,
            "commune": voter.commune_name,
            "bureau": voter.bureau_code,
            "ordre": voter.order_number,
        },
        round_id=round_.id,
        station_id=station.id,
    )
    event = audit_row(
        events.VoterCheckedIn.kind,
        actor,
        {"round_id": round_.id, "department_code": station.department_code, "station_code": station.code},
        {
            "checked_in_at": at.isoformat(timespec="seconds"),
            "contribution_cents": amount,
            "payment": payment.value,
            "channel": request.channel.value,
        },
        now,
    )
    values = {
        "p_department_code": station.department_code,
        "p_round_id": round_.id,
        "p_token": token,
        "p_station_id": station.id,
        "p_checked_in_at": at,
        "p_recorded_at": now,
        "p_contribution_cents": amount,
        "p_payment": payment.value,
        "p_channel": request.channel.value,
        "p_display": display,
        "p_cash_cents": amount if payment == Payment.CASH else 0,
        "p_cheque_cents": amount if payment == Payment.CHEQUE else 0,
        "p_covered": 1 if covered else 0,
        "p_states": list(states),
        "p_epoch": epoch,
        **{f"e_{name}": value for name, value in zip(AUDIT_COLUMNS, event, strict=True)},
    }
    statement = _insert_count_and_log_sql(paper) if epoch is None else _count_insert_and_log_sql(paper)
    return _Write(statement, statement.arguments(values), at, amount, payment)


def _result(station: StationView | Station, round_: RoundView | Round, request: CheckinRequest, write: _Write, row, voter: VoterRecord) -> CheckinResult:  # noqa: ANN001
    assert row["events"] == 1  # counted ⇒ logged, in the same statement
    return CheckinResult(
        station.code, round_.number, write.at, write.amount, write.payment, request.channel,
        StationCounts(*tuple(row)[:6]), voter.display_name,
    )


async def check_in(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    request: CheckinRequest,
    context: _Context | None = None,
) -> CheckinResult:
    """Record one participation (see the module docstring); returns the station's new counters.
    `context`: as read by `station_checkin_context` with the station and the round (else read here)."""
    if context is None:
        context = await _context(session, station, round_)
    election, paper, states = _checked_station(station, round_, request, context)
    if context.voter_ref is not None and context.voter_ref == request.voter_ref:
        voter = context.voter  # read with the context, by the same statement
    else:
        voter = await read_voter(session, request.voter_ref or "")
    if voter is None:
        raise NotFound(_UNKNOWN_VOTER, code="unknown_voter")
    if (voter.department_code, voter.commune_code, voter.bureau_code) not in context.area:
        other = await voter_station(session, election.id, voter)
        if other is not None:
            raise Conflict(
                f"Cet électeur ne vote pas ici : son bureau est le {other.code}, {other.name}"
                f"{(', ' + other.address) if other.address else ''}.",
                code="other_station",
                detail={"station_code": other.code},
            )
        raise Conflict(
            "Cet électeur ne vote pas ici : son bureau de la liste électorale n'est rattaché à aucun bureau de vote de "
            "la primaire. Appelez votre commission départementale.",
            code="no_station",
        )
    rules_election = election
    if context.lists_election_id is not None:  # an exercise: the rehearsed election's lists and rules
        rules_election = await session.get(Election, context.lists_election_id) or election
    _checked_eligibility(voter, rules_election, context, request)

    keys = privacy.keys_from_wrapped(election.id, context.token_wrapped, context.display_wrapped, exists=context.keys_exist)
    token = keys.token(registry.voter_identity(voter))
    covered = await round_1_paid(session, election, round_, token)
    write = _write(actor, station, round_, request, election, voter, keys, token, covered, paper, states)
    # One statement on the driver connection (same transaction): the check-in, its counters and
    # its audit event (see `_insert_count_and_log_sql`). The write is declared to the audit guard
    # before it is sent, the event once the database confirms it was inserted.
    note_write(session, "checkin")
    connection = await driver_connection(session)
    row = await connection.fetchrow(write.statement.sql, *write.arguments)
    if row is None:
        # Nothing written: either the person already took part (the insert did nothing), or the
        # station is not (or no longer) open.
        state_now = await session.scalar(
            select(StationRound.state).where(StationRound.round_id == round_.id, StationRound.station_id == station.id)
        )
        if state_now not in states:
            raise WrongPhase(f"Le bureau {station.code} vient d'être clos : émargement non enregistré.", code="station_not_open")
        first = await already_checked_in(session, round_, token)
        if first is None:  # the other transaction rolled back in between: ask to try again
            raise Conflict("Émargement simultané ailleurs : réessayez dans un instant.", code="concurrent_checkin")
        raise Conflict(_already_message(round_, *first, here=station), code="already_checked_in",
                       detail={"station_code": first[0].code, "checked_in_at": first[1].isoformat()})
    note_audit_event(session)
    return _result(station, round_, request, write, row, voter)


# --- The driver fast path: the tablet's check-in in two round trips, no session ------------------


@cache
def _round_1_paid_sql() -> DriverStatement:
    """`round_1_paid`'s read, for the driver connection."""
    return driver_sql(
        select(Checkin.contribution_cents)
        .join(Round, Round.id == Checkin.round_id)
        .where(
            Round.election_id == bindparam("election_id", type_=Integer),
            Round.number == 1,
            Checkin.token == bindparam("token", type_=LargeBinary),
        )
    )


@cache
def _session_and_voter_sql(voter_kind: str) -> DriverStatement:
    """The tablet's read when its station's context is cached (`_cached_context`) but not its
    session (`_cached_session`): the session (`services.auth.service._session_statement`, the
    same columns), the code of its station, both epochs and the voter (the registry's own
    re-read) — seven relations instead of fifteen: PostgreSQL's cost of a statement grows with
    the relations it locks and the plan nodes it starts, far more than with the rows it reads."""
    voter = registry._voter_statement(voter_kind).subquery("voter_row")  # noqa: SLF001 - see read_voter
    statement = (
        auth_service._session_statement()  # noqa: SLF001 - the same columns, read here
        .add_columns(
            func.coalesce(Account.station_code, Tablet.station_code).label("session_station_code"),
            _epoch_column().label("context_epoch"),
            _epoch_column(SESSION_EPOCH_ROW).label("session_epoch"),
            *(column.label(f"v_{column.key}") for column in voter.c),
        )
        .outerjoin(voter, true())
    )
    return driver_sql(statement)


@cache
def _voter_and_epochs_sql(voter_kind: str) -> DriverStatement:
    """The tablet's read when its session is cached too: the voter (the registry's own re-read,
    its columns unprefixed) and both epochs — the session, its account and its tablet are not
    read again while the sessions' epoch is the one the cache was filled at. No row: no such
    voter."""
    statement = registry._voter_statement(voter_kind).add_columns(  # noqa: SLF001 - see read_voter
        _epoch_column().label("context_epoch"), _epoch_column(SESSION_EPOCH_ROW).label("session_epoch")
    )
    return driver_sql(statement)


@dataclass(frozen=True, slots=True)
class _CachedSession:
    """A browser or tablet session as read by `_session_and_voter_sql`, as of `epoch` (row 2 of
    `polling.models.PollingContextEpoch`): the principal `principal_from_session_row` built,
    the code of its station, and its expiry (checked at every use)."""

    epoch: int
    principal: Principal
    station_code: str
    expires_at: datetime


# Per process, by session token (the cookie, as the request carries it): at most one entry per
# signed-in tablet or station member of the country.
_SESSIONS: dict[str, _CachedSession] = {}
_SESSIONS_MAX = 50_000


@cache
def _station_context_and_epoch_sql() -> DriverStatement:
    """`_station_context_sql` without the voter, with the context's epoch read in the same
    snapshot: what `_cached_context` keeps."""
    statement = (
        select(*_context_columns(), _epoch_column().label("context_epoch"))
        .select_from(Station)
        .join(Election, Election.id == Station.election_id)
        .where(Station.code == bindparam("code", type_=String))
    )
    return _with_context(statement, None)


@dataclass(frozen=True, slots=True)
class _CachedContext:
    """What a station's check-ins read besides the session, the voter and the station's state
    in the round, as of `epoch` (`polling.models.PollingContextEpoch`)."""

    epoch: int
    station: StationView
    rounds: list[RoundView]
    contexts: list[_Context]  # per round (state: not kept, the write checks it under its lock)
    areas: list[frozenset[str]]  # per round: « department:commune:bureau » of the station's bureaux


# Per process, by station code: at most one entry per station of the country (≈ 10,000).
_CONTEXTS: dict[str, _CachedContext] = {}
_CONTEXTS_MAX = 20_000


def forget_cached_contexts() -> None:
    """Empty the process's caches of station contexts and of sessions."""
    _CONTEXTS.clear()
    _SESSIONS.clear()


async def _cached_context(connection: asyncpg.Connection, code: str, epoch: int | None) -> _CachedContext | None:
    """The station's cached context if it is of `epoch` (the value the request's read saw),
    else read again (one round trip) and kept. The write checks the epoch once more (under the
    station's row lock, in the same statement): a change committed between the read and the
    write makes the write write nothing, and the regular route answers."""
    cached = _CONTEXTS.get(code)
    if cached is not None and cached.epoch == epoch:
        return cached
    statement = _station_context_and_epoch_sql()
    rows = await connection.fetch(statement.sql, *statement.arguments({"code": code}))
    if not rows or rows[0]["r_id"] is None:
        _CONTEXTS.pop(code, None)
        return None
    contexts, areas = [], []
    for row in rows:
        contexts.append(
            _Context(
                _view(ElectionView, row, "e_", _ELECTION_COLUMNS),  # type: ignore[arg-type] - the columns it reads
                StationState.OPEN.value,  # checked by the write, under the row's lock
                row["lists_election_id"], row["keys_election_id"] is not None, row["token_secret_wrapped"],
                row["display_key_wrapped"], row["registry_election_id"],
                frozenset(),  # not parsed: `areas` below
            )
        )
        areas.append(frozenset(row["area"] or ()))
    cached = _CachedContext(
        rows[0]["context_epoch"], _view(StationView, rows[0], "s_", _STATION_COLUMNS),
        [_view(RoundView, row, "r_", _ROUND_COLUMNS) for row in rows], contexts, areas,
    )
    if len(_CONTEXTS) >= _CONTEXTS_MAX:
        _CONTEXTS.clear()
    _CONTEXTS[code] = cached
    return cached


@cache
def _voter_keys(prefix: str) -> tuple[str, str, str, str]:
    return tuple(prefix + name for name in ("id", "department_code", "commune_code", "bureau_code"))  # type: ignore[return-value]


async def check_in_on_driver(
    connection: asyncpg.Connection, request: Request, authorize: Callable[[Request, Principal | None], Awaitable[Principal | None]],
    body: CheckinRequest, world: Territory,
) -> CheckinResult:
    """A tablet's (or a station member's) check-in on a bare driver connection, without a session
    (`services.app.FastPaths`, `driver_fast_path`): ONE read (the voter and both epochs:
    `_voter_and_epochs_sql`, the session coming from the process's cache, `_SESSIONS`, while the
    sessions' epoch is unchanged and it has not expired; else the session, its station's code,
    both epochs and the voter: `_session_and_voter_sql`), the route's access rule applied to the
    principal at every request (`authorize`: the same `Access` object, CSRF included), the
    station's context from the process's cache (`_cached_context`: read again, one more round
    trip, when any of its tables changed), the same checks as `check_in`, then ONE write (the
    check-in, its counters and its audit event: `_count_insert_and_log_sql`, which itself
    re-checks the station's state and the cache's epoch under a row lock, and the one vote per
    round), sent in autocommit: a single statement is atomic on its own.

    Only the common case is decided here; anything else raises (`HandOver` or the refusal) before
    the write, or after a write that wrote nothing, and the regular route answers it: a refusal,
    an API token, an exercise, a voter of another station, a person already checked in, a
    station not open, a context changed meanwhile."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or request.headers.get("authorization"):
        raise HandOver
    match = registry._REF.match(body.voter_ref.strip().upper()) if body.voter_ref else None  # noqa: SLF001
    if match is None:
        raise HandOver  # « électeur introuvable », worded by the regular route
    voter_arguments = {"department": match[2], "row_id": int(match[3])}
    row = None
    known = _SESSIONS.get(token)
    if known is not None:
        # The session as cached, while the sessions' epoch read with the voter is the cache's
        # (no revocation, sign-out or deactivation since: triggers of migration polling 0005)
        # and it has not expired; else read again below, with the voter.
        statement = _voter_and_epochs_sql(match[1])
        row = await connection.fetchrow(statement.sql, *statement.arguments(voter_arguments))
        if row is None:
            raise HandOver  # « électeur introuvable », worded by the regular route
        if row["session_epoch"] != known.epoch or known.expires_at <= utcnow():
            _SESSIONS.pop(token, None)
            row = known = None
    if known is not None:
        principal, station_code, prefix = known.principal, known.station_code, ""
    else:
        statement = _session_and_voter_sql(match[1])
        row = await connection.fetchrow(statement.sql, *statement.arguments({"token_sha256": sha256_hex(token), **voter_arguments}))
        principal = auth_service.principal_from_session_row(row, token)
        station_code, prefix = (row["session_station_code"] if row is not None else None), "v_"
        if principal is not None and station_code is not None:
            if len(_SESSIONS) >= _SESSIONS_MAX:
                _SESSIONS.clear()
            _SESSIONS[token] = _CachedSession(row["session_epoch"], principal, station_code, row["expires_at"])
    principal = await authorize(request, principal)  # the route's rule, CSRF included, at every request
    if principal is None or station_code is None:
        raise HandOver  # « bureau inconnu », worded by the regular route
    cached = await _cached_context(connection, station_code, row["context_epoch"])
    if cached is None:
        raise HandOver
    station = cached.station
    round_ = pick_active_round(cached.rounds)
    index = cached.rounds.index(round_)
    context = cached.contexts[index]
    election, paper, states = _checked_station(station, round_, body, context)
    id_key, department_key, commune_key, bureau_key = _voter_keys(prefix)
    if row[id_key] is None or context.lists_election_id is not None:
        raise HandOver  # unknown voter, or an exercise (the rehearsed election's rules)
    if f"{row[department_key]}:{row[commune_key]}:{row[bureau_key]}" not in cached.areas[index]:
        raise HandOver  # « son bureau est le … »: worded by the regular route
    voter = _voter_of(row, world, prefix)
    _checked_eligibility(voter, election, context, body)
    keys = privacy.keys_from_wrapped(election.id, context.token_wrapped, context.display_wrapped, exists=context.keys_exist)
    voter_token = keys.token(registry.voter_identity(voter))
    covered = False
    if round_.number == 2 and election.contribution_covers_both_rounds:  # as `round_1_paid`
        paid_sql = _round_1_paid_sql()
        paid = await connection.fetchval(paid_sql.sql, *paid_sql.arguments({"election_id": election.id, "token": voter_token}))
        covered = paid is not None and paid >= election.contribution_min_cents
    write = _write(
        principal.actor, station, round_, body, election, voter, keys, voter_token, covered, paper, states, cached.epoch
    )
    try:
        written = await connection.fetchrow(write.statement.sql, *write.arguments)
    except asyncpg.UniqueViolationError:
        raise HandOver from None  # already checked in (anywhere, this round): the whole statement failed, nothing written
    if written is None:
        raise HandOver  # nothing written: the station closed, or the context changed meanwhile
    return _result(station, round_, body, write, written, voter)


@dataclass(frozen=True)
class CheckinLine:
    """One check-in of a station, decrypted for its reconciliation with the paper list."""

    checked_in_at: datetime
    channel: Channel
    contribution_cents: int
    payment: Payment
    name: str
    birth_date: str
    bureau: str
    order: int


async def station_checkins(session: AsyncSession, station: Station, round_: Round) -> list[CheckinLine]:
    """The station's check-ins of the round, decrypted (while the keys exist), by time."""
    keys = await privacy.election_keys(session, station.election_id)
    rows = await session.execute(
        select(Checkin.checked_in_at, Checkin.channel, Checkin.contribution_cents, Checkin.payment, Checkin.display)
        .where(
            Checkin.department_code == station.department_code,
            Checkin.round_id == round_.id,
            Checkin.station_id == station.id,
        )
        .order_by(Checkin.checked_in_at)
    )
    lines = []
    for at, channel, cents, payment, sealed in rows:
        data = keys.open(bytes(sealed), round_id=round_.id, station_id=station.id) if sealed else None
        data = data or {}
        lines.append(
            CheckinLine(
                at, Channel(channel), cents, Payment(payment), data.get("nom", "(illisible)"), data.get("naissance", ""),
                data.get("bureau", ""), int(data.get("ordre", 0) or 0),
            )
        )
    return lines


async def declare_exercise(session: AsyncSession, actor: Actor, election: Election, lists_election: Election) -> PollingExercise:
    """Declare `election` a rehearsal of polling day on the lists of `lists_election`."""
    if election.id == lists_election.id:
        raise InvalidInput("Un exercice utilise les listes d'une autre élection.", code="exercise_self")
    existing = await session.get(PollingExercise, election.id)
    if existing is not None:
        return existing
    exercise = PollingExercise(election_id=election.id, lists_election_id=lists_election.id)
    session.add(exercise)
    await session.flush()
    record(session, events.ExerciseDeclared(actor=actor, election_id=election.id, lists_election_id=lists_election.id))
    return exercise


@dataclass(frozen=True)
class RecordedCheckin:
    """A check-in recorded elsewhere and loaded in bulk (demo data, rehearsals at scale): the
    caller vouches for the voter's eligibility and station; amounts are still checked."""

    identity: bytes
    display: dict
    checked_in_at: datetime
    contribution_cents: int
    payment: Payment
    channel: Channel = Channel.TABLET


async def load_checkins(session: AsyncSession, actor: Actor, station: Station, round_: Round, entries: list[RecordedCheckin]) -> int:
    """Insert many check-ins of one station at once (one statement), with their counters and one
    audit event each; duplicates (same voter, same round, anywhere) are skipped. Returns how many
    were recorded."""
    election = await session.get(Election, station.election_id)
    if election is None or round_.election_id != election.id:
        raise InvalidInput("Ce tour n'appartient pas à l'élection de ce bureau.", code="wrong_round")
    state = await session.scalar(
        select(StationRound.state).where(StationRound.round_id == round_.id, StationRound.station_id == station.id)
    )
    if state not in (StationState.OPEN.value, StationState.CLOSED.value):
        raise WrongPhase(f"Le bureau {station.code} n'est pas ouvert.", code="station_not_open")
    keys = await privacy.election_keys(session, election.id)
    now = utcnow()
    rows = []
    for entry in entries:
        if entry.contribution_cents < election.contribution_min_cents and entry.payment != Payment.COVERED:
            raise InvalidInput(f"Participation insuffisante : {euros(entry.contribution_cents)}.", code="contribution_too_low")
        rows.append(
            {
                "department_code": station.department_code,
                "round_id": round_.id,
                "token": keys.token(entry.identity),
                "station_id": station.id,
                "checked_in_at": entry.checked_in_at,
                "recorded_at": now,
                "contribution_cents": entry.contribution_cents,
                "payment": entry.payment.value,
                "channel": entry.channel.value,
                "display": keys.seal(entry.display, round_id=round_.id, station_id=station.id),
            }
        )
    if not rows:
        return 0
    inserted = []
    for start in range(0, len(rows), 1000):  # PostgreSQL takes at most 32,767 parameters per statement
        inserted += (
            await session.execute(
                insert(Checkin)
                .values(rows[start : start + 1000])
                .on_conflict_do_nothing(index_elements=["round_id", "token"])
                .returning(Checkin.checked_in_at, Checkin.contribution_cents, Checkin.payment, Checkin.channel)
            )
        ).all()
    tablet = sum(1 for row in inserted if row.channel == Channel.TABLET.value)
    cash = sum(row.contribution_cents for row in inserted if row.payment == Payment.CASH.value)
    cheque = sum(row.contribution_cents for row in inserted if row.payment == Payment.CHEQUE.value)
    covered = sum(1 for row in inserted if row.payment == Payment.COVERED.value)
    await session.execute(
        update(StationRound)
        .where(StationRound.round_id == round_.id, StationRound.station_id == station.id)
        .values(
            checkins_tablet=StationRound.checkins_tablet + tablet,
            checkins_paper=StationRound.checkins_paper + (len(inserted) - tablet),
            contributions_cents=StationRound.contributions_cents + sum(row.contribution_cents for row in inserted),
            cash_cents=StationRound.cash_cents + cash,
            cheque_cents=StationRound.cheque_cents + cheque,
            covered=StationRound.covered + covered,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    for row in sorted(inserted, key=lambda r: r.checked_in_at):
        record(
            session,
            events.VoterCheckedIn(
                actor=actor,
                round_id=round_.id,
                department_code=station.department_code,
                station_code=station.code,
                checked_in_at=row.checked_in_at.isoformat(timespec="seconds"),
                contribution_cents=row.contribution_cents,
                payment=row.payment,
                channel=row.channel,
            ),
        )
    return len(inserted)
