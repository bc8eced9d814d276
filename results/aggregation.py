"""Aggregation of station reports: station → canton → department → region → nation, and the
outcome of a round.

Pure module: no database, no I/O. Totals are never stored: every call recomputes them from the
station reports and the recorded decisions passed in, so a published figure is always a sum of
reports (the 2017 lesson: a total that is edited instead of summed cannot be trusted).

Input (plain data classes, built by the caller from the database):

- `stations`: every station of the round (`Station`: code, department, canton — None where the
  territory has no canton: Martinique, Guyane, the Lyon metropolis, the overseas collectivities —
  and the registered voters attached to it when known);
- `reports`: the counted reports, at most one per station (`CountedReport`). The caller decides
  which count: the confirmed reports for provisional results, the validated PVs for final ones;
- `decisions`: the high authority's recorded decisions on stations (`StationDecision`), applied
  in the order given (a later decision on the same station supersedes an earlier one);
- `department_regions`: department code → region code. Use the current (2016) map of
  `services/territory` (`region_code` of each department; the overseas collectivities are their
  own region there), so that every department has a region.

Output: an `Aggregation` with `Totals` per station, canton, department, region and the nation:
the stations reported (and their share), the signatures, blank, null, votes per candidate in
ballot order, valid votes (derived), the contributions and the euros per voter.

`round_outcome` then applies the rule: an absolute majority of valid votes elects; otherwise the
top two go to the next round; ties are resolved by a documented, deterministic chain of rules
(`TieBreakRule`, default: the elder first, then the ballot order).

Bad input (a report for an unknown station, two reports for one station, a report with the
wrong number of candidate figures or a negative figure, a department without region) raises
`AggregationError` with a French message: nothing is dropped silently.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from results.report import Finding, StationReport, contribution_findings, french_int

__all__ = [
    "NATION_CODE",
    "Aggregation",
    "AggregationError",
    "CountedReport",
    "DecisionKind",
    "Figures",
    "Level",
    "OutcomeKind",
    "RoundOutcome",
    "Station",
    "StationDecision",
    "TieBreakRule",
    "TieResolution",
    "Totals",
    "aggregate",
    "aggregate_counted",
    "round_outcome",
    "totals_contribution_findings",
]

NATION_CODE = "FR"


class AggregationError(ValueError):
    """The input cannot be aggregated as given; the message (French) says which record and why."""


class Level(StrEnum):
    STATION = "station"
    CANTON = "canton"
    DEPARTMENT = "department"
    REGION = "region"
    NATION = "nation"


class Station(NamedTuple):
    """A station of the round. A named tuple (immutable): 15,000 of them are built from database
    rows for every live snapshot, and a tuple costs a fraction of a class instance."""

    code: str
    department_code: str
    canton_code: str | None = None
    registered_voters: int | None = None


class Figures(NamedTuple):
    """A counted report's figures as plain data: the same fields as `StationReport`, for callers
    that read 15,000 of them from the database (figures checked when the report was received; the
    aggregation checks their shape and sign again all the same). `votes` may be any sequence."""

    signatures: int
    blank: int
    null: int
    votes: Sequence[int]
    contributions_cents: int | None = None


@dataclass(frozen=True, slots=True)
class CountedReport:
    station_code: str
    report: StationReport


class DecisionKind(StrEnum):
    ANNUL = "annul"  # the station's results are cancelled: no report of it counts
    REPLACE = "replace"  # the station's figures are the ones the decision states


@dataclass(frozen=True, slots=True)
class StationDecision:
    """A recorded decision of the high authority on one station's results.

    `reference` identifies the decision (its audit event, its number) so that every total can be
    traced to it; `report` holds the figures for `REPLACE` and must be None for `ANNUL`."""

    station_code: str
    kind: DecisionKind
    reference: str
    report: StationReport | None = None


class Totals(NamedTuple):
    """Sums over the stations of one area (or one station). Immutable (a named tuple: 15,000 of
    them are built per aggregation, and a tuple is several times cheaper than a frozen class).

    `stations_reported` counts stations whose report counts; `stations_annulled` those whose
    results a decision cancelled (neither reported nor awaited). `registered_voters` sums the
    stations whose registered voters are known. Contributions are summed over the stations that
    reported them, and `signatures_with_contributions` is the matching denominator of the
    euros-per-voter figure (a station that sent no E field does not dilute it)."""

    level: Level
    code: str
    stations: int
    stations_reported: int
    stations_annulled: int
    registered_voters: int
    signatures: int
    blank: int
    null: int
    contributions_cents: int
    signatures_with_contributions: int
    stations_with_contributions: int
    votes: tuple[int, ...]

    @property
    def valid_votes(self) -> int:
        """Suffrages exprimés, derived: the sum of the candidates' votes."""
        return sum(self.votes)

    @property
    def ballots(self) -> int:
        return self.blank + self.null + sum(self.votes)

    @property
    def stations_awaited(self) -> int:
        return self.stations - self.stations_reported - self.stations_annulled

    @property
    def reported_share(self) -> float:
        """Share of the area's stations whose report counts, 0.0 to 1.0 (0.0 with no station)."""
        return self.stations_reported / self.stations if self.stations else 0.0

    @property
    def complete(self) -> bool:
        """Every station of the area has a counted report or was annulled."""
        return self.stations_awaited == 0

    @property
    def cents_per_voter(self) -> float | None:
        """Average contribution per voter, in cents, over the stations that reported it."""
        if not self.signatures_with_contributions:
            return None
        return self.contributions_cents / self.signatures_with_contributions

    @property
    def euros_per_voter(self) -> float | None:
        """The same in euros (e.g. 1.87), None when no station of the area reported contributions."""
        cents = self.cents_per_voter
        return None if cents is None else cents / 100


