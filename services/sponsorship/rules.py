"""The sponsorship rule engine: pure functions, no I/O (table-driven tests in tests/sponsorship).

A *rule* is a tree: a *route* at the leaves, `any_of` / `all_of` above them.

A **route** says: sponsorships from officials of these *categories* count (mayors possibly only
those of communes above a population), a *threshold* must be reached — a share of the
category's eligible total, rounded UP (5 % of 313 mayors = 15.65 → 16 sponsors), or an absolute
count — and the sponsors must be *spread*: at least N distinct departments, at least N distinct
regions on a chosen region map (the 22 regions "avant-2016" of the 2011 code, or the current
"2016" map), and at most a share of the threshold from any one department.

Decisions where the texts are silent (documented in the README of the package too):

* **A sponsorship counts in the capacity declared on the form** (the category the official
  ticked: "en qualité de maire"), as the Conseil constitutionnel lists one mandate per
  presenter. A deputy-mayor who signs as mayor counts among mayors, not parliamentarians.
* **The one-department cap caps, it does not disqualify.** "No more than 10 % of them from one
  department" (presidential rule, 1/10 of the 500) is applied as the Conseil constitutionnel
  does: at most floor(10 % × threshold) sponsors of one department count towards the
  threshold; sponsors beyond the cap are not invalid, they just do not count. Gathering more
  sponsors can therefore never make a candidate lose the route.
* **A share of an empty category needs at least one sponsor.** 5 % of 0 is 0; a route that
  nobody could sponsor is unreachable, not automatically met.
* **Officials without a department** (members of the European Parliament) count towards the
  threshold but cover no department or region; they are never capped.
* **"Communes over N inhabitants" is strict**: `population_over=10000` admits 10,001, not
  10,000 ("plus de 10 000 habitants").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Category(StrEnum):
    """The capacities in which an official may sponsor."""

    PARLIAMENTARIAN = "parlementaire"  # député, sénateur, représentant au Parlement européen
    NATIONAL_COUNCIL = "conseil_national"  # membre titulaire du conseil national du parti
    REGIONAL_COUNCILLOR = "conseiller_regional"
    DEPARTMENTAL_COUNCILLOR = "conseiller_departemental"  # « conseiller général » before 2015
    MAYOR = "maire"
    MEMBER = "adherent"  # party member (the 2016 rule's 2,500 members)

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @property
    def plural(self) -> str:
        return CATEGORY_PLURALS[self]

    @property
    def is_elected(self) -> bool:
        return self in ELECTED_CATEGORIES


CATEGORY_LABELS = {
    Category.PARLIAMENTARIAN: "parlementaire",
    Category.NATIONAL_COUNCIL: "membre titulaire du conseil national",
    Category.REGIONAL_COUNCILLOR: "conseiller régional",
    Category.DEPARTMENTAL_COUNCILLOR: "conseiller départemental",
    Category.MAYOR: "maire",
    Category.MEMBER: "adhérent",
}
CATEGORY_PLURALS = {
    Category.PARLIAMENTARIAN: "parlementaires",
    Category.NATIONAL_COUNCIL: "membres titulaires du conseil national",
    Category.REGIONAL_COUNCILLOR: "conseillers régionaux",
    Category.DEPARTMENTAL_COUNCILLOR: "conseillers départementaux",
    Category.MAYOR: "maires",
    Category.MEMBER: "adhérents",
}
# Mandates the State's register (RNE) vouches for; the other categories exist only in the
# party's own files.
ELECTED_CATEGORIES = frozenset(
    {Category.PARLIAMENTARIAN, Category.REGIONAL_COUNCILLOR, Category.DEPARTMENTAL_COUNCILLOR, Category.MAYOR}
)

RegionMap = Literal["2016", "avant-2016"]
REGION_MAP_LABELS = {"2016": "régions actuelles (depuis 2016)", "avant-2016": "régions d'avant 2016"}


# --- Rule definitions (JSON-serialisable; custom rules are validated on the way in) -----------


def _percent(value: Decimal | None) -> Fraction | None:
    return None if value is None else Fraction(value) / 100


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["route"] = "route"
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="Identifiant court de la voie")
    label: str = Field(min_length=1, max_length=200)
    categories: tuple[Category, ...] = Field(min_length=1)
    share_percent: Decimal | None = Field(default=None, gt=0, le=100, description="Part du total éligible, en %")
    count: int | None = Field(default=None, ge=1, le=1_000_000, description="Nombre absolu de parrainages")
    population_over: int | None = Field(
        default=None, ge=0, description="Maires : seulement ceux des communes de plus de N habitants (strictement)"
    )
    party_members_only: bool = Field(default=True, description="Seuls les élus membres du parti comptent")
    min_departments: int = Field(default=0, ge=0, le=200)
    min_regions: int = Field(default=0, ge=0, le=30)
    region_map: RegionMap = "2016"
    max_department_share_percent: Decimal | None = Field(
        default=None, gt=0, le=100, description="Au plus cette part du seuil venant d'un même département"
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> Route:
        if (self.share_percent is None) == (self.count is None):
            raise ValueError("une voie fixe soit une part (share_percent), soit un nombre (count), pas les deux")
        if self.population_over is not None and Category.MAYOR not in self.categories:
            raise ValueError("un seuil de population ne s'applique qu'aux maires")
        return self

    @property
    def share(self) -> Fraction | None:
        return _percent(self.share_percent)

    @property
    def max_department_share(self) -> Fraction | None:
        return _percent(self.max_department_share_percent)

    def required(self, eligible_total: int) -> int:
        """Sponsors needed: the share of the eligible total rounded up (at least one), or the count."""
        if self.count is not None:
            return self.count
        assert self.share is not None
        return max(1, math.ceil(self.share * eligible_total))

    def department_cap(self, required: int) -> int | None:
        """Most sponsors of one department that count towards `required` (None: no cap)."""
        share = self.max_department_share
        if share is None:
            return None
        return max(1, math.floor(share * required))

    def admits(self, sponsor: SponsorFacts) -> bool:
        """Does a sponsorship declared in `sponsor.category` count in this route?"""
        if sponsor.category not in self.categories:
            return False
        if self.party_members_only and not sponsor.party_member:
            return False
        if self.population_over is not None and sponsor.category == Category.MAYOR:
            return sponsor.population is not None and sponsor.population > self.population_over
        return True

    def routes(self) -> Iterable[Route]:
        yield self


class AnyOf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["any_of"] = "any_of"
    label: str = ""
    rules: tuple[RuleNode, ...] = Field(min_length=1)

    def routes(self) -> Iterable[Route]:
        for rule in self.rules:
            yield from rule.routes()


class AllOf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["all_of"] = "all_of"
    label: str = ""
    rules: tuple[RuleNode, ...] = Field(min_length=1)

    def routes(self) -> Iterable[Route]:
        for rule in self.rules:
            yield from rule.routes()


RuleNode = Annotated[Route | AnyOf | AllOf, Field(discriminator="type")]
AnyOf.model_rebuild()
AllOf.model_rebuild()


class RuleSet(BaseModel):
    """A complete rule: a name, a description for the public, and the tree."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    label: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    root: RuleNode

    @model_validator(mode="after")
    def _unique_route_keys(self) -> RuleSet:
        keys = [route.key for route in self.routes()]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"identifiants de voie en double : {', '.join(duplicates)}")
        return self

    def routes(self) -> list[Route]:
        return list(self.root.routes())

    def categories(self) -> frozenset[Category]:
        return frozenset(category for route in self.routes() for category in route.categories)


