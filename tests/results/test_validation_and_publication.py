"""Reconciliation, validation, embargo, publication at a checkpoint, proclamation, decisions."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from polling import service as polling
from polling.models import StationState
from results import dashboards, publication, service
from results.cdf import dangling_references
from results.figures import Kind
from results.models import Channel, DecisionKind, ResultsProclamation, ResultsReport
from results.report import StationReport
from services.auth.roles import Role
from services.elections import service as elections
from services.elections.models import Phase
from services.errors import Conflict, InvalidInput, WrongPhase
from services.events import Actor, AuditEvent
from tests.results.conftest import AUTHORITY, ORGANISER, Night, build_night, close_polls, refresh, seal

COMMISSION = Actor(id="account:990001", role="commission", scope="33")
OTHER_MEMBER = Actor(id="account:990002", role="commission", scope="33")
JSON = {"accept": "application/json"}


async def sms_report(session, night: Night, station, report: StationReport) -> ResultsReport:  # noqa: ANN001
    """A report sent by SMS and confirmed by OK (the service path the webhook takes)."""
    await service.lock_station(session, night.round_1.id, station.id)
    history = await service.station_history(session, night.round_1.id, station.id)
    actor = Actor(id="phone:+336******00", role="president", scope=station.code)
    received = await service.receive_report(
        session, actor, station, night.round_1, report, channel=Channel.SMS, sender="+336******00", history=history,
        sender_key=service.sender_key(night.presidents[station.code]), confirmation_code="ACEF",
    )  # fmt: skip
    history = await service.station_history(session, night.round_1.id, station.id)
    state = await polling.state_of(session, station, night.round_1)
    await service.count_report(session, actor, station, night.round_1, received.report, via=service.ConfirmedVia.SMS_OK, history=history, state=state)
    await session.commit()
    return received.report


async def paper_pv(session, night: Night, station, report: StationReport) -> None:  # noqa: ANN001
    await service.key_paper_entry(session, COMMISSION, station, night.round_1, report, account_id=990001)
    outcome = await service.key_paper_entry(session, OTHER_MEMBER, station, night.round_1, report, account_id=990002)
    assert outcome.established is not None
    await session.commit()


REPORTS = {
    0: StationReport(600, 5, 3, (300, 200, 92), 90000),
    1: StationReport(450, 2, 2, (100, 250, 96), 60000),
    2: StationReport(900, 10, 4, (500, 300, 86), 150000),
    3: StationReport(300, 1, 1, (98, 100, 100), 30000),
}


async def everything_reported(session, night: Night) -> None:  # noqa: ANN001
    for index, station in enumerate(night.stations):
        await sms_report(session, night, station, REPORTS[index])


async def test_reconciliation_queue_and_validation(session, night: Night) -> None:
    bordeaux, merignac = night.bordeaux, night.merignac
    await sms_report(session, night, bordeaux, REPORTS[0])
    await paper_pv(session, night, bordeaux, StationReport(600, 5, 3, (300, 199, 93), 90000))  # one vote moved
    await sms_report(session, night, merignac, REPORTS[1])
    await paper_pv(session, night, merignac, REPORTS[1])
    view = await dashboards.overview(session, night.round_1, "33")
    lines = {line.station.code: line for line in view.lines}
    assert lines[bordeaux.code].status == "mismatch" and lines[bordeaux.code].mismatch == ["votes:2", "votes:3"]
    assert lines[merignac.code].status == "to_validate"
    assert [line.station.code for line in view.queue] == [bordeaux.code, merignac.code]
    agreement = {row.channel: row for row in view.agreement()}
    assert agreement["sms"].compared == 2 and agreement["sms"].agree == 1
    paper = lines[bordeaux.code].paper
    with pytest.raises(InvalidInput, match="Motivez la validation"):
        await service.validate_station(session, COMMISSION, bordeaux, night.round_1, paper.id)
    await service.validate_station(session, COMMISSION, bordeaux, night.round_1, paper.id, comment="Recompté : le PV papier fait foi.")
    await service.validate_station(session, COMMISSION, merignac, night.round_1, lines[merignac.code].paper.id)
    assert await polling.state_of(session, bordeaux, night.round_1) == StationState.VALIDATED
    event = await session.scalar(select(AuditEvent.entry).where(AuditEvent.kind == "results.station_validated").order_by(AuditEvent.id))
    payload = json.loads(event)["payload"]
    assert payload["mismatches"] == {"sms": ["votes:2", "votes:3"]} and payload["votes"] == [300, 199, 93]
    with pytest.raises(Conflict, match="déjà validés"):
        await service.validate_station(session, COMMISSION, merignac, night.round_1, lines[merignac.code].paper.id)
    # Reopened: the station takes reports again, a new validation is needed.
    await service.reopen_station(session, COMMISSION, merignac, night.round_1, comment="PV rectifié par le bureau")
    assert await polling.state_of(session, merignac, night.round_1) == StationState.REPORTED
    view = await dashboards.overview(session, night.round_1, "33")
    assert {line.station.code: line.status for line in view.lines}[merignac.code] == "to_validate"


async def test_results_validated_needs_every_station_and_a_not_opened_station_gets_a_pv_de_carence(session, night: Night) -> None:
    await close_polls(session, night)
    for index, station in enumerate(night.stations[:3]):
        report = await sms_report(session, night, station, REPORTS[index])
        await service.validate_station(session, COMMISSION, station, night.round_1, report.id, comment="PV papier conforme au SMS")
    with pytest.raises(WrongPhase, match="1 bureau"):
        await elections.change_phase(session, ORGANISER, night.round_1, Phase.RESULTS_VALIDATED)
    await service.declare_not_opened(session, COMMISSION, night.guadeloupe, night.round_1, comment="Salle fermée, attestation du maire")
    await elections.change_phase(session, ORGANISER, night.round_1, Phase.RESULTS_VALIDATED)
    # The proclamation must go through the results page (it names a checkpoint).
    with pytest.raises(WrongPhase, match="point de contrôle"):
        await elections.change_phase(session, AUTHORITY, night.round_1, Phase.PROCLAIMED)


async def test_embargo_until_the_last_station_closes(session, client) -> None:
    night = await build_night(session, polling_date=date.today() + timedelta(days=3))
    round_ = night.round_1
    paris = ZoneInfo("Europe/Paris")
    metro_close = datetime.combine(round_.polling_date, time(19, 0), tzinfo=paris)
    assert await publication.embargo_end(session, round_) == metro_close
    assert not await publication.is_published(session, round_, metro_close - timedelta(minutes=1))
    assert await publication.is_published(session, round_, metro_close)
    # Guadeloupe votes the day before, in its own time: 19:00 there is 01:00 in Paris — before.
    guadeloupe_close = service.closing_instant(night.guadeloupe, round_)
    assert guadeloupe_close == datetime.combine(round_.polling_date - timedelta(days=1), time(19, 0), tzinfo=ZoneInfo("America/Guadeloupe"))
    assert guadeloupe_close < metro_close
    # A station open later holds the embargo.
    await polling.update_station(session, ORGANISER, night.paris, opens_at=time(9, 0), closes_at=time(21, 0))
    assert await publication.embargo_end(session, round_) == metro_close + timedelta(hours=2)
    await session.commit()
    for path in ("/resultats/tour/1", "/resultats/tour/1/departements/33", "/resultats/tour/1/donnees/nation.json",
                 "/resultats/tour/1/donnees/bureaux.csv", "/resultats/tour/1/donnees/cdf.json"):  # fmt: skip
        response = await client.get(path, headers=JSON)
        assert response.status_code == 403, path
        assert response.json()["code"] == "results_embargo" and "sous embargo" in response.json()["message"]
    page = await client.get("/resultats/tour/1", headers={"accept": "text/html"})
    assert page.status_code == 403 and "sous embargo jusqu" in page.text
    # Closing the polls (nobody can vote any more) lifts it.
    await refresh(session, night)
    await close_polls(session, night)
    await seal(session)
    assert (await client.get("/resultats/tour/1/donnees/nation.json")).status_code == 200


async def test_published_figures_are_the_sum_of_station_reports_at_a_checkpoint(session, client, night: Night) -> None:
    await everything_reported(session, night)
    first = await seal(session)
    nation = (await client.get("/resultats/tour/1/donnees/nation.json")).json()
    assert nation["checkpoint"]["tree_size"] == first.tree_size
    row = nation["rows"][0]
    expected = [sum(report.votes[i] for report in REPORTS.values()) for i in range(3)]
    assert [v["votes"] for v in row["votes"]] == expected
    assert row["signatures"] == sum(r.signatures for r in REPORTS.values())
    assert row["valid_votes"] == sum(expected) and row["stations_reported"] == 4 and row["reported_share"] == 1.0
    assert row["contributions_cents"] == sum(r.contributions_cents for r in REPORTS.values())
    # The same from the stored facts directly (every counted report, summed here).
    counted = (await session.execute(select(ResultsReport.votes))).scalars().all()
    assert [sum(v[i] for v in counted) for i in range(3)] == expected
    departments = (await client.get("/resultats/tour/1/donnees/departements.json")).json()["rows"]
    assert [sum(d["votes"][i]["votes"] for d in departments) for i in range(3)] == expected
    stations = (await client.get("/resultats/tour/1/donnees/bureaux.json")).json()["rows"]
    assert {s["code"]: [v["votes"] for v in s["votes"]] for s in stations}[night.paris.code] == [500, 300, 86]
    # A correction counted after the checkpoint is not published until the next one.
    await sms_report(session, night, night.paris, StationReport(900, 10, 4, (400, 400, 86), 150000))
    assert (await client.get("/resultats/tour/1/donnees/nation.json")).json()["rows"][0]["votes"][0]["votes"] == expected[0]
    second = await seal(session)
    latest = (await client.get("/resultats/tour/1/donnees/nation.json")).json()
    assert latest["checkpoint"]["tree_size"] == second.tree_size and latest["rows"][0]["votes"][0]["votes"] == expected[0] - 100
    older = await client.get(f"/resultats/tour/1/donnees/nation.json?point={first.tree_size}")
    assert older.json()["rows"][0]["votes"][0]["votes"] == expected[0]
    # CSV: every line stamped; the header names the checkpoint too.
    response = await client.get("/resultats/tour/1/donnees/bureaux.csv")
    assert response.headers["x-primaires-checkpoint"].startswith(f"{second.tree_size} ")
    lines = list(csv.reader(io.StringIO(response.text), delimiter=";"))
    assert lines[0][-2:] == ["point_de_controle_taille", "point_de_controle_racine"]
    assert len(lines) == 5 and all(line[-2] == str(second.tree_size) for line in lines[1:])
    document = (await client.get("/resultats/tour/1/donnees/cdf.json")).json()
    assert dangling_references(document) == [] and document["Status"] == "unofficial-complete"
    assert str(second.tree_size) in document["Notes"]
    page = await client.get("/resultats/tour/1", headers={"accept": "text/html"})
    assert page.status_code == 200 and "<svg" in page.text and "Camille Laurent" in page.text
    assert f"n° {second.tree_size}" in page.text
    department = await client.get("/resultats/tour/1/departements/33", headers={"accept": "text/html"})
    assert department.status_code == 200 and night.bordeaux.code in department.text


async def test_the_authority_proclaims_through_the_json_api_on_the_latest_checkpoint(session, client, users, night: Night) -> None:
    round_id = night.round_1.id  # (a refused request rolls back, which expires the test's objects)
    await everything_reported(session, night)
    await close_polls(session, night)
    for station in night.stations:
        line = await dashboards.station_line(session, night.round_1, station)
        await service.validate_station(session, COMMISSION, station, night.round_1, line.counted.id, comment="SMS conforme au PV papier")
    await elections.change_phase(session, ORGANISER, night.round_1, Phase.RESULTS_VALIDATED)
    await users.as_role(client, Role.ORGANISER)
    by_organiser = await client.post(f"/api/v1/rounds/{round_id}/proclamation")
    assert by_organiser.status_code == 403
    checkpoint = await seal(session)
    await users.as_role(client, Role.AUTHORITY)
    response = await client.post(f"/api/v1/rounds/{round_id}/proclamation")
    assert response.status_code == 200 and response.json()["phase"] == "proclaimed"
    proclamation = await session.get(ResultsProclamation, round_id)
    assert proclamation is not None and proclamation.tree_size == checkpoint.tree_size
    again = await client.post(f"/api/v1/rounds/{round_id}/proclamation")
    assert again.status_code == 409 and again.json()["code"] == "wrong_phase"


async def test_proclamation_names_its_checkpoint_and_then_only_decisions_change_figures(session, client, users, night: Night) -> None:
    await everything_reported(session, night)
    await close_polls(session, night)
    for station in night.stations:
        line = await dashboards.station_line(session, night.round_1, station)
        await service.validate_station(session, COMMISSION, station, night.round_1, line.counted.id, comment="SMS conforme au PV papier")
    await elections.change_phase(session, ORGANISER, night.round_1, Phase.RESULTS_VALIDATED)
    checkpoint = await seal(session)
    await users.as_role(client, Role.AUTHORITY)
    response = await client.post("/haute-autorite/resultats/tours/1/proclamation")
    assert response.status_code == 303
    proclamation = await session.get(ResultsProclamation, night.round_1.id)
    assert proclamation is not None and proclamation.tree_size == checkpoint.tree_size
    event = json.loads(await session.scalar(select(AuditEvent.entry).where(AuditEvent.kind == "results.round_proclaimed")))
    assert event["payload"]["checkpoint_tree_size"] == checkpoint.tree_size
    assert event["payload"]["checkpoint_root_hash"] == proclamation.root_hash
    assert event["payload"]["outcome"] == "runoff" and len(event["payload"]["qualified_candidate_ids"]) == 2
    assert night.round_1.phase == Phase.PROCLAIMED.value
    # No figure changes without a decision: the commission and the stations are refused.
    with pytest.raises(WrongPhase):
        await service.reopen_station(session, COMMISSION, night.paris, night.round_1, comment="nouvelle erreur")
    with pytest.raises(WrongPhase, match="sont clos"):
        await service.receive_report(session, COMMISSION, night.paris, night.round_1, REPORTS[2], channel=Channel.PAPER, sender="x")
    await seal(session)
    certified = (await client.get("/resultats/tour/1/donnees/nation.json")).json()
    assert certified["results"] == "final" and certified["status"] == "certified"
    await service.record_decision(
        session, AUTHORITY, night.paris, night.round_1, kind=DecisionKind.REPLACE, reference="HA-2027-07",
        motive="Erreur matérielle de report constatée sur le PV", report=StationReport(900, 10, 4, (501, 299, 86), 150000),
    )  # fmt: skip
    await seal(session)
    corrected = (await client.get("/resultats/tour/1/donnees/nation.json")).json()
    assert corrected["status"] == "correction" and corrected["decisions"][0]["reference"] == "HA-2027-07"
    assert corrected["rows"][0]["votes"][0]["votes"] == certified["rows"][0]["votes"][0]["votes"] + 1


async def test_snapshot_kinds(session, night: Night) -> None:
    report = await sms_report(session, night, night.bordeaux, REPORTS[0])
    await service.validate_station(session, COMMISSION, night.bordeaux, night.round_1, report.id, comment="SMS retenu, PV papier absent")
    await sms_report(session, night, night.paris, REPORTS[2])
    provisional = await publication.compute_snapshot(session, night.round_1, Kind.PROVISIONAL, None)
    final = await publication.compute_snapshot(session, night.round_1, Kind.FINAL, None)
    assert provisional.nation.stations_reported == 2 and final.nation.stations_reported == 1
    assert final.nation.votes == REPORTS[0].votes
    assert provisional.validated == {night.bordeaux.code} and provisional.channels[night.paris.code] == "sms"