# Accumulation vectors are plain lists laid out as the Totals fields after `code`, the votes
# flattened at the end: [stations, reported, annulled, registered, signatures, blank, null,
# contributions, signatures with contributions, stations with contributions, votes…].
_VOTES = 10
_new_totals = tuple.__new__


def _totals(level: Level, code: str, vector: list[int]) -> Totals:
    return _new_totals(Totals, (level, code, *vector[:_VOTES], tuple(vector[_VOTES:])))


def _vector(totals: Totals) -> list[int]:
    """A station's Totals as an accumulation vector."""
    return [*totals[2:12], *totals[12]]


def _sum_totals(rows: list[Totals]) -> list[int]:
    """The accumulation vector summing stations' Totals (column-wise: C loops, not Python)."""
    if len(rows) == 1:
        return _vector(rows[0])
    columns = list(zip(*rows, strict=True))
    return [*map(sum, columns[2:12]), *map(sum, zip(*columns[12], strict=True))]


def _sum_vectors(vectors: list[list[int]]) -> list[int]:
    return vectors[0] if len(vectors) == 1 else [sum(column) for column in zip(*vectors, strict=True)]


@dataclass(frozen=True)
class Aggregation:
    """Totals at every level, keyed by code, plus what the outcome's tie-break rules need.

    `stations_won[i]`: number of stations where candidate i (ballot order, 0-based) has strictly
    more votes than every other candidate. `canton_department`, `department_region` and
    `station_list` (the stations as given, each with its canton or department) describe the tree."""

    candidate_count: int
    nation: Totals
    regions: dict[str, Totals]
    departments: dict[str, Totals]
    cantons: dict[str, Totals]
    stations: dict[str, Totals]
    canton_department: dict[str, str]
    department_region: dict[str, str]
    stations_won: tuple[int, ...]
    station_list: tuple[Station, ...] = field(default=(), repr=False)
    applied_decisions: tuple[StationDecision, ...] = field(default=())

    def outcome(
        self,
        *,
        final_round: bool = False,
        tie_break: Sequence[TieBreakRule] | None = None,
        birth_dates: Sequence[date | None] | None = None,
    ) -> RoundOutcome:
        """The round's outcome on the national totals (see `round_outcome`)."""
        return round_outcome(
            self.nation.votes,
            final_round=final_round,
            tie_break=tie_break,
            birth_dates=birth_dates,
            stations_won=self.stations_won,
        )


