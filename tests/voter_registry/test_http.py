"""The registry over HTTP: who may search and see what (JSON API and pages), uploads."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from services.auth.roles import Role
from services.elections import service as elections
from services.elections.schemas import ElectionUpdate
from services.events import AuditEvent
from tests.voter_registry.conftest import ACTOR, file_name, line, reu_file
from voter_registry import service
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import SupplementaryVoter, Voter


@pytest.fixture
async def loaded(session):  # noqa: ANN201
    """The current election (the latest created) with Bordeaux and Ajaccio loaded."""
    from tests.voter_registry.conftest import make_election

    election = await make_election(session)
    for commune, lines in (
        ("33063", [line(), line(birth_name="DUPONT", bureau="0002"), line(birth_name="DURAND", birth_date="01/12/2009")]),
        ("2A004", [line(commune="2A004", birth_name="LE GALL", given_names="Yann", canton="Ajaccio-1")]),
    ):
        report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(commune), reu_file(lines)))
    await session.commit()
    return election, report.import_id


@pytest.fixture
def station_areas():  # noqa: ANN201
    """What the polling package registers: station 100019 covers Bordeaux's bureau 0001."""

    async def resolve(_session, station_code: str):  # noqa: ANN001, ANN202
        if station_code == "100019":
            return service.StationArea("100019", "33", (("33063", "0001"),))
        return None

    # The same area as SQL (`service.station_area_sql`), read by the search's session-less path.
    resolve.area_sql = (  # type: ignore[attr-defined]
        "SELECT '33' AS department_code, '33063' AS commune_code, '0001' AS bureau_code WHERE {station} = '100019'"
    )
    previous = list(service._station_area_resolver)
    service.register_station_area_resolver(resolve)
    yield
    service._station_area_resolver[:] = previous


SEARCH = "/api/v1/registry/search?nom=martin&prenoms=jean"


async def sign_in(client, users, session, role: Role, **scope: str) -> None:  # noqa: ANN001
    """Sign in and keep it: a refused request rolls the request's work back, not the sign-in."""
    await users.as_role(client, role, **scope)
    await session.commit()


async def test_the_public_and_observers_never_search(client, users, session, loaded) -> None:
    assert (await client.get(SEARCH)).status_code == 401
    await sign_in(client, users, session, Role.OBSERVER)
    response = await client.get(SEARCH)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.AUTHORITY])
async def test_national_roles_search_everywhere(client, users, session, loaded, role: Role) -> None:
    await users.as_role(client, role)
    body = (await client.get("/api/v1/registry/search?nom=le gall&prenoms=yann")).json()
    assert [r["commune_code"] for r in body["results"]] == ["2A004"] and body["results"][0]["full_detail"]


async def test_a_commission_searches_its_department_only(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    body = (await client.get("/api/v1/registry/search?q=durand")).json()
    durand = body["results"][0]
    assert durand["eligibility"]["status"] == "ineligible" and "trop jeune" in durand["eligibility"]["reasons"][0]
    assert (await client.get("/api/v1/registry/search?nom=le gall&prenoms=yann")).json()["results"] == []
    response = await client.get("/api/v1/registry/search?nom=le gall&departement=2A")
    assert response.status_code == 403 and response.json()["code"] == "out_of_scope"


async def test_a_station_without_area_gets_a_clear_answer(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.TABLET, station="555555")
    response = await client.get(SEARCH)
    assert response.status_code == 409 and "n'est encore rattaché" in response.json()["message"]


async def test_a_station_searches_its_area_then_wider_with_reduced_details(client, users, session, loaded, station_areas) -> None:
    await sign_in(client, users, session, Role.TABLET, station="100019")
    body = (await client.get(SEARCH)).json()
    assert body["levels_searched"] == ["bureau"] and body["results"][0]["address"]
    body = (await client.get("/api/v1/registry/search?nom=dupont")).json()
    assert body["levels_searched"] == ["bureau", "departement"]
    assert body["results"][0]["address"] == "" and body["results"][0]["bureau_code"] == "0002"


async def test_searches_are_logged_per_request(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.ORGANISER)
    before = await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "registry.lookup"))
    await client.get(SEARCH)
    await client.get("/registre/recherche?nom=martin")
    after = await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "registry.lookup"))
    assert after == before + 2


async def test_bad_queries_answer_in_french(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.ORGANISER)
    response = await client.get("/api/v1/registry/search?nom=m")
    assert response.status_code == 422 and "deux premières lettres" in response.json()["message"]
    response = await client.get("/api/v1/registry/search?nom=martin&naissance=hier")
    assert response.status_code == 422 and "jj/mm/aaaa" in response.json()["message"]