# --- Presets -----------------------------------------------------------------------------------

_COUNCILLORS = (Category.REGIONAL_COUNCILLOR, Category.DEPARTMENTAL_COUNCILLOR)
_ELECTED = (Category.PARLIAMENTARIAN, Category.REGIONAL_COUNCILLOR, Category.DEPARTMENTAL_COUNCILLOR, Category.MAYOR)


def _primaire_2011(spread_on_national_council: bool) -> RuleSet:
    spread = {"min_departments": 10, "min_regions": 4, "region_map": "avant-2016"}
    return RuleSet(
        name="primaire-2011-article" if spread_on_national_council else "primaire-2011",
        label=(
            "Primaire 2011 (variante de l'article : répartition sur le conseil national)"
            if spread_on_national_council
            else "Primaire citoyenne 2011"
        ),
        description=(
            "Une des quatre voies : 5 % des parlementaires du parti ; 5 % des membres titulaires du conseil "
            "national ; 5 % des conseillers régionaux et départementaux du parti, "
            + (
                "sans condition de répartition ; le conseil national devant couvrir au moins 10 départements "
                "et 4 régions"
                if spread_on_national_council
                else "d'au moins 10 départements et 4 régions"
            )
            + " ; 5 % des maires du parti des communes de plus de 10 000 habitants, d'au moins 4 régions "
            "(régions d'avant 2016). Chaque élu ne parraine qu'un candidat."
        ),
        root=AnyOf(
            label="Une des quatre voies",
            rules=(
                Route(key="parlementaires", label="5 % des parlementaires", categories=(Category.PARLIAMENTARIAN,), share_percent=Decimal(5)),
                Route(
                    key="conseil-national",
                    label="5 % des membres titulaires du conseil national",
                    categories=(Category.NATIONAL_COUNCIL,),
                    share_percent=Decimal(5),
                    **(spread if spread_on_national_council else {}),
                ),
                Route(
                    key="conseillers",
                    label="5 % des conseillers régionaux et départementaux",
                    categories=_COUNCILLORS,
                    share_percent=Decimal(5),
                    **({} if spread_on_national_council else spread),
                ),
                Route(
                    key="maires",
                    label="5 % des maires des communes de plus de 10 000 habitants",
                    categories=(Category.MAYOR,),
                    share_percent=Decimal(5),
                    population_over=10_000,
                    min_regions=4,
                    region_map="avant-2016",
                ),
            ),
        ),
    )


