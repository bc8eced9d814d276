"""The fast snapshot path gives exactly the figures of the reference path.

`results.figures` reads the stations and the counted reports on the raw asyncpg connection as
plain tuples and hands them to `aggregation.aggregate_counted`; the reference is the documented
pure path (`aggregation.aggregate` over `CountedReport`/`StationReport` values), built here from
ORM rows chosen in Python. Both must agree to the last figure, at every level.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from polling.models import Station as StationRow
from results import publication, service
from results.aggregation import (
    AggregationError,
    CountedReport,
    DecisionKind,
    Figures,
    Station,
    StationDecision,
    aggregate,
    aggregate_counted,
)
from results.figures import Kind, department_regions
from results.models import DecisionKind as RecordedKind
from results.models import ResultsConfirmation, ResultsDecision, ResultsReport, ResultsValidation
from results.report import StationReport
from tests.results.conftest import AUTHORITY, Night, close_polls
from tests.results.test_validation_and_publication import COMMISSION, REPORTS, sms_report

REGIONS = {"75": "11", "92": "11", "972": "02"}
PLACES = [("75", "7501"), ("75", "7502"), ("92", "9201"), ("972", None)]


def aggregation_fields(result) -> tuple:  # noqa: ANN001 - an Aggregation
    return (
        result.nation, result.regions, result.departments, result.cantons, result.stations,
        result.canton_department, result.department_region, result.stations_won, result.station_list,
    )  # fmt: skip


reports_strategy = st.tuples(
    st.integers(0, 2000), st.integers(0, 50), st.integers(0, 50), st.lists(st.integers(0, 900), min_size=3, max_size=3),
    st.one_of(st.none(), st.integers(0, 10**6)),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PLACES), st.one_of(st.none(), st.integers(0, 3000))), min_size=1, max_size=40),
    st.data(),
)
def test_aggregate_counted_equals_aggregate(places, data) -> None:  # noqa: ANN001
    stations = [Station(f"S{i}", dep, canton, registered) for i, ((dep, canton), registered) in enumerate(places)]
    reported = data.draw(st.lists(st.sampled_from([s.code for s in stations]), unique=True))
    figures = {code: data.draw(reports_strategy) for code in reported}
    decided = data.draw(st.lists(st.sampled_from([s.code for s in stations]), max_size=3))
    decisions = [
        StationDecision(code, DecisionKind.ANNUL, f"D{i}") if i % 2 else
        StationDecision(code, DecisionKind.REPLACE, f"D{i}", StationReport(10, 1, 1, (3, 2, 1), None))
        for i, code in enumerate(decided)
    ]  # fmt: skip
    reference = aggregate(
        stations,
        [CountedReport(code, StationReport(s, b, n, tuple(v), c)) for code, (s, b, n, v, c) in figures.items()],
        candidate_count=3, department_regions=REGIONS, decisions=decisions,
    )  # fmt: skip
    fast = aggregate_counted(
        stations, {code: Figures(s, b, n, v, c) for code, (s, b, n, v, c) in figures.items()},
        candidate_count=3, department_regions=REGIONS, decisions=decisions,
    )  # fmt: skip
    assert aggregation_fields(fast) == aggregation_fields(reference)
    assert all(type(totals.votes) is tuple for totals in fast.stations.values())


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        ({"S9": Figures(1, 0, 0, [1, 0, 0])}, "bureau inconnu : S9"),
        ({"S0": Figures(1, 0, 0, [1, 0])}, "2 chiffres de candidats pour 3"),
        ({"S0": Figures(1, -1, 0, [1, 0, 0])}, "un chiffre négatif"),
        ({"S0": Figures(1, 0, 0, [1, 0, 0], -5)}, "un chiffre négatif"),
    ],
)
def test_aggregate_counted_refuses_what_aggregate_refuses(figures, message) -> None:  # noqa: ANN001
    with pytest.raises(AggregationError, match=message):
        aggregate_counted([Station("S0", "75", "7501", 10)], figures, candidate_count=3, department_regions=REGIONS)


async def reference_snapshot(session, night: Night, kind: Kind):  # noqa: ANN001, ANN201
    """The snapshot's aggregation recomputed from ORM rows and the reference pure path."""
    round_id = night.round_1.id
    stations = (
        await session.scalars(
            select(StationRow).where(StationRow.election_id == night.election.id)
            .order_by(StationRow.department_code, StationRow.plan_key)
        )
    ).all()  # fmt: skip
    code_of = {s.id: s.code for s in stations}
    reports = {r.id: r for r in (await session.scalars(select(ResultsReport).where(ResultsReport.round_id == round_id))).all()}
    chosen: dict[int, ResultsReport] = {}
    if kind == Kind.PROVISIONAL:
        for confirmation in (
            await session.scalars(select(ResultsConfirmation).where(ResultsConfirmation.round_id == round_id).order_by(ResultsConfirmation.version))
        ).all():  # fmt: skip
            chosen[confirmation.station_id] = reports[confirmation.report_id]
    latest: dict[int, ResultsValidation] = {}
    for validation in (
        await session.scalars(select(ResultsValidation).where(ResultsValidation.round_id == round_id).order_by(ResultsValidation.version))
    ).all():  # fmt: skip
        latest[validation.station_id] = validation
    for station_id, validation in latest.items():
        if validation.action == "validated":
            chosen[station_id] = reports[validation.report_id]
    decisions = (await session.scalars(select(ResultsDecision).where(ResultsDecision.round_id == round_id).order_by(ResultsDecision.id))).all()

    def value(row) -> StationReport:  # noqa: ANN001
        return StationReport(row.signatures, row.blank, row.null, tuple(row.votes), row.contributions_cents)

    return aggregate(
        [Station(s.code, s.department_code, s.canton_code or None, s.registered or None) for s in stations],
        [CountedReport(code_of[i], value(r)) for i, r in chosen.items()],
        candidate_count=len(REPORTS[0].votes),  # the night's ballot: three candidates
        department_regions=await department_regions(session),
        decisions=[
            StationDecision(code_of[d.station_id], DecisionKind(d.kind), d.reference, value(d) if d.kind == "replace" else None)
            for d in decisions
        ],
    )


