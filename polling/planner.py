"""The station planner: official polling places (bureaux) grouped into primary stations.

Pure module: no database, no I/O, no clock, no randomness. The same bureaux always give the same
plan, whatever their input order and whatever the interpreter's hash seed.

Input: `Bureau` rows — one per official bureau de vote of the electoral lists, with its
department, commune (INSEE code and name), bureau code and label, canton code (may be missing)
and number of registered voters.

Output: a `Plan` — `Station`s, each a set of whole bureaux, plus per-canton figures
(`CantonSummary`), the bureaux left out (no voters in their canton), the communes cut between
several stations, and the lower bound on the number of stations.

The rules (issue 5 and DOMAIN.md), in order of strength:

1. never split an official bureau: each bureau is attached to exactly one station, so every
   voter has exactly one station;
2. a station never straddles two cantons, hence at least one station per canton with voters;
   bureaux without a canton belong to their commune's canton when all its other bureaux agree,
   otherwise to a per-department pseudo-canton (`pseudo_canton`);
3. no station above the maximum of registered voters (default 5,000) — except a single bureau
   that is above the maximum on its own: it becomes its own station, flagged `oversized`,
   since it cannot be split;
4. as few stations as these rules allow: the planner aims at the lower bound
   Σ over cantons ⌈canton voters / maximum⌉ (a bureau above the maximum counting as one
   station on its own) and reports the gap;
5. communes kept together where possible: a commune under the maximum is placed whole, and is
   cut along its bureaux only when that saves a station; a commune above the maximum is cut
   along its bureaux in the order of their codes (neighbouring codes are usually neighbouring
   streets), and its last, partly filled station takes small communes of its canton.

Rule 4 comes before rule 5: each station costs a room and a team of volunteers, so a small
commune is cut in two when, and only when, the canton then needs one station fewer.

Algorithm, per canton (cantons are independent by rule 2):
  a. bureaux above the maximum → one station each (flagged);
  b. each commune above the maximum is cut into stations along its bureaux in code order: fill
     a station in order, then exchange its last bureaux for the combination of the next few
     (`LOOKAHEAD`) that fills it best, so that stations are nearly full yet made of neighbouring
     bureaux;
  c. the communes under the maximum are placed whole, largest first, each into the fullest
     station that still has room for it, or a new station (best-fit decreasing);
  d. while the canton has more stations than its bound, try to empty the least-loaded station
     into the room left in the others (whole communes first, then bureau by bureau, a bureau
     that fits nowhere may push a smaller one on to a third station); stop when no station can
     be emptied — so no two ordinary stations of a canton could ever have been one;
  e. a commune under the maximum that ended up cut is gathered back into one of its stations
     whenever there is room;
  f. bureaux with no registered voters join a station of their commune, else the canton's least
     loaded one; in a canton with no voters at all they stay unassigned.
Stations are then numbered per department (``33-001``, ``33-002``…) in the order of canton code
and first bureau, and named after their main commune (« Mérignac », « Bordeaux 3 », « Blanquefort
et 2 autres communes »). Names are suggestions the organiser may change.

Manual adjustments (`split_station`, `merge_stations`, `move_bureau`) and the validator
`check_plan` never raise on a broken rule: they return the French list of violations, e.g.
« Le bureau 0012 de Bordeaux appartient au canton 3307, la station 33-014 au canton 3310. »
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from operator import attrgetter
from typing import NamedTuple

DEFAULT_MAX_VOTERS = 5_000
# Cutting a large commune: how far beyond the first bureau that no longer fits a station may
# look (locality against filling), how many of its last bureaux may be exchanged, and how many
# bureaux may complete it.
LOOKAHEAD = 12
FLEXIBLE = 2
COMPLETION = 3
PSEUDO_CANTON_SUFFIX = "-SC"  # « sans canton »: '69-SC' holds the bureaux of department 69 without canton


# --- Data ---------------------------------------------------------------------------------------


class BureauKey(NamedTuple):
    """Identifies an official bureau: commune INSEE code and bureau code within the commune."""

    commune_code: str
    code: str


@dataclass(frozen=True, slots=True)
class Bureau:
    """An official bureau de vote, as counted from the electoral lists."""

    department_code: str  # '33', '2A', '971'
    commune_code: str  # INSEE code, '33063'
    code: str  # bureau code within the commune, '0012'
    label: str  # 'École Jules Ferry'
    canton_code: str | None  # '3307', or None when the lists do not say
    registered: int  # registered voters (≥ 0)
    commune_name: str = ""  # 'Bordeaux' (used in messages and station names)
    key: BureauKey = field(init=False, repr=False, compare=False)  # (commune_code, code), computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", BureauKey(self.commune_code, self.code))


@dataclass(frozen=True, slots=True)
class Station:
    """A primary station: whole bureaux of one canton.

    key: '33-014' (department, then number within the department; stable once planned);
    canton_code: the canton every bureau of the station belongs to (possibly a pseudo-canton);
    bureaux: sorted keys; registered: their total; name: a suggestion;
    oversized: True for a single bureau above the maximum (allowed, shown to the organiser).
    """

    key: str
    department_code: str
    canton_code: str
    bureaux: tuple[BureauKey, ...]
    registered: int
    name: str
    oversized: bool = False


@dataclass(frozen=True, slots=True)
class CantonSummary:
    """One canton of the plan: its voters, its stations and the least it could have."""

    department_code: str
    canton_code: str
    registered: int
    bureaux: int
    stations: int
    # ⌈registered / maximum⌉ — counting each bureau above the maximum as a station of its own
    # (it cannot share one), which makes the bound exact for such cantons.
    lower_bound: int

    @property
    def gap(self) -> int:
        return self.stations - self.lower_bound


@dataclass(frozen=True)
class Plan:
    """The planner's output (immutable; adjustments return a new plan)."""

    max_voters: int
    stations: tuple[Station, ...]
    cantons: tuple[CantonSummary, ...]
    unassigned: tuple[BureauKey, ...]  # bureaux without voters in a canton without voters
    split_communes: tuple[str, ...]  # communes whose bureaux are in more than one station

    @property
    def lower_bound(self) -> int:
        """Σ over cantons of ⌈canton voters / maximum⌉ (a bureau above the maximum counting as
        one station on its own): no valid plan has fewer stations."""
        return sum(canton.lower_bound for canton in self.cantons)

    @property
    def gap(self) -> int:
        return len(self.stations) - self.lower_bound

    @property
    def ratio(self) -> float:
        return len(self.stations) / self.lower_bound if self.lower_bound else 1.0

    @property
    def registered(self) -> int:
        return sum(station.registered for station in self.stations)

    @property
    def oversized_stations(self) -> tuple[Station, ...]:
        return tuple(station for station in self.stations if station.oversized)

    def station(self, key: str) -> Station | None:
        for station in self.stations:
            if station.key == key:
                return station
        return None

    def station_of(self) -> dict[BureauKey, str]:
        """Bureau → station key."""
        return {bureau: station.key for station in self.stations for bureau in station.bureaux}