PRESIDENTIELLE = RuleSet(
    name="presidentielle",
    label="Élection présidentielle (500 présentations)",
    description=(
        "500 élus, de tout parti, d'au moins 30 départements, sans que plus d'un dixième d'entre eux "
        "(50) soient élus d'un même département."
    ),
    root=Route(
        key="elus",
        label="500 élus d'au moins 30 départements",
        categories=_ELECTED,
        count=500,
        party_members_only=False,
        min_departments=30,
        max_department_share_percent=Decimal(10),
    ),
)

PRIMAIRE_2016 = RuleSet(
    name="primaire-2016",
    label="Primaire de la droite et du centre 2016",
    description=(
        "Les deux conditions : 250 élus du parti, dont au moins 20 parlementaires, répartis sur au moins "
        "30 départements ; et 2 500 adhérents répartis sur au moins 15 départements."
    ),
    root=AllOf(
        label="Toutes les conditions",
        rules=(
            Route(key="elus", label="250 élus sur au moins 30 départements", categories=_ELECTED, count=250, min_departments=30),
            Route(key="parlementaires", label="dont 20 parlementaires", categories=(Category.PARLIAMENTARIAN,), count=20),
            Route(key="adherents", label="2 500 adhérents sur au moins 15 départements", categories=(Category.MEMBER,), count=2500, min_departments=15),
        ),
    ),
)

PRESETS: dict[str, RuleSet] = {
    rule.name: rule
    for rule in (_primaire_2011(False), _primaire_2011(True), PRESIDENTIELLE, PRIMAIRE_2016)
}
DEFAULT_PRESET = "primaire-2011"


# --- Evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SponsorFacts:
    """One valid sponsorship as it counts: the declared capacity and the sponsor's facts at intake."""

    category: Category
    department_code: str | None
    population: int | None = None  # the commune's, for a mayor
    party_member: bool = True
    count: int = 1  # how many identical sponsorships this stands for (the board aggregates in SQL)


@dataclass(frozen=True, slots=True)
class RosterFacts:
    """One official's mandate in the roster (to compute eligible totals)."""

    official_id: int
    category: Category
    population: int | None = None
    party_member: bool = True


@dataclass(frozen=True)
class Geography:
    """Region of each department, on each map: {map: {department_code: region_code or None}}."""

    regions: Mapping[str, Mapping[str, str | None]]
    department_names: Mapping[str, str] = field(default_factory=dict)

    def region_of(self, department_code: str, region_map: str) -> str | None:
        return self.regions.get(region_map, {}).get(department_code)


