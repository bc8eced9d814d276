"""Search: accent/particle/apostrophe/hyphen-proof, ranked, widening area → department →
country, reduced outside a station's area, eligibility with reasons, every look-up logged."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from services.events import AuditEvent
from tests.voter_registry.conftest import ACTOR, file_name, line, reu_file
from voter_registry.errors import QueryTooVague
from voter_registry.eligibility import Status
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.search import Level, SearchScope, VoterQuery, search_voters
from services.errors import InvalidInput

BORDEAUX = [
    line(birth_name="DE LA FONTAINE", given_names="Marie Hélène", sex="F", usage_name="MARTIN-DUPONT", birth_date="03/05/1960"),
    line(birth_name="DELAFONTAINE", given_names="Jean", birth_date="01/01/1970"),
    line(birth_name="FONTAINE", given_names="Pierre Jean", bureau="0002", birth_date="02/02/1980"),
    line(birth_name="N'DIAYE", given_names="Awa", sex="F", birth_date="04/04/1990"),
    line(birth_name="LEFÈVRE", given_names="Hélène Marie", sex="F", birth_date="05/05/1953"),
    line(birth_name="LEFEVRE", given_names="Jean-Pierre", bureau="0002", birth_date="06/06/1962"),
    line(birth_name="MARTIN", given_names="Jean Pierre", birth_date="12/04/1953"),
    line(birth_name="MARTINEZ", given_names="Carlos", birth_date="07/07/1975"),
    line(birth_name="DURAND", given_names="Louis", birth_date="01/12/2009"),
    line(birth_name="PETIT", given_names="Zoé", sex="F", birth_date="00/00/2008"),
]
MERIGNAC = [line(commune="33281", birth_name="MARTIN", given_names="Jean", birth_date="08/08/1970")]
AJACCIO = [
    line(commune="2A004", birth_name="MARTIN", given_names="Jean", birth_date="12/04/1953", canton="Ajaccio-1"),
    line(commune="2A004", birth_name="LE GALL", given_names="Yann", birth_date="09/09/1985", canton="Ajaccio-1"),
]
STATION = SearchScope(
    area=(("33063", "0001"),), department="33", national=True, full_detail_outside_area=False, national_needs_detail=True
)
COMMISSION_33 = SearchScope(department="33", national=False)
NATIONAL = SearchScope(national=True)


@pytest.fixture
async def registry(session, election):  # noqa: ANN201
    for commune, lines in (("33063", BORDEAUX), ("33281", MERIGNAC), ("2A004", AJACCIO)):
        await import_commune_file(session, ACTOR, election, bytes_file(file_name(commune), reu_file(lines)))
    return election


async def find(session, election, text: str = "", scope: SearchScope = STATION, **fields: str) -> list:  # noqa: ANN001
    query = VoterQuery.from_text(text) if text else VoterQuery(**fields)
    results = await search_voters(session, ACTOR, query, scope, election=election, widen="all")
    return results.hits


def names(hits: list) -> list[str]:
    return [hit.voter.birth_name for hit in hits]


@pytest.mark.parametrize("typed", ["lefevre", "LEFÈVRE", "Léfevre", "lefe", "LEFEVRE-"])
async def test_accents_and_case_do_not_matter(session, registry, typed: str) -> None:
    assert sorted(names(await find(session, registry, name=typed))) == ["LEFEVRE", "LEFÈVRE"]


@pytest.mark.parametrize("typed", ["de la fontaine", "DE LA FONTAINE", "delafontaine", "la fontaine", "de la font"])
async def test_particles_do_not_matter(session, registry, typed: str) -> None:
    assert "DE LA FONTAINE" in names(await find(session, registry, name=typed))


async def test_durand_does_not_find_rand_but_delafontaine_finds_both_spellings(session, registry) -> None:
    found = names(await find(session, registry, name="delafontaine"))
    assert set(found) == {"DE LA FONTAINE", "DELAFONTAINE"}  # not « FONTAINE », which has no particle
    assert "FONTAINE" not in found


@pytest.mark.parametrize("typed", ["ndiaye", "n diaye", "N'Diaye", "n’diaye", "N-DIAYE"])
async def test_apostrophes_do_not_matter(session, registry, typed: str) -> None:
    assert names(await find(session, registry, name=typed)) == ["N'DIAYE"]


@pytest.mark.parametrize("typed", ["jean-pierre", "jean pierre", "pierre jean", "pierre", "jeanpierre", "PIERRE-JEAN"])
async def test_given_names_in_any_order_with_or_without_hyphen(session, registry, typed: str) -> None:
    assert "LEFEVRE" in names(await find(session, registry, name="lefevre", given_names=typed))  # « Jean-Pierre »
    if typed != "jeanpierre":  # « Jean Pierre », two given names: not glued
        assert "MARTIN" in names(await find(session, registry, name="martin", given_names=typed))


async def test_usage_name_is_searched(session, registry) -> None:
    hits = await find(session, registry, name="martin-dupont")
    assert names(hits) == ["DE LA FONTAINE"]


async def test_exact_name_ranks_before_prefix(session, registry) -> None:
    hits = await find(session, registry, name="martin", scope=COMMISSION_33)
    ranked = names(hits)
    assert ranked.index("MARTIN") < ranked.index("MARTINEZ")
    # Birth name MARTIN before the usage name MARTIN-DUPONT, which is a prefix match.
    assert ranked.index("MARTIN") < ranked.index("DE LA FONTAINE")
    # A full date match ranks the right Martin first.
    hits = await find(session, registry, "martin jean 12/04/1953", scope=NATIONAL)
    assert [(h.voter.birth_name, h.voter.commune_code) for h in hits][0][0] == "MARTIN"
    assert {h.voter.commune_code for h in hits} == {"33063", "2A004"}


async def test_birth_date_and_year_filter(session, registry) -> None:
    assert names(await find(session, registry, name="mar", birth="12/04/1953", scope=COMMISSION_33)) == ["MARTIN"]
    assert names(await find(session, registry, name="mar", birth="1975", scope=COMMISSION_33)) == ["MARTINEZ"]
    assert names(await find(session, registry, name="petit", birth="15/06/2008")) == ["PETIT"]  # 00/00/2008 may be anyone of 2008
    with pytest.raises(InvalidInput, match="non reconnue"):
        await find(session, registry, name="martin", birth="le 12 avril")


async def test_commune_filter(session, registry) -> None:
    hits = await find(session, registry, name="martin", given_names="jean", commune="Mérignac", scope=NATIONAL)
    assert [h.voter.commune_code for h in hits] == ["33281"]
    hits = await find(session, registry, name="martin", commune="2A004", scope=NATIONAL)
    assert [h.voter.commune_code for h in hits] == ["2A004"]


async def test_widening_from_the_station_area(session, registry, election) -> None:
    # In the area (Bordeaux, bureau 0001) first; « auto » stops there.
    results = await search_voters(session, ACTOR, VoterQuery(name="martin"), STATION, election=election)
    assert results.levels_searched == [Level.AREA] and {h.level for h in results.hits} == {Level.AREA}
    # Not in the area: the department; outside the area, no address nor full birth date.
    results = await search_voters(session, ACTOR, VoterQuery(name="fontaine", given_names="pierre"), STATION, election=election)
    assert results.levels_searched == [Level.AREA, Level.DEPARTMENT]
    hit = results.hits[0]
    assert hit.voter.birth_name == "FONTAINE" and not hit.full_detail
    assert hit.voter.address == "" and hit.voter.birth_month == 0 and hit.voter.bureau_code == "0002"
    # Elsewhere in France, only with a given name, a date or a commune.
    results = await search_voters(session, ACTOR, VoterQuery(name="le gall"), STATION, election=election)
    assert results.hits == [] and results.notes
    results = await search_voters(session, ACTOR, VoterQuery(name="le gall", given_names="yann"), STATION, election=election)
    assert [(h.voter.commune_code, h.level) for h in results.hits] == [("2A004", Level.NATIONAL)]
    # A name of fewer than four letters and a given name is too vague for the whole country (the
    # costliest look-ups, a country-wide browse): the station is told what to add, in French.
    results = await search_voters(session, ACTOR, VoterQuery(name="le ga", given_names="yann"), STATION, election=election)
    assert results.levels_searched == [Level.AREA, Level.DEPARTMENT] and results.hits == []
    assert results.notes == ["Pour chercher dans toute la France, tapez au moins 4 lettres du nom, ou ajoutez la date ou l'année de naissance, ou la commune."]
    for more in (VoterQuery(name="le gall", given_names="ya"), VoterQuery(name="le ga", given_names="yann", birth="1985")):
        results = await search_voters(session, ACTOR, more, STATION, election=election)
        assert [(h.voter.commune_code, h.level) for h in results.hits] == [("2A004", Level.NATIONAL)], more
    # Commissions, organisers and the authority keep the country-wide search as it was.
    assert names(await find(session, registry, name="le ga", given_names="yann", scope=NATIONAL)) == ["LE GALL"]


async def test_a_station_of_two_communes_searches_its_own_polling_places_only(session, registry, election) -> None:
    # Bordeaux's bureau 0002 and Mérignac's 0001: (Bordeaux, 0001) is in neither — its MARTIN
    # and its MARTIN-DUPONT (usage name) are found only at the department level. Each place
    # is scanned on its own (search._level_sql_named), never the communes × bureaux product.
    two_communes = SearchScope(
        area=(("33063", "0002"), ("33281", "0001")), department="33", national=True, full_detail_outside_area=False
    )
    results = await search_voters(session, ACTOR, VoterQuery(name="martin"), two_communes, election=election)
    assert results.levels_searched == [Level.AREA]
    assert [(h.voter.commune_code, h.voter.bureau_code, h.level) for h in results.hits] == [("33281", "0001", Level.AREA)]
    results = await search_voters(session, ACTOR, VoterQuery(name="martin"), two_communes, election=election, widen="all")
    found = {(h.voter.commune_code, h.voter.bureau_code, h.voter.birth_name, h.level) for h in results.hits}
    assert ("33063", "0001", "MARTIN", Level.DEPARTMENT) in found
    assert ("33063", "0001", "DE LA FONTAINE", Level.DEPARTMENT) in found  # usage name MARTIN-DUPONT
    assert not any(level == Level.AREA and commune == "33063" for commune, _bureau, _name, level in found)
    results = await search_voters(session, ACTOR, VoterQuery(name="lefevre"), two_communes, election=election)
    assert [(h.voter.bureau_code, h.voter.given_names, h.level) for h in results.hits] == [("0002", "Jean-Pierre", Level.AREA)]


async def test_a_commission_never_sees_another_department(session, registry) -> None:
    assert await find(session, registry, name="le gall", given_names="yann", scope=COMMISSION_33) == []
    assert {h.voter.department_code for h in await find(session, registry, name="martin", given_names="jean", scope=COMMISSION_33)} == {"33"}


async def test_eligibility_is_evaluated_with_reasons(session, registry) -> None:
    durand = (await find(session, registry, name="durand"))[0]
    assert durand.eligibility.status == Status.INELIGIBLE and "trop jeune" in durand.eligibility.reasons[0]
    petit = (await find(session, registry, name="petit"))[0]
    assert petit.eligibility.status == Status.TO_CHECK and "pièce d'identité" in petit.eligibility.reasons[0]
    martin = (await find(session, registry, name="martin", given_names="jean", birth="1953"))[0]
    assert martin.eligibility.status == Status.ELIGIBLE and martin.eligibility.reasons == ()


async def test_every_lookup_is_logged_without_what_was_typed(session, registry) -> None:
    before = await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "registry.lookup"))
    await find(session, registry, name="lefèvre", given_names="hélène")
    await find(session, registry, name="zzzz")
    entries = list(
        await session.scalars(select(AuditEvent.entry).where(AuditEvent.kind == "registry.lookup").order_by(AuditEvent.id))
    )
    assert len(entries) == before + 2
    last = json.loads(entries[-2])
    assert last["payload"]["fields"] == ["nom", "prenoms"] and last["payload"]["results"] == 1
    assert last["payload"]["scope"] == "bureau" and last["subjects"]["department_code"] == "33"
    for entry in entries[-2:]:
        lowered = entry.lower()
        assert "lef" not in lowered and "hél" not in lowered and "hel" not in lowered and "zzzz" not in lowered


async def test_vague_queries_are_refused(session, registry) -> None:
    with pytest.raises(QueryTooVague, match="deux premières lettres"):
        await find(session, registry, name="m")
    with pytest.raises(QueryTooVague):
        await find(session, registry, name="  '-  ")


def test_free_text_query() -> None:
    assert VoterQuery.from_text("de la fontaine marie 1960") == VoterQuery("de la fontaine", "marie", "1960")
    assert VoterQuery.from_text("N'Diaye Awa") == VoterQuery("N'Diaye", "Awa", "")
    assert VoterQuery.from_text("martin-dupont jean pierre 12/04/1953") == VoterQuery("martin-dupont", "jean pierre", "12/04/1953")


async def test_a_short_limit_shows_the_best_ranked_and_says_the_list_is_truncated(session, registry) -> None:
    # Records and eligibility are built only for the hits shown: the first ones of the full
    # ranking, and `truncated` tells staff to type more.
    everyone = await search_voters(session, ACTOR, VoterQuery(name="mar"), COMMISSION_33, election=registry, limit=50)
    assert not everyone.truncated and len(everyone.hits) >= 3
    for limit in range(1, len(everyone.hits)):
        shown = await search_voters(session, ACTOR, VoterQuery(name="mar"), COMMISSION_33, election=registry, limit=limit)
        assert shown.truncated
        assert [h.voter.ref for h in shown.hits] == [h.voter.ref for h in everyone.hits[:limit]]
        assert [h.score for h in shown.hits] == [h.score for h in everyone.hits[:limit]]
        assert all(h.eligibility.status in Status for h in shown.hits)
    exact = await search_voters(session, ACTOR, VoterQuery(name="mar"), COMMISSION_33, election=registry, limit=len(everyone.hits))
    assert not exact.truncated and [h.voter.ref for h in exact.hits] == [h.voter.ref for h in everyone.hits]