@dataclass(frozen=True)
class AdjustmentResult:
    """The outcome of a manual adjustment.

    plan: the plan after the change, or the unchanged plan when the change could not even be
    made (unknown station, bureau not in the station…); violations: every rule the resulting
    plan breaks, in French, plus the reason a change could not be made. Apply `plan` only when
    `ok` (plans are immutable: the input plan is never modified).
    """

    plan: Plan
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


class InvalidBureaux(ValueError):
    """The bureaux given to the planner are inconsistent; `problems` lists why, in French."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- Helpers ------------------------------------------------------------------------------------


def pseudo_canton(department_code: str) -> str:
    """The pseudo-canton of a department's bureaux without canton: '69' → '69-SC'."""
    return department_code + PSEUDO_CANTON_SUFFIX


def is_pseudo_canton(canton_code: str) -> bool:
    return canton_code.endswith(PSEUDO_CANTON_SUFFIX)


def department_sort_key(code: str) -> tuple[int, str]:
    """Official order of departments: 01 … 19, 2A, 2B, 21 … 95, 971 … ('2A' is not after '29')."""
    if code.isdigit():
        return (int(code) * 10, code)
    if len(code) == 2 and code[0].isdigit():  # 2A, 2B: Corsica, formerly 20
        return (int(code[0]) * 100 + 5, code)
    return (10**9, code)


def french_int(value: int) -> str:
    """5210 → '5 210' (narrow no-break space, as the pages' `entier` filter)."""
    return f"{value:,}".replace(",", "\u202f")


def _of_commune(name: str) -> str:
    """« de Bordeaux », « du Havre », « des Abymes »: French contraction of de + article."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    return "de " + name


def _bureau_phrase(key: BureauKey, bureau: Bureau | None) -> str:
    if bureau is not None and bureau.commune_name:
        return f"Le bureau {key.code} {_of_commune(bureau.commune_name)}"
    return f"Le bureau {key.code} de la commune {key.commune_code}"


def _canton_phrase(canton_code: str) -> str:
    """« au canton 3307 » or « aux bureaux sans canton du département 69 »."""
    if is_pseudo_canton(canton_code):
        return f"aux bureaux sans canton du département {canton_code[: -len(PSEUDO_CANTON_SUFFIX)]}"
    return f"au canton {canton_code}"


def effective_cantons(bureaux: Iterable[Bureau]) -> dict[BureauKey, str]:
    """The canton each bureau is planned in.

    Its own canton when known; else its commune's canton when all the commune's bureaux with a
    canton agree on one; else the pseudo-canton of its department.
    """
    bureaux = list(bureaux)
    known: dict[str, set[str]] = defaultdict(set)
    for bureau in bureaux:
        if bureau.canton_code:
            known[bureau.commune_code].add(bureau.canton_code)
    result = {}
    for bureau in bureaux:
        if bureau.canton_code:
            result[bureau.key] = bureau.canton_code
        else:
            cantons = known.get(bureau.commune_code)
            result[bureau.key] = next(iter(cantons)) if cantons and len(cantons) == 1 else pseudo_canton(bureau.department_code)
    return result


def canton_lower_bound(registered: int, max_voters: int) -> int:
    return math.ceil(registered / max_voters) if registered > 0 else 0


def check_bureaux(bureaux: Iterable[Bureau]) -> list[str]:
    """Problems in the planner's input, in French (empty when the bureaux can be planned)."""
    problems: list[str] = []
    seen: set[BureauKey] = set()
    department_of_commune: dict[str, str] = {}
    for bureau in sorted(bureaux, key=attrgetter("key")):
        key = bureau.key
        if not bureau.department_code or not bureau.commune_code or not bureau.code:
            problems.append(
                f"{_bureau_phrase(key, bureau)} n'a pas de département, de commune ou de code : complétez la liste."
            )
            continue
        if key in seen:
            problems.append(
                f"{_bureau_phrase(key, bureau)} apparaît deux fois : chaque bureau ne doit figurer qu'une fois."
            )
            continue
        seen.add(key)
        registered = bureau.registered
        if type(registered) is not int or registered < 0:
            problems.append(f"{_bureau_phrase(key, bureau)} a un nombre d'inscrits invalide ({registered!r}).")
        other = department_of_commune.setdefault(bureau.commune_code, bureau.department_code)
        if other != bureau.department_code:
            problems.append(
                f"{_bureau_phrase(key, bureau)} est indiqué dans le département {bureau.department_code}, "
                f"les autres bureaux de la commune dans le {other}."
            )
    return problems


