"""The territory reference shipped with the project: complete, correctly coded, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from services.events import AuditEvent
from services.territory import maps
from services.territory.models import Canton, Commune, Department, Region
from services.territory.service import load_territory



async def _count(session, query) -> int:  # noqa: ANN001
    return int(await session.scalar(query) or 0)


async def test_france_is_complete(session) -> None:  # noqa: ANN001
    assert await _count(session, select(func.count()).select_from(Department)) == 109
    communes = select(func.count()).select_from(Commune).where(Commune.kind == "commune")
    assert await _count(session, communes) == 34_969
    big = select(func.count()).select_from(Commune).where(Commune.kind == "commune", Commune.population > 10_000)
    assert await _count(session, big) == 1_067
    assert await _count(session, select(func.count()).select_from(Canton)) == 2_293
    assert await _count(session, select(func.count()).select_from(Canton).where(Canton.type == "C")) == 2_054
    regions_2016 = select(func.count()).select_from(Region).where(Region.map == "2016", func.length(Region.code) == 2)
    assert await _count(session, regions_2016) == 18
    before_2016 = select(func.count()).select_from(Region).where(Region.map == "avant-2016", Region.code > "10")
    assert await _count(session, before_2016) == 22


async def test_department_codes_are_strings(session) -> None:  # noqa: ANN001
    corse_du_sud = await session.get(Department, "2A")
    assert corse_du_sud is not None and corse_du_sud.name == "Corse-du-Sud"
    assert (await session.get(Department, "01")).name == "Ain"
    assert (await session.get(Department, "976")).name == "Mayotte"
    ajaccio = await session.get(Commune, "2A004")
    assert ajaccio.department_code == "2A" and ajaccio.population > 70_000


async def test_regions_before_2016_are_kept_for_the_2011_rules(session) -> None:  # noqa: ANN001
    gironde = await session.get(Department, "33")
    assert gironde.region_code == "75"  # Nouvelle-Aquitaine
    assert gironde.region_code_before_2016 == "72"  # Aquitaine
    aquitaine = await session.get(Region, ("avant-2016", "72"))
    assert aquitaine.name == "Aquitaine"


async def test_communes_know_their_canton_and_paris_its_arrondissements(session) -> None:  # noqa: ANN001
    bourg = await session.get(Commune, "01053")  # Bourg-en-Bresse
    assert bourg.canton_code is not None and bourg.canton_code.startswith("01")
    arrondissements = select(func.count()).select_from(Commune).where(Commune.parent_code == "75056")
    assert await _count(session, arrondissements) == 20


async def test_loading_twice_changes_nothing(session) -> None:  # noqa: ANN001
    events_before = await _count(session, select(func.count()).select_from(AuditEvent))
    report = await load_territory(session)
    assert report.changed is False and report.communes == 35_014
    assert await _count(session, select(func.count()).select_from(AuditEvent)) == events_before


async def test_the_public_api_lists_cantons(client) -> None:  # noqa: ANN001
    response = await client.get("/api/v1/territory/departments/2a/cantons")
    assert response.status_code == 200
    assert all(canton["code"].startswith("2A") for canton in response.json())
    unknown = await client.get("/api/v1/territory/departments/00/cantons")
    assert unknown.status_code == 404 and unknown.json()["message"] == "Département inconnu : « 00 »."


def test_the_map_draws_every_department() -> None:
    svg = maps.department_map_svg({"2A": "#ff0000"}, {"2A": "Corse-du-Sud : 12 %"}, links={"75": "/departements/75"})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for code in ("01", "2A", "2B", "75", "971", "974", "976"):
        assert f'data-code="{code}"' in svg
    assert 'fill="#ff0000" stroke="#fff" stroke-width="0.6" data-code="2A"' in svg
    assert "<title>Corse-du-Sud : 12 %</title>" in svg
    assert '<a href="/departements/75">' in svg
