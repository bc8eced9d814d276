"""Live dashboards of polling day: stations opened and not opened, turnout curve,
contributions, a map of departments. Figures are sums of check-ins and of the stations'
turnout reports — nothing here is typed.

The turnout curve counts, every 15 minutes from opening to closing, the voters checked in so
far: tablet and paper check-ins by their time, plus, for the stations that check in on paper
only (no check-in recorded yet), their last « PART » report at or before that time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from html import escape

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service
from polling.models import STATE_ORDER, Checkin, Station, StationRound, StationStaff, StationState, StaffRole, TurnoutReport
from services.elections.models import Round
from services.telephony.phone import mask_phone
from services.territory.maps import department_map_svg

STEP_MINUTES = 15


@dataclass(frozen=True)
class CurvePoint:
    at: time
    voters: int


def _local_minute_of_day(department, moment):  # noqa: ANN001, ANN202 - SQL expressions
    """SQL: minutes since local midnight of `moment`, in the time zone of the department."""
    zone = case(*((department == code, name) for code, name in service.ZONES.items()), else_=service.PARIS.key)
    local = func.timezone(zone, moment)
    return func.extract("hour", local) * 60 + func.extract("minute", local)


async def turnout_curve(session: AsyncSession, round_: Round, department: str | None = None) -> list[CurvePoint]:
    """Cumulative voters every 15 minutes of polling day, at each station's LOCAL time of day
    (overseas stations, which vote the day before or in another time zone, line up with the
    others: « voters by 11h » means by 11h where they vote)."""
    opens = round_.opens_at.hour * 60 + round_.opens_at.minute
    closes = round_.closes_at.hour * 60 + round_.closes_at.minute
    minute = _local_minute_of_day(Checkin.department_code, Checkin.checked_in_at)
    bucket = func.floor(minute / STEP_MINUTES)
    query = select(bucket.label("bucket"), func.count()).where(Checkin.round_id == round_.id).group_by(text("1"))
    if department:
        query = query.where(Checkin.department_code == department)
    per_bucket = {int(row[0]): int(row[1]) for row in await session.execute(query)}
    # Stations without any check-in: their « PART » reports, as a step function per station.
    reports_query = (
        select(TurnoutReport.station_round_id, TurnoutReport.at_time, TurnoutReport.voters)
        .join(StationRound, StationRound.id == TurnoutReport.station_round_id)
        .where(StationRound.round_id == round_.id, StationRound.checkins_tablet + StationRound.checkins_paper == 0)
        .order_by(TurnoutReport.station_round_id, TurnoutReport.at_time)
    )
    if department:
        reports_query = reports_query.where(StationRound.department_code == department)
    reports: dict[int, list[tuple[time, int]]] = defaultdict(list)
    for station_round_id, at_time, voters in await session.execute(reports_query):
        reports[station_round_id].append((at_time, voters))
    points = []
    for point_minute in range(opens, closes + 1, STEP_MINUTES):
        checked_in = sum(count for index, count in per_bucket.items() if (index + 1) * STEP_MINUTES <= point_minute)
        clock = time(point_minute // 60, point_minute % 60)
        reported = sum(max((v for t, v in steps if t <= clock), default=0) for steps in reports.values())
        points.append(CurvePoint(clock, checked_in + reported))
    if closes % STEP_MINUTES:  # the last point at closing time exactly
        clock = time(closes // 60, closes % 60)
        reported = sum(max((v for t, v in steps if t <= clock), default=0) for steps in reports.values())
        points.append(CurvePoint(clock, sum(per_bucket.values()) + reported))
    return points


async def reported_only(session: AsyncSession, round_: Round, department: str | None = None) -> int:
    """Voters announced by « PART » by the stations that have no check-in recorded (their last report)."""
    latest = (
        select(TurnoutReport.station_round_id, func.max(TurnoutReport.voters).label("voters"))
        .join(StationRound, StationRound.id == TurnoutReport.station_round_id)
        .where(StationRound.round_id == round_.id, StationRound.checkins_tablet + StationRound.checkins_paper == 0)
        .group_by(TurnoutReport.station_round_id)
    )
    if department:
        latest = latest.where(StationRound.department_code == department)
    return int(await session.scalar(select(func.coalesce(func.sum(latest.subquery().c.voters), 0))) or 0)


def curve_svg(points: list[CurvePoint], *, now: time | None = None, registered: int = 0, label: str = "Participation") -> str:
    """The curve as an inline SVG (drawn on the server): votants over the day, hour ticks."""
    width, height, left, bottom, top, right = 640, 260, 56, 30, 14, 14
    if not points:
        return ""
    shown = [p for p in points if now is None or p.at <= now] or points[:1]
    highest = max([p.voters for p in points] + [10])
    scale = _nice(highest)
    span = len(points) - 1 or 1

    def x(index: int) -> float:
        return left + (width - left - right) * index / span

    def y(value: int) -> float:
        return top + (height - top - bottom) * (1 - value / scale)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="curve" '
        f'aria-label="{escape(label)} : {shown[-1].voters} votants à {shown[-1].at:%Hh%M}">'
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = int(scale * fraction)
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{width - right}" y2="{y(value):.1f}" stroke="#e3e5ee"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" fill="#5d6275">{_short(value)}</text>'
        )
    for index, point in enumerate(points):
        if point.at.minute == 0:
            parts.append(
                f'<text x="{x(index):.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="#5d6275">{point.at.hour}h</text>'
            )
    path = " ".join(f"{x(i):.1f},{y(p.voters):.1f}" for i, p in enumerate(shown))
    parts.append(f'<polyline points="{path}" fill="none" stroke="#2b3a8c" stroke-width="3" stroke-linejoin="round"/>')
    last = shown[-1]
    parts.append(
        f'<circle cx="{x(len(shown) - 1):.1f}" cy="{y(last.voters):.1f}" r="4" fill="#2b3a8c"><title>{last.voters} votants à '
        f"{last.at:%Hh%M}</title></circle>"
    )
    if registered:
        parts.append(
            f'<text x="{width - right}" y="{top + 10}" font-size="11" text-anchor="end" fill="#5d6275">'
            f"{escape(f'{last.voters / registered * 100:.1f}'.replace('.', ','))} % des inscrits</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice(value: int) -> int:
    """A round upper bound for the axis (12 → 20, 1234 → 1500, 48000 → 50000)."""
    magnitude = 10 ** (len(str(max(value, 1))) - 1)
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return 10 * magnitude


def _short(value: int) -> str:
    return f"{value / 1000:.0f} k" if value >= 10_000 else f"{value:,}".replace(",", "\u202f")


@dataclass(frozen=True)
class StationLine:
    code: str
    name: str
    department_code: str
    state: StationState
    opened_at: datetime | None
    voters: int
    contributions_cents: int
    registered: int
    president: str
    phones: tuple[str, ...]

    @property
    def opened_local(self) -> str:
        """Opening time at the station's own clock (overseas stations open at 8h THEIR time)."""
        return self.opened_at.astimezone(service.zone_of(self.department_code)).strftime("%H:%M") if self.opened_at else "—"