# --- Packing ------------------------------------------------------------------------------------


class _Bin:
    """A station being built: its bureaux (in placement order) and its load."""

    __slots__ = ("bureaux", "load")

    def __init__(self) -> None:
        self.bureaux: list[Bureau] = []
        self.load = 0

    def add(self, bureau: Bureau) -> None:
        self.bureaux.append(bureau)
        self.load += bureau.registered


def _cut_large_commune(bureaux: list[Bureau], capacity: int) -> list[_Bin]:
    """A commune above the maximum, cut into stations along its bureaux in code order.

    Each station takes the pending bureaux in code order while they fit; then its last
    `FLEXIBLE` bureaux and the next `LOOKAHEAD` pending ones form a pool, and the best
    combination of at most `COMPLETION` bureaux of the pool replaces those last ones (the one
    that fills the station best; among equals, the earliest in code order). Stations are thus
    nearly full and made of neighbouring bureaux.
    """
    pending = bureaux  # sorted by code
    bins: list[_Bin] = []
    while pending:
        sizes = [bureau.registered for bureau in pending]
        load, index = 0, 0
        while index < len(sizes) and load + sizes[index] <= capacity:
            load += sizes[index]
            index += 1
        if index == len(sizes):
            chosen = list(range(index))
        else:
            flexible = min(FLEXIBLE, index)
            fixed = list(range(index - flexible))
            free = capacity - sum(sizes[i] for i in fixed)
            pool = list(range(index - flexible, min(len(sizes), index + LOOKAHEAD)))
            pool_sizes = [sizes[i] for i in pool]
            best = list(range(index - flexible, index))
            best_load = sum(sizes[i] for i in best)
            for count in range(1, COMPLETION + 1):
                if best_load == free:
                    break
                # Positions and sizes enumerated in lockstep: summing a tuple of ints is fast.
                for combination, combined in zip(combinations(pool, count), combinations(pool_sizes, count)):
                    total = sum(combined)
                    if best_load < total <= free:
                        best, best_load = list(combination), total
                        if total == free:
                            break
            chosen = fixed + best
        current = _Bin()
        for position in sorted(chosen):
            current.add(pending[position])
        bins.append(current)
        taken = set(chosen)
        pending = [bureau for position, bureau in enumerate(pending) if position not in taken]
    return bins


def _best_fit(bins: list[_Bin], size: int, capacity: int, exclude: int = -1) -> int:
    """Index of the fullest bin that still has room for `size`, or -1."""
    best, best_load = -1, -1
    limit = capacity - size
    for index, bin_ in enumerate(bins):
        if index != exclude and bin_.load <= limit and bin_.load > best_load:
            best, best_load = index, bin_.load
    return best


def _commune_groups(bureaux: Iterable[Bureau]) -> list[tuple[str, list[Bureau], int]]:
    """(commune code, its bureaux sorted by code, their total), in commune code order."""
    groups: dict[str, list[Bureau]] = defaultdict(list)
    for bureau in bureaux:
        groups[bureau.commune_code].append(bureau)
    out = []
    for commune in sorted(groups):
        members = sorted(groups[commune], key=lambda b: b.code)
        out.append((commune, members, sum(b.registered for b in members)))
    return out


