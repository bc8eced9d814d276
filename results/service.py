"""Results night: the services (take the session, flush, never commit).

Every channel ends in the same two steps, under a per-station lock:

1. `receive_report` — the figures are checked (`results.report.check_report` against the
   station's check-ins, registered voters and contribution rules); errors refuse the report
   (French message with the figures, nothing stored), gaps are stored and shown with their
   sizes. The report gets the station's next `version`; the unconfirmed version it replaces
   is named in the event.
2. `count_report` — the fact that makes it count (OK by SMS, « 1 » on the phone, an assessor's
   countersignature, two identical paper entries), recorded with the version it replaces as
   the station's provisional figures. The station is marked « reported » in polling.

Then the departmental commission reconciles and validates (`validate_station`, `reopen_station`,
`declare_not_opened`), the high authority records decisions (`record_decision`) and proclaims
(`proclaim_round`, resting on a signed log checkpoint). Phase rules:

- reports (every channel) and paper entries: round « polls open » (once the station's polls
  have closed) or « polls closed », and the station not validated;
- validation and reopening: the same phases (after « results validated » the figures are
  frozen: only the high authority's decisions change them);
- decisions: from « polls closed » on, including after the proclamation (they are what
  changes a proclaimed figure, and the publication then says « correction »).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service as polling
from polling.models import Station, StationRound, StationState
from results import events
from results.config import results_settings
from results.models import (
    Channel,
    ConfirmedVia,
    DecisionKind,
    ResultsConfirmation,
    ResultsDecision,
    ResultsPaperEntry,
    ResultsProclamation,
    ResultsReport,
    ResultsValidation,
    ValidationAction,
)
from results.report import Finding, ReportContext, Severity, StationReport, check_report, french_int
from services.db import utcnow
from services.elections import service as elections
from services.elections.models import Candidate, Election, Phase, Round
from services.errors import Conflict, Forbidden, InvalidInput, NotFound, WrongPhase
from services.events import Actor, AuditEvent, record
from services.settings import settings

REPORT_PHASES = (Phase.POLLS_OPEN, Phase.POLLS_CLOSED)
DECISION_PHASES = (Phase.POLLS_CLOSED, Phase.RESULTS_VALIDATED, Phase.PROCLAIMED)

# Local time of each department where it is not Paris' (station hours are local hours).
DEPARTMENT_TIMEZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "975": "America/Miquelon",
    "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy",
    "978": "America/Marigot",
    "984": "Indian/Kerguelen",
    "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti",
    "988": "Pacific/Noumea",
    "989": "Pacific/Tahiti",
}
PARIS = ZoneInfo("Europe/Paris")


def department_timezone(code: str) -> ZoneInfo:
    return ZoneInfo(DEPARTMENT_TIMEZONES.get(code, "Europe/Paris"))


def closing_instant(station: Station, round_: Round) -> datetime:
    """When the station's polls close in this round (its local hours, early departments the day before)."""
    day, _opens, closes = polling.station_hours(station, round_)
    return datetime.combine(day, closes, tzinfo=department_timezone(station.department_code))


