"""Publication: the embargo, and what the public pages and the open data show.

**Embargo** (enforced here, for pages and open data alike). Nothing of a round is published
before its last station has closed: the latest closing instant over every station of the
election — each station's own hours or the round's, in its department's local time, the
departments of `Round.early_departments` voting the day before. The round's leaving « polls
open » (the organiser closed the polls: no check-in is possible anywhere any more) also
lifts it. A round still in set-up is never published.

**Stamp.** Every published figure is computed *at a signed checkpoint of the transparency
log* (the latest one, or one named with `?point=N`): only facts whose audit event is in the
first N leaves count (`results.figures`). The pages and the files say which checkpoint (tree
size, root hash, signed note), so anyone can check them against the log and recompute them
from its export. Before the first checkpoint is signed, nothing is published.

Snapshots are cached per (round, kind, checkpoint): a checkpoint never changes, so neither
does anything computed at it. The cache is a speed-up, never a source: a miss recomputes.
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import sequencer
from audit.models import AuditCheckpoint
from polling import service as polling
from results import cdf
from results.aggregation import Aggregation, Level, OutcomeKind, RoundOutcome, Totals, cyclic_gc_paused
from results.models import ResultsProclamation
from results.figures import Decision, Kind, StationInfo, aggregate, department_regions, station_figures, station_frame
from results.service import RoundRules, department_timezone, paris_time, round_rules
from services.db import utcnow
from services.elections.models import Election, Phase, Round
from services.errors import Forbidden, NotFound
from services.territory.models import Canton, Department, Region

ISSUER = "Comité national d'organisation de la primaire"
ISSUER_ABBREVIATION = "CNO"


# --- Embargo -------------------------------------------------------------------------------------


async def embargo_end(session: AsyncSession, round_: Round) -> datetime:
    """The instant the round's last station closes (UTC)."""
    stations = await station_frame(session, round_.election_id)
    instants = []
    for station in stations:
        day, _opens, closes = polling.station_hours(station, round_)  # type: ignore[arg-type]
        instants.append(datetime.combine(day, closes, tzinfo=department_timezone(station.department_code)))
    if not instants:
        instants.append(datetime.combine(round_.polling_date, round_.closes_at, tzinfo=department_timezone("75")))
    return max(instants).astimezone(UTC)


def published_by_phase(round_: Round) -> bool | None:
    """True/False when the phase alone decides, None when the clock does."""
    phase = Phase(round_.phase)
    if phase == Phase.SETUP:
        return False
    if phase == Phase.POLLS_OPEN:
        return None
    return True


async def is_published(session: AsyncSession, round_: Round, now: datetime | None = None) -> bool:
    decided = published_by_phase(round_)
    if decided is not None:
        return decided
    return (now or utcnow()) >= await embargo_end(session, round_)


async def require_published(session: AsyncSession, round_: Round, now: datetime | None = None) -> None:
    """Refuse (403, French) anything published about a round under embargo."""
    if published_by_phase(round_) is False:
        raise Forbidden(
            f"Le tour {round_.number} n'a pas encore eu lieu : aucun résultat n'est publié.", code="results_embargo"
        )
    if await is_published(session, round_, now):
        return
    end = await embargo_end(session, round_)
    raise Forbidden(
        f"Résultats du tour {round_.number} sous embargo jusqu'à la fermeture du dernier bureau de vote, le "
        f"{paris_time(end)} (heure de Paris) : rien n'est publié avant.",
        code="results_embargo",
        detail={"embargo_until": end.isoformat()},
    )


# --- Snapshots ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """The signed checkpoint figures were computed at."""

    tree_size: int
    root_hash: str
    note: str
    signed_at: datetime

    @property
    def short(self) -> str:
        return f"{self.tree_size} / {self.root_hash[:16]}…"

    def as_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "signed_at": self.signed_at.astimezone(UTC).isoformat(timespec="seconds"),
            "note": self.note,
        }