def _try_empty_bin(bins: list[_Bin], victim: int, capacity: int) -> list[list[Bureau]] | None:
    """The other bins' contents once the bureaux of bins[victim] are spread among them, or None.

    Whole communes first (largest first, preferring a bin that already holds part of the same
    commune, then the fullest bin with room); a commune that fits nowhere whole is placed bureau
    by bureau, with the same preferences. A bureau that fits nowhere may still take the place of
    a smaller bureau that moves on to a third bin (one ejection), preferably a bureau of a commune
    that is already cut.
    """
    others = [i for i in range(len(bins)) if i != victim]
    contents = [list(bins[i].bureaux) for i in others]
    loads = [bins[i].load for i in others]
    holders: dict[str, list[int]] = defaultdict(list)
    for position, members in enumerate(contents):
        for bureau in members:
            places = holders[bureau.commune_code]
            if not places or places[-1] != position:
                places.append(position)

    def note(bureau: Bureau, position: int) -> None:
        contents[position].append(bureau)
        loads[position] += bureau.registered
        if position not in holders[bureau.commune_code]:
            holders[bureau.commune_code].append(position)

    def place(size: int, commune: str, exclude: int = -1) -> int:
        best, best_load = -1, -1
        for position in holders.get(commune, ()):
            if position != exclude and loads[position] + size <= capacity and loads[position] > best_load:
                best, best_load = position, loads[position]
        if best >= 0:
            return best
        limit = capacity - size
        for position, load in enumerate(loads):
            if position != exclude and load <= limit and load > best_load:
                best, best_load = position, load
        return best

    def eject_for(bureau: Bureau) -> bool:
        roomiest = max(capacity - load for load in loads)
        for position in sorted(range(len(loads)), key=lambda p: (-loads[p], p)):
            need = loads[position] + bureau.registered - capacity
            candidates = [
                other
                for other in contents[position]
                if need <= other.registered <= roomiest and other.registered < bureau.registered
            ]
            candidates.sort(key=lambda o: (len(holders[o.commune_code]) == 1, o.registered, o.key))
            for other in candidates:
                target = place(other.registered, other.commune_code, exclude=position)
                if target < 0:
                    continue
                contents[position].remove(other)
                loads[position] -= other.registered
                if not any(b.commune_code == other.commune_code for b in contents[position]):
                    holders[other.commune_code].remove(position)
                note(other, target)
                note(bureau, position)
                return True
        return False

    groups = _commune_groups(bins[victim].bureaux)
    groups.sort(key=lambda group: (-group[2], group[0]))
    for commune, members, total in groups:
        target = place(total, commune)
        if target >= 0:
            for bureau in members:
                note(bureau, target)
            continue
        for bureau in sorted(members, key=lambda b: (-b.registered, b.code)):
            target = place(bureau.registered, commune)
            if target >= 0:
                note(bureau, target)
            elif not eject_for(bureau):
                return None
    return contents


def _consolidate(bins: list[_Bin], capacity: int, target: int) -> list[_Bin]:
    """Empty the least-loaded bins into the others' room while above `target` bins."""
    while len(bins) > target:
        total_free = sum(capacity - bin_.load for bin_ in bins)
        order = sorted(range(len(bins)), key=lambda i: (bins[i].load, bins[i].bureaux[0].key if bins[i].bureaux else ()))
        emptied = False
        for victim in order:
            if bins[victim].load > total_free - (capacity - bins[victim].load):
                continue  # not enough room elsewhere, by volume
            contents = _try_empty_bin(bins, victim, capacity)
            if contents is None:
                continue
            rebuilt = []
            for members in contents:
                bin_ = _Bin()
                for bureau in members:
                    bin_.add(bureau)
                rebuilt.append(bin_)
            bins = rebuilt
            emptied = True
            break
        if not emptied:
            break
    return bins


def _gather_cut_communes(bins: list[_Bin], capacity: int, large: set[str]) -> None:
    """Put back together each commune under the maximum that was cut, when one of its bins has room.

    Repeated until nothing moves (moving a commune can make room for another); it ends because
    each move lowers the number of (commune, station) pairs.
    """
    moved = True
    while moved:
        moved = False
        holders: dict[str, list[int]] = defaultdict(list)
        for index, bin_ in enumerate(bins):
            for bureau in bin_.bureaux:
                if bureau.commune_code not in large and index not in holders[bureau.commune_code]:
                    holders[bureau.commune_code].append(index)
        for commune in sorted(holders):
            indexes = holders[commune]
            if len(indexes) < 2:
                continue
            parts = {i: [b for b in bins[i].bureaux if b.commune_code == commune] for i in indexes}
            total = sum(b.registered for part in parts.values() for b in part)
            # Keep the commune in the bin that already holds most of it, if the rest fits there.
            for keeper in sorted(indexes, key=lambda i: (-sum(b.registered for b in parts[i]), i)):
                moving = total - sum(b.registered for b in parts[keeper])
                if bins[keeper].load + moving > capacity:
                    continue
                for other in indexes:
                    if other == keeper:
                        continue
                    for bureau in parts[other]:
                        bins[other].bureaux.remove(bureau)
                        bins[other].load -= bureau.registered
                        bins[keeper].add(bureau)
                moved = True
                break
            if moved:
                break  # the holders changed: look again


