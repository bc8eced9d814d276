"""Table-driven tests of the aggregation engine and of the round outcome."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from results.aggregation import (
    NATION_CODE,
    AggregationError,
    CountedReport,
    DecisionKind,
    Level,
    OutcomeKind,
    Station,
    StationDecision,
    TieBreakRule,
    aggregate,
    round_outcome,
    totals_contribution_findings,
)
from results.report import FindingCode, StationReport
from services.territory.service import cantons, departments

REGIONS = {"75": "11", "92": "11", "972": "02"}
STATIONS = [
    Station("A1", "75", "7501", 1000),
    Station("A2", "75", "7501", 800),
    Station("B1", "75", "7502", None),  # registered voters unknown
    Station("C1", "92", "9201", 600),
    Station("M1", "972", None, 500),  # Martinique has no canton
    Station("M2", "972", None, 400),
]


def R(signatures, blank, null, votes, cents=None) -> StationReport:  # noqa: ANN001, N802
    return StationReport(signatures, blank, null, tuple(votes), cents)


REPORTS = [
    CountedReport("A1", R(400, 3, 2, (200, 120, 75), 45000)),
    CountedReport("A2", R(300, 1, 1, (100, 150, 48), 30000)),
    CountedReport("B1", R(100, 0, 0, (30, 30, 40))),  # no E field
    CountedReport("M1", R(250, 5, 5, (80, 80, 80), 25000)),
]


def test_totals_at_every_level() -> None:
    result = aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS)
    a1 = result.stations["A1"]
    assert (a1.level, a1.stations, a1.stations_reported, a1.signatures, a1.votes) == (Level.STATION, 1, 1, 400, (200, 120, 75))
    assert result.stations["C1"].stations_reported == 0 and result.stations["C1"].votes == (0, 0, 0)

    canton = result.cantons["7501"]
    assert (canton.stations, canton.stations_reported, canton.signatures) == (2, 2, 700)
    assert canton.votes == (300, 270, 123) and canton.valid_votes == 693 and canton.ballots == 700
    assert canton.contributions_cents == 75000 and canton.cents_per_voter == pytest.approx(75000 / 700)
    assert canton.euros_per_voter == pytest.approx(750 / 700)

    paris = result.departments["75"]
    assert (paris.stations, paris.stations_reported, paris.registered_voters) == (3, 3, 1800)
    assert paris.votes == (330, 300, 163) and paris.blank == 4 and paris.null == 3
    # B1 sent no contributions: it counts in the votes, not in the euros-per-voter denominator
    assert paris.signatures == 800 and paris.signatures_with_contributions == 700
    assert paris.stations_with_contributions == 2 and paris.complete

    martinique = result.departments["972"]  # stations without canton go straight to the department
    assert (martinique.stations, martinique.stations_reported, martinique.reported_share) == (2, 1, 0.5)
    assert not martinique.complete and martinique.stations_awaited == 1

    idf = result.regions["11"]
    assert (idf.stations, idf.stations_reported, idf.signatures) == (4, 3, 800)
    assert result.department_region == {"75": "11", "92": "11", "972": "02"}
    assert result.canton_department == {"7501": "75", "7502": "75", "9201": "92"}

    nation = result.nation
    assert (nation.level, nation.code) == (Level.NATION, NATION_CODE)
    assert (nation.stations, nation.stations_reported, nation.stations_awaited) == (6, 4, 2)
    assert nation.reported_share == pytest.approx(4 / 6)
    assert nation.votes == (410, 380, 243) and nation.valid_votes == 1033
    assert nation.signatures == 1050 and nation.contributions_cents == 100000
    assert nation.signatures_with_contributions == 950 and nation.registered_voters == 3300
    assert result.stations_won == (1, 1, 1)  # A1, A2, B1; M1 is a three-way tie


def test_the_nation_is_always_the_sum_of_the_reports() -> None:
    result = aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS)
    for index in range(3):
        assert result.nation.votes[index] == sum(item.report.votes[index] for item in REPORTS)
    assert result.nation.blank == sum(item.report.blank for item in REPORTS)
    # recomputed, not stored: the same inputs give the same totals, the inputs are untouched
    again = aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS)
    assert again.nation == result.nation and again.departments == result.departments
    with pytest.raises(AttributeError):
        result.nation.signatures = 0  # type: ignore[misc]


def test_the_garbage_collector_state_is_restored() -> None:
    import gc

    assert gc.isenabled()
    aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS)
    assert gc.isenabled()
    with pytest.raises(AggregationError):
        aggregate(STATIONS, [CountedReport("Z9", R(1, 0, 0, (1, 0, 0)))], candidate_count=3, department_regions=REGIONS)
    assert gc.isenabled()
    gc.disable()
    try:
        aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


def test_empty_night() -> None:
    result = aggregate(STATIONS, [], candidate_count=3, department_regions=REGIONS)
    assert result.nation.stations == 6 and result.nation.stations_reported == 0
    assert result.nation.reported_share == 0.0 and result.nation.cents_per_voter is None
    assert result.nation.euros_per_voter is None
    assert result.outcome().kind is OutcomeKind.NO_VOTES


# --- decisions ------------------------------------------------------------------------------

DECISIONS = [
    (
        "annulment removes a counted report",
        [StationDecision("A1", DecisionKind.ANNUL, "HA-2027-001")],
        {"reported": 3, "annulled": 1, "awaited": 2, "votes": (210, 260, 168)},
    ),
    (
        "replacement states the figures",
        [StationDecision("A2", DecisionKind.REPLACE, "HA-2027-002", R(300, 1, 1, (150, 100, 48)))],
        {"reported": 4, "annulled": 0, "awaited": 2, "votes": (460, 330, 243)},
    ),
    (
        "replacement of a station that never reported counts it",
        [StationDecision("C1", DecisionKind.REPLACE, "HA-2027-003", R(10, 0, 0, (10, 0, 0)))],
        {"reported": 5, "annulled": 0, "awaited": 1, "votes": (420, 380, 243)},
    ),
    (
        "annulment of a station that never reported: no longer awaited",
        [StationDecision("M2", DecisionKind.ANNUL, "HA-2027-004")],
        {"reported": 4, "annulled": 1, "awaited": 1, "votes": (410, 380, 243)},
    ),
    (
        "a later decision supersedes an earlier one",
        [
            StationDecision("A1", DecisionKind.ANNUL, "HA-2027-005"),
            StationDecision("A1", DecisionKind.REPLACE, "HA-2027-006", R(400, 3, 2, (100, 220, 75))),
        ],
        {"reported": 4, "annulled": 0, "awaited": 2, "votes": (310, 480, 243)},
    ),
]


@pytest.mark.parametrize(("name", "decisions", "expected"), DECISIONS, ids=[d[0] for d in DECISIONS])
def test_decisions(name, decisions, expected) -> None:  # noqa: ANN001
    result = aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS, decisions=decisions)
    nation = result.nation
    assert nation.stations_reported == expected["reported"]
    assert nation.stations_annulled == expected["annulled"]
    assert nation.stations_awaited == expected["awaited"]
    assert nation.votes == expected["votes"]
    assert result.applied_decisions == tuple(decisions)


# --- bad input: an error, never a silent drop -------------------------------------------

ERRORS = [
    ("unknown station", STATIONS, [CountedReport("Z9", R(1, 0, 0, (1, 0, 0)))], REGIONS, (), "bureau inconnu : Z9"),
    ("two reports for one station", STATIONS, REPORTS + [REPORTS[0]], REGIONS, (), "Deux procès-verbaux comptés pour le bureau A1"),
    ("duplicate station", STATIONS + [STATIONS[0]], [], REGIONS, (), "Bureau A1 donné deux fois"),
    ("wrong number of figures", STATIONS, [CountedReport("A1", R(3, 0, 0, (1, 2)))], REGIONS, (), "2 chiffres de candidats pour 3"),
    ("negative figure", STATIONS, [CountedReport("A1", R(3, -1, 0, (1, 2, 0)))], REGIONS, (), "chiffre négatif"),
    ("department without region", STATIONS, [], {"75": "11", "92": "11"}, (), "Département 972 sans région"),
    (
        "canton in two departments",
        STATIONS + [Station("X1", "92", "7501")],
        [],
        REGIONS,
        (),
        "Canton 7501 rattaché à deux départements (75 et 92)",
    ),
    ("decision on unknown station", STATIONS, [], REGIONS, [StationDecision("Z9", DecisionKind.ANNUL, "HA-9")], "Décision HA-9 sur un bureau inconnu"),
    (
        "annulment carrying figures",
        STATIONS,
        [],
        REGIONS,
        [StationDecision("A1", DecisionKind.ANNUL, "HA-10", R(1, 0, 0, (1, 0, 0)))],
        "une annulation ne porte pas de chiffres",
    ),
    ("replacement without figures", STATIONS, [], REGIONS, [StationDecision("A1", DecisionKind.REPLACE, "HA-11")], "doit porter les chiffres"),
]


@pytest.mark.parametrize(("name", "stations", "reports", "regions", "decisions", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_raises_a_french_error(name, stations, reports, regions, decisions, message) -> None:  # noqa: ANN001
    with pytest.raises(AggregationError) as raised:
        aggregate(stations, reports, candidate_count=3, department_regions=regions, decisions=decisions)
    assert message in str(raised.value)


def test_contribution_check_on_aggregates() -> None:
    result = aggregate(STATIONS, REPORTS, candidate_count=3, department_regions=REGIONS)
    assert totals_contribution_findings(result.nation, min_cents=100, plausible_max_cents=2000) == []
    [finding] = totals_contribution_findings(result.departments["75"], min_cents=200, plausible_max_cents=2000)
    assert finding.code is FindingCode.CONTRIBUTIONS_BELOW_MINIMUM and finding.size == 700 * 200 - 75000
    assert "dans le département 75" in finding.message


# --- sums hold at every level, for any input ---------------------------------------------


@st.composite
def nights(draw: st.DrawFn):  # noqa: ANN201
    k = draw(st.integers(1, 5))
    station_count = draw(st.integers(1, 40))
    stations, reports = [], []
    for index in range(station_count):
        department = draw(st.sampled_from(["01", "2A", "75", "971", "988"]))
        canton = draw(st.none() | st.sampled_from(["1", "2", "3"]).map(lambda c, d=department: d + c))
        stations.append(Station(f"S{index}", department, canton, draw(st.none() | st.integers(0, 5000))))
        if draw(st.booleans()):
            votes = draw(st.lists(st.integers(0, 2000), min_size=k, max_size=k))
            blank, null = draw(st.integers(0, 50)), draw(st.integers(0, 50))
            cents = draw(st.none() | st.integers(0, 10**7))
            reports.append(CountedReport(f"S{index}", R(sum(votes) + blank + null, blank, null, votes, cents)))
    return k, stations, reports


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(nights())
def test_every_level_is_the_sum_of_the_level_below(night) -> None:  # noqa: ANN001
    k, stations, reports = night
    regions = {"01": "84", "2A": "94", "75": "11", "971": "01", "988": "988"}
    result = aggregate(stations, reports, candidate_count=k, department_regions=regions)

    def total(items):  # noqa: ANN001, ANN202
        items = list(items)
        return (
            sum(t.stations for t in items),
            sum(t.stations_reported for t in items),
            sum(t.signatures for t in items),
            sum(t.blank + t.null for t in items),
            tuple(sum(t.votes[i] for t in items) for i in range(k)),
            sum(t.contributions_cents for t in items),
            sum(t.registered_voters for t in items),
        )

    def key(t):  # noqa: ANN001, ANN202
        return total([t])

    assert key(result.nation) == total(result.regions.values()) == total(result.departments.values())
    assert key(result.nation) == total(result.stations.values())
    for department, totals in result.departments.items():
        cantons_of = [t for c, t in result.cantons.items() if result.canton_department[c] == department]
        direct = [result.stations[s.code] for s in stations if s.department_code == department and s.canton_code is None]
        assert key(totals) == total(cantons_of + direct)
    assert result.nation.votes == tuple(sum(r.report.votes[i] for r in reports) for i in range(k))
    assert result.nation.stations_reported == len(reports)


def test_real_territory_every_department_has_a_current_region() -> None:
    regions = {row["code"]: row["region_code"] for row in departments()}
    assert len(regions) >= 109 and all(regions.values())
    canton_rows = cantons()
    stations = [Station(f"{i:05d}", row["department_code"], row["code"]) for i, row in enumerate(canton_rows)]
    reports = [CountedReport(s.code, R(3, 0, 0, (1, 1, 1))) for s in stations]
    result = aggregate(stations, reports, candidate_count=3, department_regions=regions)
    assert result.nation.stations_reported == len(canton_rows)
    assert len(result.regions) == len({regions[d] for d in result.departments})
    assert result.regions["94"].stations == sum(1 for row in canton_rows if row["department_code"] in ("2A", "2B"))


# --- round outcome --------------------------------------------------------------------------

ELDER, YOUNGER, MIDDLE = date(1950, 1, 1), date(1980, 1, 1), date(1965, 6, 6)

OUTCOMES = [
    # name, votes, options, kind, elected, qualified, ranking
    ("absolute majority elects", (501, 300, 199), {}, OutcomeKind.ELECTED, 0, (), (0, 1, 2)),
    ("exactly half is not a majority", (500, 300, 200), {}, OutcomeKind.RUNOFF, None, (0, 1), (0, 1, 2)),
    ("majority for the candidate listed last", (10, 20, 31), {}, OutcomeKind.ELECTED, 2, (), (2, 1, 0)),
    ("no majority: top two", (300, 400, 100, 200), {}, OutcomeKind.RUNOFF, None, (1, 0), (1, 0, 3, 2)),
    (
        "tie for second: the elder goes on (default rule)",
        (400, 300, 300),
        {"birth_dates": (MIDDLE, YOUNGER, ELDER)},
        OutcomeKind.RUNOFF,
        None,
        (0, 2),
        (0, 2, 1),
    ),
    (
        "tie for second without birth dates: ballot order",
        (400, 300, 300),
        {},
        OutcomeKind.RUNOFF,
        None,
        (0, 1),
        (0, 1, 2),
    ),
    (
        "tie for second, same birth date: ballot order after the elder rule",
        (400, 300, 300),
        {"birth_dates": (MIDDLE, ELDER, ELDER)},
        OutcomeKind.RUNOFF,
        None,
        (0, 1),
        (0, 1, 2),
    ),
    (
        "tie for second by stations won",
        (400, 300, 300),
        {"tie_break": (TieBreakRule.MORE_STATIONS_WON,), "stations_won": (50, 10, 12)},
        OutcomeKind.RUNOFF,
        None,
        (0, 2),
        (0, 2, 1),
    ),
    (
        "three-way tie for first",
        (300, 300, 300),
        {"birth_dates": (YOUNGER, MIDDLE, ELDER)},
        OutcomeKind.RUNOFF,
        None,
        (2, 1),
        (2, 1, 0),
    ),
    (
        "final round tie: the rule designates",
        (500, 500),
        {"final_round": True, "birth_dates": (YOUNGER, ELDER)},
        OutcomeKind.ELECTED,
        1,
        (),
        (1, 0),
    ),
    ("final round majority", (499, 501), {"final_round": True}, OutcomeKind.ELECTED, 1, (), (1, 0)),
    ("single candidate", (12,), {}, OutcomeKind.ELECTED, 0, (), (0,)),
    ("no votes at all", (0, 0, 0), {}, OutcomeKind.NO_VOTES, None, (), (0, 1, 2)),
    ("three qualify when configured", (300, 250, 200, 100), {"qualified_count": 3}, OutcomeKind.RUNOFF, None, (0, 1, 2), (0, 1, 2, 3)),
]


@pytest.mark.parametrize(("name", "votes", "options", "kind", "elected", "qualified", "ranking"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_round_outcome(name, votes, options, kind, elected, qualified, ranking) -> None:  # noqa: ANN001
    outcome = round_outcome(votes, **options)
    assert (outcome.kind, outcome.elected, outcome.qualified, outcome.ranking) == (kind, elected, qualified, ranking)
    assert outcome.valid_votes == sum(votes) and outcome.majority == sum(votes) // 2 + 1
    assert outcome.explanation


def test_tie_resolutions_are_recorded_and_explained() -> None:
    outcome = round_outcome((400, 300, 300, 10, 10), birth_dates=(MIDDLE, YOUNGER, ELDER, ELDER, YOUNGER))
    second, last = outcome.ties
    assert (second.candidates, second.order, second.rules_used, second.decisive) == ((1, 2), (2, 1), (TieBreakRule.ELDER,), True)
    assert "Égalité à 300 voix entre les candidats n° 2, n° 3" in second.explanation
    assert "l'âge (le plus âgé d'abord)" in second.explanation and "décide du résultat" in second.explanation
    assert last.decisive is False and last.order == (3, 4)
    assert "second tour entre les candidats n° 1 et n° 3" in outcome.explanation


def test_tie_break_chain_skips_a_rule_without_data() -> None:
    outcome = round_outcome((400, 300, 300), tie_break=(TieBreakRule.ELDER, TieBreakRule.MORE_STATIONS_WON), stations_won=(9, 1, 5))
    assert outcome.qualified == (0, 2)
    assert outcome.ties[0].rules_used == (TieBreakRule.MORE_STATIONS_WON,)


def test_outcome_explanations() -> None:
    elected = round_outcome((600, 400))
    assert elected.explanation == (
        "Candidat n° 1 désigné : majorité absolue (600 voix sur 1\u202f000 suffrages exprimés, il en fallait 501)."
    )
    runoff = round_outcome((450, 350, 200))
    assert runoff.explanation == (
        "Aucune majorité absolue (501 voix nécessaires sur 1\u202f000 suffrages exprimés, le premier en a 450) : "
        "second tour entre les candidats n° 1 et n° 2."
    )


def test_outcome_input_lengths_are_checked() -> None:
    with pytest.raises(ValueError):
        round_outcome((1, 2), birth_dates=(ELDER,))


def test_aggregation_outcome_uses_national_totals_and_stations_won() -> None:
    stations = [Station(f"S{i}", "75", "7501") for i in range(3)]
    reports = [
        CountedReport("S0", R(100, 0, 0, (50, 25, 25))),
        CountedReport("S1", R(100, 0, 0, (25, 50, 25))),
        CountedReport("S2", R(100, 0, 0, (25, 25, 50))),
    ]
    result = aggregate(stations, reports, candidate_count=3, department_regions={"75": "11"})
    assert result.nation.votes == (100, 100, 100) and result.stations_won == (1, 1, 1)
    outcome = result.outcome(tie_break=(TieBreakRule.MORE_STATIONS_WON,))
    assert outcome.ranking == (0, 1, 2)  # stations won are equal too: ballot order ends the chain
    assert outcome.ties[0].rules_used == (TieBreakRule.MORE_STATIONS_WON, TieBreakRule.BALLOT_ORDER)