def _check_shape(report: StationReport | Figures, candidate_count: int, where: str) -> None:
    votes = report.votes
    if len(votes) != candidate_count:
        raise AggregationError(
            f"{where} : {len(votes)} chiffres de candidats pour {candidate_count} candidats au bulletin."
        )
    contributions = report.contributions_cents
    if (
        report.signatures < 0
        or report.blank < 0
        or report.null < 0
        or min(votes) < 0
        or (contributions is not None and contributions < 0)
    ):
        raise AggregationError(f"{where} : un chiffre négatif ne peut pas être compté.")


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the duration of an aggregation.

    An aggregation allocates some 50,000 short-lived lists and tuples and creates no reference
    cycle; left on, the collector runs repeated collections over the whole heap (the reports
    and everything else the process holds) in the middle of it, which doubles the time on 15,000
    stations. Reference counting still frees everything at once; the previous state is restored
    even on error."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# For the callers that build the aggregation's inputs from 15,000 database rows (same reason).
cyclic_gc_paused = _cyclic_gc_paused


def aggregate(
    stations: Iterable[Station],
    reports: Iterable[CountedReport],
    *,
    candidate_count: int,
    department_regions: Mapping[str, str],
    decisions: Sequence[StationDecision] = (),
) -> Aggregation:
    """Sum the counted reports, after the decisions, at every level. See the module docstring."""
    with _cyclic_gc_paused():
        if candidate_count < 1:
            raise AggregationError("Il faut au moins un candidat au bulletin.")
        station_list = list(stations)
        by_code = _index(station_list)
        counted: dict[str, Figures] = {}
        for item in reports:
            if item.station_code not in by_code:
                raise AggregationError(f"Procès-verbal pour un bureau inconnu : {item.station_code}.")
            if item.station_code in counted:
                raise AggregationError(
                    f"Deux procès-verbaux comptés pour le bureau {item.station_code} : un seul doit compter."
                )
            _check_shape(item.report, candidate_count, f"Procès-verbal du bureau {item.station_code}")
            counted[item.station_code] = _as_figures(item.report)
        return _aggregate(station_list, by_code, counted, candidate_count, department_regions, decisions)


def aggregate_counted(
    stations: Sequence[Station],
    counted: Mapping[str, StationReport | Figures],
    *,
    candidate_count: int,
    department_regions: Mapping[str, str],
    decisions: Sequence[StationDecision] = (),
) -> Aggregation:
    """The same as `aggregate`, the counted reports given as a mapping station code → figures
    (one per station by construction): the form the database rows come in (`results.figures`),
    without building a `CountedReport` and a `StationReport` per station. Same checks, same
    result."""
    with _cyclic_gc_paused():
        if candidate_count < 1:
            raise AggregationError("Il faut au moins un candidat au bulletin.")
        station_list = list(stations)
        by_code = _index(station_list)
        unknown = counted.keys() - by_code.keys()
        if unknown:
            raise AggregationError(f"Procès-verbal pour un bureau inconnu : {min(unknown)}.")
        figures: dict[str, Figures] = {}
        for code, report in counted.items():
            report = _as_figures(report)
            signatures, blank, null, votes, contributions = report
            if (
                signatures < 0 or blank < 0 or null < 0 or len(votes) != candidate_count or min(votes) < 0
                or (contributions is not None and contributions < 0)
            ):  # fmt: skip
                _check_shape(report, candidate_count, f"Procès-verbal du bureau {code}")
            figures[code] = report
        return _aggregate(station_list, by_code, figures, candidate_count, department_regions, decisions)


_new_figures = tuple.__new__


def _as_figures(report: StationReport | Figures) -> Figures:
    if type(report) is Figures:
        return report
    return _new_figures(
        Figures, (report.signatures, report.blank, report.null, report.votes, report.contributions_cents)
    )


def _index(station_list: list[Station]) -> dict[str, Station]:
    by_code = {station[0]: station for station in station_list}
    if len(by_code) != len(station_list):
        seen: set[str] = set()
        for station in station_list:
            if station.code in seen:
                raise AggregationError(f"Bureau {station.code} donné deux fois dans la liste des bureaux.")
            seen.add(station.code)
    return by_code