def _plan_canton(bureaux: list[Bureau], capacity: int) -> tuple[list[_Bin], list[Bureau]]:
    """Stations of one canton (a list of bins, oversized ones included) and its unassigned bureaux."""
    if sum(b.registered for b in bureaux) == 0:
        return [], bureaux
    oversized = sorted((b for b in bureaux if b.registered > capacity), key=lambda b: b.key)
    empty = [b for b in bureaux if b.registered == 0]
    regular = [b for b in bureaux if 0 < b.registered <= capacity]

    bins: list[_Bin] = []
    groups = _commune_groups(regular)
    large = {commune for commune, _, total in groups if total > capacity}
    for _, members, total in groups:
        if total > capacity:
            bins.extend(_cut_large_commune(members, capacity))
    small = sorted((g for g in groups if g[2] <= capacity), key=lambda g: (-g[2], g[0]))
    for _, members, total in small:
        index = _best_fit(bins, total, capacity)
        if index < 0:
            bins.append(_Bin())
            index = len(bins) - 1
        for bureau in members:
            bins[index].add(bureau)

    regular_total = sum(b.registered for b in regular)
    bins = _consolidate(bins, capacity, canton_lower_bound(regular_total, capacity))
    _gather_cut_communes(bins, capacity, large)
    bins = [bin_ for bin_ in bins if bin_.bureaux]

    for bureau in oversized:
        alone = _Bin()
        alone.add(bureau)
        bins.append(alone)

    unassigned: list[Bureau] = []
    for bureau in sorted(empty, key=lambda b: b.key):
        regular_bins = [i for i, bin_ in enumerate(bins) if bin_.load <= capacity]
        if not regular_bins:
            unassigned.append(bureau)
            continue
        same_commune = [i for i in regular_bins if any(b.commune_code == bureau.commune_code for b in bins[i].bureaux)]
        index = same_commune[0] if same_commune else min(regular_bins, key=lambda i: (bins[i].load, i))
        bins[index].add(bureau)
    return bins, unassigned


# --- Plan assembly ------------------------------------------------------------------------------


def _station_names(
    stations: list[tuple[str, str, str, tuple[BureauKey, ...]]], index: Mapping[BureauKey, Bureau]
) -> list[str]:
    """Suggested names, in station order: « Mérignac », « Bordeaux 3 », « Cenon et Floirac »…"""
    # The name carried by the commune's first bureau, whatever the input order.
    named_by: dict[str, BureauKey] = {}
    for key, bureau in index.items():
        if bureau.commune_name and (key.commune_code not in named_by or key < named_by[key.commune_code]):
            named_by[key.commune_code] = key
    commune_names = {commune: index[key].commune_name for commune, key in named_by.items()}
    # « Bordeaux 3 »: the rank of a station among the stations holding part of the commune.
    commune_stations: dict[str, int] = defaultdict(int)
    rank: dict[tuple[str, int], int] = {}
    for position, (_, _, _, keys) in enumerate(stations):
        for commune in {key.commune_code for key in keys}:
            commune_stations[commune] += 1
            rank[(commune, position)] = commune_stations[commune]
    names = []
    for position, (_, _, _, keys) in enumerate(stations):
        per_commune: dict[str, int] = defaultdict(int)
        for key in keys:
            bureau = index.get(key)
            per_commune[key.commune_code] += bureau.registered if bureau else 0
        communes = sorted(per_commune, key=lambda c: (-per_commune[c], c))
        if not communes:
            names.append("Station sans bureau")
            continue

        main = communes[0]
        name = commune_names.get(main, main)
        if commune_stations[main] > 1:
            name = f"{name} {rank[(main, position)]}"
        others = len(communes) - 1
        if others == 1:
            name = f"{name} et {commune_names.get(communes[1], communes[1])}"
        elif others > 1:
            name = f"{name} et {others} autres communes"
        names.append(name)
    return names


def _build_plan(
    assignments: list[tuple[str, str, str, tuple[BureauKey, ...]]],
    index: Mapping[BureauKey, Bureau],
    cantons: Mapping[BureauKey, str],
    max_voters: int,
    unassigned: Iterable[BureauKey],
) -> Plan:
    """Stations (key, department, canton, bureau keys) → a complete `Plan` with names and figures."""
    names = _station_names(assignments, index)
    stations = []
    for (key, department, canton, keys), name in zip(assignments, names):
        registered = sum(index[k].registered for k in keys if k in index)
        oversized = len(keys) == 1 and registered > max_voters
        stations.append(Station(key, department, canton, tuple(sorted(keys)), registered, name, oversized))

    # registered, bureaux, stations, bureaux above the maximum, their voters
    per_canton: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for key, bureau in index.items():
        figures = per_canton[(bureau.department_code, cantons[key])]
        figures[0] += bureau.registered
        figures[1] += 1
        if bureau.registered > max_voters:
            figures[3] += 1
            figures[4] += bureau.registered
    for station in stations:
        figures = per_canton.get((station.department_code, station.canton_code))
        if figures is not None:
            figures[2] += 1
    summaries = tuple(
        CantonSummary(
            department,
            canton,
            registered,
            count,
            stations_count,
            oversized + canton_lower_bound(registered - oversized_voters, max_voters),
        )
        for (department, canton), (registered, count, stations_count, oversized, oversized_voters) in sorted(
            per_canton.items(), key=lambda item: (department_sort_key(item[0][0]), item[0][1])
        )
    )
    holders: dict[str, set[str]] = defaultdict(set)
    for station in stations:
        for key in station.bureaux:
            holders[key.commune_code].add(station.key)
    split = tuple(sorted(commune for commune, keys in holders.items() if len(keys) > 1))
    return Plan(max_voters, tuple(stations), summaries, tuple(sorted(unassigned)), split)