def stamp_of(checkpoint: AuditCheckpoint) -> Stamp:
    return Stamp(checkpoint.tree_size, bytes(checkpoint.root_hash).hex(), checkpoint.note, checkpoint.signed_at)


@dataclass(frozen=True)
class Snapshot:
    """A round's results of one kind, computed at one checkpoint (or live, `stamp` None)."""

    election: Election
    round: Round
    kind: Kind
    stamp: Stamp | None
    computed_at: datetime
    rules: RoundRules
    aggregation: Aggregation
    stations: list[StationInfo]
    channels: dict[str, str]  # station code → the channel whose figures count
    validated: frozenset[str]  # station codes whose figures are validated
    decisions: list[Decision]
    department_names: dict[str, str]
    region_names: dict[str, str]
    canton_names: dict[str, str]
    proclaimed_at: datetime | None
    seconds: float = 0.0
    by_code: dict[str, StationInfo] = field(default_factory=dict)

    @property
    def nation(self) -> Totals:
        return self.aggregation.nation

    @property
    def outcome(self) -> RoundOutcome:
        return self.aggregation.outcome(final_round=self.round.number >= 2)

    @property
    def status(self) -> cdf.ResultsStatus:
        if self.proclaimed and self.kind == Kind.FINAL:
            return cdf.ResultsStatus.CORRECTION if self.corrected else cdf.ResultsStatus.CERTIFIED
        if self.nation.complete:
            return cdf.ResultsStatus.UNOFFICIAL_COMPLETE
        return cdf.ResultsStatus.UNOFFICIAL_PARTIAL

    @property
    def proclaimed(self) -> bool:
        return self.proclaimed_at is not None

    @property
    def corrected(self) -> bool:
        """A decision of the high authority changed figures after the proclamation."""
        return self.proclaimed_at is not None and any(d.at > self.proclaimed_at for d in self.decisions)

    def shares(self, totals: Totals) -> list[float]:
        valid = totals.valid_votes
        return [votes / valid if valid else 0.0 for votes in totals.votes]


_cache: OrderedDict[tuple[int, str, int | None, datetime | None], Snapshot] = OrderedDict()
CACHE_SIZE = 16


async def latest_stamp(session: AsyncSession) -> Stamp | None:
    checkpoint = await sequencer.latest_checkpoint(session)
    return stamp_of(checkpoint) if checkpoint else None


async def stamp_at(session: AsyncSession, tree_size: int | None) -> Stamp:
    """The latest signed checkpoint, or the one of `tree_size` (NotFound, French)."""
    if tree_size is None:
        stamp = await latest_stamp(session)
        if stamp is None:
            raise NotFound(
                "Aucun point de contrôle du journal n'est encore signé : les résultats seront publiés dès le premier "
                "(quelques secondes après les premiers événements).",
                code="no_checkpoint",
            )
        return stamp
    checkpoint = await session.get(AuditCheckpoint, tree_size)
    if checkpoint is None:
        raise NotFound(f"Aucun point de contrôle signé pour la taille {tree_size} du journal.", code="unknown_checkpoint")
    return stamp_of(checkpoint)


_territory_names: dict[str, dict[str, str]] = {}


