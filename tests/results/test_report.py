"""Table-driven tests of the station report (PV) and its checks."""

from __future__ import annotations

import pytest

from results.report import (
    FindingCode,
    ReportContext,
    Severity,
    StationReport,
    Unit,
    check_report,
    contribution_findings,
    french_euros,
    french_int,
)

K = 3  # candidates on the ballot in these tables


def _report(signatures=100, blank=2, null=1, votes=(50, 30, 17), contributions=None) -> StationReport:
    return StationReport(signatures, blank, null, tuple(votes), contributions)


def test_valid_votes_are_derived_from_the_candidates_votes() -> None:
    report = StationReport(412, 3, 2, [120, 98, 77, 60, 30, 22], 61250)
    assert report.votes == (120, 98, 77, 60, 30, 22)  # a list is stored as a tuple
    assert report.valid_votes == 407
    assert report.ballots == 412
    with pytest.raises(AttributeError):
        report.signatures = 1  # type: ignore[misc]


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_figures_must_be_integers(bad: object) -> None:
    with pytest.raises(TypeError):
        StationReport(100, bad, 1, (1, 2, 3))  # type: ignore[arg-type]


def test_a_clean_report_has_no_finding() -> None:
    context = ReportContext(K, tablet_check_ins=98, paper_check_ins=2, registered_voters=1200)
    check = check_report(_report(contributions=15000), context)
    assert check.findings == ()
    assert check.accepted


# (name, report, context, expected [(code, severity, size, unit)], message fragments)
CASES = [
    (
        "ballots above signatures is a hard error with its excess",
        _report(signatures=95),
        ReportContext(K),
        [(FindingCode.BALLOTS_ABOVE_SIGNATURES, Severity.ERROR, 5, Unit.BALLOTS)],
        ["= 100 bulletins", "95 émargements", "5 de trop", "recomptez"],
    ),
    (
        "wrong number of candidate figures is a hard error and stops the arithmetic",
        _report(signatures=10, votes=(50, 30)),
        ReportContext(K),
        [(FindingCode.WRONG_CANDIDATE_COUNT, Severity.ERROR, 1, Unit.FIGURES)],
        ["3 chiffres de candidats attendus, 2 reçus", "ordre du bulletin"],
    ),
    (
        "too many candidate figures",
        _report(votes=(1, 2, 3, 4, 5)),
        ReportContext(K),
        [(FindingCode.WRONG_CANDIDATE_COUNT, Severity.ERROR, 2, Unit.FIGURES)],
        ["3 chiffres de candidats attendus, 5 reçus"],
    ),
    (
        "negative figures are hard errors, each named",
        _report(blank=-2, votes=(50, -3, 17), contributions=-100),
        ReportContext(K),
        [(FindingCode.NEGATIVE_FIGURE, Severity.ERROR, 3, Unit.FIGURES)],
        ["blancs -2", "voix du candidat n° 2 -3", "contributions -1,00"],
    ),
    (
        "signatures far above check-ins: flagged with the gap, tablet and paper detailed",
        _report(signatures=120, votes=(60, 40, 17)),
        ReportContext(K, tablet_check_ins=100, paper_check_ins=5),
        [(FindingCode.SIGNATURES_VS_CHECK_INS, Severity.GAP, 15, Unit.VOTERS)],
        ["120 émargements pour 105 passages", "tablette 100 + papier 5", "15 de plus", "tolérance de 2"],
    ),
    (
        "signatures below check-ins beyond a relative tolerance (1 % of 1,000 = 10)",
        StationReport(985, 5, 5, (500, 400, 75)),
        ReportContext(K, tablet_check_ins=1000),
        [(FindingCode.SIGNATURES_VS_CHECK_INS, Severity.GAP, 15, Unit.VOTERS)],
        ["15 de moins", "tolérance de 10"],
    ),
    (
        "fewer ballots than signatures: flagged, never refused",
        _report(signatures=104),
        ReportContext(K),
        [(FindingCode.BALLOTS_BELOW_SIGNATURES, Severity.GAP, 4, Unit.BALLOTS)],
        ["104 émargements mais 100 bulletins", "4 de moins"],
    ),
    (
        "contributions below the minimum per voter: shortfall in cents",
        _report(contributions=9000),
        ReportContext(K, contribution_min_cents=100),
        [(FindingCode.CONTRIBUTIONS_BELOW_MINIMUM, Severity.GAP, 1000, Unit.CENTS)],
        ["90,00\u00a0€ de contributions", "0,90\u00a0€ par votant", "minimum de 1,00\u00a0€", "il manque 10,00\u00a0€"],
    ),
    (
        "implausibly high contributions (cents typed as euros?): excess over the ceiling",
        _report(contributions=1_000_000),
        ReportContext(K, contribution_plausible_max_cents=2000),
        [(FindingCode.CONTRIBUTIONS_IMPLAUSIBLY_HIGH, Severity.GAP, 800_000, Unit.CENTS)],
        ["10\u202f000,00\u00a0€", "100,00\u00a0€ par votant", "plafond vraisemblable de 20,00\u00a0€"],
    ),
    (
        "turnout above the registered voters (the Indonesian 2024 lesson): flagged",
        _report(),
        ReportContext(K, registered_voters=90),
        [(FindingCode.SIGNATURES_ABOVE_REGISTERED, Severity.GAP, 10, Unit.VOTERS)],
        ["100 émargements pour 90 inscrits", "10 de plus", "avant publication"],
    ),
    (
        "several gaps at once, all reported",
        _report(signatures=130, contributions=100),
        ReportContext(K, tablet_check_ins=100, registered_voters=120),
        [
            (FindingCode.SIGNATURES_VS_CHECK_INS, Severity.GAP, 30, Unit.VOTERS),
            (FindingCode.BALLOTS_BELOW_SIGNATURES, Severity.GAP, 30, Unit.BALLOTS),
            (FindingCode.CONTRIBUTIONS_BELOW_MINIMUM, Severity.GAP, 12900, Unit.CENTS),
            (FindingCode.SIGNATURES_ABOVE_REGISTERED, Severity.GAP, 10, Unit.VOTERS),
        ],
        [],
    ),
    (
        "an error and gaps together: the error comes first and the report is refused",
        _report(signatures=95),
        ReportContext(K, tablet_check_ins=60, registered_voters=50),
        [
            (FindingCode.BALLOTS_ABOVE_SIGNATURES, Severity.ERROR, 5, Unit.BALLOTS),
            (FindingCode.SIGNATURES_VS_CHECK_INS, Severity.GAP, 35, Unit.VOTERS),
            (FindingCode.SIGNATURES_ABOVE_REGISTERED, Severity.GAP, 45, Unit.VOTERS),
        ],
        [],
    ),
]