def _check_max(max_voters: int) -> None:
    if isinstance(max_voters, bool) or not isinstance(max_voters, int) or max_voters < 1:
        raise ValueError("Le maximum d'inscrits par station doit être un entier positif.")


def plan_stations(bureaux: Iterable[Bureau], max_voters: int = DEFAULT_MAX_VOTERS) -> Plan:
    """Group the bureaux into stations (see the module docstring for the rules and algorithm).

    Input: every bureau of the territory to plan (a department or all of France), and the
    maximum of registered voters per station. Output: the `Plan`.
    Raises `InvalidBureaux` (French problems) on inconsistent input, ValueError on a bad maximum.
    """
    _check_max(max_voters)
    bureaux = list(bureaux)
    problems = check_bureaux(bureaux)
    if problems:
        raise InvalidBureaux(problems)
    index = {bureau.key: bureau for bureau in bureaux}
    cantons = effective_cantons(bureaux)
    by_canton: dict[tuple[str, str], list[Bureau]] = defaultdict(list)
    for bureau in bureaux:
        by_canton[(bureau.department_code, cantons[bureau.key])].append(bureau)

    planned: list[tuple[tuple, str, str, tuple[BureauKey, ...]]] = []
    unassigned: list[BureauKey] = []
    for (department, canton), members in by_canton.items():
        bins, left = _plan_canton(members, max_voters)
        unassigned.extend(b.key for b in left)
        for bin_ in bins:
            keys = tuple(sorted(b.key for b in bin_.bureaux))
            planned.append(((department_sort_key(department), canton, keys[0]), department, canton, keys))
    planned.sort(key=lambda item: item[0])

    assignments = []
    numbers: dict[str, int] = defaultdict(int)
    for _, department, canton, keys in planned:
        numbers[department] += 1
        assignments.append((station_key(department, numbers[department]), department, canton, keys))
    return _build_plan(assignments, index, cantons, max_voters, unassigned)


def station_key(department_code: str, number: int) -> str:
    """'33', 14 → '33-014' (at least three digits)."""
    return f"{department_code}-{number:03d}"


def _next_station_key(plan: Plan, department_code: str) -> str:
    prefix = department_code + "-"
    used = [int(s.key[len(prefix):]) for s in plan.stations if s.key.startswith(prefix) and s.key[len(prefix):].isdigit()]
    return station_key(department_code, max(used, default=0) + 1)


# --- Validation ---------------------------------------------------------------------------------


def check_plan(plan: Plan, bureaux: Iterable[Bureau], max_voters: int | None = None) -> list[str]:
    """Every rule the plan breaks, in French (empty list: the plan is valid).

    Input: a plan (from the planner, adjusted by hand, or read back from the database), the
    bureaux it is meant to cover, and the maximum (default: the plan's own).
    """
    maximum = plan.max_voters if max_voters is None else max_voters
    try:
        _check_max(maximum)
    except ValueError as error:
        return [str(error)]
    bureaux = list(bureaux)
    index = {bureau.key: bureau for bureau in bureaux}
    cantons = effective_cantons(bureaux)
    violations: list[str] = []
    seen_keys: set[str] = set()
    station_of: dict[BureauKey, str] = {}
    cantons_with_station: set[str] = set()

    for station in plan.stations:
        if station.key in seen_keys:
            violations.append(f"La station {station.key} apparaît deux fois dans le plan.")
            continue
        seen_keys.add(station.key)
        if not station.bureaux:
            violations.append(f"La station {station.key} n'a aucun bureau : supprimez-la ou fusionnez-la avec une autre.")
            continue
        cantons_with_station.add(station.canton_code)
        total = 0
        for key in station.bureaux:
            bureau = index.get(key)
            if bureau is None:
                violations.append(
                    f"La station {station.key} contient le bureau {key.code} de la commune {key.commune_code}, "
                    f"absent des listes électorales."
                )
                continue
            total += bureau.registered
            if key in station_of:
                violations.append(
                    f"{_bureau_phrase(key, bureau)} est rattaché à deux stations : {station_of[key]} et {station.key}."
                )
                continue
            station_of[key] = station.key
            canton = cantons[key]
            if canton != station.canton_code:
                violations.append(
                    f"{_bureau_phrase(key, bureau)} appartient {_canton_phrase(canton)}, "
                    f"la station {station.key} {_canton_phrase(station.canton_code)}."
                )
        if total != station.registered:
            violations.append(
                f"La station {station.key} annonce {french_int(station.registered)} inscrits, "
                f"ses bureaux en comptent {french_int(total)}."
            )
        if total > maximum and len(station.bureaux) > 1:
            violations.append(
                f"La station {station.key} compte {french_int(total)} inscrits, au-delà du maximum de "
                f"{french_int(maximum)} : séparez-la."
            )

    canton_voters: dict[str, int] = defaultdict(int)
    for bureau in sorted(bureaux, key=lambda b: b.key):
        canton_voters[cantons[bureau.key]] += bureau.registered
        if bureau.registered > 0 and bureau.key not in station_of:
            violations.append(
                f"{_bureau_phrase(bureau.key, bureau)} ({french_int(bureau.registered)} inscrits) "
                f"n'est rattaché à aucune station."
            )
    for canton in sorted(canton_voters):
        if canton_voters[canton] > 0 and canton not in cantons_with_station:
            where = f"Le canton {canton}" if not is_pseudo_canton(canton) else (
                f"L'ensemble des bureaux sans canton du département {canton[: -len(PSEUDO_CANTON_SUFFIX)]}"
            )
            violations.append(f"{where} compte {french_int(canton_voters[canton])} inscrits mais aucune station.")
    return violations


