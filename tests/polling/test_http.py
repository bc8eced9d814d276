"""Polling pages and API over HTTP: the tablet console, station management, plans,
dashboards, « Où voter ? », and the refusals (French, nothing recorded)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from polling import service
from polling.models import Checkin, StationStaff, StationState
from services.auth import service as auth_service
from services.auth.models import PairingCode, Tablet, WebSession
from services.auth.roles import Role
from services.db import utcnow
from services.elections import service as elections
from tests.conftest import csrf_token
from tests.polling.conftest import ORGANISER, World, load_lists, make_election

HX = {"hx-request": "true"}


async def tablet(client, users, session, world: World):  # noqa: ANN001, ANN201
    principal = await users.as_role(client, Role.TABLET, station=world.bordeaux.code)
    await session.commit()
    return principal


async def test_console_pair_open_search_check_in(client, users, session, world: World) -> None:
    await tablet(client, users, session, world)
    page = await client.get("/bureau")
    assert page.status_code == 200 and "Ouvrir le bureau" in page.text and world.bordeaux.name in page.text
    opened = await client.post("/bureau/ouverture")
    assert opened.status_code == 303
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.OPEN
    results = await client.get("/bureau/recherche", params={"q": "martin jean"}, headers=HX)
    assert results.status_code == 200 and "MARTIN" in results.text
    ref = re.search(r"/bureau/electeurs/(L-33-\d+)", results.text).group(1)
    panel = await client.get(f"/bureau/electeurs/{ref}", headers=HX)
    assert "Je me reconnais dans les valeurs" in panel.text and "Émarger" in panel.text and "2,00" in panel.text
    done = await client.post("/bureau/emargements", data={"ref": ref, "montant": "2.0", "paiement": "cash", "charte": "oui"}, headers=HX)
    assert done.status_code == 200 and "a émargé à" in done.text, done.text
    assert 'hx-swap-oob="true"' in done.text and 'data-testid="votants">1<' in done.text
    again = await client.post("/bureau/emargements", data={"ref": ref, "montant": "2.0", "paiement": "cash", "charte": "oui"}, headers=HX)
    assert "Déjà émargé pour le tour 1 : dans ce bureau" in again.text
    counters = await client.get("/bureau/compteurs")
    assert 'data-testid="votants">1<' in counters.text and "2,00" in counters.text
    panel = await client.get(f"/bureau/electeurs/{ref}", headers=HX)
    assert "Déjà émargé" in panel.text and "Émarger" not in panel.text
    reconciliation = await client.get("/bureau/rapprochement")
    assert "MARTIN Jean Pierre" in reconciliation.text


async def test_console_refusals_are_french_and_record_nothing(client, users, session, world: World, count_writes) -> None:
    await tablet(client, users, session, world)
    results = await client.get("/bureau", params={"q": "durand"})
    assert results.status_code == 200  # the station is not open: no search box yet
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    found = await client.get("/bureau/recherche", params={"q": "durand"}, headers=HX)
    durand = re.search(r"/bureau/electeurs/(L-33-\d+)", found.text).group(1)
    found = await client.get("/bureau/recherche", params={"q": "martin jean"}, headers=HX)
    martin = re.search(r"/bureau/electeurs/(L-33-\d+)", found.text).group(1)
    await session.commit()
    cases = [
        ({"ref": "L-33-999999999", "montant": "2", "charte": "oui"}, "Électeur introuvable"),
        ({"ref": durand, "montant": "2", "charte": "oui"}, "ne peut pas voter"),
        ({"ref": martin, "montant": "1,50", "charte": "oui"}, "Participation insuffisante"),
        ({"ref": martin, "montant": "2"}, "signer la charte"),
        ({"ref": martin, "montant": "deux", "charte": "oui"}, "Montant illisible"),
    ]
    for form, message in cases:
        before = await count_writes()
        response = await client.post("/bureau/emargements", data=form, headers=HX)
        assert response.status_code == 200 and message in response.text, (form, response.text)
        assert await count_writes() == before
        plain = await client.post("/bureau/emargements", data=form)
        assert plain.status_code == 303 and "ref=" in plain.headers["location"]
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 0


async def test_station_not_open_and_voter_of_another_station(client, users, session, world: World, count_writes) -> None:
    await tablet(client, users, session, world)
    from voter_registry import service as registry
    from voter_registry.search import SearchScope, VoterQuery

    hits = await registry.search_voters(session, ORGANISER, VoterQuery(name="martin", given_names="jeanne"), SearchScope(department="33"), election=world.election)
    merignac_voter = hits.hits[0].voter.ref
    merignac_code = world.merignac.code  # the refused requests below roll back: ORM objects expire
    bordeaux_id, round_id = world.bordeaux.id, world.round_1.id
    await session.commit()
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": merignac_voter, "contribution_cents": 200, "charter_signed": True})
    assert response.status_code == 409 and response.json()["code"] == "station_not_open"
    assert "n'est pas ouvert" in response.json()["message"]
    bordeaux, round_1 = await service.get_station(session, bordeaux_id), await elections.get_round(session, round_id)
    await service.open_station(session, ORGANISER, bordeaux, round_1)
    await session.commit()
    before = await count_writes()
    response = await client.post("/api/v1/polling/checkins", json={"ref": merignac_voter, "contribution_cents": 200, "charter_signed": True})
    assert response.status_code == 409 and "ne vote pas ici : son bureau est le " + merignac_code in response.json()["message"]
    assert await count_writes() == before


async def test_api_check_in_and_counts(client, users, session, world: World) -> None:
    await tablet(client, users, session, world)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    found = await client.get("/api/v1/registry/search", params={"nom": "dupont"})
    ref = found.json()["results"][0]["ref"]
    response = await client.post("/api/v1/polling/checkins", json={"ref": ref, "contribution_cents": 500, "payment": "cheque", "charter_signed": True})
    assert response.status_code == 201, response.text
    assert response.json()["counts"] == {"tablet": 1, "paper": 0, "total": 1, "contributions_cents": 500, "cash_cents": 0, "cheque_cents": 500, "covered": 0}
    assert (await client.get("/api/v1/polling/counts")).json()["total"] == 1


async def test_expired_pairing_code_is_refused_in_french(client, session, world: World, count_writes) -> None:
    client.headers["x-csrf-token"] = csrf_token()
    pairing, code = await auth_service.issue_pairing_code(session, ORGANISER, world.bordeaux.code)
    pairing.expires_at = utcnow() - timedelta(minutes=1)
    await session.commit()
    before = await session.scalar(select(func.count()).select_from(Tablet))
    response = await client.post("/tablette/appairer", data={"code": code, "label": "Tablette 1"}, headers={"accept": "text/html"})
    assert response.status_code == 400 and "appairage a expiré. Demandez un nouveau code" in response.text
    assert await session.scalar(select(func.count()).select_from(Tablet)) == before
    assert await session.scalar(select(func.count()).select_from(WebSession).where(WebSession.tablet_id.is_not(None))) == 0


async def test_station_management_by_the_commission(client, users, session, world: World) -> None:
    await users.as_role(client, Role.COMMISSION, department="33")
    page = await client.get("/departements/33/bureaux")
    assert page.status_code == 200 and world.bordeaux.code in page.text and "+33612345678" in page.text
    station_page = await client.get(f"/departements/33/bureaux/{world.bordeaux.code}")
    assert station_page.status_code == 200 and "Fiche d'identifiants" in station_page.text
    added = await client.post(
        f"/departements/33/bureaux/{world.bordeaux.code}/equipe", data={"role": "assessor", "name": "Paul Durand", "phone": "07 11 22 33 44"}
    )
    assert added.status_code == 303
    assert await session.scalar(select(StationStaff.phone).where(StationStaff.name == "Paul Durand")) == "+33711223344"
    pdf = await client.post(f"/departements/33/bureaux/{world.bordeaux.code}/identifiants")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    listing = await client.get(f"/departements/33/bureaux/{world.bordeaux.code}/liste-emargement.pdf")
    assert listing.content.startswith(b"%PDF")
    assert (await client.get(f"/departements/75/bureaux/{world.bordeaux.code}")).status_code == 403


async def test_staff_import_is_all_or_nothing(client, users, session, world: World) -> None:
    await users.as_role(client, Role.COMMISSION, department="33")
    bordeaux, merignac = world.bordeaux.code, world.merignac.code  # a refused request expires ORM objects
    bad = f"bureau;role;nom;telephone\n{bordeaux};assesseur;Ana Lopes;06 01 02 03 04\n1234567;président;X;06\n".encode()
    response = await client.post("/api/v1/polling/staff/import", files={"fichier": ("equipes.csv", bad, "text/csv")})
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert any("Ligne 3" in problem for problem in problems)
    assert await session.scalar(select(func.count()).select_from(StationStaff).where(StationStaff.name == "Ana Lopes")) == 0
    good = f"{bordeaux};assesseur;Ana Lopes;06 01 02 03 04\n{merignac};Président;Bruno Petit;+33 6 98 76 54 32\n".encode()
    response = await client.post("/api/v1/polling/staff/import", files={"fichier": ("equipes.csv", good, "text/csv")})
    assert response.status_code == 200 and response.json() == {"lines": 2, "added": 1, "updated": 1, "stations": 2}


async def test_plans_draft_adjust_apply(client, users, session) -> None:
    election = await make_election(session)
    await load_lists(session, election)
    await session.commit()
    await users.as_role(client, Role.ORGANISER)
    response = await client.post("/organisation/bureaux/plans", data={"department": "33", "max_voters": "5000"})
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    page = await client.get(url)
    assert "Le plan respecte toutes les règles" in page.text and "33-001" in page.text
    refused = await client.post(url + "/ajustement", data={"adjustment": "move", "station": "33-001", "bureaux": "33281:0001"})
    follow = await client.get(refused.headers["location"])
    assert "Ajustement refusé" in follow.text
    assert (await client.get(url + "/plan.csv")).text.startswith("\ufeffstation;nom_station")
    applied = await client.post(url + "/application")
    assert applied.status_code == 303
    stations = await service.stations_of(session, election.id, "33")
    assert len(stations) == 2 and all(len(s.code) == 7 for s in stations)
    again = await client.post(url + "/application")
    assert "déjà appliqué" in (await client.get(again.headers["location"])).text


async def test_dashboards(client, users, session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await session.commit()
    await users.as_role(client, Role.ORGANISER)
    national = await client.get("/bureaux/tableau-de-bord")
    assert national.status_code == 200
    assert "1 / 2" in national.text.replace("\u202f", " ") and "<svg" in national.text and "Participation par département" in national.text
    assert "+33698765432" in national.text  # the station not opened yet, with its president's phone
    await users.as_role(client, Role.OBSERVER)
    observed = await client.get("/departements/33/bureaux/tableau-de-bord")
    assert observed.status_code == 200 and "+33698765432" not in observed.text and "+336******32" in observed.text
    api = await client.get("/api/v1/polling/turnout", params={"department": "33"})
    assert api.status_code == 200 and api.json()["opened"] == 1 and api.json()["curve"][0]["at"] == "09:00"


async def test_where_to_vote_reveals_only_the_station(client, session, world: World) -> None:
    client.headers["x-csrf-token"] = csrf_token()  # an anonymous visitor's form carries the page's token
    name = world.bordeaux.name
    await service.update_station(session, ORGANISER, world.bordeaux, address="École Jules Ferry, 12 rue Victor Hugo")
    await session.commit()
    found = await client.post("/ou-voter", data={"nom": "Martin", "prenoms": "Jean", "naissance": "12/04/1953", "commune": "Bordeaux"})
    assert found.status_code == 200 and "École Jules Ferry, 12 rue Victor Hugo" in found.text and "09:00" in found.text
    elsewhere = await client.post("/ou-voter", data={"nom": "Martin", "prenoms": "Jeanne", "naissance": "05/05/1970", "commune": "Bordeaux"})
    nobody = await client.post("/ou-voter", data={"nom": "Personne", "naissance": "01/01/1950", "commune": "33063"})
    message = "Nous ne trouvons pas de bureau de vote pour ces informations."
    assert message in elsewhere.text and message in nobody.text
    api = await client.post("/api/v1/ou-voter", json={"nom": "dupont", "naissance": "12/04/1953", "commune": "33063"})
    assert api.status_code == 200 and api.json()["found"] and api.json()["station"] == name
    assert set(api.json()) == {"found", "message", "station", "address", "day", "opens_at", "closes_at", "communes"}
    bad = await client.post("/api/v1/ou-voter", json={"nom": "dupont", "naissance": "31/02/1953", "commune": "33063"})
    assert bad.status_code == 422 and "n'existe pas" in bad.json()["message"]


async def test_where_to_vote_is_rate_limited(client, session, world: World) -> None:
    client.headers["x-csrf-token"] = csrf_token()
    for _ in range(10):
        response = await client.post("/api/v1/ou-voter", json={"nom": "nobody", "naissance": "01/01/1950", "commune": "33063"})
        assert response.status_code == 200
    limited = await client.post("/api/v1/ou-voter", json={"nom": "dupont", "naissance": "12/04/1953", "commune": "33063"})
    assert limited.status_code == 429 and "Trop de recherches" in limited.json()["message"]
    page = await client.post("/ou-voter", data={"nom": "dupont", "naissance": "12/04/1953", "commune": "33063"})
    assert page.status_code == 429 and "Trop de recherches" in page.text