def _aggregate(
    station_list: list[Station],
    by_code: dict[str, Station],
    counted: dict[str, Figures],
    candidate_count: int,
    department_regions: Mapping[str, str],
    decisions: Sequence[StationDecision],
) -> Aggregation:
    """`counted` is the caller's own copy (decisions are applied to it)."""

    annulled: set[str] = set()
    for decision in decisions:
        code = decision.station_code
        if code not in by_code:
            raise AggregationError(f"Décision {decision.reference} sur un bureau inconnu : {code}.")
        if decision.kind is DecisionKind.ANNUL:
            if decision.report is not None:
                raise AggregationError(f"Décision {decision.reference} : une annulation ne porte pas de chiffres.")
            counted.pop(code, None)
            annulled.add(code)
        else:
            if decision.report is None:
                raise AggregationError(f"Décision {decision.reference} : la rectification doit porter les chiffres.")
            _check_shape(decision.report, candidate_count, f"Décision {decision.reference}")
            counted[code] = _as_figures(decision.report)
            annulled.discard(code)

    station_totals: dict[str, Totals] = {}
    canton_rows: dict[str, list[Totals]] = {}
    canton_department: dict[str, str] = {}
    department_rows: dict[str, list[list[int]]] = {}  # stations without canton, then cantons
    stations_won = [0] * candidate_count
    station_level = Level.STATION
    no_votes = (0,) * candidate_count
    counted_get = counted.get
    canton_rows_get = canton_rows.get

    # The hot loop (15,000 stations): plain tuples unpacked, each station's Totals built directly
    # and grouped by canton as is (summed column-wise below), no call per station but builtins.
    for code, department, canton, registered in station_list:
        registered = registered or 0
        report = counted_get(code)
        if report is None:
            totals = _new_totals(
                Totals, (station_level, code, 1, 0, 1 if code in annulled else 0, registered, 0, 0, 0, 0, 0, 0, no_votes)
            )
        else:
            signatures, blank, null, votes, contributions = report
            if contributions is None:
                totals = _new_totals(
                    Totals, (station_level, code, 1, 1, 0, registered, signatures, blank, null, 0, 0, 0, tuple(votes))
                )
            else:
                totals = _new_totals(
                    Totals,
                    (station_level, code, 1, 1, 0, registered, signatures, blank, null, contributions, signatures, 1,
                     tuple(votes)),
                )  # fmt: skip
            best = max(votes)
            if best > 0 and votes.count(best) == 1:
                stations_won[votes.index(best)] += 1
        station_totals[code] = totals

        if canton is None:
            department_rows.setdefault(department, []).append(_vector(totals))
            continue
        rows = canton_rows_get(canton)
        if rows is None:
            canton_rows[canton] = [totals]
            canton_department[canton] = department
        else:
            if canton_department[canton] != department:
                raise AggregationError(
                    f"Canton {canton} rattaché à deux départements ({canton_department[canton]} et "
                    f"{department}) : bureau {code}."
                )
            rows.append(totals)

    canton_vectors = {canton: _sum_totals(rows) for canton, rows in canton_rows.items()}
    for canton, vector in canton_vectors.items():
        department_rows.setdefault(canton_department[canton], []).append(vector)
    department_vectors = {department: _sum_vectors(rows) for department, rows in department_rows.items()}

    region_rows: dict[str, list[list[int]]] = {}
    department_region: dict[str, str] = {}
    for department, vector in department_vectors.items():
        region = department_regions.get(department)
        if region is None:
            raise AggregationError(f"Département {department} sans région : complétez la carte des régions.")
        department_region[department] = region
        region_rows.setdefault(region, []).append(vector)
    region_vectors = {region: _sum_vectors(rows) for region, rows in region_rows.items()}
    nation_vector = (
        _sum_vectors(list(region_vectors.values())) if region_vectors else [0] * (_VOTES + candidate_count)
    )

    return Aggregation(
        candidate_count=candidate_count,
        nation=_totals(Level.NATION, NATION_CODE, nation_vector),
        regions={code: _totals(Level.REGION, code, v) for code, v in region_vectors.items()},
        departments={code: _totals(Level.DEPARTMENT, code, v) for code, v in department_vectors.items()},
        cantons={code: _totals(Level.CANTON, code, v) for code, v in canton_vectors.items()},
        stations=station_totals,
        canton_department=canton_department,
        department_region=department_region,
        stations_won=tuple(stations_won),
        station_list=tuple(station_list),
        applied_decisions=tuple(decisions),
    )