def eligible_totals(rule: RuleSet, roster: Iterable[RosterFacts]) -> dict[str, int]:
    """Distinct officials each route's share is taken of (an official in two of a route's
    categories — regional and departmental councillor — counts once)."""
    routes = rule.routes()
    members: dict[str, set[int]] = {route.key: set() for route in routes}
    for entry in roster:
        facts = SponsorFacts(entry.category, None, entry.population, entry.party_member)
        for route in routes:
            if route.admits(facts):
                members[route.key].add(entry.official_id)
    return {key: len(ids) for key, ids in members.items()}


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


@dataclass(frozen=True)
class RouteResult:
    type: Literal["route"]
    key: str
    label: str
    met: bool
    eligible_total: int
    required: int
    sponsors: int  # sponsorships admitted by the route
    counted: int  # those that count towards the threshold (after the one-department cap)
    departments: int
    min_departments: int
    regions: int
    min_regions: int
    region_map: str
    department_cap: int | None
    over_cap: dict[str, int]  # department → sponsors beyond the cap
    department_counts: dict[str, int]
    missing: tuple[str, ...]  # French, what is still needed

    @property
    def progress(self) -> float:
        return min(1.0, self.counted / self.required) if self.required else 1.0


@dataclass(frozen=True)
class GroupResult:
    type: Literal["any_of", "all_of"]
    label: str
    met: bool
    children: tuple[Result, ...]
    missing: tuple[str, ...]


Result = RouteResult | GroupResult


@dataclass(frozen=True)
class RouteTally:
    """What a route retains of one candidate's sponsorships: admitted sponsors per department, and
    those without a department. The database can compute it (the board does, in one query)."""

    by_department: Mapping[str, int]
    without_department: int = 0


def tally_route(route: Route, sponsors: Iterable[SponsorFacts]) -> RouteTally:
    by_department: Counter[str] = Counter()
    without_department = 0
    for sponsor in sponsors:
        if route.admits(sponsor):
            if sponsor.department_code:
                by_department[sponsor.department_code] += sponsor.count
            else:
                without_department += sponsor.count
    return RouteTally(by_department, without_department)


def judge_route(route: Route, tally: RouteTally, eligible_total: int, geography: Geography) -> RouteResult:
    """One route's verdict from its tally: counts against the threshold (after the one-department
    cap) and the spread, and what is missing, in French."""
    by_department = {code: count for code, count in tally.by_department.items() if count > 0}
    without_department = tally.without_department
    admitted = without_department + sum(by_department.values())
    required = route.required(eligible_total)
    cap = route.department_cap(required)
    if cap is None:
        counted, over_cap = admitted, {}
    else:
        over_cap = {code: count - cap for code, count in sorted(by_department.items()) if count > cap}
        counted = without_department + sum(min(count, cap) for count in by_department.values())
    departments = len(by_department)
    regions = len(
        {region for code in by_department if (region := geography.region_of(code, route.region_map)) is not None}
    )
    missing: list[str] = []
    if counted < required:
        gap = required - counted
        missing.append(f"il manque {_plural(gap, 'parrainage', 'parrainages')} ({counted} sur {required})")
    if departments < route.min_departments:
        gap = route.min_departments - departments
        missing.append(
            f"il manque {_plural(gap, 'département', 'départements')} ({departments} sur {route.min_departments})"
        )
    if regions < route.min_regions:
        gap = route.min_regions - regions
        missing.append(
            f"il manque {_plural(gap, 'région', 'régions')} ({regions} sur {route.min_regions}, "
            f"{REGION_MAP_LABELS[route.region_map]})"
        )
    return RouteResult(
        type="route",
        key=route.key,
        label=route.label,
        met=not missing,
        eligible_total=eligible_total,
        required=required,
        sponsors=admitted,
        counted=counted,
        departments=departments,
        min_departments=route.min_departments,
        regions=regions,
        min_regions=route.min_regions,
        region_map=route.region_map,
        department_cap=cap,
        over_cap=over_cap,
        department_counts=dict(sorted(by_department.items())),
        missing=tuple(missing),
    )


def evaluate_route(
    route: Route, sponsors: Sequence[SponsorFacts], eligible_total: int, geography: Geography
) -> RouteResult:
    """One route against one candidate's valid sponsorships.

    Input: the candidate's active sponsorships (declared capacity, department, population,
    membership), the route's eligible total, the department → region maps.
    Output: counts against the threshold and the spread, and what is missing, in French.
    """
    return judge_route(route, tally_route(route, sponsors), eligible_total, geography)


