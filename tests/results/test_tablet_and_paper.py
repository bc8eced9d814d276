"""The tablet channel (president enters, assessor countersigns) and the paper PV keyed twice."""

from __future__ import annotations

from sqlalchemy import func, select

from polling.models import PinFailure
from results import service
from results.models import ResultsPaperEntry
from results.report import StationReport
from services.auth.models import LoginFailure
from services.auth.roles import Role
from tests.conftest import TEST_PASSWORD
from tests.results.conftest import Night

HTML = {"accept": "text/html"}


def form(signatures: int, blank: int, null: int, votes: tuple[int, ...], euros: str = "", **extra: str) -> dict[str, str]:
    data = {"emargements": str(signatures), "blancs": str(blank), "nuls": str(null), "euros": euros, **extra}
    data |= {f"voix_{i}": str(v) for i, v in enumerate(votes, start=1)}
    return data


async def history(session, night: Night, station):  # noqa: ANN001, ANN201
    return await service.station_history(session, night.round_1.id, station.id)


async def test_tablet_entry_needs_the_pin_and_an_assessor_countersignature(session, client, users, night: Night) -> None:
    station = night.bordeaux
    assessor = await users.create(Role.ASSESSOR, station=station.code)
    await users.sign_in_tablet(client, station.code)
    page = await client.get("/resultats/bureau", headers=HTML)
    assert page.status_code == 200 and "Saisir les résultats du procès-verbal" in page.text
    wrong_pin = "000001" if night.pins[station.code] != "000001" else "000002"
    refused = await client.post("/resultats/bureau/saisie", data=form(300, 2, 1, (150, 100, 47), pin=wrong_pin))
    assert refused.status_code == 303
    assert await history(session, night, station) == []
    assert await session.scalar(select(func.count()).select_from(PinFailure).where(PinFailure.key == f"station:{station.code}")) == 1
    entered = await client.post("/resultats/bureau/saisie", data=form(300, 2, 1, (150, 100, 47), "450", pin=night.pins[station.code]))
    assert entered.status_code == 303
    rows = await history(session, night, station)
    assert len(rows) == 1 and not rows[0].counted and rows[0].channel == "tablet"
    page = await client.get("/resultats/bureau", headers=HTML)
    assert "Saisie à confirmer par un assesseur" in page.text
    bad = await client.post(
        "/resultats/bureau/confirmation", data={"report_id": str(rows[0].id), "identifiant": assessor.username, "mot_de_passe": "faux-mot-de-passe"}
    )
    assert bad.status_code == 303
    assert not (await history(session, night, station))[0].counted
    assert await session.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.key == f"user:{assessor.username}")) == 1
    good = await client.post(
        "/resultats/bureau/confirmation", data={"report_id": str(rows[0].id), "identifiant": assessor.username, "mot_de_passe": TEST_PASSWORD}
    )
    assert good.status_code == 303
    rows = await history(session, night, station)
    assert rows[0].counted and rows[0].report == StationReport(300, 2, 1, (150, 100, 47), 45000)


async def test_president_enters_and_assessor_confirms_with_their_own_accounts(session, client, users, night: Night) -> None:
    station = night.bordeaux
    president = await users.create(Role.PRESIDENT, station=station.code)
    assessor = await users.create(Role.ASSESSOR, station=station.code)
    await users.sign_in(client, president)
    await client.post("/resultats/bureau/saisie", data=form(300, 2, 1, (150, 100, 47)))
    rows = await history(session, night, station)
    assert len(rows) == 1
    # The president cannot confirm their own entry.
    await client.post("/resultats/bureau/confirmation", data={"report_id": str(rows[0].id)})
    assert not (await history(session, night, station))[0].counted
    await users.sign_in(client, assessor)
    refused = await client.post("/resultats/bureau/saisie", data=form(1, 0, 0, (1, 0, 0)), headers={"accept": "application/json"})
    assert refused.status_code == 403
    await client.post("/resultats/bureau/confirmation", data={"report_id": str(rows[0].id)})
    assert (await history(session, night, station))[0].counted


async def test_paper_pv_counts_only_when_two_members_agree(session, client, users, night: Night) -> None:
    station = night.merignac
    url = f"/departements/33/resultats/bureaux/{station.code}"
    first, second = await users.create(Role.COMMISSION, department="33"), await users.create(Role.COMMISSION, department="33")
    await users.sign_in(client, first)
    await client.post(url + "/saisie-papier", data=form(500, 4, 2, (250, 150, 94), "760", tour="1"))
    await client.post(url + "/saisie-papier", data=form(500, 4, 2, (250, 150, 94), "760", tour="1"))  # same member again
    assert await history(session, night, station) == []
    await users.sign_in(client, second)
    blind = await client.get(url, headers=HTML)
    assert "Les chiffres restent masqués" in blind.text and "250" not in blind.text
    await client.post(url + "/saisie-papier", data=form(500, 4, 2, (250, 140, 94), "760", tour="1"))  # a typo
    assert await history(session, night, station) == []
    shown = await client.get(url, headers=HTML)
    assert 'class="num diff">140' in shown.text.replace("\n", "")  # both entries shown, the difference marked
    await client.post(url + "/saisie-papier", data=form(500, 4, 2, (250, 150, 94), "760", tour="1"))  # re-keyed right
    rows = await history(session, night, station)
    assert len(rows) == 1 and rows[0].channel == "paper" and rows[0].counted
    assert rows[0].report == StationReport(500, 4, 2, (250, 150, 94), 76000)
    entries = list(await session.scalars(select(ResultsPaperEntry.account_id).where(ResultsPaperEntry.station_id == station.id)))
    assert len(entries) == 4


async def test_a_commission_of_another_department_cannot_key(client, users, night: Night, count_writes) -> None:
    await users.as_role(client, Role.COMMISSION, department="75")
    before = await count_writes()
    response = await client.post(
        f"/departements/33/resultats/bureaux/{night.merignac.code}/saisie-papier",
        data=form(1, 0, 0, (1, 0, 0), tour="1"),
        headers={"accept": "application/json"},
    )
    assert response.status_code == 403 and await count_writes() == before