async def _names(session: AsyncSession, stations: list[StationInfo]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Department, region (2016 map) and canton names. Reference data, loaded before any
    election is set up: read once per process (like `figures.department_regions`), all
    cantons at once rather than an IN list of every station's canton."""
    if _territory_names:
        return _territory_names["departments"], _territory_names["regions"], _territory_names["cantons"]
    departments = dict((await session.execute(select(Department.code, Department.name))).all())
    regions = dict((await session.execute(select(Region.code, Region.name).where(Region.map == "2016"))).all())
    cantons = dict((await session.execute(select(Canton.code, Canton.name))).all())
    if departments and cantons:  # kept only once the territory is loaded
        _territory_names.update(departments=departments, regions=regions, cantons=cantons)
    return departments, regions, cantons


async def compute_snapshot(
    session: AsyncSession, round_: Round, kind: Kind, stamp: Stamp | None, *, use_cache: bool = True
) -> Snapshot:
    """The round's results of `kind` at `stamp` (None: live, for the committees' dashboards)."""
    proclamation = await session.get(ResultsProclamation, round_.id)
    proclaimed_at = proclamation.at if proclamation is not None else None
    key = (round_.id, kind.value, stamp.tree_size if stamp else None, proclaimed_at)
    if use_cache and stamp is not None and key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    started = datetime.now(UTC)
    # One pause of the cyclic garbage collector over the whole computation (reading 30,000 rows,
    # building as many tuples, summing): left on, it ran repeated collections over these young
    # objects, none of which is garbage, in the middle of it (a quarter of the snapshot's CPU
    # time on 15,000 stations). It creates no reference cycle; reference counting frees as
    # usual, and the collector's previous state is restored even on error. The pause spans the
    # statements' awaits: the process's other requests meanwhile allocate without cyclic
    # collection for these few tens of milliseconds, which only delays it.
    with cyclic_gc_paused():
        snapshot = await _compute(session, round_, kind, stamp, proclaimed_at, started)
    if stamp is not None:
        _cache[key] = snapshot
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return snapshot


async def _compute(
    session: AsyncSession, round_: Round, kind: Kind, stamp: Stamp | None, proclaimed_at: datetime | None, started: datetime
) -> Snapshot:
    election = await session.get(Election, round_.election_id)
    assert election is not None
    rules = await round_rules(session, round_)
    stations = await station_frame(session, round_.election_id)
    chosen, validated, decisions = await station_figures(
        session, round_.id, round_.election_id, kind, tree_size=stamp.tree_size if stamp else None
    )
    result = aggregate(
        stations, chosen, decisions, candidate_count=max(rules.candidate_count, 1), regions=await department_regions(session)
    )
    departments, regions, cantons = await _names(session, stations)
    return Snapshot(
        election=election,
        round=round_,
        kind=kind,
        stamp=stamp,
        computed_at=utcnow(),
        rules=rules,
        aggregation=result,
        stations=stations,
        channels=chosen.channels,
        validated=frozenset(validated.figures),
        decisions=decisions,
        department_names=departments,
        region_names=regions,
        canton_names=cantons,
        proclaimed_at=proclaimed_at,
        seconds=(datetime.now(UTC) - started).total_seconds(),
        by_code={station.code: station for station in stations},
    )


async def published_snapshot(
    session: AsyncSession, round_: Round, kind: Kind, *, tree_size: int | None = None, now: datetime | None = None
) -> Snapshot:
    """What the public may see: embargo checked, computed at the latest (or given) checkpoint."""
    await require_published(session, round_, now)
    return await compute_snapshot(session, round_, kind, await stamp_at(session, tree_size))


async def published_round(session: AsyncSession, election: Election, number: int) -> Round:
    round_ = await session.scalar(select(Round).where(Round.election_id == election.id, Round.number == number))
    if round_ is None:
        raise NotFound(f"Le tour {number} n'existe pas pour cette élection.", code="round_not_found")
    return round_


def default_kind(round_: Round) -> Kind:
    """Final results once the round is proclaimed; provisional until then."""
    return Kind.FINAL if round_.phase == Phase.PROCLAIMED.value else Kind.PROVISIONAL


# --- Open data ----------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def totals_json(snapshot: Snapshot, totals: Totals, name: str) -> dict[str, Any]:
    valid = totals.valid_votes
    return {
        "level": totals.level.value,
        "code": totals.code,
        "name": name,
        "stations": totals.stations,
        "stations_reported": totals.stations_reported,
        "stations_annulled": totals.stations_annulled,
        "reported_share": round(totals.reported_share, 6),
        "registered": totals.registered_voters,
        "signatures": totals.signatures,
        "blank": totals.blank,
        "null": totals.null,
        "valid_votes": valid,
        "votes": [
            {"position": c.position, "candidate": c.full_name, "votes": v, "share": _share(v, valid)}
            for c, v in zip(snapshot.rules.ballot, totals.votes, strict=True)
        ],
        "contributions_cents": totals.contributions_cents,
        "euros_per_voter": round(totals.euros_per_voter, 4) if totals.euros_per_voter is not None else None,
    }


def header_json(snapshot: Snapshot) -> dict[str, Any]:
    outcome = snapshot.outcome
    ballot = snapshot.rules.ballot
    return {
        "election": snapshot.election.name,
        "round": snapshot.round.number,
        "polling_date": snapshot.round.polling_date.isoformat(),
        "results": snapshot.kind.value,
        "status": snapshot.status.value,
        "checkpoint": snapshot.stamp.as_json() if snapshot.stamp else None,
        "computed_at": snapshot.computed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "candidates": [{"position": c.position, "name": c.full_name, "party": c.party} for c in ballot],
        "outcome": {
            "kind": outcome.kind.value,
            "elected": ballot[outcome.elected].full_name if outcome.elected is not None else None,
            "qualified": [ballot[i].full_name for i in outcome.qualified],
            "explanation": outcome.explanation,
            "ties": [tie.explanation for tie in outcome.ties],
        },
        "decisions": [
            {"reference": d.reference, "kind": d.kind.value, "station": station_code_of(snapshot, d.station_id), "motive": d.motive}
            for d in snapshot.decisions
        ],
        "note": (
            "Chaque total est la somme des procès-verbaux des bureaux (et des décisions enregistrées de la Haute "
            "Autorité) dont l'événement figure dans le journal de transparence au point de contrôle indiqué."
        ),
    }


def station_code_of(snapshot: Snapshot, station_id: int) -> str:
    return next((s.code for s in snapshot.stations if s.id == station_id), str(station_id))


def level_rows(snapshot: Snapshot, level: str) -> list[dict[str, Any]]:
    """The open-data rows of a level: 'nation', 'departements' or 'bureaux'."""
    result = snapshot.aggregation
    if level == "nation":
        return [totals_json(snapshot, result.nation, "France")]
    if level == "departements":
        return [
            totals_json(snapshot, totals, snapshot.department_names.get(code, code)) | {"region": result.department_region.get(code)}
            for code, totals in sorted(result.departments.items())
        ]
    if level == "bureaux":
        rows = []
        for station in snapshot.stations:
            totals = result.stations[station.code]
            row = totals_json(snapshot, totals, station.name)
            row |= {
                "department": station.department_code,
                "canton": station.canton_code,
                "channel": snapshot.channels.get(station.code),
                "validated": station.code in snapshot.validated,
            }
            rows.append(row)
        return rows
    raise NotFound("Niveau inconnu : nation, departements ou bureaux.", code="unknown_level")


LEVELS = ("nation", "departements", "bureaux")


def open_data_json(snapshot: Snapshot, level: str) -> dict[str, Any]:
    return header_json(snapshot) | {"level": level, "rows": level_rows(snapshot, level)}


def open_data_csv(snapshot: Snapshot, level: str) -> str:
    """CSV (`;`, UTF-8): one line per area, every line stamped with the checkpoint."""
    rows = level_rows(snapshot, level)
    ballot = snapshot.rules.ballot
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    head = ["niveau", "code", "nom", "departement", "bureaux", "bureaux_comptes", "inscrits", "emargements", "blancs",
            "nuls", "exprimes", *[f"voix_{c.position}_{c.family_name}" for c in ballot], "contributions_centimes",
            "resultats", "point_de_controle_taille", "point_de_controle_racine"]  # fmt: skip
    writer.writerow(head)
    stamp = snapshot.stamp
    for row in rows:
        writer.writerow(
            [row["level"], row["code"], row["name"], row.get("department", row["code"] if level == "departements" else ""),
             row["stations"], row["stations_reported"], row["registered"], row["signatures"], row["blank"], row["null"],
             row["valid_votes"], *[v["votes"] for v in row["votes"]], row["contributions_cents"], snapshot.kind.value,
             stamp.tree_size if stamp else "", stamp.root_hash if stamp else ""]
        )  # fmt: skip
    return out.getvalue()


def cdf_document(snapshot: Snapshot) -> dict[str, Any]:
    """The NIST SP 1500-100 (v2, JSON) export of the snapshot."""
    round_ = snapshot.round
    start: date = round_.polling_date - timedelta(days=1) if round_.early_departments else round_.polling_date
    context = cdf.CdfContext(
        election_name=snapshot.election.name,
        round_number=round_.number,
        start_date=start,
        end_date=round_.polling_date,
        candidates=tuple(cdf.CdfCandidate(c.given_name, c.family_name, c.party) for c in snapshot.rules.ballot),
        issuer=ISSUER,
        issuer_abbreviation=ISSUER_ABBREVIATION,
        status=snapshot.status,
        generated_at=snapshot.computed_at,
        region_names=snapshot.region_names,
        department_names=snapshot.department_names,
        canton_names=snapshot.canton_names,
        station_names={s.code: s.name for s in snapshot.stations},
        log_checkpoint=f"{snapshot.stamp.tree_size} {snapshot.stamp.root_hash}" if snapshot.stamp else None,
    )
    outcome = snapshot.outcome if snapshot.nation.valid_votes else None
    return cdf.election_report(snapshot.aggregation, context, outcome=outcome)


# --- For the pages -------------------------------------------------------------------------------

PALETTE = ("#3b4cc0", "#d1495b", "#2a9d8f", "#e9a23b", "#7b5ea7", "#5c8001", "#8d6346", "#c2185b")


def candidate_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def leader_fills(snapshot: Snapshot) -> tuple[dict[str, str], dict[str, str]]:
    """Choropleth: each department in the colour of its leading candidate (lighter when few of
    its stations are counted), with a tooltip giving the figures."""
    fills: dict[str, str] = {}
    titles: dict[str, str] = {}
    ballot = snapshot.rules.ballot
    for code, totals in snapshot.aggregation.departments.items():
        name = snapshot.department_names.get(code, code)
        if not totals.stations_reported or not totals.valid_votes:
            titles[code] = f"{name} : aucun bureau compté"
            continue
        leader = max(range(len(totals.votes)), key=lambda i: (totals.votes[i], -i))
        fills[code] = candidate_colour(leader) + ("" if totals.reported_share >= 0.5 else "99")
        share = totals.votes[leader] / totals.valid_votes * 100
        titles[code] = (
            f"{name} : en tête {ballot[leader].full_name} ({share:.1f} %), "
            f"{totals.stations_reported}/{totals.stations} bureaux comptés".replace(".", ",")
        )
    return fills, titles


def outcome_text(snapshot: Snapshot) -> str:
    outcome = snapshot.outcome
    ballot = snapshot.rules.ballot
    if outcome.kind == OutcomeKind.NO_VOTES:
        return "Aucun suffrage exprimé n'est encore compté."
    if outcome.kind == OutcomeKind.ELECTED and outcome.elected is not None:
        return f"{ballot[outcome.elected].full_name} : {outcome.explanation}"
    names = " et ".join(ballot[i].full_name for i in outcome.qualified)
    return f"Second tour entre {names}. {outcome.explanation}"


def level_label(level: Level) -> str:
    return {Level.NATION: "France", Level.REGION: "Région", Level.DEPARTMENT: "Département", Level.CANTON: "Canton", Level.STATION: "Bureau"}[level]