# --- Manual adjustments -------------------------------------------------------------------------


def _key_order(key: str, department: str) -> tuple:
    number = key[len(department) + 1 :]
    return (department_sort_key(department), int(number) if number.isdigit() else 10**9, key)


def _rebuild(plan: Plan, bureaux: list[Bureau], stations: list[tuple[str, str, str, tuple[BureauKey, ...]]]) -> Plan:
    """The plan with these stations, in key order (department, then number), names recomputed."""
    stations = sorted(stations, key=lambda entry: _key_order(entry[0], entry[1]))
    index = {bureau.key: bureau for bureau in bureaux}
    cantons = effective_cantons(bureaux)
    return _build_plan(stations, index, cantons, plan.max_voters, plan.unassigned)


def _assignments(plan: Plan) -> list[tuple[str, str, str, tuple[BureauKey, ...]]]:
    return [(s.key, s.department_code, s.canton_code, s.bureaux) for s in plan.stations]


def _refused(plan: Plan, reason: str) -> AdjustmentResult:
    return AdjustmentResult(plan, (reason,))


def _checked(plan: Plan, bureaux: list[Bureau]) -> AdjustmentResult:
    return AdjustmentResult(plan, tuple(check_plan(plan, bureaux)))


def split_station(plan: Plan, bureaux: Iterable[Bureau], key: str, moving: Collection[BureauKey]) -> AdjustmentResult:
    """Detach some bureaux of a station into a new station (next free number of the department)."""
    bureaux = list(bureaux)
    station = plan.station(key)
    if station is None:
        return _refused(plan, f"La station {key} n'existe pas dans le plan.")
    moving_set = {BureauKey(*bureau) for bureau in moving}
    if not moving_set:
        return _refused(plan, f"Choisissez au moins un bureau à détacher de la station {station.key}.")
    index = {bureau.key: bureau for bureau in bureaux}
    outside = sorted(moving_set - set(station.bureaux))
    if outside:
        return _refused(plan, f"{_bureau_phrase(outside[0], index.get(outside[0]))} n'est pas dans la station {station.key}.")
    staying = tuple(key for key in station.bureaux if key not in moving_set)
    if not staying:
        return _refused(plan, f"La station {station.key} doit garder au moins un bureau : ne détachez pas tous ses bureaux.")
    new_key = _next_station_key(plan, station.department_code)
    stations = []
    for entry in _assignments(plan):
        if entry[0] == station.key:
            stations.append((station.key, station.department_code, station.canton_code, staying))
            stations.append((new_key, station.department_code, station.canton_code, tuple(sorted(moving_set))))
        else:
            stations.append(entry)
    return _checked(_rebuild(plan, bureaux, stations), bureaux)


def merge_stations(plan: Plan, bureaux: Iterable[Bureau], kept_key: str, absorbed_key: str) -> AdjustmentResult:
    """Merge station `absorbed_key` into `kept_key` (which keeps its key; the other key disappears)."""
    bureaux = list(bureaux)
    kept, absorbed = plan.station(kept_key), plan.station(absorbed_key)
    for key, station in ((kept_key, kept), (absorbed_key, absorbed)):
        if station is None:
            return _refused(plan, f"La station {key} n'existe pas dans le plan.")
    if kept_key == absorbed_key:
        return _refused(plan, f"La station {kept_key} ne peut pas être fusionnée avec elle-même.")
    merged = tuple(sorted(kept.bureaux + absorbed.bureaux))
    stations = []
    for entry in _assignments(plan):
        if entry[0] == kept_key:
            stations.append((kept.key, kept.department_code, kept.canton_code, merged))
        elif entry[0] != absorbed_key:
            stations.append(entry)
    return _checked(_rebuild(plan, bureaux, stations), bureaux)