async def station_lines(session: AsyncSession, round_: Round, department: str | None, *, phones: bool) -> list[StationLine]:
    rows = await service.round_station_counts(session, round_.id, department)
    staff_query = select(StationStaff).join(Station, Station.id == StationStaff.station_id).where(Station.election_id == round_.election_id)
    if department:
        staff_query = staff_query.where(Station.department_code == department)
    staff: dict[int, list[StationStaff]] = defaultdict(list)
    for member in await session.scalars(staff_query.order_by(StationStaff.role.desc(), StationStaff.id)):
        staff[member.station_id].append(member)
    lines = []
    for row in rows:
        team = staff.get(row.station.id, [])
        president = next((m.name for m in team if m.role == StaffRole.PRESIDENT.value), "")
        numbers = tuple((m.phone if phones else mask_phone(m.phone)) for m in team if m.phone)
        lines.append(
            StationLine(
                row.station.code, row.station.name, row.station.department_code, row.state, row.opened_at,
                row.counts.total, row.counts.contributions_cents, row.station.registered, president, numbers,
            )
        )
    return lines


def is_opened(state: StationState) -> bool:
    return STATE_ORDER.index(state) >= STATE_ORDER.index(StationState.OPEN)


async def department_figures(session: AsyncSession, round_: Round) -> dict[str, dict[str, int]]:
    """Per department: stations, opened, voters, registered, contributions (for the map and the table)."""
    query = (
        select(
            Station.department_code,
            func.count(Station.id),
            func.count(Station.id).filter(StationRound.state.in_([s.value for s in STATE_ORDER[STATE_ORDER.index(StationState.OPEN):]])),
            func.coalesce(func.sum(StationRound.checkins_tablet + StationRound.checkins_paper), 0),
            func.coalesce(func.sum(Station.registered), 0),
            func.coalesce(func.sum(StationRound.contributions_cents), 0),
        )
        .outerjoin(StationRound, (StationRound.station_id == Station.id) & (StationRound.round_id == round_.id))
        .where(Station.election_id == round_.election_id)
        .group_by(Station.department_code)
    )
    return {
        code: {"stations": int(n), "opened": int(opened), "voters": int(voters), "registered": int(registered), "cents": int(cents)}
        for code, n, opened, voters, registered, cents in await session.execute(query)
    }


def turnout_map(figures: dict[str, dict[str, int]], names: dict[str, str]) -> str:
    """Departments coloured by the share of registered voters who voted so far."""
    palette = ["#dfe3f5", "#b7c0ea", "#8c9bdc", "#5f73c9", "#2b3a8c"]
    fills, titles, links = {}, {}, {}
    for code, figure in figures.items():
        share = figure["voters"] / figure["registered"] if figure["registered"] else 0
        fills[code] = palette[min(int(share * 100 / 5), len(palette) - 1)]
        titles[code] = (
            f"{code} {names.get(code, '')} : {figure['voters']} votants ({share * 100:.1f} % des inscrits), "
            f"{figure['opened']}/{figure['stations']} bureaux ouverts"
        ).replace(".", ",", 1)
        links[code] = f"/departements/{code}/bureaux/tableau-de-bord"
    return department_map_svg(fills, titles, links=links, label="Participation par département")
