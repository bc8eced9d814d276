"""The results-night demo step, on top of the registry and polling steps, as `primaires demo`
runs it: every channel is exercised through the real services, and the pages a newcomer is
pointed to show it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polling.models import Station
from results import service
from results.demo import seed_results
from results.models import ResultsConfirmation, ResultsPaperEntry, ResultsReport, ResultsValidation
from services import settings as settings_module
from services.auth.models import Account
from services.auth.roles import Role
from services.demo import DEMO_SLUG, seed_platform
from services.elections import service as elections
from services.elections.models import Phase
from services.events import AuditEvent
from tests.results.conftest import seal

pytestmark = pytest.mark.asyncio


async def test_demo_results_night(session: AsyncSession, client: httpx.AsyncClient, users, monkeypatch) -> None:  # noqa: ANN001
    from polling.demo import seed_polling
    from voter_registry.demo import seed_registry

    # The pages work on the demo election (the CLI pins it: the demo also holds a training exercise).
    monkeypatch.setattr(settings_module, "_current", [settings_module.settings().model_copy(update={"election": DEMO_SLUG})])
    context, created = await seed_platform(session)
    assert created
    await seed_registry(session, context)
    await seed_polling(session, context)
    await seed_results(session, context)
    round_1 = await elections.round_by_number(session, context.election.id, 1)
    assert round_1.phase == Phase.POLLS_CLOSED.value

    channels = dict(
        (await session.execute(
            select(ResultsReport.channel, func.count()).join(ResultsConfirmation, ResultsConfirmation.report_id == ResultsReport.id)
            .where(ResultsReport.round_id == round_1.id).group_by(ResultsReport.channel)
        )).all()
    )  # fmt: skip
    assert channels["sms"] > 20 and channels["tablet"] >= 2 and channels["phone"] == 1 and channels["paper"] >= 3
    # Unconfirmed reports: one SMS without its « OK », one tablet entry without the assessor.
    unconfirmed = await session.scalars(
        select(ResultsReport.channel)
        .outerjoin(ResultsConfirmation, ResultsConfirmation.report_id == ResultsReport.id)
        .where(ResultsReport.round_id == round_1.id, ResultsConfirmation.report_id.is_(None))
    )
    assert sorted(unconfirmed) == ["sms", "tablet"]
    # 2A is fully validated; some stations elsewhere have not reported.
    unvalidated = await service.unvalidated_stations(session, round_1)
    corsica = list(await session.scalars(select(Station.code).where(Station.election_id == context.election.id, Station.department_code == "2A")))
    assert corsica and not set(corsica) & set(unvalidated)
    stations = await session.scalar(select(func.count()).select_from(Station).where(Station.election_id == context.election.id))
    reported = await session.scalar(
        select(func.count(func.distinct(ResultsConfirmation.station_id))).where(ResultsConfirmation.round_id == round_1.id)
    )
    assert 0 < stations - reported <= stations * 0.25
    assert await session.scalar(select(func.count()).select_from(ResultsValidation)) == len(corsica) + 1
    # One paper PV whose two entries disagree (no PV established from them).
    entries = await session.scalar(select(func.count()).select_from(ResultsPaperEntry))
    assert entries == 2 * (len(corsica) + 3)
    # Every fact is audited.
    kinds = dict((await session.execute(select(AuditEvent.kind, func.count()).group_by(AuditEvent.kind))).all())
    assert kinds["results.report_counted"] == sum(channels.values())
    assert kinds["results.station_validated"] == len(corsica) + 1
    assert any("Soirée électorale" in note for note in context.notes)

    # Published at a signed checkpoint (the demo's last step seals the log).
    await seal(session)
    home = await client.get("/resultats")
    assert home.status_code == 200 and "Voir les résultats" in home.text
    page = await client.get("/resultats/tour/1")
    assert page.status_code == 200 and "bureaux comptés" in page.text and "Second tour" in page.text
    nation = (await client.get("/resultats/tour/1/donnees/nation.json")).json()
    assert nation["checkpoint"]["tree_size"] > 0 and nation["outcome"]["kind"] == "runoff"
    department = await client.get("/resultats/tour/1/departements/2A")
    assert department.status_code == 200
    for role, path, needle in (
        (Role.ORGANISER, "/organisation/resultats", "Bureaux sans résultats"),
        (Role.AUTHORITY, "/haute-autorite/resultats", "Proclamation"),
    ):
        await users.as_role(client, role)
        response = await client.get(path)
        assert response.status_code == 200, path
        assert needle in response.text, (path, needle)

    # The commission sees the paper PV that contradicts the SMS, with both sets of figures.
    queue_code = next(note for note in context.notes if "PV papier contredisant le SMS au bureau" in note).split(
        "PV papier contredisant le SMS au bureau "
    )[1][:7]
    queue_station = await session.scalar(select(Station).where(Station.code == queue_code))
    await users.as_role(client, Role.COMMISSION, department=queue_station.department_code)
    dashboard = await client.get(f"/departements/{queue_station.department_code}/resultats")
    assert dashboard.status_code == 200 and queue_code in dashboard.text
    detail = await client.get(f"/departements/{queue_station.department_code}/resultats/bureaux/{queue_code}")
    assert detail.status_code == 200 and "PV papier" in detail.text

    # The assessor the notes name countersigns the waiting tablet entry: it then counts.
    waiting = await session.scalar(
        select(ResultsReport)
        .outerjoin(ResultsConfirmation, ResultsConfirmation.report_id == ResultsReport.id)
        .where(ResultsReport.channel == "tablet", ResultsConfirmation.report_id.is_(None))
    )
    waiting_code = await session.scalar(select(Station.code).where(Station.id == waiting.station_id))
    assert any(f"assesseur-{waiting_code}" in note for note in context.notes)
    assessor = await session.scalar(select(Account).where(Account.username == f"assesseur-{waiting_code}"))
    await users.sign_in(client, assessor)
    page = await client.get("/resultats/bureau")
    assert page.status_code == 200 and "confirm" in page.text.lower()
    confirmed = await client.post("/resultats/bureau/confirmation", data={"report_id": str(waiting.id)})
    assert confirmed.status_code == 303
    assert await session.scalar(select(func.count()).select_from(ResultsConfirmation).where(ResultsConfirmation.report_id == waiting.id)) == 1