def move_bureau(plan: Plan, bureaux: Iterable[Bureau], bureau: BureauKey, to_station_key: str) -> AdjustmentResult:
    """Move one bureau from its current station to `to_station_key`.

    A station left without bureaux is reported (« n'a aucun bureau ») rather than deleted:
    merge it instead.
    """
    bureaux = list(bureaux)
    key = BureauKey(*bureau)
    index = {b.key: b for b in bureaux}
    target = plan.station(to_station_key)
    if target is None:
        return _refused(plan, f"La station {to_station_key} n'existe pas dans le plan.")
    source = next((s for s in plan.stations if key in s.bureaux), None)
    if source is None:
        return _refused(plan, f"{_bureau_phrase(key, index.get(key))} n'est dans aucune station du plan.")
    if source.key == target.key:
        return _refused(plan, f"{_bureau_phrase(key, index.get(key))} est déjà dans la station {target.key}.")
    stations = []
    for entry in _assignments(plan):
        if entry[0] == source.key:
            stations.append((entry[0], entry[1], entry[2], tuple(k for k in entry[3] if k != key)))
        elif entry[0] == target.key:
            stations.append((entry[0], entry[1], entry[2], tuple(sorted(entry[3] + (key,)))))
        else:
            stations.append(entry)
    return _checked(_rebuild(plan, bureaux, stations), bureaux)


def renumbered(plan: Plan, bureaux: Iterable[Bureau]) -> Plan:
    """The same stations numbered again without gaps (after merges), in planner order.

    Only for a plan not yet applied: once stations exist, their keys are printed on sheets.
    """
    bureaux = list(bureaux)
    ordered = sorted(
        _assignments(plan),
        key=lambda entry: (department_sort_key(entry[1]), entry[2], entry[3][0] if entry[3] else BureauKey("", "")),
    )
    numbers: dict[str, int] = defaultdict(int)
    stations = []
    for _, department, canton, keys in ordered:
        numbers[department] += 1
        stations.append((station_key(department, numbers[department]), department, canton, keys))
    return _rebuild(plan, bureaux, stations)


# --- Review: the table and the summary the organiser reads ----------------------------------------

PLAN_COLUMNS = (
    "station",
    "nom_station",
    "departement",
    "canton",
    "commune_insee",
    "commune",
    "bureau",
    "libelle_bureau",
    "inscrits_bureau",
    "inscrits_station",
    "hors_norme",
)


def plan_table(plan: Plan, bureaux: Iterable[Bureau]) -> list[tuple[str, ...]]:
    """One row per bureau, in station order (for the CSV the organiser reviews), without header.

    Columns: `PLAN_COLUMNS`. Unassigned bureaux come last with an empty station.
    `hors_norme` is « oui » for a single bureau above the maximum.
    """
    index = {bureau.key: bureau for bureau in bureaux}
    rows: list[tuple[str, ...]] = []

    def row(station: Station | None, key: BureauKey) -> tuple[str, ...]:
        bureau = index.get(key)
        return (
            station.key if station else "",
            station.name if station else "",
            station.department_code if station else (bureau.department_code if bureau else ""),
            station.canton_code if station else "",
            key.commune_code,
            bureau.commune_name if bureau else "",
            key.code,
            bureau.label if bureau else "",
            str(bureau.registered) if bureau else "",
            str(station.registered) if station else "",
            "oui" if station and station.oversized else "",
        )

    for station in plan.stations:
        rows.extend(row(station, key) for key in station.bureaux)
    rows.extend(row(None, key) for key in plan.unassigned)
    return rows


def plan_summary(plan: Plan, bureaux: Iterable[Bureau]) -> list[str]:
    """The plan in a few French lines, for the CLI and the review page."""
    bureaux = list(bureaux)
    totals: dict[str, int] = defaultdict(int)
    for bureau in bureaux:
        totals[bureau.commune_code] += bureau.registered
    cut_small = sum(1 for commune in plan.split_communes if totals.get(commune, 0) <= plan.max_voters)
    share = f"{plan.gap / plan.lower_bound * 100:.1f}".replace(".", ",") if plan.lower_bound else "0,0"
    above = [canton for canton in plan.cantons if canton.gap > 0]
    lines = [
        f"Plan des stations : au plus {french_int(plan.max_voters)} inscrits par station.",
        f"Bureaux : {french_int(len(bureaux))} ; inscrits : {french_int(sum(b.registered for b in bureaux))} ; "
        f"cantons : {french_int(len(plan.cantons))}.",
        f"Stations : {french_int(len(plan.stations))} ; minimum possible : {french_int(plan.lower_bound)} "
        f"(écart {french_int(plan.gap)}, soit {share} %).",
        f"Communes réparties sur plusieurs stations : {french_int(len(plan.split_communes))}, "
        f"dont {french_int(cut_small)} sous le maximum.",
        f"Bureaux au-delà du maximum, station à eux seuls : {french_int(len(plan.oversized_stations))}.",
        f"Bureaux sans station (canton sans inscrits) : {french_int(len(plan.unassigned))}.",
        f"Cantons au-dessus du minimum : {french_int(len(above))}.",
    ]
    return lines


__all__ = [
    "DEFAULT_MAX_VOTERS",
    "AdjustmentResult",
    "Bureau",
    "BureauKey",
    "CantonSummary",
    "InvalidBureaux",
    "PLAN_COLUMNS",
    "Plan",
    "Station",
    "canton_lower_bound",
    "check_bureaux",
    "check_plan",
    "department_sort_key",
    "effective_cantons",
    "french_int",
    "is_pseudo_canton",
    "merge_stations",
    "move_bureau",
    "plan_stations",
    "plan_summary",
    "plan_table",
    "pseudo_canton",
    "renumbered",
    "split_station",
    "station_key",
]
