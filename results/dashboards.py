"""What the departmental commissions and the national committee see, live (not at a checkpoint:
these are working screens): per station, what each channel sent, what counts, what disagrees,
what waits for validation, and whom to call when nothing came.

A station's status, in the order the commission works through them:

- « écart entre canaux »: its latest provisional figures (SMS, phone or tablet) and its paper
  PV disagree — both sets of figures are shown, the differing ones marked;
- « saisies papier discordantes »: two members keyed the paper PV differently;
- « à valider »: figures count (and agree where both exist);
- « en attente de confirmation »: an SMS or tablet report waits for its OK / countersignature;
- « non transmis »: nothing yet — the staff's phones are listed;
- « validé », « décision de la Haute Autorité ».
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service as polling
from polling.models import Station, StationStaff, StationState
from results.config import results_settings
from results.models import Channel, DecisionKind, ResultsPaperEntry, ValidationAction
from results.report import StationReport
from results.service import differing_fields, report_of
from services.db import utcnow
from services.elections.models import Phase, Round

STATUS_LABELS = {
    "mismatch": "Écart entre canaux",
    "paper_disagreement": "Saisies papier discordantes",
    "to_validate": "À valider",
    "second_entry": "Seconde saisie du PV attendue",
    "pending": "En attente de confirmation",
    "awaited": "Non transmis",
    "validated": "Validé",
    "decided": "Décision de la Haute Autorité",
}
STATUS_BADGES = {
    "mismatch": "error",
    "paper_disagreement": "error",
    "to_validate": "warn",
    "second_entry": "warn",
    "pending": "warn",
    "awaited": "",
    "validated": "ok",
    "decided": "ok",
}
QUEUE_ORDER = ("mismatch", "paper_disagreement", "second_entry", "to_validate", "pending")


@dataclass
class ReportLine:
    id: int
    version: int
    channel: str
    counted: bool
    received_at: datetime
    report: StationReport
    findings: list[dict[str, Any]]
    sender: str

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label


@dataclass
class StationLine:
    station: Station
    state: StationState
    checkins: int
    reports: list[ReportLine] = field(default_factory=list)  # latest version first
    validation_action: str | None = None
    validated_report_id: int | None = None
    validation_comment: str = ""
    decisions: list[str] = field(default_factory=list)
    paper_entries_open: list[ResultsPaperEntry] = field(default_factory=list)
    staff: list[StationStaff] = field(default_factory=list)

    def latest(self, channels: tuple[str, ...] | None = None, *, counted: bool = True) -> ReportLine | None:
        return next(
            (r for r in self.reports if (r.counted or not counted) and (channels is None or r.channel in channels)),
            None,
        )

    @property
    def provisional(self) -> ReportLine | None:
        return self.latest((Channel.SMS.value, Channel.PHONE.value, Channel.TABLET.value))

    @property
    def paper(self) -> ReportLine | None:
        return self.latest((Channel.PAPER.value, Channel.NOT_OPENED.value))

    @property
    def counted(self) -> ReportLine | None:
        return self.latest()

    @property
    def pending(self) -> ReportLine | None:
        return self.reports[0] if self.reports and not self.reports[0].counted else None

    @property
    def pending_expired(self) -> bool:
        pending = self.pending
        if pending is None or pending.channel != Channel.SMS.value:
            return False
        return utcnow() - pending.received_at > timedelta(minutes=results_settings().confirmation_minutes)

    @property
    def validated(self) -> bool:
        return self.validation_action == ValidationAction.VALIDATED.value

    @property
    def mismatch(self) -> list[str]:
        provisional, paper = self.provisional, self.paper
        if provisional is None or paper is None:
            return []
        return differing_fields(provisional.report, paper.report)

    @property
    def paper_disagreement(self) -> bool:
        members = {entry.account_id: entry for entry in self.paper_entries_open}
        return len({report_of(entry) for entry in members.values()}) > 1

    @property
    def gaps(self) -> list[dict[str, Any]]:
        counted = self.counted
        return counted.findings if counted else []

    @property
    def status(self) -> str:
        if self.decisions:
            return "decided"
        if self.validated:
            return "validated"
        if self.mismatch:
            return "mismatch"
        if self.paper_disagreement:
            return "paper_disagreement"
        if self.paper_entries_open and self.paper is None:
            return "second_entry"
        if self.counted is not None:
            return "to_validate"
        if self.pending is not None:
            return "pending"
        return "awaited"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def badge(self) -> str:
        return STATUS_BADGES[self.status]


@dataclass
class ChannelAgreement:
    channel: str
    stations: int = 0  # stations whose latest provisional figures came by this channel
    compared: int = 0  # ... that also have a paper PV
    agree: int = 0

    @property
    def label(self) -> str:
        return Channel(self.channel).label

    @property
    def rate(self) -> float | None:
        return self.agree / self.compared if self.compared else None


@dataclass
class Overview:
    round: Round
    department: str | None
    lines: list[StationLine]

    def by_status(self, status: str) -> list[StationLine]:
        return [line for line in self.lines if line.status == status]

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for line in self.lines:
            counts[line.status] += 1
        return counts

    @property
    def queue(self) -> list[StationLine]:
        order = {status: i for i, status in enumerate(QUEUE_ORDER)}
        waiting = [line for line in self.lines if line.status in order]
        return sorted(waiting, key=lambda line: (order[line.status], -len(line.gaps), line.station.code))

    @property
    def awaited(self) -> list[StationLine]:
        return [line for line in self.lines if line.status in ("awaited", "pending")]

    @property
    def reported(self) -> int:
        return sum(1 for line in self.lines if line.counted is not None or line.decisions)

    @property
    def validated(self) -> int:
        return sum(1 for line in self.lines if line.status in ("validated", "decided"))

    @property
    def with_gaps(self) -> int:
        return sum(1 for line in self.lines if line.gaps and line.status not in ("validated", "decided"))

    def agreement(self) -> list[ChannelAgreement]:
        table = {channel.value: ChannelAgreement(channel.value) for channel in Channel if channel.provisional}
        for line in self.lines:
            provisional = line.provisional
            if provisional is None:
                continue
            row = table[provisional.channel]
            row.stations += 1
            if line.paper is not None:
                row.compared += 1
                row.agree += int(not line.mismatch)
        return list(table.values())

    def per_department(self) -> list[dict[str, Any]]:
        groups: dict[str, list[StationLine]] = defaultdict(list)
        for line in self.lines:
            groups[line.station.department_code].append(line)
        rows = []
        for code, lines in sorted(groups.items()):
            statuses = [line.status for line in lines]
            rows.append(
                {
                    "code": code,
                    "stations": len(lines),
                    "reported": sum(1 for line in lines if line.counted is not None or line.decisions),
                    "validated": sum(1 for s in statuses if s in ("validated", "decided")),
                    "mismatch": statuses.count("mismatch") + statuses.count("paper_disagreement"),
                    "to_validate": statuses.count("to_validate") + statuses.count("second_entry"),
                    "awaited": statuses.count("awaited") + statuses.count("pending"),
                }
            )
        return rows


REPORTS_SQL = """
SELECT r.id, r.station_id, r.version, r.channel, c.report_id IS NOT NULL AS counted, r.received_at,
       r.signatures, r.blank, r.nulls, r.votes, r.contributions_cents, r.findings, r.sender
