"""Which figures count for each station, live or at a transparency-log checkpoint.

Nothing here sums anything: it selects, per station, the facts that count (see
results/models.py) and hands them to the pure `results.aggregation`.

- **provisional**: the station's validated figures if its commission validated them, else its
  latest counted report (any channel); then the high authority's decisions;
- **final**: the validated figures only; then the decisions.

"At a checkpoint of size N": only the facts whose audit event is one of the first N leaves of
the log count (a join on `audit_leaf`). The log holds every figure in full, so the same
numbers can be recomputed from the log's export by anyone; and since a checkpoint never
changes, neither do figures computed at it (they are cached per checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from results import aggregation
from results.models import DecisionKind
from results.report import StationReport
from services.db import driver_connection
from services.territory.models import Department


class Kind(StrEnum):
    PROVISIONAL = "provisional"
    FINAL = "final"

    @property
    def label(self) -> str:
        return {"provisional": "provisoires", "final": "définitifs"}[self.value]


def _leaf_join(alias: str, sized: bool) -> str:
    if not sized:
        return ""
    return f"JOIN audit_leaf l ON l.event_id = {alias}.event_id AND l.leaf_index < $3"


# Positional parameters ($1 round, $2 election, $3 tree size): these statements are sent on the
# raw asyncpg connection (`services.db.driver_connection`), prepared once per connection. The
# station's code comes with each row (the join keeps the election's stations only).
FIGURE_COLUMNS = "r.signatures, r.blank, r.nulls, r.votes, r.contributions_cents"


def _counted_sql(sized: bool) -> str:
    return f"""
    SELECT DISTINCT ON (c.station_id) s.code, r.channel, {FIGURE_COLUMNS}
    FROM results_confirmation c
    {_leaf_join("c", sized)}
    JOIN results_report r ON r.id = c.report_id
    JOIN station s ON s.id = c.station_id AND s.election_id = $2
    WHERE c.round_id = $1
    ORDER BY c.station_id, c.version DESC
    """


def _validated_sql(sized: bool) -> str:
    return f"""
    SELECT code, channel, signatures, blank, nulls, votes, contributions_cents FROM (
        SELECT DISTINCT ON (v.station_id) s.code, v.action, r.channel, {FIGURE_COLUMNS}
        FROM results_validation v
        {_leaf_join("v", sized)}
        JOIN station s ON s.id = v.station_id AND s.election_id = $2
        LEFT JOIN results_report r ON r.id = v.report_id
        WHERE v.round_id = $1
        ORDER BY v.station_id, v.version DESC
    ) latest WHERE action = 'validated'
    """


def _decisions_sql(sized: bool) -> str:
    order = "l.leaf_index" if sized else "d.id"
    return f"""
    SELECT d.id, d.station_id, d.kind, d.reference, d.motive, d.at,
           d.signatures, d.blank, d.nulls, d.votes, d.contributions_cents, s.code
    FROM results_decision d
    {_leaf_join("d", sized)}
    JOIN station s ON s.id = d.station_id AND s.election_id = $2
    WHERE d.round_id = $1
    ORDER BY {order}
    """


class Counted(NamedTuple):
    """What counts per station code: the figures, and the channel each came by."""

    figures: dict[str, aggregation.Figures]
    channels: dict[str, str]


@dataclass(frozen=True)
class Decision:
    id: int
    station_id: int
    kind: DecisionKind
    reference: str
    motive: str
    at: datetime
    report: StationReport | None
    station_code: str = ""


_new_tuple = tuple.__new__
_Figures = aggregation.Figures


async def _fetch(session: AsyncSession, sql: str, round_id: int, election_id: int, tree_size: int | None) -> list:
    connection = await driver_connection(session)
    if tree_size is None:
        return await connection.fetch(sql, round_id, election_id)
    return await connection.fetch(sql, round_id, election_id, tree_size)


def _counted_by_code(rows: list) -> Counted:
    """Rows (code, channel, signatures, blank, nulls, votes, contributions) → figures and
    channels per station code. Plain tuples, no per-row validation: the figures were checked
    when received, and the aggregation checks their shape and sign again."""
    with aggregation.cyclic_gc_paused():
        return Counted({row[0]: _new_tuple(_Figures, row[2:]) for row in rows}, {row[0]: row[1] for row in rows})


async def counted_reports(
    session: AsyncSession, round_id: int, election_id: int, *, tree_size: int | None = None
) -> Counted:
    """Per station code, its latest counted report (live, or at the checkpoint of `tree_size`)."""
    return _counted_by_code(await _fetch(session, _counted_sql(tree_size is not None), round_id, election_id, tree_size))


async def validated_reports(
    session: AsyncSession, round_id: int, election_id: int, *, tree_size: int | None = None
) -> Counted:
    """Per station code, the figures its commission validated (and has not reopened)."""
    return _counted_by_code(await _fetch(session, _validated_sql(tree_size is not None), round_id, election_id, tree_size))


async def decisions_of(
    session: AsyncSession, round_id: int, election_id: int, *, tree_size: int | None = None
) -> list[Decision]:
    rows = await _fetch(session, _decisions_sql(tree_size is not None), round_id, election_id, tree_size)
    return [
        Decision(
            row["id"], row["station_id"], DecisionKind(row["kind"]), row["reference"], row["motive"], row["at"],
            StationReport(row["signatures"], row["blank"], row["nulls"], tuple(row["votes"]), row["contributions_cents"])
            if row["kind"] == DecisionKind.REPLACE.value else None,
            row["code"],
        )
        for row in rows
    ]  # fmt: skip


async def station_figures(
    session: AsyncSession, round_id: int, election_id: int, kind: Kind, *, tree_size: int | None = None
) -> tuple[Counted, Counted, list[Decision]]:
    """(figures that count per station code, the validated ones, the decisions) for `kind`."""
    validated = await validated_reports(session, round_id, election_id, tree_size=tree_size)
    if kind == Kind.FINAL:
        chosen = Counted(dict(validated.figures), dict(validated.channels))
    else:
        chosen = await counted_reports(session, round_id, election_id, tree_size=tree_size)
        chosen.figures.update(validated.figures)
        chosen.channels.update(validated.channels)
    return chosen, validated, await decisions_of(session, round_id, election_id, tree_size=tree_size)


# --- The stations of an election (what the aggregation is over) ----------------------------------


class StationInfo(NamedTuple):
    """A station of the election as the results pages need it (a named tuple: 15,000 are read
    for every snapshot)."""

    id: int
    code: str
    name: str
    department_code: str
    canton_code: str
    registered: int
    opens_at: time | None
    closes_at: time | None


STATION_FRAME = """
    SELECT id, code, name, department_code, canton_code, registered, opens_at, closes_at
    FROM station WHERE election_id = $1 ORDER BY department_code, plan_key
    """


async def station_frame(session: AsyncSession, election_id: int) -> list[StationInfo]:
    """Every station of the election (the documented `Station` fields), in plan order. Read on
    the raw asyncpg connection: 15,000 of them are read for every snapshot, and SQLAlchemy's
    per-row work (let alone the ORM's) was most of a snapshot's time."""
    rows = await (await driver_connection(session)).fetch(STATION_FRAME, election_id)
    with aggregation.cyclic_gc_paused():
        return [_new_tuple(StationInfo, row) for row in rows]


_regions: dict[str, str] = {}


async def department_regions(session: AsyncSession) -> dict[str, str]:
    """Department → region (2016 map); a collectivity without region is its own region."""
    if not _regions:
        rows = await session.execute(select(Department.code, Department.region_code))
        _regions.update({code: region or code for code, region in rows})
    return _regions


_new_station = aggregation.Station


def aggregate(
    stations: list[StationInfo],
    chosen: Counted,
    decisions: list[Decision],
    *,
    candidate_count: int,
    regions: dict[str, str],
) -> aggregation.Aggregation:
    with aggregation.cyclic_gc_paused():
        return aggregation.aggregate_counted(
            [_new_tuple(_new_station, (s[1], s[3], s[4] or None, s[5] or None)) for s in stations],
            chosen.figures,
            candidate_count=candidate_count,
            department_regions=regions,
            decisions=[
                aggregation.StationDecision(d.station_code, aggregation.DecisionKind(d.kind.value), d.reference, d.report)
                for d in decisions
            ],
        )