def totals_contribution_findings(
    totals: Totals, *, min_cents: int, plausible_max_cents: int | None
) -> list[Finding]:
    """The euros-per-voter check on any area's totals (over the stations that reported their
    contributions). Output: zero or one `GAP` finding, with its size in cents."""
    where = {
        Level.NATION: " au niveau national",
        Level.REGION: f" dans la région {totals.code}",
        Level.DEPARTMENT: f" dans le département {totals.code}",
        Level.CANTON: f" dans le canton {totals.code}",
        Level.STATION: f" au bureau {totals.code}",
    }[totals.level]
    return contribution_findings(
        totals.signatures_with_contributions,
        totals.contributions_cents,
        min_cents=min_cents,
        plausible_max_cents=plausible_max_cents,
        where=where,
    )


# ---------------------------------------------------------------------------------------------
# Outcome of a round.


class TieBreakRule(StrEnum):
    """How candidates with exactly the same number of votes are ordered.

    - `ELDER` (default first rule): the elder candidate first. It is the rule of French
      electoral law for ties (« en cas d'égalité de suffrages, le plus âgé des candidats est
      élu », Code électoral, e.g. art. L. 193 and L. 253), known to everyone before the vote,
      impossible to influence after the count, and it needs no data beyond the candidacy file.
    - `MORE_STATIONS_WON`: the candidate who came strictly first in more stations. Offered for
      organisers who prefer a result-based rule; it favours strength in small stations and can
      itself be tied.
    - `BALLOT_ORDER`: the earlier place on the ballot. The ballot order is drawn by lot before
      the vote, so this is a drawing of lots done in advance, in public. It always separates
      candidates, and is therefore always applied last, even when not listed.
    """

    ELDER = "elder"
    MORE_STATIONS_WON = "more_stations_won"
    BALLOT_ORDER = "ballot_order"


DEFAULT_TIE_BREAK: tuple[TieBreakRule, ...] = (TieBreakRule.ELDER, TieBreakRule.BALLOT_ORDER)

_RULE_LABELS = {
    TieBreakRule.ELDER: "l'âge (le plus âgé d'abord)",
    TieBreakRule.MORE_STATIONS_WON: "le nombre de bureaux remportés",
    TieBreakRule.BALLOT_ORDER: "l'ordre du bulletin (tiré au sort)",
}


class OutcomeKind(StrEnum):
    ELECTED = "elected"
    RUNOFF = "runoff"
    NO_VOTES = "no_votes"


@dataclass(frozen=True, slots=True)
class TieResolution:
    """Candidates (ballot indexes, 0-based) tied at `votes`, the order the rules gave them, the
    rules that were needed, and whether the tie changes who is elected or qualified."""

    candidates: tuple[int, ...]
    votes: int
    order: tuple[int, ...]
    rules_used: tuple[TieBreakRule, ...]
    decisive: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """`ranking`: ballot indexes (0-based), best first. `majority`: the votes an absolute
    majority needs (valid // 2 + 1). `elected`: a ballot index or None; `qualified`: the
    candidates going to the next round (empty unless `kind` is RUNOFF)."""

    kind: OutcomeKind
    valid_votes: int
    majority: int
    ranking: tuple[int, ...]
    elected: int | None
    qualified: tuple[int, ...]
    ties: tuple[TieResolution, ...]
    explanation: str


def _order_tied(
    group: list[int],
    rules: Sequence[TieBreakRule],
    birth_dates: Sequence[date | None] | None,
    stations_won: Sequence[int] | None,
    used: list[TieBreakRule],
) -> list[int]:
    """Order a group of tied candidates with the first rule that applies, recursing on the
    sub-groups it leaves tied. Ballot order always ends the chain."""
    if len(group) == 1:
        return group
    if not rules:
        rules = (TieBreakRule.BALLOT_ORDER,)
    rule, rest = rules[0], rules[1:]
    key: dict[int, object]
    if rule is TieBreakRule.ELDER:
        if birth_dates is None or any(birth_dates[c] is None for c in group):
            return _order_tied(group, rest, birth_dates, stations_won, used)
        key = {c: birth_dates[c] for c in group}  # earlier birth date = elder = first
    elif rule is TieBreakRule.MORE_STATIONS_WON:
        if stations_won is None:
            return _order_tied(group, rest, birth_dates, stations_won, used)
        key = {c: -stations_won[c] for c in group}
    else:
        key = {c: c for c in group}
    if rule not in used:
        used.append(rule)
    ordered: list[int] = []
    for value in sorted(set(key.values())):  # type: ignore[type-var]
        subgroup = [c for c in group if key[c] == value]
        ordered.extend(_order_tied(subgroup, rest, birth_dates, stations_won, used))
    return ordered