FROM results_report r LEFT JOIN results_confirmation c ON c.report_id = r.id
WHERE r.round_id = :round_id {department}
ORDER BY r.station_id, r.version DESC
"""

VALIDATIONS_SQL = """
SELECT DISTINCT ON (station_id) station_id, action, report_id, comment
FROM results_validation WHERE round_id = :round_id {department}
ORDER BY station_id, version DESC
"""

DECISIONS_SQL = "SELECT station_id, kind, reference FROM results_decision WHERE round_id = :round_id {department} ORDER BY id"


async def overview(session: AsyncSession, round_: Round, department: str | None = None, *, with_staff: bool = True) -> Overview:
    """Every station of the round (of one department), with what each channel sent."""
    rows = await polling.round_station_counts(session, round_.id, department)
    lines = {row.station.id: StationLine(row.station, row.state, row.counts.total) for row in rows}
    where = "AND department_code = :department" if department else ""
    params: dict[str, Any] = {"round_id": round_.id, "department": department}
    for r in await session.execute(text(REPORTS_SQL.format(department=where.replace("department_code", "r.department_code"))), params):
        line = lines.get(r.station_id)
        if line is not None:
            line.reports.append(
                ReportLine(
                    r.id, r.version, r.channel, r.counted, r.received_at,
                    StationReport(r.signatures, r.blank, r.nulls, tuple(r.votes), r.contributions_cents), r.findings, r.sender,
                )
            )  # fmt: skip
    for v in await session.execute(text(VALIDATIONS_SQL.format(department=where)), params):
        line = lines.get(v.station_id)
        if line is not None:
            line.validation_action, line.validated_report_id, line.validation_comment = v.action, v.report_id, v.comment
    for d in await session.execute(text(DECISIONS_SQL.format(department=where)), params):
        line = lines.get(d.station_id)
        if line is not None:
            line.decisions.append(f"{DecisionKind(d.kind).label} ({d.reference})")
    entries = select(ResultsPaperEntry).where(ResultsPaperEntry.round_id == round_.id).order_by(ResultsPaperEntry.id)
    if department:
        entries = entries.where(ResultsPaperEntry.department_code == department)
    last_pv: dict[int, int] = {}
    for line in lines.values():
        paper = next((r for r in line.reports if r.channel == Channel.PAPER.value), None)
        if paper is not None:
            last_pv[line.station.id] = paper.id
    pv_entries = await _pv_entry_bounds(session, round_.id, list(last_pv.values()))
    for entry in await session.scalars(entries):
        line = lines.get(entry.station_id)
        if line is not None and entry.id > pv_entries.get(entry.station_id, 0):
            line.paper_entries_open.append(entry)
    if with_staff:
        waiting = [line.station.id for line in lines.values() if line.counted is None]
        if waiting:
            for staff in await session.scalars(
                select(StationStaff).where(StationStaff.station_id.in_(waiting)).order_by(StationStaff.role.desc(), StationStaff.name)
            ):
                lines[staff.station_id].staff.append(staff)
    return Overview(round_, department, list(lines.values()))


async def _pv_entry_bounds(session: AsyncSession, round_id: int, report_ids: list[int]) -> dict[int, int]:
    """Station id → the highest paper entry id used by its latest paper PV."""
    if not report_ids:
        return {}
    rows = await session.execute(
        text("SELECT station_id, paper_entry_ids FROM results_report WHERE id = ANY(:ids)"), {"ids": report_ids}
    )
    return {row.station_id: max(row.paper_entry_ids or [0]) for row in rows}


async def station_line(session: AsyncSession, round_: Round, station: Station) -> StationLine:
    """One station's line (the station page)."""
    full = await overview(session, round_, station.department_code)
    line = next((line for line in full.lines if line.station.id == station.id), None)
    assert line is not None
    if not line.staff:
        line.staff = await polling.staff_of(session, station.id)
    return line


async def dashboard_round(session: AsyncSession, election_id: int, number: int | None = None) -> Round | None:
    """The round the dashboards show: the one asked for, else the one receiving results, else
    the latest that has left set-up, else round 1."""
    from services.elections import service as elections

    rounds = await elections.rounds_of(session, election_id)
    if not rounds:
        return None
    if number is not None:
        return next((round_ for round_ in rounds if round_.number == number), None)
    receiving = [r for r in rounds if r.phase in (Phase.POLLS_OPEN.value, Phase.POLLS_CLOSED.value)]
    if receiving:
        return receiving[-1]
    started = [r for r in rounds if r.phase != Phase.SETUP.value]
    return started[-1] if started else rounds[0]