async def test_bureau_counts_api(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    body = (await client.get("/api/v1/registry/bureaux")).json()
    assert {(b["commune_code"], b["bureau_code"], b["canton_code"], b["voters"]) for b in body} == {
        ("33063", "0001", "3302", 2),
        ("33063", "0002", "3302", 1),
    }
    assert (await client.get("/api/v1/registry/bureaux?departement=2A")).status_code == 403


async def test_import_reports(client, users, session, loaded) -> None:
    _election, ajaccio_import = loaded
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    assert (await client.get(f"/api/v1/registry/imports/{ajaccio_import}")).status_code == 403
    assert (await client.get(f"/registre/imports/{ajaccio_import}", headers={"accept": "text/html"})).status_code == 403
    listed = (await client.get("/api/v1/registry/imports")).json()
    assert {i["commune_code"] for i in listed} == {"33063"}
    # An id beyond PostgreSQL's integer range is a bad request, not a driver overflow (found by fuzzing).
    for path in ("/api/v1/registry/imports/-270008980601296", "/api/v1/registry/imports/2147483648", "/registre/imports/0"):
        response = await client.get(path)
        assert response.status_code == 422, path


async def test_pages_by_role(client, users, session, loaded) -> None:
    _election, ajaccio_import = loaded
    await sign_in(client, users, session, Role.ORGANISER)
    page = await client.get("/registre")
    assert page.status_code == 200 and "Par département" in page.text and "Ajaccio" not in page.text
    assert "33 — Gironde" in page.text
    page = await client.get(f"/registre/imports/{ajaccio_import}")
    assert page.status_code == 200 and "Ajaccio" in page.text
    page = await client.get("/departements/33/registre")
    assert page.status_code == 200 and "Bordeaux-1" in page.text
    page = await client.get("/registre/recherche?nom=dur")
    assert page.status_code == 200 and "Ne peut pas voter" in page.text and "trop jeune" in page.text
    partial = await client.get("/registre/recherche?nom=dur", headers={"hx-request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "DURAND" in partial.text


async def test_pages_refused_out_of_scope(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.COMMISSION, department="75")
    assert (await client.get("/registre", headers={"accept": "text/html"})).status_code == 403
    assert (await client.get("/departements/33/registre", headers={"accept": "text/html"})).status_code == 403
    assert (await client.get("/departements/75/registre")).status_code == 200


async def test_upload_a_commune_file(client, users, session, loaded) -> None:
    await sign_in(client, users, session, Role.ORGANISER)
    data = reu_file([line(commune="33281", birth_name="MERIGNACAIS"), line(commune="33281", sex="?")])
    response = await client.post("/registre/imports", files={"fichier": (file_name("33281"), data, "text/csv")})
    assert response.status_code == 303 and response.headers["location"].startswith("/registre/imports/")
    assert await session.scalar(select(func.count()).select_from(Voter).where(Voter.commune_code == "33281")) == 1
    refused = await client.post("/registre/imports", files={"fichier": ("x.csv", b"a;b\n1;2\n", "text/csv")})
    assert refused.status_code == 303 and refused.headers["location"] == "/registre"


async def test_upload_refused_to_a_commission(client, users, session, loaded, count_writes) -> None:
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    before = await count_writes()
    response = await client.post(
        "/api/v1/registry/imports", files={"fichier": (file_name("33281"), reu_file([line(commune="33281")]), "text/csv")}
    )
    assert response.status_code == 403 and await count_writes() == before


async def test_supplementary_over_the_api(client, users, session, loaded, station_areas) -> None:
    election, _ = loaded
    # Through the election service (the audit guard refuses a direct change without its event).
    await elections.update_election(session, ACTOR, election, ElectionUpdate(supplementary_deadline=date(2100, 1, 1)))
    await session.commit()
    attestation = {
        "kind": "attestation", "category": "mairie", "birth_name": "N'Diaye", "given_names": "Awa", "sex": "F",
        "birth_date": "21/11/1999", "commune_code": "33063", "bureau_code": "0001", "proof_date": "2026-09-15",
    }  # fmt: skip
    await sign_in(client, users, session, Role.TABLET, station="100019")
    member = {**attestation, "kind": "member", "category": "foreign", "nationality": "Sénégalaise"}
    assert (await client.post("/api/v1/registry/supplementary", json=member)).status_code == 403
    response = await client.post("/api/v1/registry/supplementary", json=attestation)
    assert response.status_code == 201, response.text
    ref = response.json()["ref"]
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    listed = (await client.get("/api/v1/registry/supplementary")).json()
    assert [r["ref"] for r in listed] == [ref]
    assert (await client.post(f"/api/v1/registry/supplementary/{ref}/cancel", json={"reason": "doublon"})).status_code == 204
    assert await session.scalar(select(func.count()).select_from(SupplementaryVoter)) == 0


async def test_supplementary_form(client, users, session, loaded) -> None:
    election, _ = loaded
    # Through the election service (the audit guard refuses a direct change without its event).
    await elections.update_election(session, ACTOR, election, ElectionUpdate(supplementary_deadline=date(2100, 1, 1)))
    await session.commit()
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    form = {
        "kind": "member", "category": "foreign", "birth_name": "Oliveira", "given_names": "João", "sex": "M",
        "birth_date": "02/07/1988", "birth_country": "PORTUGAL", "nationality": "Brésilienne", "commune_code": "33063",
        "bureau_code": "0001", "party": "Parti des communs", "proof_date": "", "back": "/departements/33/registre",
    }  # fmt: skip
    response = await client.post("/registre/complementaires", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/departements/33/registre"
    assert await session.scalar(select(func.count()).select_from(SupplementaryVoter)) == 1
    page = await client.get("/departements/33/registre")
    assert "Oliveira" in page.text and "Adhérent de nationalité étrangère" in page.text
    # A refusal comes back as a message on the page, and changes nothing.
    response = await client.post("/registre/complementaires", data={**form, "commune_code": "2A004"})
    assert response.status_code == 303
    assert await session.scalar(select(func.count()).select_from(SupplementaryVoter)) == 1