def round_outcome(
    votes: Sequence[int],
    *,
    final_round: bool = False,
    tie_break: Sequence[TieBreakRule] | None = None,
    birth_dates: Sequence[date | None] | None = None,
    stations_won: Sequence[int] | None = None,
    qualified_count: int = 2,
) -> RoundOutcome:
    """Apply the two-round rule to the votes per candidate (ballot order).

    Input: votes; `final_round` (the last round: the candidate ranked first is elected even
    without an absolute majority, i.e. after a tie-break); the tie-break chain (default: elder,
    then ballot order); the candidates' birth dates and stations won when the chain uses them (a
    rule whose data is missing for a tied candidate is skipped); how many candidates go on.
    Output: a `RoundOutcome`. An absolute majority is strictly more than half the valid votes.
    """
    rules = tuple(DEFAULT_TIE_BREAK if tie_break is None else tie_break)
    count = len(votes)
    for data, label in ((birth_dates, "dates de naissance"), (stations_won, "bureaux remportés")):
        if data is not None and len(data) != count:
            raise ValueError(f"{label} : {len(data)} valeurs pour {count} candidats")
    valid = sum(votes)
    majority = valid // 2 + 1
    by_votes: dict[int, list[int]] = {}
    for candidate, value in enumerate(votes):
        by_votes.setdefault(value, []).append(candidate)

    if valid == 0:
        kind, cut = OutcomeKind.NO_VOTES, 0
    elif max(votes) >= majority or final_round:
        kind, cut = OutcomeKind.ELECTED, 1
    else:
        kind, cut = OutcomeKind.RUNOFF, min(qualified_count, count)

    ranking: list[int] = []
    ties: list[TieResolution] = []
    for value in sorted(by_votes, reverse=True):
        group = by_votes[value]
        start = len(ranking)
        if len(group) > 1:
            used: list[TieBreakRule] = []
            ordered = _order_tied(group, rules, birth_dates, stations_won, used)
            decisive = valid > 0 and start < cut < start + len(group)
            names = ", ".join(f"n° {c + 1}" for c in group)
            explanation = (
                f"Égalité à {french_int(value)} voix entre les candidats {names} : ordre "
                f"{', '.join(f'n° {c + 1}' for c in ordered)} selon "
                + " puis ".join(_RULE_LABELS[rule] for rule in used)
                + (" ; cette égalité décide du résultat." if decisive else ".")
            )
            ties.append(TieResolution(tuple(group), value, tuple(ordered), tuple(used), decisive, explanation))
            ranking.extend(ordered)
        else:
            ranking.extend(group)

    if kind is OutcomeKind.NO_VOTES:
        return RoundOutcome(kind, 0, majority, tuple(ranking), None, (), tuple(ties), "Aucun suffrage exprimé.")
    top = ranking[0]
    if kind is OutcomeKind.ELECTED:
        if votes[top] >= majority:
            how = f"majorité absolue ({french_int(votes[top])} voix sur {french_int(valid)} suffrages exprimés, il en fallait {french_int(majority)})"
        else:
            how = f"dernier tour, arrivé en tête avec {french_int(votes[top])} voix sur {french_int(valid)}"
        explanation = f"Candidat n° {top + 1} désigné : {how}."
        return RoundOutcome(kind, valid, majority, tuple(ranking), top, (), tuple(ties), explanation)
    qualified = tuple(ranking[:cut])
    explanation = (
        f"Aucune majorité absolue ({french_int(majority)} voix nécessaires sur {french_int(valid)} suffrages "
        f"exprimés, le premier en a {french_int(votes[top])}) : second tour entre les candidats "
        + " et ".join(f"n° {c + 1}" for c in qualified)
        + "."
    )
    return RoundOutcome(kind, valid, majority, tuple(ranking), None, qualified, tuple(ties), explanation)
