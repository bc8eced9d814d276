"""The rule engine, table-driven, at every boundary (pure: no database)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.sponsorship import rules
from services.sponsorship.rules import (
    PRESETS,
    AllOf,
    AnyOf,
    Category,
    Geography,
    RosterFacts,
    Route,
    RuleSet,
    SponsorFacts,
    evaluate,
    evaluate_route,
)

P, CN, CR, CD, M, A = (
    Category.PARLIAMENTARIAN,
    Category.NATIONAL_COUNCIL,
    Category.REGIONAL_COUNCILLOR,
    Category.DEPARTMENTAL_COUNCILLOR,
    Category.MAYOR,
    Category.MEMBER,
)

# A small geography: department → region on both maps. 63 (Puy-de-Dôme) and 69 (Rhône) were two
# regions before 2016 (Auvergne 83, Rhône-Alpes 82) and are one since (Auvergne-Rhône-Alpes 84).
DEPARTMENTS = {
    "01": ("84", "82"), "63": ("84", "83"), "69": ("84", "82"), "75": ("11", "11"), "33": ("75", "72"),
    "24": ("75", "72"), "87": ("75", "74"), "13": ("93", "93"), "59": ("32", "31"), "62": ("32", "31"),
    "67": ("44", "42"), "68": ("44", "42"), "51": ("44", "21"), "35": ("53", "53"), "29": ("53", "53"),
    "31": ("76", "73"), "34": ("76", "91"), "971": ("01", "01"), "2A": ("94", "94"), "45": ("24", "24"),
}  # fmt: skip
GEOGRAPHY = Geography(
    regions={
        "2016": {code: pair[0] for code, pair in DEPARTMENTS.items()},
        "avant-2016": {code: pair[1] for code, pair in DEPARTMENTS.items()},
    }
)
# 30+ department codes for the presidential and 2016 rules (regions irrelevant there).
MANY = [f"{n:02d}" for n in range(1, 96) if n != 20]


def sponsors(category: Category, departments: list[str], *, population: int | None = None, member: bool = True) -> list[SponsorFacts]:
    return [SponsorFacts(category, department, population, member) for department in departments]


def spread(count: int, departments: list[str]) -> list[str]:
    """`count` sponsors over the given departments in turn."""
    return [departments[i % len(departments)] for i in range(count)]


def route(rule: RuleSet, key: str) -> Route:
    return next(r for r in rule.routes() if r.key == key)


# --- Thresholds: a share rounded up, or a count ------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "total", "required"),
    [
        (5, 313, 16),  # DOMAIN.md: 5 % of 313 mayors = 15.65 → 16
        (5, 300, 15),  # exact: 15.00 → 15
        (5, 301, 16),  # 15.05 → 16
        (5, 320, 16),
        (5, 20, 1),
        (5, 1, 1),
        (5, 0, 1),  # an empty category is unreachable, not met with nobody
        (10, 7, 1),
        (Decimal("2.5"), 400, 10),
        (Decimal("2.5"), 401, 11),
        (100, 9, 9),
    ],
)
def test_share_threshold_rounds_up(percent: Decimal, total: int, required: int) -> None:
    r = Route(key="r", label="r", categories=(M,), share_percent=Decimal(percent))
    assert r.required(total) == required


def test_count_threshold_ignores_the_total() -> None:
    r = Route(key="r", label="r", categories=(M,), count=500)
    assert r.required(0) == r.required(40_000) == 500


@pytest.mark.parametrize(
    ("sponsor_count", "met"),
    [(15, False), (16, True), (17, True)],
)
def test_exactly_five_percent_of_313(sponsor_count: int, met: bool) -> None:
    mayors = route(PRESETS["primaire-2011"], "maires")
    regions = ["75", "33", "13", "59"]  # four regions before 2016
    result = evaluate_route(mayors, sponsors(M, spread(sponsor_count, regions), population=20_000), 313, GEOGRAPHY)
    assert result.required == 16
    assert result.counted == sponsor_count
    assert result.met is met
    assert bool(result.missing) is (not met)
    if not met:
        assert result.missing == ("il manque 1 parrainage (15 sur 16)",)


# --- Spread: departments, regions, the two region maps ---------------------------------------------------


COUNCILLOR_DEPARTMENTS = ["75", "33", "24", "87", "13", "59", "62", "67", "68", "51", "35", "29"]


@pytest.mark.parametrize(
    ("department_count", "met", "missing"),
    [
        (9, False, ("il manque 1 département (9 sur 10)",)),
        (10, True, ()),
        (11, True, ()),
    ],
)
def test_nine_against_ten_departments(department_count: int, met: bool, missing: tuple[str, ...]) -> None:
    councillors = route(PRESETS["primaire-2011"], "conseillers")
    departments = COUNCILLOR_DEPARTMENTS[:department_count]
    result = evaluate_route(councillors, sponsors(CD, spread(60, departments)), 1000, GEOGRAPHY)
    assert result.required == 50
    assert result.departments == department_count
    assert result.regions >= 4
    assert result.met is met
    assert result.missing == missing


@pytest.mark.parametrize(
    ("departments", "regions", "met"),
    [
        (["75", "33", "13"], 3, False),  # Île-de-France, Aquitaine, PACA
        (["75", "33", "24", "13"], 3, False),  # 33 and 24: both Aquitaine
        (["75", "33", "13", "59"], 4, True),
        (["75", "33", "13", "59", "67"], 5, True),
    ],
)
def test_three_against_four_regions(departments: list[str], regions: int, met: bool) -> None:
    mayors = route(PRESETS["primaire-2011"], "maires")
    result = evaluate_route(mayors, sponsors(M, spread(20, departments), population=50_000), 313, GEOGRAPHY)
    assert result.regions == regions
    assert result.met is met
    if not met:
        assert result.missing == ("il manque 1 région (3 sur 4, régions d'avant 2016)",)


def test_region_map_changes_the_count() -> None:
    """63 and 69: two regions before 2016 (Auvergne, Rhône-Alpes), one since (Auvergne-Rhône-Alpes)."""
    base = dict(key="r", label="r", categories=(M,), count=2, min_regions=2)
    before = Route(**base, region_map="avant-2016")
    current = Route(**base, region_map="2016")
    facts = sponsors(M, ["63", "69"])
    assert evaluate_route(before, facts, 0, GEOGRAPHY).regions == 2
    assert evaluate_route(before, facts, 0, GEOGRAPHY).met
    assert evaluate_route(current, facts, 0, GEOGRAPHY).regions == 1
    assert not evaluate_route(current, facts, 0, GEOGRAPHY).met


def test_officials_without_department_count_but_cover_nothing() -> None:
    r = Route(key="r", label="r", categories=(P,), count=3, min_departments=1)
    meps = [SponsorFacts(P, None), SponsorFacts(P, None), SponsorFacts(P, None)]
    result = evaluate_route(r, meps, 0, GEOGRAPHY)
    assert (result.counted, result.departments, result.met) == (3, 0, False)


# --- The one-department cap (presidential rule) ------------------------------------------------------------


def presidential(per_department: dict[str, int]) -> rules.RouteResult:
    departments = [code for code, count in per_department.items() for _ in range(count)]
    return evaluate_route(PRESETS["presidentielle"].root, sponsors(M, departments, member=False), 0, GEOGRAPHY)  # type: ignore[arg-type]


def thirty(total: int, first: int) -> dict[str, int]:
    """`first` sponsors from department 01, the rest spread over 29 other departments."""
    others = MANY[1:30]
    counts = {"01": first}
    for index in range(total - first):
        counts[others[index % 29]] = counts.get(others[index % 29], 0) + 1
    return counts


@pytest.mark.parametrize(
    ("per_department", "counted", "met"),
    [
        (thirty(500, 50), 500, True),  # exactly the cap: 10 % of 500 = 50
        (thirty(500, 51), 499, False),  # one over the cap: it does not count
        (thirty(501, 51), 500, True),  # ... so one more sponsor elsewhere qualifies
        (thirty(600, 150), 500, True),  # a cap caps, it never disqualifies
        (thirty(499, 10), 499, False),
    ],
)
def test_ten_percent_cap(per_department: dict[str, int], counted: int, met: bool) -> None:
    result = presidential(per_department)
    assert result.department_cap == 50
    assert result.counted == counted
    assert result.met is met
    if per_department["01"] > 50:
        assert result.over_cap == {"01": per_department["01"] - 50}


@pytest.mark.parametrize(("department_count", "met"), [(29, False), (30, True)])
def test_presidential_thirty_departments(department_count: int, met: bool) -> None:
    departments = MANY[:department_count]
    counts = {code: 0 for code in departments}
    for index in range(520):
        counts[departments[index % department_count]] += 1
    result = presidential(counts)
    assert result.departments == department_count
    assert result.met is met


def test_presidential_admits_officials_of_any_party() -> None:
    facts = SponsorFacts(M, "01", 300, party_member=False)
    assert PRESETS["presidentielle"].root.admits(facts)  # type: ignore[union-attr]
    assert not route(PRESETS["primaire-2011"], "parlementaires").admits(SponsorFacts(P, "01", None, False))


# --- Population threshold ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "admitted"),
    [(9_999, False), (10_000, False), (10_001, True), (None, False)],
)
def test_mayors_of_communes_over_ten_thousand(population: int | None, admitted: bool) -> None:
    mayors = route(PRESETS["primaire-2011"], "maires")
    assert mayors.admits(SponsorFacts(M, "75", population)) is admitted


# --- The 2016 rule: all of three conditions -----------------------------------------------------------------


def primaire_2016(elected: int, parliamentarians: int, elected_departments: int, members: int, member_departments: int) -> rules.GroupResult:
    facts = sponsors(P, spread(parliamentarians, MANY[:elected_departments]))
    facts += sponsors(M, spread(elected - parliamentarians, MANY[:elected_departments]), population=500)
    facts += sponsors(A, spread(members, MANY[:member_departments]))
    result = evaluate(PRESETS["primaire-2016"], facts, {}, GEOGRAPHY)
    assert isinstance(result, rules.GroupResult)
    return result


@pytest.mark.parametrize(
    ("args", "met", "unmet_routes"),
    [
        ((250, 20, 30, 2500, 15), True, []),
        ((249, 20, 30, 2500, 15), False, ["elus"]),
        ((250, 19, 30, 2500, 15), False, ["parlementaires"]),
        ((250, 20, 29, 2500, 15), False, ["elus"]),
        ((250, 20, 30, 2499, 15), False, ["adherents"]),
        ((250, 20, 30, 2500, 14), False, ["adherents"]),
        ((300, 40, 40, 3000, 20), True, []),
    ],
)
def test_primaire_2016_needs_all_three(args: tuple[int, ...], met: bool, unmet_routes: list[str]) -> None:
    result = primaire_2016(*args)
    assert result.met is met
    assert [leaf.key for leaf in rules.route_results(result) if not leaf.met] == unmet_routes


# --- The 2011 rule: any of four routes; the seed article's variant ------------------------------------------


def test_primaire_2011_any_route_suffices() -> None:
    rule = PRESETS["primaire-2011"]
    totals = {"parlementaires": 300, "conseil-national": 204, "conseillers": 1000, "maires": 313}
    # 11 national-council members (5 % of 204 = 10.2 → 11), all from one department.
    result = evaluate(rule, sponsors(CN, ["75"] * 11), totals, GEOGRAPHY)
    assert result.met
    assert [leaf.met for leaf in rules.route_results(result)] == [False, True, False, False]
    assert not evaluate(rule, sponsors(CN, ["75"] * 10), totals, GEOGRAPHY).met


def test_article_variant_moves_the_spread_to_the_national_council() -> None:
    """The seed article attached the 10-departments / 4-regions spread to the national council:
    expressible as the `primaire-2011-article` preset."""
    variant = PRESETS["primaire-2011-article"]
    council = route(variant, "conseil-national")
    councillors = route(variant, "conseillers")
    assert (council.min_departments, council.min_regions, council.region_map) == (10, 4, "avant-2016")
    assert (councillors.min_departments, councillors.min_regions) == (0, 0)
    totals = {"parlementaires": 300, "conseil-national": 204, "conseillers": 1000, "maires": 313}
    one_department = sponsors(CN, ["75"] * 11)
    assert evaluate(PRESETS["primaire-2011"], one_department, totals, GEOGRAPHY).met
    assert not evaluate(variant, one_department, totals, GEOGRAPHY).met
    assert evaluate(variant, sponsors(CN, COUNCILLOR_DEPARTMENTS[:11]), totals, GEOGRAPHY).met


def test_declared_capacity_decides_where_a_sponsorship_counts() -> None:
    """A deputy-mayor who signs as mayor counts among mayors, not parliamentarians."""
    parliamentarians = route(PRESETS["primaire-2011"], "parlementaires")
    assert not parliamentarians.admits(SponsorFacts(M, "75", 50_000))
    assert parliamentarians.admits(SponsorFacts(P, "75"))


# --- Eligible totals --------------------------------------------------------------------------------------


def test_eligible_totals_count_people_once_and_respect_filters() -> None:
    roster = [
        RosterFacts(1, CR), RosterFacts(1, CD),  # same person in both councils: once
        RosterFacts(2, CD), RosterFacts(3, CD, party_member=False),
        RosterFacts(4, M, 10_000), RosterFacts(5, M, 10_001), RosterFacts(6, M, 250_000),
        RosterFacts(7, P), RosterFacts(8, CN),
    ]  # fmt: skip
    assert rules.eligible_totals(PRESETS["primaire-2011"], roster) == {
        "parlementaires": 1,
        "conseil-national": 1,
        "conseillers": 2,
        "maires": 2,
    }
    assert rules.eligible_totals(PRESETS["presidentielle"], roster) == {"elus": 7}


# --- Intake: can this capacity count anywhere? --------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "fragment"),
    [
        (SponsorFacts(A, "75"), "ne compte dans aucune voie"),
        (SponsorFacts(M, "75", 8_500), "plus de 10\u202f000 habitants comptent (population de la commune : 8\u202f500)"),
        (SponsorFacts(P, "75", None, False), "aucun fichier du parti"),
        (SponsorFacts(P, "75"), None),
        (SponsorFacts(M, "75", 12_000), None),
    ],
)
def test_refusal_reason(facts: SponsorFacts, fragment: str | None) -> None:
    reason = rules.refusal_reason(PRESETS["primaire-2011"], facts)
    if fragment is None:
        assert reason is None
    else:
        assert reason is not None and fragment in reason


# --- Rule definitions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list(PRESETS))
def test_presets_round_trip_through_json(preset: str) -> None:
    rule = PRESETS[preset]
    assert RuleSet.model_validate(json.loads(json.dumps(rule.model_dump(mode="json")))) == rule


@pytest.mark.parametrize(
    ("definition", "error"),
    [
        ({"key": "a", "label": "a", "categories": ["maire"], "share_percent": "5", "count": 3}, "soit une part"),
        ({"key": "a", "label": "a", "categories": ["maire"]}, "soit une part"),
        ({"key": "a", "label": "a", "categories": ["parlementaire"], "count": 3, "population_over": 10}, "population"),
        ({"key": "a", "label": "a", "categories": [], "count": 3}, "categories"),
        ({"key": "a", "label": "a", "categories": ["inconnue"], "count": 3}, "categories"),
    ],
)
def test_invalid_routes_are_refused(definition: dict, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Route.model_validate(definition)


def test_duplicate_route_keys_are_refused() -> None:
    one = Route(key="a", label="a", categories=(M,), count=1)
    with pytest.raises(ValidationError, match="en double"):
        RuleSet(name="x", label="x", root=AnyOf(rules=(one, AllOf(rules=(one,)))))


def test_nested_custom_rule() -> None:
    """Any of: (100 mayors) or (all of: 10 parliamentarians and 5 national-council members)."""
    rule = RuleSet(
        name="maison",
        label="Règle maison",
        root=AnyOf(
            rules=(
                Route(key="maires", label="100 maires", categories=(M,), count=100),
                AllOf(
                    label="parlementaires et conseil",
                    rules=(
                        Route(key="parl", label="10 parlementaires", categories=(P,), count=10),
                        Route(key="cn", label="5 membres du conseil", categories=(CN,), count=5),
                    ),
                ),
            )
        ),
    )
    assert not evaluate(rule, sponsors(P, ["75"] * 10), {}, GEOGRAPHY).met
    assert evaluate(rule, sponsors(P, ["75"] * 10) + sponsors(CN, ["33"] * 5), {}, GEOGRAPHY).met


# --- Monotonicity: one more sponsor never loses a route ---------------------------------------------------------

departments_strategy = st.sampled_from(sorted(DEPARTMENTS))
facts_strategy = st.builds(
    SponsorFacts,
    category=st.sampled_from(list(Category)),
    department_code=st.one_of(st.none(), departments_strategy),
    population=st.one_of(st.none(), st.integers(0, 100_000)),
    party_member=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(facts_strategy, max_size=80), facts_strategy, st.sampled_from(list(PRESETS)))
def test_adding_a_sponsor_never_loses_a_met_route(existing: list[SponsorFacts], extra: SponsorFacts, preset: str) -> None:
    rule = PRESETS[preset]
    small_totals = {r.key: 20 for r in rule.routes()}
    # Shrink the presets' counts so that random lists can reach them.
    shrunk = RuleSet.model_validate(
        json.loads(json.dumps(rule.model_dump(mode="json")).replace('"count": 500', '"count": 5').replace('"count": 2500', '"count": 6').replace('"count": 250', '"count": 4'))
    )
    before = rules.route_results(evaluate(shrunk, existing, small_totals, GEOGRAPHY))
    after = rules.route_results(evaluate(shrunk, [*existing, extra], small_totals, GEOGRAPHY))
    for old, new in zip(before, after, strict=True):
        assert new.counted >= old.counted
        assert not (old.met and not new.met)


# --- The ballot draw ------------------------------------------------------------------------------------------


def test_draw_is_reproducible_and_a_permutation() -> None:
    ids = [4, 8, 15, 16, 23, 42]
    first = rules.draw_order("graine publique 2027", ids)
    assert rules.draw_order("graine publique 2027", list(reversed(ids))) == first
    assert sorted(cid for cid, _key in first) == ids
    assert [key for _cid, key in first] == sorted(key for _cid, key in first)
    assert rules.draw_key("graine publique 2027", 4) == __import__("hashlib").sha256(b"graine publique 2027|4").hexdigest()
    orders = {tuple(cid for cid, _ in rules.draw_order(f"graine {n}", ids)) for n in range(30)}
    assert len(orders) > 20  # the seed decides