def _judge(node: Route | AnyOf | AllOf, judge: Callable[[Route], RouteResult]) -> Result:
    if isinstance(node, Route):
        return judge(node)
    children = tuple(_judge(child, judge) for child in node.rules)
    if isinstance(node, AnyOf):
        met = any(child.met for child in children)
        missing = () if met else ("aucune des voies n'est remplie",)
        return GroupResult(type="any_of", label=node.label, met=met, children=children, missing=missing)
    unmet = [child for child in children if not child.met]
    missing = tuple(f"« {child.label} » : {' ; '.join(child.missing)}" for child in unmet if child.label)
    return GroupResult(type="all_of", label=node.label, met=not unmet, children=children, missing=missing)


def evaluate(
    rule: RuleSet, sponsors: Sequence[SponsorFacts], totals: Mapping[str, int], geography: Geography
) -> Result:
    """A candidate's qualification under `rule`: the result tree, `met` at the root."""
    return _judge(rule.root, lambda route: evaluate_route(route, sponsors, totals.get(route.key, 0), geography))


def evaluate_tallies(
    rule: RuleSet, tallies: Mapping[str, RouteTally], totals: Mapping[str, int], geography: Geography
) -> Result:
    """The same verdict from per-route tallies (route key → tally) computed elsewhere."""
    empty = RouteTally({}, 0)
    return _judge(rule.root, lambda route: judge_route(route, tallies.get(route.key, empty), totals.get(route.key, 0), geography))


def route_results(result: Result) -> list[RouteResult]:
    """The leaves of a result tree, in rule order."""
    if isinstance(result, RouteResult):
        return [result]
    return [leaf for child in result.children for leaf in route_results(child)]


# --- Intake: can this sponsorship count anywhere? -------------------------------------------------


def admitting_routes(rule: RuleSet, sponsor: SponsorFacts) -> list[Route]:
    return [route for route in rule.routes() if route.admits(sponsor)]


def refusal_reason(rule: RuleSet, sponsor: SponsorFacts) -> str | None:
    """Why a sponsorship in this capacity could count in no route of the rule (None: it can)."""
    if admitting_routes(rule, sponsor):
        return None
    routes = [route for route in rule.routes() if sponsor.category in route.categories]
    if not routes:
        accepted = sorted({category.plural for category in rule.categories()})
        return (
            f"la qualité « {sponsor.category.label} » ne compte dans aucune voie de la règle « {rule.label} » "
            f"(qualités admises : {', '.join(accepted)})"
        )
    if all(route.party_members_only for route in routes) and not sponsor.party_member:
        return "cet élu ne figure dans aucun fichier du parti : seuls les élus du parti peuvent parrainer"
    thresholds = sorted({route.population_over for route in routes if route.population_over is not None})
    if sponsor.category == Category.MAYOR and thresholds:
        population = "inconnue" if sponsor.population is None else f"{sponsor.population:,}".replace(",", "\u202f")
        limit = f"{thresholds[0]:,}".replace(",", "\u202f")
        return f"seuls les maires des communes de plus de {limit} habitants comptent (population de la commune : {population})"
    return "ce parrainage ne compterait dans aucune voie de la règle"


# --- Ballot order drawn by lot ---------------------------------------------------------------------

SEED_PATTERN = re.compile(r"^[\x20-\x7E\u00A0-\u017F]{4,200}$")


def draw_key(seed: str, candidate_id: int) -> str:
    """SHA-256 of « graine|numéro du candidat » in hexadecimal: the draw sorts by it."""
    import hashlib

    return hashlib.sha256(f"{seed}|{candidate_id}".encode()).hexdigest()


def draw_order(seed: str, candidate_ids: Iterable[int]) -> list[tuple[int, str]]:
    """Ballot order from a public seed: candidates sorted by SHA-256(seed|id).

    Anyone can recompute it: `sorted(ids, key=lambda i: sha256(f"{seed}|{i}".encode()).hexdigest())`.
    """
    return sorted(((cid, draw_key(seed, cid)) for cid in set(candidate_ids)), key=lambda pair: pair[1])
