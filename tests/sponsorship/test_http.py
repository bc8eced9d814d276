"""Sponsorship over HTTP: public pages and downloads, the organisers' desk, the JSON API and its errors,
the high authority's pages, and who may do what."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import web
from services.auth.roles import Role
from services.elections.models import Candidate
from services.sponsorship import synthetic
from services.sponsorship.models import Sponsorship
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import Category

from .conftest import MAYORS, Roster, scan

pytestmark = pytest.mark.asyncio


async def sponsorships(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Sponsorship)) or 0


async def signed_in(client: httpx.AsyncClient, users, role: Role) -> None:  # noqa: ANN001
    """Sign in, then release the test's savepoint so that a refused request (which rolls back)
    does not take the account away with it."""
    await users.as_role(client, role)
    await users.session.commit()


def form(roster: Roster, family: str, category: Category, candidate: int = 0, received: str = "2011-07-01", content: str = "scan") -> tuple[dict, dict]:
    data = {
        "official_id": str(roster.id(family)),
        "candidate_id": str(roster.candidate_ids[candidate]),
        "category": category.value,
        "received_on": received,
    }
    return data, {"scan": ("formulaire.pdf", scan(content), "application/pdf")}


# --- Public ------------------------------------------------------------------------------------------------


async def test_public_pages_and_downloads(client: httpx.AsyncClient, users, roster: Roster) -> None:  # noqa: ANN001
    await signed_in(client, users, Role.ORGANISER)
    data, files = form(roster, "MAIRE-MARSEILLE", Category.MAYOR)
    assert (await client.post(f"/api/v1/elections/{roster.election_id}/parrainages", data=data, files=files)).status_code == 201
    client.cookies.delete("primaires_session")
    client.headers.pop("x-csrf-token", None)

    board = await client.get("/parrainages")
    assert board.status_code == 200
    assert "Tableau de qualification" in board.text and "Martine Alpha" in board.text
    assert 'hx-get="/parrainages/tableau"' in board.text  # live refresh
    fragment = await client.get("/parrainages/tableau")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    page = await client.get(f"/parrainages/candidats/{roster.candidate_ids[0]}")
    assert page.status_code == 200 and "MAIRE-MARSEILLE" in page.text and "Marseille" in page.text and "<svg" in page.text

    download = await client.get("/parrainages/parrains.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["candidat", "nom", "prenom", "qualite", "code_departement", "departement", "commune", "date_reception"],
        ["Martine Alpha", "MAIRE-MARSEILLE", "Maire", "maire", "13", "Bouches-du-Rhône", "Marseille", "2011-07-01"],
    ]
    as_json = (await client.get("/parrainages/parrains.json")).json()
    assert as_json["parrains"][0]["nom"] == "MAIRE-MARSEILLE"
    api = (await client.get(f"/api/v1/elections/{roster.election_id}/parrainages/public")).json()
    assert api["sponsors"][0]["commune"] == "Marseille"
    board_json = (await client.get(f"/api/v1/elections/{roster.election_id}/parrainages/tableau")).json()
    alpha = next(c for c in board_json["candidates"] if c["candidate_id"] == roster.candidate_ids[0])
    mayors = next(r for r in alpha["result"]["children"] if r["key"] == "maires")
    assert (mayors["counted"], mayors["required"], mayors["regions"], mayors["min_regions"]) == (1, 1, 1, 4)
    assert (await client.get("/parrainages/tirage")).status_code == 200
    assert (await client.get("/api/v1/parrainages/regles-predefinies")).json()[0]["name"] == "primaire-2011"


# --- The organisers' desk -----------------------------------------------------------------------------------


async def test_desk_search_and_intake_by_form(client: httpx.AsyncClient, users, session: AsyncSession, roster: Roster) -> None:  # noqa: ANN001
    await signed_in(client, users, Role.ORGANISER)
    page = await client.get("/organisation/parrainages", params={"q": "maire-"})
    assert page.status_code == 200 and "MAIRE-BORDEAUX" in page.text and "Saisir son formulaire" in page.text
    one = await client.get("/organisation/parrainages", params={"q": "bordeaux"})
    assert 'name="official_id"' in one.text and "Bordeaux, 267" in one.text

    data, files = form(roster, "MAIRE-BORDEAUX", Category.MAYOR)
    done = await client.post("/organisation/parrainages/formulaires", data=data, files=files)
    assert done.status_code == 303 and done.headers["location"] == "/organisation/parrainages"
    assert "enregistr" in done.cookies.get(web.FLASH_COOKIE, "")
    assert await sponsorships(session) == 1

    # Refused (after the deadline): a French message, nothing recorded.
    data, files = form(roster, "DEPUTE-A", Category.PARLIAMENTARIAN, received="2011-07-14", content="tard")
    late = await client.post("/organisation/parrainages/formulaires", data=data, files=files)
    assert late.status_code == 303
    client.cookies.set(web.FLASH_COOKIE, late.cookies[web.FLASH_COOKIE])
    follow = await client.get(late.headers["location"])
    assert "après la clôture des parrainages (13/07/2011)" in follow.text
    assert await sponsorships(session) == 1


async def test_roster_upload_reports_line_numbers(client: httpx.AsyncClient, users, session: AsyncSession, roster: Roster) -> None:  # noqa: ANN001
    await signed_in(client, users, Role.ORGANISER)
    data = synthetic.rne_file_bytes(MAYORS, RneKind.MAYORS, malformed=1, release="2023-11")
    report = await client.post(
        f"/api/v1/elections/{roster.election_id}/parrainages/rne", files={"file": ("elus-maires-mai.csv", data, "text/csv")}
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["kind"], body["separator"], body["imported"]) == ("maires", "virgule", len(MAYORS))
    assert len(body["rejected"]) == 1 and body["rejected"][0]["line"] > 1
    page = await client.post("/organisation/parrainages/rne", files={"file": ("elus-maires-mai.csv", data, "text/csv")}, data={"kind": "maires"})
    assert page.status_code == 303 and "refus" in page.cookies.get(web.FLASH_COOKIE, "")
    desk = await client.get("/organisation/parrainages")
    assert "elus-maires-mai.csv" in desk.text and f"ligne {body['rejected'][0]['line']}" in desk.text


# --- The JSON API and its errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "category", "received", "status", "code"),
    [
        ("DEPUTE-B", Category.MAYOR, "2011-07-01", 422, "wrong_category"),
        ("MAIRE-PETIT", Category.MAYOR, "2011-07-01", 422, "not_eligible"),
        ("DEPUTE-B", Category.PARLIAMENTARIAN, "2011-07-14", 422, "after_deadline"),
    ],
)
async def test_api_refusals_are_french_json(
    client: httpx.AsyncClient, users, session: AsyncSession, roster: Roster, count_writes: Callable[[], Awaitable[int]],  # noqa: ANN001
    family: str, category: Category, received: str, status: int, code: str,
) -> None:  # fmt: skip
    await signed_in(client, users, Role.ORGANISER)
    data, files = form(roster, family, category, received=received)
    writes = await count_writes()
    response = await client.post(f"/api/v1/elections/{roster.election_id}/parrainages", data=data, files=files)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["message"]
    assert await count_writes() == writes


async def test_api_unknown_sponsor_and_second_sponsorship(client: httpx.AsyncClient, users, roster: Roster) -> None:  # noqa: ANN001
    await signed_in(client, users, Role.ORGANISER)
    url = f"/api/v1/elections/{roster.election_id}/parrainages"
    data, files = form(roster, "DEPUTE-A", Category.PARLIAMENTARIAN)
    unknown = await client.post(url, data={**data, "official_id": "999999"}, files=files)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_sponsor"
    first = await client.post(url, data=data, files=files)
    assert first.status_code == 201
    data, files = form(roster, "DEPUTE-A", Category.NATIONAL_COUNCIL, candidate=1, content="autre")
    second = await client.post(url, data=data, files=files)
    assert second.status_code == 409
    body = second.json()
    assert body["code"] == "second_sponsorship" and "a déjà parrainé Martine Alpha" in body["message"]
    assert body["detail"]["first_sponsorship_id"] == first.json()["id"]
    scan_response = await client.get(f"{url}/{first.json()['id']}/formulaire")
    assert scan_response.status_code == 200 and scan_response.content.startswith(b"%PDF-")
    assert scan_response.headers["x-content-sha256"] == first.json()["scan_sha256"]


# --- The high authority ---------------------------------------------------------------------------------------


async def test_authority_validates_and_draws_from_its_page(client: httpx.AsyncClient, users, roster: Roster) -> None:  # noqa: ANN001
    organiser = await users.create(Role.ORGANISER)
    await users.sign_in(client, organiser)
    for index, family in enumerate(("DEPUTE-A", "DEPUTE-B")):
        data, files = form(roster, family, Category.PARLIAMENTARIAN, candidate=index, content=family)
        assert (await client.post(f"/api/v1/elections/{roster.election_id}/parrainages", data=data, files=files)).status_code == 201
    await signed_in(client, users, Role.AUTHORITY)
    page = await client.get("/haute-autorite/parrainages")
    assert page.status_code == 200 and "Valider la candidature" in page.text and "Valider malgré tout" in page.text
    for candidate_id in roster.candidate_ids[:2]:
        done = await client.post(f"/haute-autorite/parrainages/candidats/{candidate_id}/validation")
        assert done.status_code == 303 and "valid" in done.cookies.get(web.FLASH_COOKIE, "")
    refused = await client.post(f"/haute-autorite/parrainages/candidats/{roster.candidate_ids[2]}/validation")
    assert "motivez" in refused.cookies.get(web.FLASH_COOKIE, "")
    drawn = await client.post("/haute-autorite/parrainages/tirage", data={"seed": "Euromillions 12/07/2011"})
    assert drawn.status_code == 303
    draw = (await client.get(f"/api/v1/elections/{roster.election_id}/tirage")).json()
    assert sorted(draw["candidate_ids"]) == sorted(roster.candidate_ids[:2])
    assert draw["seed"] == "Euromillions 12/07/2011"
    public = await client.get("/parrainages/tirage")
    assert "Euromillions 12/07/2011" in public.text and draw["keys"][str(draw["candidate_ids"][0])] in public.text


# --- Who may do what -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OBSERVER, Role.COMMISSION, Role.AUTHORITY, Role.PRESIDENT, None])
async def test_only_organisers_record_forms(
    client: httpx.AsyncClient, users, session: AsyncSession, roster: Roster, count_writes: Callable[[], Awaitable[int]], role: Role | None  # noqa: ANN001
) -> None:
    if role is not None:
        await signed_in(client, users, role)
    data, files = form(roster, "DEPUTE-A", Category.PARLIAMENTARIAN)
    writes = await count_writes()
    for url in (f"/api/v1/elections/{roster.election_id}/parrainages", "/organisation/parrainages/formulaires"):
        response = await client.post(url, data=data, files=files)
        assert response.status_code in (401, 403), (url, response.status_code)
    rne = await client.post(f"/api/v1/elections/{roster.election_id}/parrainages/rne", files={"file": ("x.csv", b"a;b\n", "text/csv")})
    assert rne.status_code in (401, 403)
    assert await count_writes() == writes
    assert await sponsorships(session) == 0


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.OBSERVER, Role.COMMISSION, None])
async def test_only_the_authority_validates_and_draws(client: httpx.AsyncClient, users, roster: Roster, role: Role | None) -> None:  # noqa: ANN001
    if role is not None:
        await signed_in(client, users, role)
    candidate_id = roster.candidate_ids[0]
    assert (await client.post(f"/haute-autorite/parrainages/candidats/{candidate_id}/validation")).status_code in (401, 403)
    assert (await client.post(f"/api/v1/candidates/{candidate_id}/validation", json={})).status_code in (401, 403)
    assert (await client.post(f"/api/v1/elections/{roster.election_id}/tirage", json={"seed": "graine"})).status_code in (401, 403)
    status = await users.session.scalar(select(Candidate.status).where(Candidate.id == candidate_id))
    assert status == "declared"


@pytest.mark.parametrize("role", [Role.OBSERVER, Role.COMMISSION, None])
async def test_the_roster_is_not_public(client: httpx.AsyncClient, users, roster: Roster, role: Role | None) -> None:  # noqa: ANN001
    """The roster holds party members: organisers and the high authority only."""
    if role is not None:
        await signed_in(client, users, role)
    assert (await client.get(f"/api/v1/elections/{roster.election_id}/parrainages/repertoire", params={"q": "maire"})).status_code in (401, 403)
    assert (await client.get("/organisation/parrainages", params={"q": "maire"})).status_code in (401, 403)


async def test_templates_compile() -> None:
    env = web.environment()
    for name in ("_board", "_route_cell", "_route_head", "_validate_form", "authority", "desk", "public_board", "public_candidate", "public_draw"):
        assert env.get_template(f"sponsorship/{name}.html") is not None



async def test_custom_rule_through_the_api(client: httpx.AsyncClient, users, roster: Roster) -> None:  # noqa: ANN001
    await signed_in(client, users, Role.ORGANISER)
    url = f"/api/v1/elections/{roster.election_id}/parrainages/regles"
    custom = {
        "name": "maison",
        "label": "Règle maison",
        "root": {
            "type": "all_of",
            "rules": [
                {"type": "route", "key": "maires", "label": "2 maires de 2 régions", "categories": ["maire"], "count": 2, "min_regions": 2, "region_map": "2016"},
                {"type": "route", "key": "parl", "label": "1 parlementaire", "categories": ["parlementaire"], "share_percent": "10"},
            ],
        },
    }
    saved = await client.put(url, json={"rule": custom, "deadline": "2011-07-13", "withdrawal_policy": "revocable_until_deadline"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["preset"] == "personnalisee" and saved.json()["withdrawal_policy"] == "revocable_until_deadline"
    assert (await client.get(url)).json()["rule"]["name"] == "maison"
    broken = {**custom, "root": {**custom["root"], "rules": [{**custom["root"]["rules"][0], "share_percent": "5"}]}}
    refused = await client.put(url, json={"rule": broken})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_input"
    assert "Données invalides" in refused.json()["message"]
    unknown = await client.put(url, json={"preset": "inconnue"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_preset"
    board = (await client.get(f"/api/v1/elections/{roster.election_id}/parrainages/tableau")).json()
    assert board["preset"] == "personnalisee" and board["eligible_totals"] == {"maires": 5, "parl": 3}  # party members only, by default