async def test_live_snapshot_equals_the_reference_path(session, night: Night) -> None:
    report = await sms_report(session, night, night.bordeaux, REPORTS[0])
    await service.validate_station(session, COMMISSION, night.bordeaux, night.round_1, report.id, comment="SMS retenu")
    await sms_report(session, night, night.paris, REPORTS[2])
    await sms_report(session, night, night.paris, REPORTS[3])  # a later counted report supersedes
    await sms_report(session, night, night.merignac, REPORTS[1])
    await close_polls(session, night)
    await service.record_decision(
        session, AUTHORITY, night.merignac, night.round_1, kind=RecordedKind.REPLACE, reference="HA-1",
        motive="Rectification", report=StationReport(450, 2, 2, (101, 249, 96), 60000),
    )  # fmt: skip
    for kind in (Kind.PROVISIONAL, Kind.FINAL):
        snapshot = await publication.compute_snapshot(session, night.round_1, kind, None, use_cache=False)
        reference = await reference_snapshot(session, night, kind)
        assert aggregation_fields(snapshot.aggregation) == aggregation_fields(reference)
    provisional = await publication.compute_snapshot(session, night.round_1, Kind.PROVISIONAL, None, use_cache=False)
    assert provisional.nation.stations_reported == 3
    assert provisional.aggregation.stations[night.paris.code].votes == REPORTS[3].votes
    assert provisional.aggregation.stations[night.merignac.code].votes == (101, 249, 96)
    assert provisional.channels == {night.bordeaux.code: "sms", night.paris.code: "sms", night.merignac.code: "sms"}
    assert provisional.validated == {night.bordeaux.code}
    assert [d.station_code for d in provisional.decisions] == [night.merignac.code]