def paris_time(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m à %H:%M")


# --- Ballot and rules (frozen once the round has left set-up: cached per process) ----------------


@dataclass(frozen=True)
class BallotCandidate:
    candidate_id: int
    position: int
    given_name: str
    family_name: str
    party: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class RoundRules:
    """What a report of this round is checked against: the ballot and the contribution rules."""

    round_id: int
    election_id: int
    number: int
    ballot: tuple[BallotCandidate, ...]
    contribution_min_cents: int

    @property
    def candidate_count(self) -> int:
        return len(self.ballot)

    @property
    def names(self) -> list[str]:
        return [candidate.full_name for candidate in self.ballot]

    @property
    def family_names(self) -> list[str]:
        return [candidate.family_name for candidate in self.ballot]


_rules_cache: dict[int, RoundRules] = {}


def cached_round_rules(round_id: int) -> RoundRules | None:
    """The round's rules if this process has them cached (`round_rules`), else None: for a path
    without a session (the SMS webhook's driver fast path), which leaves a miss to the regular
    route, whose `round_rules` fills the cache."""
    return _rules_cache.get(round_id)


async def round_rules(session: AsyncSession, round_: Round) -> RoundRules:
    """The ballot and contribution rules of the round. The ballot and the contribution cannot
    change once the round has left set-up (`elections.set_ballot`, `update_election`), so
    they are cached from then on: results night reads them for every message."""
    cached = _rules_cache.get(round_.id)
    if cached is not None:
        return cached
    election = await session.get(Election, round_.election_id)
    assert election is not None
    ballot = tuple(
        BallotCandidate(candidate.id, position, candidate.given_name, candidate.family_name, candidate.party)
        for position, candidate in await elections.ballot_of(session, round_.id)
    )
    minimum = election.contribution_min_cents
    if round_.number > 1 and election.contribution_covers_both_rounds:
        minimum = 0  # the round-1 contribution covers round 2 (2011 rule): no floor to check
    rules = RoundRules(round_.id, election.id, round_.number, ballot, minimum)
    if round_.phase != Phase.SETUP.value and ballot:
        _rules_cache[round_.id] = rules
    return rules


async def reporting_round(session: AsyncSession, election_id: int) -> Round | None:
    """The round whose results are being received (polls open or closed), else None."""
    rounds = await elections.rounds_of(session, election_id)
    accepting = [round_ for round_ in rounds if Phase(round_.phase) in REPORT_PHASES]
    return accepting[-1] if accepting else None


def report_context(rules: RoundRules, station: Station, row: StationRound | None) -> ReportContext:
    """The check context of a station: its check-ins (tablet + paper late entries), registered
    voters and the contribution rules. A station that recorded no check-in at all used paper
    lists only and has not keyed them: its signatures are not compared (the dashboards show
    its zero check-ins next to its signatures)."""
    counts = polling.counts_of(row)
    known = counts.total > 0
    tuning = results_settings()
    return ReportContext(
        candidate_count=rules.candidate_count,
        tablet_check_ins=counts.tablet if known else None,
        paper_check_ins=counts.paper if known else None,
        registered_voters=station.registered or None,
        check_in_tolerance_voters=tuning.checkin_tolerance_voters,
        check_in_tolerance_per_mille=tuning.checkin_tolerance_per_mille,
        contribution_min_cents=rules.contribution_min_cents,
        contribution_plausible_max_cents=tuning.contribution_plausible_max_cents,
    )


def findings_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [
        {"code": f.code.value, "severity": f.severity.value, "size": f.size, "unit": f.unit.value, "message": f.message}
        for f in findings
    ]


def refuse_errors(report: StationReport, context: ReportContext) -> list[Finding]:
    """The gaps of an acceptable report; raises `InvalidInput` (French, with the figures) for errors."""
    check = check_report(report, context)
    if check.errors:
        raise InvalidInput(
            " ".join(finding.message for finding in check.errors),
            code=check.errors[0].code.value,
            detail={"findings": findings_json(check.errors)},
        )
    return list(check.gaps)


def report_of(row: Any) -> StationReport:
    """The `StationReport` value of a stored row (report, entry, decision)."""
    return StationReport(row.signatures, row.blank, row.null, tuple(row.votes), row.contributions_cents)


def figures_payload(report: StationReport) -> dict[str, Any]:
    return {
        "signatures": report.signatures,
        "blank": report.blank,
        "null": report.null,
        "votes": list(report.votes),
        "contributions_cents": report.contributions_cents,
    }


def differing_fields(a: StationReport, b: StationReport) -> list[str]:
    """The fields where two reports differ: 'signatures', 'blank', 'null', 'votes:2' (ballot
    position), 'contributions' (only when both give them)."""
    fields = [name for name in ("signatures", "blank", "null") if getattr(a, name) != getattr(b, name)]
    fields += [f"votes:{i}" for i, (x, y) in enumerate(zip(a.votes, b.votes, strict=False), start=1) if x != y]
    if len(a.votes) != len(b.votes):
        fields.append("votes")
    if a.contributions_cents is not None and b.contributions_cents is not None and a.contributions_cents != b.contributions_cents:
        fields.append("contributions")
    return fields


@lru_cache(maxsize=4)
def _sender_hmac(secret_key: str) -> hmac.HMAC:
    """The sender key's HMAC, keyed, before any data: copied for each number (two HMAC key
    derivations less per results SMS). Cached per secret, so a new secret takes effect at once."""
    key = hmac.new(secret_key.encode(), b"primaires/results/sender/v1", hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def sender_key(phone: str) -> str:
    """A keyed hash of an SMS sender's number: what `OK <code>` is matched on (the number itself
    is personal data, and these tables are never purged)."""
    keyed = _sender_hmac(settings().secret_key).copy()
    keyed.update(phone.encode())
    return keyed.hexdigest()[:40]


# --- Per-station lock and history --------------------------------------------------------------


def station_lock_key(round_id: int, station_id: int) -> int:
    """The advisory-lock key of a station in a round (`lock_station`; `STATION_LOCK_KEY_SQL`
    computes the same in SQL)."""
    return (0x52 << 56) | ((round_id & 0xFFFFFF) << 32) | (station_id & 0xFFFFFFFF)


def station_lock_key_sql(round_id_column: str, station_id_column: str) -> str:
    """`station_lock_key` as an SQL expression over two columns (to take the lock inside a
    statement that reads what it needs, saving a round trip on results night)."""
    return (
        f"((82::bigint << 56) | (({round_id_column}::bigint & 16777215) << 32) | ({station_id_column}::bigint & 4294967295))"
    )


async def lock_station(session: AsyncSession, round_id: int, station_id: int) -> None:
    """Serialise everything that gives a station a new version in a round (until commit)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": station_lock_key(round_id, station_id)})


@dataclass(frozen=True)
class HistoryRow:
    id: int
    version: int
    channel: str
    counted: bool
    sender_key: str | None
    confirmation_code: str | None
    received_at: datetime
    report: StationReport
    findings: list[dict[str, Any]]


HISTORY = text(
    """
    SELECT r.id, r.version, r.channel, c.report_id IS NOT NULL AS counted, r.sender_key, r.confirmation_code,
           r.received_at, r.signatures, r.blank, r.nulls, r.votes, r.contributions_cents, r.findings
    FROM results_report r LEFT JOIN results_confirmation c ON c.report_id = r.id
    WHERE r.round_id = :round_id AND r.station_id = :station_id
    ORDER BY r.version DESC
    """
)


async def station_history(session: AsyncSession, round_id: int, station_id: int) -> list[HistoryRow]:
    """The station's reports in this round, latest version first, with whether each counted."""
    rows = await session.execute(HISTORY, {"round_id": round_id, "station_id": station_id})
    return [
        HistoryRow(
            r.id, r.version, r.channel, r.counted, r.sender_key, r.confirmation_code, r.received_at,
            StationReport(r.signatures, r.blank, r.nulls, tuple(r.votes), r.contributions_cents), r.findings,
        )
        for r in rows
    ]  # fmt: skip


HISTORY_STATE_AND_CLASH = text(
    """
    SELECT k.state, k.clash, h.* FROM (
        SELECT (SELECT sr.state FROM station_round sr WHERE sr.round_id = :round_id AND sr.station_id = :station_id) AS state,
               EXISTS (
                   SELECT 1 FROM results_report x
                   WHERE x.sender_key = :sender_key AND x.confirmation_code = :code AND x.received_at > :since
               ) AS clash
    ) k LEFT JOIN (
        SELECT r.id, r.version, r.channel, c.report_id IS NOT NULL AS counted, r.sender_key, r.confirmation_code,
               r.received_at, r.signatures, r.blank, r.nulls, r.votes, r.contributions_cents, r.findings
        FROM results_report r LEFT JOIN results_confirmation c ON c.report_id = r.id
        WHERE r.round_id = :round_id AND r.station_id = :station_id
    ) h ON true
    ORDER BY h.version DESC
    """
)


@dataclass(frozen=True)
class LockedView:
    """What an SMS report or confirmation reads once it holds the station lock, in one round trip
    (results night runs it for every message): the history, the station's state in polling, and
    whether a new confirmation code is already pending for the sender."""

    history: list[HistoryRow]
    state: StationState
    code_taken: bool


async def locked_view(
    session: AsyncSession,
    round_id: int,
    station_id: int,
    *,
    sender_key: str | None = None,
    code: str | None = None,
    since: datetime | None = None,
) -> LockedView:
    """`station_history` + the station's state + whether `code` is pending for `sender_key`
    (received after `since`). Call it holding the station lock (`lock_station`): the statement's
    snapshot is then taken after the lock, so it sees what the previous holder committed."""
    rows = (
        await session.execute(
            HISTORY_STATE_AND_CLASH,
            {
                "round_id": round_id, "station_id": station_id, "sender_key": sender_key, "code": code,
                "since": since or utcnow(),
            },
        )
    ).all()  # fmt: skip
    first = rows[0]
    history = [
        HistoryRow(
            r.id, r.version, r.channel, r.counted, r.sender_key, r.confirmation_code, r.received_at,
            StationReport(r.signatures, r.blank, r.nulls, tuple(r.votes), r.contributions_cents), r.findings,
        )
        for r in rows
        if r.id is not None
    ]  # fmt: skip
    return LockedView(history, StationState(first.state) if first.state else StationState.PLANNED, bool(first.clash))


def latest_counted(history: Sequence[HistoryRow], channels: Sequence[str] | None = None) -> HistoryRow | None:
    return next((row for row in history if row.counted and (channels is None or row.channel in channels)), None)


def pending_of(history: Sequence[HistoryRow]) -> HistoryRow | None:
    """The report waiting for its confirmation: the latest version, if it has not counted."""
    return history[0] if history and not history[0].counted else None


# --- Acceptance -----------------------------------------------------------------------------------


def check_accepting(station: Station, round_: Round, state: StationState, now: datetime) -> None:
    """Refuse a report (French, saying why and what to do) unless the round and the station
    accept one now."""
    phase = Phase(round_.phase)
    if round_.election_id != station.election_id:
        raise InvalidInput("Ce tour n'appartient pas à l'élection de ce bureau.", code="wrong_round")
    if phase not in REPORT_PHASES:
        if phase == Phase.SETUP:
            raise WrongPhase(f"Le tour {round_.number} n'a pas encore eu lieu : aucun résultat ne peut être reçu.", code="round_not_started")
        raise WrongPhase(
            f"Les résultats du tour {round_.number} sont clos (phase « {phase.label} ») : plus aucun procès-verbal "
            "n'est reçu. Pour une réclamation, adressez-vous à la Haute Autorité.",
            code="results_closed",
        )
    if state == StationState.VALIDATED:
        raise Conflict(
            f"Les résultats du bureau {station.code} sont déjà validés par la commission départementale : rien "
            "n'a été enregistré. Pour une correction, appelez la commission.",
            code="station_validated",
        )
    if phase == Phase.POLLS_OPEN and state in (StationState.PLANNED, StationState.READY, StationState.OPEN):
        closes = closing_instant(station, round_)
        if now < closes:
            local = closes.astimezone(department_timezone(station.department_code))
            raise WrongPhase(
                f"Le bureau {station.code} ferme à {local:%H:%M} : envoyez les résultats après la clôture et le "
                "dépouillement. Rien n'a été enregistré.",
                code="station_not_closed",
            )


# --- Receiving and counting --------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    report: ResultsReport
    gaps: list[Finding]
    superseded_pending: HistoryRow | None
    duplicate_of: HistoryRow | None = None  # same content as the pending/counted latest: nothing stored


async def receive_report(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    report: StationReport,
    *,
    channel: Channel,
    sender: str,
    row: StationRound | None = None,
    history: list[HistoryRow] | None = None,
    rules: RoundRules | None = None,
    sender_key: str | None = None,
    confirmation_code: str | None = None,
    staff_id: int | None = None,
    account_id: int | None = None,
    message_sid: str | None = None,
    paper_entry_ids: list[int] | None = None,
    now: datetime | None = None,
    skip_acceptance: bool = False,
) -> Received:
    """Store a station's report as its next version (see the module docstring).

    The caller holds the station lock (`lock_station`) when it passes `history`; otherwise it
    is taken here. Raises an `AppError` (French) when the round or station accepts no report
    or when the figures cannot be right."""
    now = now or utcnow()
    rules = rules or await round_rules(session, round_)
    if row is None:
        row = await polling.station_round(session, station, round_)
    state = StationState(row.state) if row else StationState.PLANNED
    if not skip_acceptance:
        check_accepting(station, round_, state, now)
    gaps = refuse_errors(report, report_context(rules, station, row))
    if history is None:
        await lock_station(session, round_.id, station.id)
        history = await station_history(session, round_.id, station.id)
    pending = pending_of(history)
    version = (history[0].version if history else 0) + 1
    stored = ResultsReport(
        round_id=round_.id,
        station_id=station.id,
        department_code=station.department_code,
        version=version,
        channel=channel.value,
        signatures=report.signatures,
        blank=report.blank,
        null=report.null,
        votes=list(report.votes),
        contributions_cents=report.contributions_cents,
        findings=findings_json(gaps),
        sender=sender[:200],
        sender_key=sender_key,
        confirmation_code=confirmation_code,
        staff_id=staff_id,
        account_id=account_id,
        paper_entry_ids=paper_entry_ids,
        message_sid=message_sid,
        received_at=now,
    )
    session.add(stored)
    record(
        session,
        events.ReportReceived(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            version=version,
            channel=channel.value,
            sender=sender[:200],
            findings=[{k: v for k, v in f.items() if k != "message"} for f in stored.findings],
            supersedes_pending=[pending.version] if pending else [],
            paper_entry_ids=paper_entry_ids,
            **figures_payload(report),
        ),
    )
    await session.flush()
    return Received(stored, gaps, pending)


async def count_report(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    report: ResultsReport,
    *,
    via: ConfirmedVia,
    history: Sequence[HistoryRow],
    state: StationState | None = None,
    now: datetime | None = None,
) -> ResultsConfirmation:
    """Make `report` count (the caller holds the station lock and checked acceptance).
    `history` is the station's history before `report` was stored (or including it)."""
    previous = latest_counted([row for row in history if row.id != report.id])
    event = record(
        session,
        events.ReportCounted(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            version=report.version,
            channel=report.channel,
            via=via.value,
            supersedes_counted=previous.version if previous else None,
        ),
    )
    await session.flush()
    confirmation = ResultsConfirmation(
        report_id=report.id,
        round_id=round_.id,
        station_id=station.id,
        department_code=station.department_code,
        version=report.version,
        via=via.value,
        confirmed_by=actor.id,
        event_id=event.id,
        confirmed_at=now or utcnow(),
    )
    session.add(confirmation)
    if state not in (StationState.REPORTED, StationState.VALIDATED):
        await _mirror_state(session, actor, station, round_, StationState.REPORTED, via=report.channel, current=state)
    await session.flush()
    return confirmation


async def _mirror_state(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    to: StationState,
    *,
    via: str,
    current: StationState | None = None,
) -> None:
    """Keep polling's station state in step (« reported », « validated »). A station that was
    never staffed (still « planned ») cannot move in polling: its results facts are enough.

    `current`: the state the caller read in this transaction (the station row is then in the
    session's identity map, so reading it again would only return the same object: on results
    night that is two round trips per report saved). Without it, it is read here."""
    if current is None:
        current = await polling.state_of(session, station, round_)
    if current == to:
        return
    if current == StationState.PLANNED:
        return
    # `set_station_state` locks the row, checks the transition and records the event.
    await polling.set_station_state(session, actor, station, round_, to, via=via)


# --- Tablet: entered by the president, countersigned by an assessor ------------------------------------


async def enter_tablet_report(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    report: StationReport,
    *,
    account_id: int | None,
    pin: str | None,
) -> Received:
    """The president enters the station's figures on the paired tablet (with the station PIN,
    which only the president holds: a tablet alone cannot send results) or with their own
    president account. The report counts once an assessor countersigns it
    (`countersign_tablet_report`)."""
    if pin is not None:
        await polling.check_pin(session, station, pin)  # a failure is written at once (the caller commits)
    await lock_station(session, round_.id, station.id)
    history = await station_history(session, round_.id, station.id)
    return await receive_report(
        session, actor, station, round_, report, channel=Channel.TABLET, sender=actor.id, history=history,
        account_id=account_id,
    )  # fmt: skip


async def countersign_tablet_report(
    session: AsyncSession, actor: Actor, station: Station, round_: Round, report_id: int, *, assessor_account_id: int
) -> ResultsConfirmation:
    """A second member of the station — an assessor, with their own account — confirms the
    figures the president entered; the report then counts."""
    await lock_station(session, round_.id, station.id)
    history = await station_history(session, round_.id, station.id)
    target = next((row for row in history if row.id == report_id), None)
    if target is None or target.channel != Channel.TABLET.value:
        raise NotFound("Saisie introuvable pour ce bureau.", code="report_not_found")
    if target.counted:
        raise Conflict("Ces résultats sont déjà confirmés.", code="already_counted")
    if history[0].id != report_id:
        raise Conflict(
            "Une saisie plus récente a remplacé celle-ci : confirmez la dernière saisie du bureau.", code="superseded"
        )
    stored = await session.get(ResultsReport, report_id)
    assert stored is not None
    if stored.account_id is not None and stored.account_id == assessor_account_id:
        raise Forbidden(
            "La confirmation doit venir d'un autre membre du bureau que celui qui a saisi les résultats.",
            code="same_person",
        )
    row = await polling.station_round(session, station, round_)
    state = StationState(row.state) if row else StationState.PLANNED
    check_accepting(station, round_, state, utcnow())
    return await count_report(session, actor, station, round_, stored, via=ConfirmedVia.COUNTERSIGN, history=history, state=state)


# --- Paper PV: keyed twice by two commission members ----------------------------------------------------


@dataclass(frozen=True)
class PaperOutcome:
    entry: ResultsPaperEntry
    established: ResultsReport | None  # the paper PV, when this entry agreed with another member's
    disagreements: list[ResultsPaperEntry]


async def open_paper_entries(session: AsyncSession, round_id: int, station_id: int, history: Sequence[HistoryRow] | None = None) -> list[ResultsPaperEntry]:
    """The entries keyed since the station's last paper PV was established (oldest first)."""
    last_pv = await session.scalar(
        select(ResultsReport.paper_entry_ids)
        .where(ResultsReport.round_id == round_id, ResultsReport.station_id == station_id, ResultsReport.channel == Channel.PAPER.value)
        .order_by(ResultsReport.version.desc())
        .limit(1)
    )
    after = max(last_pv) if last_pv else 0
    return list(
        await session.scalars(
            select(ResultsPaperEntry)
            .where(ResultsPaperEntry.round_id == round_id, ResultsPaperEntry.station_id == station_id, ResultsPaperEntry.id > after)
            .order_by(ResultsPaperEntry.id)
        )
    )


def latest_entry_per_member(entries: Sequence[ResultsPaperEntry]) -> dict[int, ResultsPaperEntry]:
    latest: dict[int, ResultsPaperEntry] = {}
    for entry in entries:
        latest[entry.account_id] = entry
    return latest


async def key_paper_entry(
    session: AsyncSession, actor: Actor, station: Station, round_: Round, report: StationReport, *, account_id: int
) -> PaperOutcome:
    """One commission member keys the station's paper PV. It counts when another member's
    latest entry (since the last PV) has exactly the same figures; otherwise both are shown."""
    rules = await round_rules(session, round_)
    row = await polling.station_round(session, station, round_)
    state = StationState(row.state) if row else StationState.PLANNED
    now = utcnow()
    check_accepting(station, round_, state, now)
    refuse_errors(report, report_context(rules, station, row))
    await lock_station(session, round_.id, station.id)
    history = await station_history(session, round_.id, station.id)
    others = {
        member: entry
        for member, entry in latest_entry_per_member(await open_paper_entries(session, round_.id, station.id)).items()
        if member != account_id
    }
    agreeing = next((entry for entry in others.values() if report_of(entry) == report), None)
    disagreeing = [entry for entry in others.values() if report_of(entry) != report]
    entry = ResultsPaperEntry(
        round_id=round_.id,
        station_id=station.id,
        department_code=station.department_code,
        account_id=account_id,
        signatures=report.signatures,
        blank=report.blank,
        null=report.null,
        votes=list(report.votes),
        contributions_cents=report.contributions_cents,
        keyed_at=now,
    )
    session.add(entry)
    await session.flush()
    record(
        session,
        events.PaperEntryKeyed(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            entry_id=entry.id,
            account_id=account_id,
            agrees_with=agreeing.id if agreeing else None,
            disagrees_with=[other.id for other in disagreeing],
            **figures_payload(report),
        ),
    )
    established = None
    if agreeing is not None:
        received = await receive_report(
            session, actor, station, round_, report, channel=Channel.PAPER, sender=actor.id, row=row,
            history=history, rules=rules, account_id=account_id, paper_entry_ids=[agreeing.id, entry.id], now=now,
        )  # fmt: skip
        await count_report(session, actor, station, round_, received.report, via=ConfirmedVia.DOUBLE_ENTRY, history=history, state=state, now=now)
        established = received.report
    await session.flush()
    return PaperOutcome(entry, established, [] if agreeing else disagreeing)


# --- Validation by the departmental commission ------------------------------------------------------------


async def current_validation(session: AsyncSession, round_id: int, station_id: int) -> ResultsValidation | None:
    return await session.scalar(
        select(ResultsValidation)
        .where(ResultsValidation.round_id == round_id, ResultsValidation.station_id == station_id)
        .order_by(ResultsValidation.version.desc())
        .limit(1)
    )


async def _next_validation_version(session: AsyncSession, round_id: int, station_id: int) -> int:
    last = await session.scalar(
        select(func.max(ResultsValidation.version)).where(
            ResultsValidation.round_id == round_id, ResultsValidation.station_id == station_id
        )
    )
    return (last or 0) + 1


def _check_validation_phase(round_: Round, action: str) -> None:
    elections.require_phase(round_, REPORT_PHASES, action)


async def validate_station(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    report_id: int,
    *,
    comment: str = "",
    account_id: int | None = None,
) -> ResultsValidation:
    """The commission validates the station's figures: those of one counted report (normally the
    paper PV). A comment is required when the validated report is not the paper PV, when it
    differs from another channel's latest figures, or when it carries gaps: the reason is then
    part of the record."""
    _check_validation_phase(round_, "valider les résultats d'un bureau")
    comment = " ".join((comment or "").split())[:2000]
    await lock_station(session, round_.id, station.id)
    history = await station_history(session, round_.id, station.id)
    target = next((row for row in history if row.id == report_id), None)
    if target is None or not target.counted:
        raise NotFound("Ce procès-verbal n'est pas un procès-verbal compté de ce bureau.", code="report_not_found")
    current = await current_validation(session, round_.id, station.id)
    if current is not None and current.action == ValidationAction.VALIDATED.value:
        raise Conflict(f"Les résultats du bureau {station.code} sont déjà validés.", code="already_validated")
    mismatches: dict[str, list[str]] = {}
    for channel in Channel:
        other = latest_counted(history, [channel.value])
        if other is not None and other.id != target.id:
            fields = differing_fields(other.report, target.report)
            if fields:
                mismatches[channel.value] = fields
    reasons = []
    if target.channel not in (Channel.PAPER.value, Channel.NOT_OPENED.value):
        reasons.append("le procès-verbal validé n'est pas le PV papier")
    if mismatches:
        reasons.append("les canaux ne concordent pas")
    if target.findings:
        reasons.append("des écarts sont signalés")
    if reasons and len(comment) < 5:
        raise InvalidInput(
            "Motivez la validation (" + ", ".join(reasons) + ") : indiquez quel document fait foi et pourquoi.",
            code="comment_required",
        )
    version = await _next_validation_version(session, round_.id, station.id)
    event = record(
        session,
        events.StationValidated(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            validation_version=version,
            report_version=target.version,
            channel=target.channel,
            comment=comment,
            mismatches=mismatches,
            **figures_payload(target.report),
        ),
    )
    return await _add_validation(
        session, actor, station, round_, event, version, ValidationAction.VALIDATED, report_id=target.id, comment=comment,
        account_id=account_id,
    )  # fmt: skip


async def reopen_station(
    session: AsyncSession, actor: Actor, station: Station, round_: Round, *, comment: str, account_id: int | None = None
) -> ResultsValidation:
    """The commission withdraws its validation (a corrected PV is expected), with the reason."""
    _check_validation_phase(round_, "rouvrir les résultats d'un bureau")
    comment = " ".join((comment or "").split())[:2000]
    if len(comment) < 5:
        raise InvalidInput("Indiquez pourquoi les résultats du bureau sont rouverts.", code="comment_required")
    await lock_station(session, round_.id, station.id)
    current = await current_validation(session, round_.id, station.id)
    if current is None or current.action != ValidationAction.VALIDATED.value:
        raise Conflict(f"Les résultats du bureau {station.code} ne sont pas validés.", code="not_validated")
    version = await _next_validation_version(session, round_.id, station.id)
    event = record(
        session,
        events.StationReopened(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            validation_version=version,
            comment=comment,
        ),
    )
    return await _add_validation(
        session, actor, station, round_, event, version, ValidationAction.REOPENED, report_id=None, comment=comment,
        account_id=account_id,
    )  # fmt: skip


async def _add_validation(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    event: AuditEvent,
    version: int,
    action: ValidationAction,
    *,
    report_id: int | None,
    comment: str,
    account_id: int | None,
) -> ResultsValidation:
    """The commission's validation row (insert-only, versioned), after its event is flushed; the
    station's state in polling follows (validated, or back to reported when reopened)."""
    await session.flush()
    validation = ResultsValidation(
        round_id=round_.id,
        station_id=station.id,
        department_code=station.department_code,
        version=version,
        action=action.value,
        report_id=report_id,
        comment=comment,
        account_id=account_id,
        actor=actor.id,
        event_id=event.id,
    )
    session.add(validation)
    state = StationState.VALIDATED if action == ValidationAction.VALIDATED else StationState.REPORTED
    await _mirror_state(session, actor, station, round_, state, via="commission")
    await session.flush()
    return validation


async def declare_not_opened(
    session: AsyncSession, actor: Actor, station: Station, round_: Round, *, comment: str, account_id: int | None = None
) -> ResultsValidation:
    """« Procès-verbal de carence »: the station never opened. Only for a station with no
    counted report and no check-in; its (zero) figures are then validated like any other."""
    _check_validation_phase(round_, "déclarer un bureau non ouvert")
    comment = " ".join((comment or "").split())[:2000]
    if len(comment) < 5:
        raise InvalidInput("Indiquez ce qui atteste que le bureau n'a pas ouvert.", code="comment_required")
    rules = await round_rules(session, round_)
    row = await polling.station_round(session, station, round_)
    counts = polling.counts_of(row)
    if counts.total:
        raise Conflict(
            f"Le bureau {station.code} a enregistré {french_int(counts.total)} passages : il a ouvert. Saisissez son "
            "procès-verbal.",
            code="station_has_checkins",
        )
    await lock_station(session, round_.id, station.id)
    history = await station_history(session, round_.id, station.id)
    if latest_counted(history) is not None:
        raise Conflict(f"Le bureau {station.code} a transmis des résultats : il a ouvert.", code="station_reported")
    zeros = StationReport(0, 0, 0, (0,) * rules.candidate_count, 0)
    received = await receive_report(
        session, actor, station, round_, zeros, channel=Channel.NOT_OPENED, sender=actor.id, row=row, history=history,
        rules=rules, account_id=account_id, skip_acceptance=True,
    )  # fmt: skip
    state = StationState(row.state) if row else StationState.PLANNED
    await count_report(session, actor, station, round_, received.report, via=ConfirmedVia.COMMISSION, history=history, state=state)
    return await validate_station(session, actor, station, round_, received.report.id, comment=comment, account_id=account_id)


# --- The high authority: decisions and proclamation ---------------------------------------------------------


async def record_decision(
    session: AsyncSession,
    actor: Actor,
    station: Station,
    round_: Round,
    *,
    kind: DecisionKind,
    reference: str,
    motive: str,
    report: StationReport | None = None,
    account_id: int | None = None,
) -> ResultsDecision:
    """A recorded decision of the high authority on a station: annul its results, or replace
    them by the figures it states. The only way a figure changes after the proclamation."""
    if actor.role != "authority":
        raise Forbidden("Seule la Haute Autorité rend des décisions sur les résultats.", code="authority_only")
    elections.require_phase(round_, DECISION_PHASES, "enregistrer une décision sur les résultats")
    reference, motive = " ".join((reference or "").split())[:200], " ".join((motive or "").split())[:4000]
    if len(reference) < 2 or len(motive) < 10:
        raise InvalidInput("Une décision porte une référence (son numéro) et sa motivation.", code="decision_incomplete")
    if kind == DecisionKind.REPLACE:
        if report is None:
            raise InvalidInput("Une rectification porte les chiffres retenus.", code="decision_figures")
        rules = await round_rules(session, round_)
        row = await polling.station_round(session, station, round_)
        refuse_errors(report, report_context(rules, station, row))
    else:
        report = None
    # The row is insert-only and names its event, and the event names the row: take the row's
    # id first.
    decision_id = await session.scalar(text("SELECT nextval(pg_get_serial_sequence('results_decision', 'id'))"))
    event = record(
        session,
        events.DecisionRecorded(
            actor=actor,
            election_id=station.election_id,
            round_id=round_.id,
            department_code=station.department_code,
            station_code=station.code,
            decision_id=decision_id,
            decision=kind.value,
            reference=reference,
            motive=motive,
            figures=figures_payload(report) if report else None,
            after_proclamation=round_.phase == Phase.PROCLAIMED.value,
        ),
    )
    await session.flush()
    decision = ResultsDecision(
        id=decision_id,
        round_id=round_.id,
        station_id=station.id,
        department_code=station.department_code,
        kind=kind.value,
        reference=reference,
        motive=motive,
        signatures=report.signatures if report else None,
        blank=report.blank if report else None,
        null=report.null if report else None,
        votes=list(report.votes) if report else None,
        contributions_cents=report.contributions_cents if report else None,
        account_id=account_id,
        actor=actor.id,
        event_id=event.id,
    )
    session.add(decision)
    await session.flush()
    return decision


async def unvalidated_stations(session: AsyncSession, round_: Round) -> list[str]:
    """Codes of the stations whose results are neither validated nor settled by a decision."""
    rows = await session.execute(
        text(
            """
            SELECT s.code FROM station s
            WHERE s.election_id = :election_id
              AND NOT EXISTS (SELECT 1 FROM results_decision d WHERE d.round_id = :round_id AND d.station_id = s.id)
              AND coalesce((SELECT v.action FROM results_validation v WHERE v.round_id = :round_id AND v.station_id = s.id
                            ORDER BY v.version DESC LIMIT 1), '') <> 'validated'
            ORDER BY s.department_code, s.code
            """
        ),
        {"election_id": round_.election_id, "round_id": round_.id},
    )
    return [code for (code,) in rows]


async def check_phase_change(session: AsyncSession, round_: Round, to: Phase) -> None:
    """Registered with `elections.register_transition_check` (see services/composition.py)."""
    if to == Phase.RESULTS_VALIDATED:
        missing = await unvalidated_stations(session, round_)
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise WrongPhase(
                f"{len(missing)} bureau(x) n'ont pas de résultats validés par leur commission départementale "
                f"({shown}) : validez-les (ou déclarez-les non ouverts) avant de passer en « Résultats validés ».",
                code="stations_unvalidated",
                detail={"stations": missing[:200]},
            )
    if to == Phase.PROCLAIMED:
        proclaimed = await session.get(ResultsProclamation, round_.id)
        if proclaimed is None:
            raise WrongPhase(
                "La proclamation se fait depuis la page « Résultats » de la Haute Autorité : elle nomme le point "
                "de contrôle signé du journal sur lequel reposent les chiffres proclamés.",
                code="proclaim_from_results",
            )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def minutes_since(moment: datetime, now: datetime) -> float:
    return (now - moment) / timedelta(minutes=1)
