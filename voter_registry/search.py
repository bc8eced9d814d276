"""Finding a voter in a second among 48 M: prefix search on folded keys, ranked, widening from the
station's area to its department, then to the country.

How a query runs (`search_voters`):
1. the typed family name becomes a few key prefixes (`normalize.name_query_keys`), each a range
   scan `key >= 'fontaine' AND key < 'fontainf'` on a b-tree that starts with the department
   (and, for the station's area, the commune and the bureau), on the birth name and the usage
   name; given names (any order, prefixes), birth date or year and commune filter the rows;
2. the levels are searched in order — the station's bureaux, then its department, then the
   country — and, by default, the search stops at the first level that finds someone;
3. at most `MAX_CANDIDATES` rows per level are read and ranked in Python: exact name before
   prefix, given names matching as typed, full birth date, birth name before usage name.

Every call is recorded in the transparency log (`events.RegistryLookup`), without what was
typed. Results outside a station's area are reduced to what tells the voter where to go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import driver_connection, note_audit_event, utcnow
from services.elections.models import Election
from services.errors import InvalidInput
from services.events import AUDIT_COLUMNS, Actor, audit_row, canonical_json
from voter_registry import events
from voter_registry.eligibility import Eligibility, Person, Rules, Source, Status, evaluate
from voter_registry.errors import QueryTooVague
from voter_registry.models import RegistryState
from voter_registry.normalize import PARTICLES, QueryKey, fold, given_query_words, name_query_keys
from voter_registry.reu import BIRTH_PARTICLES, LIST_LABELS, USAGE_PARTICLES, format_birth_date
from voter_registry.territory_cache import territory

MAX_CANDIDATES = 200
DEFAULT_LIMIT = 20
# Station staff search the whole country with a name of at least this many letters (after its
# particles), unless they give the birth date or year or the commune.
NATIONAL_MIN_LETTERS = 4


class Level(StrEnum):
    AREA = "bureau"
    DEPARTMENT = "departement"
    NATIONAL = "national"

    @property
    def label(self) -> str:
        return {"bureau": "Dans ce bureau", "departement": "Dans le département", "national": "Ailleurs en France"}[
            self.value
        ]


# --- Queries -----------------------------------------------------------------------------------

_DATE_FULL = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})$")
_DATE_MONTH = re.compile(r"^(\d{1,2})[/.\- ](\d{4})$")


def parse_birth_query(text: str) -> tuple[int, int, int] | None:
    """(year, month, day), 0 for what is not given; None when empty. Raises InvalidInput in French."""
    value = text.strip()
    if not value:
        return None
    if value.isdigit() and len(value) == 8:
        value = f"{value[:2]}/{value[2:4]}/{value[4:]}"
    if value.isdigit() and len(value) == 4:
        year, month, day = int(value), 0, 0
    elif match := _DATE_FULL.match(value):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
    elif match := _DATE_MONTH.match(value):
        day, month, year = 0, int(match[1]), int(match[2])
    else:
        raise InvalidInput(
            f"Date de naissance « {value[:20]} » non reconnue : tapez jj/mm/aaaa, mm/aaaa ou l'année (aaaa).",
            code="bad_birth_date",
        )
    if not 1890 <= year <= 2100 or month > 12 or day > 31:
        raise InvalidInput(f"Date de naissance « {value[:20]} » impossible.", code="bad_birth_date")
    return year, month, day


@dataclass(frozen=True)
class VoterQuery:
    """What staff typed. Only `name` is required (two letters at least)."""

    name: str = ""  # birth or usage name, or its beginning
    given_names: str = ""  # in any order, each word a prefix
    birth: str = ""  # « 12/04/1953 », « 04/1953 » or « 1953 »
    commune: str = ""  # commune of registration: INSEE code or name

    @classmethod
    def from_text(cls, text: str) -> VoterQuery:
        """One search box: « de la fontaine jean 1953 » → name, given names, birth.

        Leading particles belong to the name; the first other word ends it; what has digits is
        the birth date or year; the remaining words are given names.
        """
        name_words: list[str] = []
        given: list[str] = []
        birth: list[str] = []
        for word in text.split():
            if any(ch.isdigit() for ch in word):
                birth.append(word)
            elif not name_words or (all(w.lower().strip("'’") in PARTICLES for w in name_words) and not given):
                name_words.append(word)
            else:
                given.append(word)
        return cls(name=" ".join(name_words), given_names=" ".join(given), birth=" ".join(birth))

    def fields(self) -> list[str]:
        """Which criteria were given (for the transparency log: never their values)."""
        names = {"nom": self.name, "prenoms": self.given_names, "naissance": self.birth, "commune": self.commune}
        return [label for label, value in names.items() if value.strip()]


@dataclass(frozen=True)
class SearchScope:
    """Where a caller may search, in the order the levels are tried.

    - `area`: the station's polling places, (commune INSEE code, bureau code) pairs;
    - `department`: searched after the area (a commission's whole scope);
    - `national`: may widen to the whole country (station staff, organisers, authority).
    `full_detail_outside_area` False (station staff): outside their area, a result only says
    who and where to vote, not the address nor the full birth date.
    """

    area: tuple[tuple[str, str], ...] = ()
    department: str | None = None
    national: bool = False
    full_detail_outside_area: bool = True
    # Station staff search the whole country only with a given name, a birth date or a
    # commune (a name alone is a way to browse the national list, not to find one voter).
    national_needs_detail: bool = False

    @property
    def kind(self) -> str:
        if self.area:
            return Level.AREA.value
        if self.department and not self.national:
            return Level.DEPARTMENT.value
        return Level.NATIONAL.value


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoterRecord:
    """A voter as the registry hands it to its callers (stations, commissions, polling).

    `ref` names the row: « L-33-1234 » (lists) or « S-33-12 » (supplementary registration).
    `identity` is the stable identity (32 bytes, see `normalize`): polling derives the
    one-vote-per-round token from it.
    """

    ref: str
    source: Source
    department_code: str
    commune_code: str
    commune_name: str
    bureau_code: str
    bureau_label: str
    birth_name: str
    usage_name: str
    given_names: str
    sex: str
    birth_year: int
    birth_month: int
    birth_day: int
    birth_place: str
    nationality: str
    address: str
    lists: tuple[str, ...]
    order_number: int
    identity: bytes
    category: str = ""
    party: str = ""
    registered_on: date | None = None
    proof_date: date | None = None

    @property
    def birth_date(self) -> str:
        return format_birth_date(self.birth_year, self.birth_month, self.birth_day)

    @property
    def display_name(self) -> str:
        name = self.birth_name
        if self.usage_name:
            name += f" (usage : {self.usage_name})"
        return f"{name} {self.given_names}".strip()

    def person(self) -> Person:
        return Person(self.source, self.birth_year, self.birth_month, self.birth_day, self.registered_on, self.proof_date)


@dataclass(frozen=True)
class SearchHit:
    voter: VoterRecord
    level: Level
    score: int
    eligibility: Eligibility
    full_detail: bool


@dataclass
class SearchResults:
    hits: list[SearchHit] = field(default_factory=list)
    levels_searched: list[Level] = field(default_factory=list)
    truncated: bool = False  # more people matched than shown: staff should type more
    notes: list[str] = field(default_factory=list)

    @property
    def reached(self) -> Level | None:
        return self.levels_searched[-1] if self.levels_searched else None


# --- The SQL of one level ------------------------------------------------------------------------


def _upper_bound(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class _Plan:
    keys: tuple[QueryKey, ...]
    # Each typed given name with its alternatives: (« st », « saint ») for « St », which may be
    # the start of « Stéphane » being typed or « Saint » abbreviated; (« jean »,) otherwise.
    given_words: tuple[tuple[str, ...], ...]
    birth: tuple[int, int, int] | None
    communes: tuple[str, ...]


# The SQL of one level is written out once per *shape* (how many name keys, which of them
# need particles, how many given names, which birth parts, a commune or not, the level) and
# kept: per request only the values change, so SQLAlchemy's compilation and PostgreSQL's
# prepared statements are reused. Ranges `key >= low AND key < high` (not LIKE) keep the
# prefix search an index range scan even in a generic plan.

_COLUMNS = (
    "department_code, id, commune_code, bureau_code, birth_name, usage_name, given_names, sex, birth_year, "
    "birth_month, birth_day, birth_commune, birth_country, birth_department_code, nationality, address, "
    "identity_hash, birth_key, usage_key, given_key"
)


# What a search's SQL depends on besides its values (`_shape`): the name keys' particles, the
# number of readings of each given name, which parts of the birth date, and whether communes.
_Shape = tuple[tuple[bool, ...], tuple[int, ...], tuple[bool, bool, bool], bool]


def _own_bureaux(alias: str = "") -> str:
    """SQL condition: the row is in one of the station's own bureaux (:pair_communes, :pair_bureaux)."""
    return (
        f"({alias}commune_code, {alias}bureau_code) IN (SELECT * FROM unnest("
        "CAST(:pair_communes AS varchar[]), CAST(:pair_bureaux AS varchar[])))"
    )


def _levels_union(levels: tuple[str, ...]) -> str:
    """Every level's rows (`level0`, `level1`…), each with its index in the first column."""
    return " UNION ALL ".join(f"SELECT {index} AS level_index, * FROM level{index}" for index in range(len(levels)))


@lru_cache(maxsize=2048)
def _levels_sql(shape: _Shape, levels: tuple[str, ...], gated: bool) -> tuple[str, tuple[str, ...]]:
    """Every level of a search in ONE statement (one round trip instead of one per level).

    Each level is the SQL of `_level_sql_named` (they share their parameters: the same name
    keys, given names, birth and communes; the area's and the department's are the levels'
    own), materialised, with its index in the first column. `gated` (the default « auto »
    widening): a level is read only if no earlier level found someone — someone of the
    station's own bureaux for the area level, exactly what `run_search` counts — the gate is
    an uncorrelated NOT EXISTS, which PostgreSQL evaluates once before the level's scans
    (a one-time filter: a level not needed is never executed)."""
    return _positional(f"WITH {_levels_ctes(shape, levels, gated)} {_levels_union(levels)}")


def _levels_ctes(shape: _Shape, levels: tuple[str, ...], gated: bool) -> str:
    """The levels' common table expressions `level0`, `level1`… (see `_levels_sql`), :named."""
    parts: list[str] = []
    for index, level in enumerate(levels):
        gates = []
        if gated:
            for earlier, earlier_level in enumerate(levels[:index]):
                usable = f" WHERE {_own_bureaux('found.')}" if earlier_level == Level.AREA.value else ""
                gates.append(f"NOT EXISTS (SELECT 1 FROM level{earlier} AS found{usable})")
        body = _level_sql_named(*shape, level)
        where = f" WHERE {' AND '.join(gates)}" if gates else ""
        parts.append(f"level{index} AS MATERIALIZED (SELECT * FROM ({body}) AS level_rows{where})")
    return ", ".join(parts)


def _positional(named: str) -> tuple[str, tuple[str, ...]]:
    """:named parameters → $1, $2… (the driver's), with the names in that order."""
    names: list[str] = []

    def positional(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"(?<![:\w]):(\w+)", positional, named), tuple(names)


def _level_sql_named(
    particles: tuple[bool, ...], given_count: tuple[int, ...], birth_parts: tuple[bool, bool, bool], communes: bool, level: str
) -> str:
    """The SQL of one level, with :named parameters.

    The lists' rows are found in two steps: each (name key, birth or usage name) is its own
    range scan — on the area's index for the station's bureaux, on the covering department
    index (`ix_voter_birth` / `ix_voter_usage`, see `models.Voter`) elsewhere — filtered by
    every other criterion inside the index (an index-only scan: no table page is read for a
    candidate that does not match), each branch stopping at 201; the rows themselves are then
    read for the ≤ 201 ids kept. An OR of the ranges let the planner pick a department-wide
    index even for a station's bureaux, and filtering in the table read ≈ 1,300 pages for a
    name prefix and a given name in a department of the 10 M-voter bench.
    """
    # `given_count`: how many alternatives each typed given name has (see `_Plan.given_words`);
    # a word with one alternative keeps the plain LIKE (the usual statement, unchanged).
    filters = [
        f"t.given_key LIKE :given{index}"
        if alternatives == 1
        else "(" + " OR ".join(f"t.given_key LIKE :given{index}_{alt}" for alt in range(alternatives)) + ")"
        for index, alternatives in enumerate(given_count)
    ]
    year, month, day = birth_parts
    if year:
        filters.append("t.birth_year = :year")
    if month:
        filters.append("t.birth_month IN (:month, 0)")
    if day:
        filters.append("t.birth_day IN (:day, 0)")
    if communes:
        filters.append("t.commune_code = ANY(CAST(:communes AS varchar[]))")
    # The lists' branches of the area level take the station's polling places one by one
    # (department, commune and bureau all equal: the area index's whole prefix); see below.
    branch_filters = list(filters)
    if level == Level.AREA.value:
        filters += [
            "t.department_code = :department",
            "t.commune_code = ANY(CAST(:area_communes AS varchar[]))",
            "t.bureau_code = ANY(CAST(:area_bureaux AS varchar[]))",
        ]
        branch_filters += [
            "t.department_code = :department",
            "t.commune_code = place.commune_code",
            "t.bureau_code = place.bureau_code",
        ]
    elif level == Level.DEPARTMENT.value:
        filters.append("t.department_code = :department")
        branch_filters = filters
    else:
        filters.append("t.department_code = ANY(CAST(:departments AS varchar[]))")
        branch_filters = filters
    names = []
    branches = []
    for index, required in enumerate(particles):
        for column, flag in (("birth_key", BIRTH_PARTICLES), ("usage_key", USAGE_PARTICLES)):
            name = [f"t.{column} >= :low{index}", f"t.{column} < :high{index}"]
            if column == "usage_key":
                name.insert(0, "t.usage_key <> ''")
            if required:
                name.append(f"t.name_flags & {flag} <> 0")
            names.append("(" + " AND ".join(name) + ")")
            scan = (
                f"SELECT t.department_code, t.id FROM voter AS t WHERE {' AND '.join(name + branch_filters)} "
                f"LIMIT {MAX_CANDIDATES + 1}"
            )
            if level == Level.AREA.value:
                # One scan per polling place of the station, each an equality on the area
                # index's (department, commune, bureau) then the name range. With the places
                # as arrays (`commune = ANY(...) AND bureau = ANY(...)`), the generic plan —
                # which guesses ten elements per array, a hundred index descents — chose the
                # department-wide index for the usage name and read the table for each of its
                # entries to check the bureau: up to ≈ 2,100 rows and 100 ms for a two-letter
                # prefix on the 10 M bench (bench/registry_search.py --breakdown, EXPLAIN).
                scan = (
                    "SELECT found.department_code, found.id FROM unnest(CAST(:pair_communes AS varchar[]), "
                    "CAST(:pair_bureaux AS varchar[])) AS place(commune_code, bureau_code) "
                    f"CROSS JOIN LATERAL ({scan}) AS found LIMIT {MAX_CANDIDATES + 1}"
                )
            branches.append(f"({scan})")
    supplementary_where = " AND ".join(["(" + " OR ".join(names) + ")", *filters])
    voter_columns = ", ".join(f"v.{column.strip()}" for column in _COLUMNS.split(","))
    return f"""
        SELECT found.*, b.label AS bureau_label FROM (
            (SELECT 'L' AS source, {voter_columns}, v.lists, v.order_number, '' AS category, '' AS party,
                    NULL::date AS registered_on, NULL::date AS proof_date
             FROM ({" UNION ".join(branches)}) AS hit
             JOIN voter AS v ON v.department_code = hit.department_code AND v.id = hit.id
             LIMIT {MAX_CANDIDATES + 1})
            UNION ALL
            (SELECT kind, {_COLUMNS}, 0::smallint, 0, category, party, registered_on, proof_date
             FROM supplementary_voter AS t WHERE {supplementary_where} AND t.election_id = :election
             LIMIT {MAX_CANDIDATES + 1})
        ) AS found
        LEFT JOIN registry_bureau AS b ON b.department_code = found.department_code
            AND b.commune_code = found.commune_code AND b.bureau_code = found.bureau_code
        LIMIT {MAX_CANDIDATES + 1}
    """


def _shape(plan: _Plan) -> _Shape:
    birth = plan.birth or (0, 0, 0)
    return (
        tuple(key.particles_required for key in plan.keys),
        tuple(len(alternatives) for alternatives in plan.given_words),
        (bool(plan.birth), bool(birth[1]), bool(birth[2])),
        bool(plan.communes),
    )


def _levels_query(
    plan: _Plan, levels: tuple[tuple[Level, tuple[str, ...]], ...], scope: SearchScope, election_id: int | None, gated: bool
) -> tuple[str, list[Any]]:
    """The SQL of every level (`_levels_sql`) and its positional arguments."""
    sql = _levels_sql(_shape(plan), tuple(level.value for level, _departments in levels), gated)
    params = _levels_parameters(plan, levels, scope, election_id)
    return sql[0], [params[name] for name in sql[1]]


def _levels_parameters(
    plan: _Plan, levels: tuple[tuple[Level, tuple[str, ...]], ...], scope: SearchScope, election_id: int | None
) -> dict[str, Any]:
    """Every parameter of the levels' SQL, by name."""
    params = _parameters_of(plan, scope, election_id)
    for level, departments in levels:
        params.update(_level_parameters(level, scope, departments))
    if scope.area:
        pairs = sorted(set(scope.area))
        params["pair_communes"] = [commune for commune, _bureau in pairs]
        params["pair_bureaux"] = [bureau for _commune, bureau in pairs]
    return params


def _parameters_of(plan: _Plan, scope: SearchScope, election_id: int | None) -> dict[str, Any]:
    """The parameters every level shares."""
    birth = plan.birth or (0, 0, 0)
    params: dict[str, Any] = {"election": election_id or 0}
    for index, key in enumerate(plan.keys):
        params[f"low{index}"] = key.prefix
        params[f"high{index}"] = _upper_bound(key.prefix)
    for index, alternatives in enumerate(plan.given_words):
        if len(alternatives) == 1:
            params[f"given{index}"] = f"% {alternatives[0]}%"
        else:
            for alt, word in enumerate(alternatives):
                params[f"given{index}_{alt}"] = f"% {word}%"
    if plan.birth:
        params["year"] = birth[0]
        if birth[1]:
            params["month"] = birth[1]
        if birth[2]:
            params["day"] = birth[2]
    if plan.communes:
        params["communes"] = list(plan.communes)
    return params


def _level_parameters(level: Level, scope: SearchScope, departments: tuple[str, ...]) -> dict[str, Any]:
    """A level's own parameters (the area and the department levels share `department`: the
    scope's, the only department either searches)."""
    if level == Level.AREA:
        communes = sorted({commune for commune, _bureau in scope.area})
        return {
            "department": scope.department,
            "area_communes": communes,
            "area_bureaux": sorted({bureau for _commune, bureau in scope.area}),
        }
    if level == Level.DEPARTMENT:
        return {"department": departments[0]}
    return {"departments": list(departments)}


# --- Ranking ---------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _glued(value: str) -> str:
    # Cached: every candidate row's birth and usage names are folded to be ranked, and family
    # names repeat (a pure function of the string; 65,536 names, a few MB at most).
    return "".join(fold(value))


def _score(row, plan: _Plan, typed_name: str, birth: tuple[int, int, int] | None) -> int:  # noqa: ANN001 - an asyncpg Record
    score = 0
    best_name = 0
    for stored, key, weight in ((row["birth_name"], row["birth_key"], 2), (row["usage_name"], row["usage_key"], 0)):
        if not stored:
            continue
        full = _glued(stored)
        if typed_name and (full == typed_name or any(key == k.prefix and not k.particles_required for k in plan.keys)):
            value = 40
        elif typed_name and (full.startswith(typed_name) or any(key.startswith(k.prefix) and not k.particles_required for k in plan.keys)):
            value = 30
        elif any(key.startswith(k.prefix) for k in plan.keys):
            value = 20
        else:
            value = 0
        best_name = max(best_name, value + weight if value else 0)
    score += best_name
    if plan.given_words:
        given = row["given_key"].split()
        for typed, *expansions in plan.given_words:
            if typed in given:
                score += 10
            elif any(g.startswith(word) for word in (typed, *expansions) for g in given):
                # An abbreviation's expansion (« St » → « saint ») found, even whole, ranks as a
                # prefix: the volunteer may as well have been typing « Stéphane ».
                score += 6
        if given and given[0].startswith(plan.given_words[0]):  # a tuple: any of the alternatives
            score += 3
    if birth:
        year, month, day = birth
        if month and row["birth_month"] == month:
            score += 5
        if day and row["birth_day"] == day:
            score += 5
    return score


# --- The service ---------------------------------------------------------------------------------


def rules_of(election: Election) -> Rules:
    return Rules(
        majority_date=election.majority_date,
        list_extraction_date=election.list_extraction_date,
        supplementary_deadline=election.supplementary_deadline,
    )


def eligibility_of(record_: VoterRecord, election: Election, registry_election_id: int | None) -> Eligibility:
    """Whether this person may vote in `election`, with the reasons in French."""
    if record_.source == Source.LIST and registry_election_id != election.id:
        return Eligibility(
            Status.INELIGIBLE,
            ("La copie des listes électorales chargée n'est pas celle de cette élection : elle ne vaut pas inscription.",),
        )
    return evaluate(record_.person(), rules_of(election))


def _record(row, commune_names: dict[str, str]) -> VoterRecord:  # noqa: ANN001
    if row.source == "L":
        source, prefix = Source.LIST, "L"
    else:
        source, prefix = Source(row.source), "S"
    birth_place = row.birth_commune
    if row.birth_department_code == "99" or (row.birth_country and row.birth_country.upper() != "FRANCE"):
        birth_place = f"{row.birth_commune} ({row.birth_country})" if row.birth_commune else row.birth_country
    elif row.birth_department_code:
        birth_place = f"{row.birth_commune} ({row.birth_department_code})"
    return VoterRecord(
        ref=f"{prefix}-{row.department_code}-{row.id}",
        source=source,
        department_code=row.department_code,
        commune_code=row.commune_code,
        commune_name=commune_names.get(row.commune_code, row.commune_code),
        bureau_code=row.bureau_code,
        bureau_label=row.bureau_label or "",
        birth_name=row.birth_name,
        usage_name=row.usage_name,
        given_names=row.given_names,
        sex=row.sex,
        birth_year=row.birth_year,
        birth_month=row.birth_month,
        birth_day=row.birth_day,
        birth_place=birth_place,
        nationality=row.nationality,
        address=row.address,
        lists=tuple(label for bit, label in LIST_LABELS.items() if row.lists & bit),
        order_number=row.order_number,
        identity=bytes(row.identity_hash),
        category=row.category or "",
        party=row.party or "",
        registered_on=row.registered_on,
        proof_date=row.proof_date,
    )


def _columns(row) -> SimpleNamespace:  # noqa: ANN001 - an asyncpg Record
    """Attribute access to an asyncpg Record (what `_record` reads, as from a SQLAlchemy row):
    copied once into a namespace, 4 times cheaper than a `__getattr__` per column (≈ 12 µs
    instead of 50 per hit shown)."""
    return SimpleNamespace(**dict(row.items()))


def _reduced(record_: VoterRecord) -> VoterRecord:
    """Outside a station's area: who and where to vote, nothing more."""
    return replace(record_, address="", birth_month=0, birth_day=0, birth_place="", nationality="", order_number=0)


async def registry_election_id(session: AsyncSession) -> int | None:
    # One plain statement on every search (no ORM object to build and track for a number).
    return await (await driver_connection(session)).fetchval(_REGISTRY_ELECTION)


_REGISTRY_ELECTION = f"SELECT election_id FROM {RegistryState.__tablename__} WHERE id = 1"
_UNKNOWN: Any = object()

# The look-up's audit event goes straight to the driver connection, in the search's
# transaction: the row `record(session, events.RegistryLookup(...))` would add, byte for byte
# (`services.events.audit_row`; tests/voter_registry/test_search_fast.py compares them).
_INSERT_EVENT = (
    f"INSERT INTO audit_event ({', '.join(AUDIT_COLUMNS)}) VALUES ($1, $2, $3, $4, CAST($5::text AS jsonb), $6)"
)


def lookup_row(
    actor: Actor,
    *,
    election_id: int | None,
    scope: SearchScope,
    reached: str,
    fields: list[str],
    results: int,
    channel: str,
) -> tuple[Any, ...]:
    """The audit row of one look-up (`events.RegistryLookup`), byte for byte what `record` writes."""
    return audit_row(
        events.RegistryLookup.kind,
        actor,
        {"election_id": election_id, "department_code": scope.department},
        {"scope": scope.kind, "reached": reached, "fields": fields, "results": results, "channel": channel},
        utcnow(),
    )


async def record_lookup(
    session: AsyncSession,
    actor: Actor,
    *,
    election_id: int | None,
    scope: SearchScope,
    reached: str,
    fields: list[str],
    results: int,
    channel: str,
) -> None:
    """Log one look-up in the transparency log (`events.RegistryLookup`), in the caller's transaction."""
    row = lookup_row(
        actor, election_id=election_id, scope=scope, reached=reached, fields=fields, results=results, channel=channel
    )
    await (await driver_connection(session)).execute(_INSERT_EVENT, *row)
    note_audit_event(session)


def reached_of(results: SearchResults, scope: SearchScope) -> str:
    """The `reached` of the look-up's audit event."""
    return (results.reached or Level.AREA).value if results.levels_searched else scope.kind


async def search_voters(
    session: AsyncSession,
    actor: Actor,
    query: VoterQuery,
    scope: SearchScope,
    *,
    election: Election,
    widen: str = "auto",
    limit: int = DEFAULT_LIMIT,
    channel: str = "api",
    registry_election: int | None = _UNKNOWN,
) -> SearchResults:
    """Search the registry within `scope` (see the module's docstring); logs the look-up.

    `widen`: "auto" stops at the first level that finds someone; "all" searches every level
    the scope allows. Raises `InvalidInput` / `QueryTooVague` (French) for unusable queries.
    `election` is the ORM object or any object with its `id` and dates (the fast path's);
    `registry_election`, when the caller already read it, spares a statement.
    """
    prepared = prepare_search(query, scope, await territory(session))
    if registry_election is _UNKNOWN:
        registry_election = await registry_election_id(session)
    results = await run_search(
        await driver_connection(session), prepared, election=election, widen=widen, limit=limit,
        registry_election=registry_election,
    )
    await record_lookup(
        session,
        actor,
        election_id=registry_election,
        scope=scope,
        reached=reached_of(results, scope),
        fields=query.fields(),
        results=len(results.hits),
        channel=channel,
    )
    return results


@dataclass(frozen=True)
class PreparedSearch:
    """A query checked and planned against the territory: what `run_search` runs."""

    plan: _Plan
    typed_name: str
    scope: SearchScope
    world: Any  # territory_cache.Territory
    levels: tuple[tuple[Level, tuple[str, ...]], ...]
    notes: tuple[str, ...]


def prepare_search(query: VoterQuery, scope: SearchScope, world: Any) -> PreparedSearch:
    """Check `query` (raises `InvalidInput` / `QueryTooVague` in French) and decide which levels
    to search, in which departments. Reads nothing from the database."""
    keys = name_query_keys(query.name)
    if not keys or len(keys[0].prefix) < 2:
        raise QueryTooVague("Tapez au moins les deux premières lettres du nom de naissance ou d'usage.")
    birth = parse_birth_query(query.birth)
    communes: tuple[str, ...] = ()
    if query.commune.strip():
        text_ = query.commune.strip().upper()
        if re.fullmatch(r"[0-9][0-9AB][0-9]{3}", text_) and text_ in world.communes:
            info = world.communes[text_]
            communes = (info.parent_code if info.kind != "commune" and info.parent_code else text_,)
        else:
            found = world.communes_named(query.commune, scope.department if not scope.national else None)
            if not found:
                raise InvalidInput(f"Commune « {query.commune.strip()[:60]} » inconnue.", code="unknown_commune")
            communes = tuple(c.code for c in found)
    plan = _Plan(keys, given_query_words(query.given_names), birth, communes)

    levels: list[tuple[Level, tuple[str, ...]]] = []
    notes: list[str] = []
    if scope.area:
        if not scope.department:
            raise InvalidInput("Le périmètre d'un bureau doit indiquer son département.", code="bad_scope")
        levels.append((Level.AREA, (scope.department,)))
    commune_departments = tuple(sorted({world.communes[c].department_code for c in communes}))
    if scope.department:
        if not communes or scope.department in commune_departments:
            levels.append((Level.DEPARTMENT, (scope.department,)))
    if scope.national:
        if commune_departments:
            others = tuple(d for d in commune_departments if d != scope.department)
        else:
            others = tuple(code for code in sorted(world.departments) if code != scope.department)
        shortest = min(len(key.prefix) for key in keys)
        if others and scope.national_needs_detail and not (plan.given_words or birth or communes):
            notes.append(
                "Pour chercher dans toute la France, ajoutez un prénom, la date ou l'année de naissance, ou la commune."
            )
        elif others and scope.national_needs_detail and not (birth or communes) and shortest < NATIONAL_MIN_LETTERS:
            # « FOU » + « St » read every name in « fou… » of the country (tens of thousands of
            # index entries, up to 150 ms of PostgreSQL on the 10 M bench): too vague to find one
            # voter, and a country-wide browse by a station volunteer (data minimisation).
            notes.append(
                f"Pour chercher dans toute la France, tapez au moins {NATIONAL_MIN_LETTERS} lettres du nom, "
                "ou ajoutez la date ou l'année de naissance, ou la commune."
            )
        elif others:
            levels.append((Level.NATIONAL, others))
    return PreparedSearch(plan, _glued(query.name), scope, world, tuple(levels), tuple(notes))


async def run_search(
    connection: Any,  # an asyncpg connection (the session's, or a bare pool connection)
    prepared: PreparedSearch,
    *,
    election: Election,
    widen: str = "auto",
    limit: int = DEFAULT_LIMIT,
    registry_election: int | None,
) -> SearchResults:
    """The levels' reads and the ranking (no write: the caller logs the look-up)."""
    plan, scope = prepared.plan, prepared.scope
    # Every level in one statement; with « auto », a level is read only if the earlier ones
    # found nobody (the same rule as the `break` below, decided by PostgreSQL).
    by_level: list[list[Any]] = [[] for _level in prepared.levels]
    if prepared.levels:
        sql, arguments = _levels_query(plan, prepared.levels, scope, registry_election, gated=widen == "auto")
        for row in await connection.fetch(sql, *arguments):
            by_level[row["level_index"]].append(row)
    return _ranked(prepared, by_level, election=election, widen=widen, limit=limit, registry_election=registry_election)


def _ranked(
    prepared: PreparedSearch,
    by_level: list[list[Any]],
    *,
    election: Election,
    widen: str,
    limit: int,
    registry_election: int | None,
) -> SearchResults:
    """The hits of each level's rows, ranked, deduplicated and cut at `limit` (see `run_search`)."""
    plan, typed_name, scope, world = prepared.plan, prepared.typed_name, prepared.scope, prepared.world
    birth = plan.birth
    results = SearchResults(notes=list(prepared.notes))
    seen: set[str] = set()
    area_pairs = set(scope.area)
    for (level, _departments), rows in zip(prepared.levels, by_level, strict=True):
        results.levels_searched.append(level)
        if len(rows) > MAX_CANDIDATES:
            results.truncated = True
        # Ranked on the rows themselves; the records (and their eligibility) are built only for
        # the hits that can be shown, and one more that says the list is truncated: up to 201
        # rows per level are read, 20 are shown.
        candidates = []
        for row in rows:
            if level == Level.AREA and (row["commune_code"], row["bureau_code"]) not in area_pairs:
                continue
            ref = f"{'L' if row['source'] == 'L' else 'S'}-{row['department_code']}-{row['id']}"
            if ref in seen:
                continue
            seen.add(ref)
            candidates.append((-_score(row, plan, typed_name, birth), row["birth_name"], row["given_names"], ref, row))
        candidates.sort(key=lambda candidate: candidate[:4])
        inside = level == Level.AREA or scope.full_detail_outside_area
        level_hits = []
        for negative_score, _name, _given, _ref, row in candidates[: max(limit + 1 - len(results.hits), 0)]:
            commune = row["commune_code"]
            record_ = _record(_columns(row), {commune: world.communes[commune].name} if commune in world.communes else {})
            level_hits.append(
                SearchHit(
                    voter=record_ if inside else _reduced(record_),
                    level=level,
                    score=-negative_score,
                    eligibility=eligibility_of(record_, election, registry_election),
                    full_detail=inside,
                )
            )
        results.hits.extend(level_hits)
        if len(results.hits) > limit:
            results.truncated = True
            results.hits = results.hits[:limit]
            break
        if results.hits and widen == "auto":
            break
    return results


# --- The levels' read and the look-up's audit row in ONE statement (the driver fast path) --------
#
# With « auto » widening, what the look-up's event says of its outcome — the level reached and
# how many people are shown — is decided by the rows the levels' statement reads: the first
# level with someone (someone of the station's own bureaux for the area level, as the gates
# and `_ranked` count) or else the last one, and the distinct people of that level up to the
# limit. So PostgreSQL can write the event in the same statement as the read: the entry's text
# is built in Python by `audit_row`, with two placeholders cut out, and the statement puts the
# level's name and the count back in between (the row is byte for byte `record`'s:
# tests/voter_registry/test_search_fast.py compares them). One round trip and one statement
# start fewer per search; the read and its log stay one atomic statement.

_REACHED_PLACEHOLDER = "@@reached:7c1e@@"
_RESULTS_PLACEHOLDER = 7_391_827_364_519_283


def _entry_pieces(entry: str) -> tuple[str, str, str] | None:
    """The entry's text around the two placeholders (reached first, as the canonical JSON sorts
    the keys), or None if the text does not cut cleanly (a placeholder typed by someone)."""
    head, reached, rest = entry.partition(f'"{_REACHED_PLACEHOLDER}"')
    middle, results, tail = rest.partition(str(_RESULTS_PLACEHOLDER))
    if not reached or not results or _REACHED_PLACEHOLDER in tail or str(_RESULTS_PLACEHOLDER) in tail:
        return None
    return head, middle, tail


@lru_cache(maxsize=2048)
def _logged_levels_sql(
    shape: _Shape, levels: tuple[str, ...], guard_sql: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """`_levels_sql` (gated) and the look-up's audit INSERT, in one statement.

    `counted`: the distinct people of each level (for the area level, of the station's own
    bureaux: what `_ranked` keeps); the level reached is the first with someone, else the last;
    the entry is `:entry_head` + the level's JSON name + `:entry_middle` + min(count, limit) +
    `:entry_tail`.

    `guard_sql` (:named, a condition): the caller's context as cached, re-checked in the same
    snapshot (`api._driver_search`: the session or token, its account, tablet, station area,
    election and registry election, compared with their fingerprint). When it is false the
    INSERT writes nothing and the statement answers ONE row whose `context_ok` is false and
    every other column NULL; otherwise every row has `context_ok` true (one row of NULLs when
    nobody was found)."""
    own = f" WHERE level_index <> 0 OR {_own_bureaux()}" if levels[0] == Level.AREA.value else ""
    if guard_sql is None:
        guarded, final, valid = "", "SELECT * FROM found", ""
    else:
        valid = f"valid AS (SELECT ({guard_sql}) AS context_ok), "
        guarded = " WHERE (SELECT context_ok FROM valid)"
        final = "SELECT valid.context_ok, found.* FROM valid LEFT JOIN found ON valid.context_ok"
    return _positional(
        f"WITH {valid}{_levels_ctes(shape, levels, True)}, "
        f"found AS ({_levels_union(levels)}), "
        "counted AS (SELECT level_index, count(DISTINCT (source = 'L', department_code, id)) AS people "
        f"FROM found{own} GROUP BY level_index), "
        "reached AS (SELECT coalesce((SELECT min(level_index) FROM counted WHERE people > 0), "
        f"{len(levels) - 1}) AS level_index), "
        f"logged AS (INSERT INTO audit_event ({', '.join(AUDIT_COLUMNS)}) "
        "SELECT CAST(:at AS timestamptz), CAST(:kind AS text), CAST(:actor AS text), CAST(:actor_scope AS text), "
        "CAST(CAST(:subjects AS text) AS jsonb), "
        "CAST(:entry_head AS text) || (CAST(:level_names AS text[]))[reached.level_index + 1] || "
        "CAST(:entry_middle AS text) || "
        "CAST(least(coalesce((SELECT people FROM counted WHERE counted.level_index = reached.level_index), 0), "
        f"CAST(:shown AS bigint)) AS text) || CAST(:entry_tail AS text) FROM reached{guarded}) "
        f"{final}"
    )


# `run_logged_search`'s answer when its guard failed: nothing was written.
STALE_CONTEXT = object()


async def run_logged_search(
    connection: Any,  # a bare asyncpg connection, outside any transaction (autocommit)
    prepared: PreparedSearch,
    actor: Actor,
    *,
    election: Election,
    limit: int,
    registry_election: int | None,
    fields: list[str],
    channel: str,
    guard: tuple[str, dict[str, Any]] | None = None,
) -> SearchResults | None | object:
    """`run_search` with « auto » widening and the look-up's audit row written by the same
    statement (see above). None when this cannot apply (no level to search, or an entry that
    does not cut cleanly): nothing was sent, the caller searches and logs the usual way.
    `guard`: a condition (:named SQL) and its parameters, checked in the statement; when it is
    false nothing was written and `STALE_CONTEXT` is returned."""
    if not prepared.levels:
        return None
    scope = prepared.scope
    at, kind, actor_id, actor_scope, subjects, entry = lookup_row(
        actor,
        election_id=registry_election,
        scope=scope,
        reached=_REACHED_PLACEHOLDER,
        fields=fields,
        results=_RESULTS_PLACEHOLDER,
        channel=channel,
    )
    pieces = _entry_pieces(entry)
    if pieces is None:
        return None
    level_names = tuple(level.value for level, _departments in prepared.levels)
    sql, names = _logged_levels_sql(
        _shape(prepared.plan), level_names, guard[0] if guard is not None else None
    )
    params = _levels_parameters(prepared.plan, prepared.levels, scope, registry_election)
    params.update(
        at=at,
        kind=kind,
        actor=actor_id,
        actor_scope=actor_scope,
        subjects=subjects,
        entry_head=pieces[0],
        entry_middle=pieces[1],
        entry_tail=pieces[2],
        level_names=[canonical_json(name) for name in level_names],
        shown=limit,
    )
    if guard is not None:
        params.update(guard[1])
    by_level: list[list[Any]] = [[] for _level in prepared.levels]
    rows = await connection.fetch(sql, *[params[name] for name in names])
    if guard is not None:
        if not rows or not rows[0]["context_ok"]:
            return STALE_CONTEXT
        rows = [row for row in rows if row["level_index"] is not None]
    for row in rows:
        by_level[row["level_index"]].append(row)
    return _ranked(prepared, by_level, election=election, widen="auto", limit=limit, registry_election=registry_election)
