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

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polling.models import Station
from results import aggregation
from results.models import DecisionKind
from results.report import StationReport
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
    return f"JOIN audit_leaf l ON l.event_id = {alias}.event_id AND l.leaf_index < :size"


def _counted_sql(sized: bool) -> str:
    return f"""
    SELECT DISTINCT ON (c.station_id) c.station_id, r.channel, c.version,
           r.signatures, r.blank, r.nulls, r.votes, r.contributions_cents
    FROM results_confirmation c
    {_leaf_join("c", sized)}
    JOIN results_report r ON r.id = c.report_id
    WHERE c.round_id = :round_id
    ORDER BY c.station_id, c.version DESC
    """


def _validated_sql(sized: bool) -> str:
    return f"""
    SELECT * FROM (
        SELECT DISTINCT ON (v.station_id) v.station_id, v.action, r.channel,
               r.signatures, r.blank, r.nulls, r.votes, r.contributions_cents
        FROM results_validation v
        {_leaf_join("v", sized)}
        LEFT JOIN results_report r ON r.id = v.report_id
        WHERE v.round_id = :round_id
        ORDER BY v.station_id, v.version DESC
    ) latest WHERE action = 'validated'
    """


def _decisions_sql(sized: bool) -> str:
    order = "l.leaf_index" if sized else "d.id"
    return f"""
    SELECT d.id, d.station_id, d.kind, d.reference, d.motive, d.at,
           d.signatures, d.blank, d.nulls, d.votes, d.contributions_cents
    FROM results_decision d
    {_leaf_join("d", sized)}
    WHERE d.round_id = :round_id
    ORDER BY {order}
    """


@dataclass(frozen=True)
class Counted:
    channel: str
    report: StationReport


@dataclass(frozen=True)
class Decision:
    id: int
    station_id: int
    kind: DecisionKind
    reference: str
    motive: str
    at: datetime
    report: StationReport | None


def _report(row) -> StationReport:  # noqa: ANN001 - a result row
    return StationReport(row.signatures, row.blank, row.nulls, tuple(row.votes), row.contributions_cents)


async def counted_reports(session: AsyncSession, round_id: int, *, tree_size: int | None = None) -> dict[int, Counted]:
    """Station id → its latest counted report (live, or at the checkpoint of `tree_size`)."""
    params = {"round_id": round_id, "size": tree_size}
    rows = await session.execute(text(_counted_sql(tree_size is not None)), params)
    return {row.station_id: Counted(row.channel, _report(row)) for row in rows}


async def validated_reports(session: AsyncSession, round_id: int, *, tree_size: int | None = None) -> dict[int, Counted]:
    """Station id → the figures its commission validated (and has not reopened)."""
    params = {"round_id": round_id, "size": tree_size}
    rows = await session.execute(text(_validated_sql(tree_size is not None)), params)
    return {row.station_id: Counted(row.channel, _report(row)) for row in rows}


async def decisions_of(session: AsyncSession, round_id: int, *, tree_size: int | None = None) -> list[Decision]:
    params = {"round_id": round_id, "size": tree_size}
    rows = await session.execute(text(_decisions_sql(tree_size is not None)), params)
    return [
        Decision(
            row.id, row.station_id, DecisionKind(row.kind), row.reference, row.motive, row.at,
            _report(row) if row.kind == DecisionKind.REPLACE.value else None,
        )
        for row in rows
    ]  # fmt: skip


async def station_figures(
    session: AsyncSession, round_id: int, kind: Kind, *, tree_size: int | None = None
) -> tuple[dict[int, Counted], dict[int, Counted], list[Decision]]:
    """(figures that count per station id, the validated ones, the decisions) for `kind`."""
    validated = await validated_reports(session, round_id, tree_size=tree_size)
    if kind == Kind.FINAL:
        chosen = dict(validated)
    else:
        chosen = await counted_reports(session, round_id, tree_size=tree_size)
        chosen.update(validated)
    return chosen, validated, await decisions_of(session, round_id, tree_size=tree_size)


# --- The stations of an election (what the aggregation is over) ----------------------------------


@dataclass(frozen=True)
class StationInfo:
    id: int
    code: str
    name: str
    department_code: str
    canton_code: str
    registered: int
    opens_at: time | None
    closes_at: time | None


STATION_FRAME = text(
    """
    SELECT id, code, name, department_code, canton_code, registered, opens_at, closes_at
    FROM station WHERE election_id = :election_id ORDER BY department_code, plan_key
    """
)


async def station_frame(session: AsyncSession, election_id: int) -> list[StationInfo]:
    """Every station of the election (the documented `Station` fields), in plan order. Plain
    SQL rows: 15,000 of them are read for every snapshot, and the ORM's per-row work was most
    of a snapshot's time."""
    rows = (await session.execute(STATION_FRAME, {"election_id": election_id})).all()
    with aggregation.cyclic_gc_paused():
        return [StationInfo(*row) for row in rows]


_regions: dict[str, str] = {}


async def department_regions(session: AsyncSession) -> dict[str, str]:
    """Department → region (2016 map); a collectivity without region is its own region."""
    if not _regions:
        rows = await session.execute(select(Department.code, Department.region_code))
        _regions.update({code: region or code for code, region in rows})
    return _regions


def aggregate(
    stations: list[StationInfo],
    chosen: dict[int, Counted],
    decisions: list[Decision],
    *,
    candidate_count: int,
    regions: dict[str, str],
) -> aggregation.Aggregation:
    with aggregation.cyclic_gc_paused():
        return _aggregate(stations, chosen, decisions, candidate_count=candidate_count, regions=regions)


def _aggregate(
    stations: list[StationInfo],
    chosen: dict[int, Counted],
    decisions: list[Decision],
    *,
    candidate_count: int,
    regions: dict[str, str],
) -> aggregation.Aggregation:
    by_id = {station.id: station for station in stations}
    return aggregation.aggregate(
        [aggregation.Station(s.code, s.department_code, s.canton_code or None, s.registered or None) for s in stations],
        [aggregation.CountedReport(by_id[station_id].code, counted.report) for station_id, counted in chosen.items() if station_id in by_id],
        candidate_count=candidate_count,
        department_regions=regions,
        decisions=[
            aggregation.StationDecision(
                by_id[d.station_id].code,
                aggregation.DecisionKind(d.kind.value),
                d.reference,
                d.report,
            )
            for d in decisions
            if d.station_id in by_id
        ],
    )