@pytest.mark.parametrize(("name", "report", "context", "expected", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_findings(name, report, context, expected, fragments) -> None:  # noqa: ANN001
    check = check_report(report, context)
    assert [(f.code, f.severity, f.size, f.unit) for f in check.findings] == expected
    assert check.accepted == all(severity is Severity.GAP for _, severity, _, _ in expected)
    text = " ".join(f.message for f in check.findings)
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    for finding in check.findings:
        assert finding.size > 0
        assert finding.message.endswith(".")


@pytest.mark.parametrize(
    ("signatures", "check_ins", "flagged"),
    [(102, 100, False), (103, 100, True), (98, 100, False), (97, 100, True), (1010, 1000, False), (1011, 1000, True)],
)
def test_check_in_tolerance_boundaries(signatures: int, check_ins: int, flagged: bool) -> None:
    report = StationReport(signatures, 0, 0, (signatures, 0, 0))
    codes = [f.code for f in check_report(report, ReportContext(K, tablet_check_ins=check_ins)).findings]
    assert (FindingCode.SIGNATURES_VS_CHECK_INS in codes) is flagged


def test_no_check_in_comparison_when_check_ins_are_unknown() -> None:
    report = StationReport(500, 0, 0, (500, 0, 0))
    assert check_report(report, ReportContext(K)).findings == ()
    # paper entries alone are known check-ins
    gaps = check_report(report, ReportContext(K, paper_check_ins=400)).gaps
    assert [f.size for f in gaps] == [100]


@pytest.mark.parametrize(
    ("signatures", "cents", "min_cents", "max_cents", "expected"),
    [
        (100, 10000, 100, 2000, []),
        (100, 9999, 100, 2000, [(FindingCode.CONTRIBUTIONS_BELOW_MINIMUM, 1)]),
        (100, 200000, 100, 2000, []),
        (100, 200001, 100, 2000, [(FindingCode.CONTRIBUTIONS_IMPLAUSIBLY_HIGH, 1)]),
        (100, 0, 0, 2000, []),  # no minimum (round 2 covered by round 1)
        (100, 10**9, 100, None, []),  # no ceiling
        (0, 500, 100, 2000, [(FindingCode.CONTRIBUTIONS_IMPLAUSIBLY_HIGH, 500)]),
        (0, 0, 100, 2000, []),
    ],
)
def test_contribution_findings(signatures, cents, min_cents, max_cents, expected) -> None:  # noqa: ANN001
    findings = contribution_findings(signatures, cents, min_cents=min_cents, plausible_max_cents=max_cents)
    assert [(f.code, f.size) for f in findings] == expected
    assert all(f.severity is Severity.GAP for f in findings)


def test_missing_contributions_are_not_checked() -> None:
    assert check_report(_report(contributions=None), ReportContext(K)).findings == ()


@pytest.mark.parametrize(
    ("value", "expected"), [(0, "0"), (412, "412"), (4404218, "4\u202f404\u202f218"), (-1200, "-1\u202f200")]
)
def test_french_int(value: int, expected: str) -> None:
    assert french_int(value) == expected


@pytest.mark.parametrize(("cents", "expected"), [(0, "0,00\u00a0€"), (61250, "612,50\u00a0€"), (123456789, "1\u202f234\u202f567,89\u00a0€"), (-5, "-0,05\u00a0€")])
def test_french_euros(cents: int, expected: str) -> None:
    assert french_euros(cents) == expected
