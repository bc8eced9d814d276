"""A given name typed « St » or « Sté » is the start of « Stéphane » being typed OR « Saint »
abbreviated: the search tries both, at every level, and stays at the station when she is there."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.voter_registry.conftest import ACTOR, file_name, line, reu_file
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.normalize import fold, given_names_key, given_query_words
from voter_registry.search import Level, SearchScope, VoterQuery, search_voters

BORDEAUX = [
    line(birth_name="DUPONT", given_names="Stéphane", sex="F", birth_date="03/05/1960"),
    line(birth_name="DUPONT", given_names="Saint-Jean Marc", birth_date="01/01/1970"),
    line(birth_name="DUPONT", given_names="Ste-Marie", sex="F", birth_date="02/02/1971"),
    line(birth_name="DUPONT", given_names="Steven", bureau="0002", birth_date="02/02/1980"),
    line(birth_name="DUPONT", given_names="Paul", birth_date="04/04/1990"),
]
AJACCIO = [line(commune="2A004", birth_name="DUPONT", given_names="Stéphanie", sex="F", birth_date="09/09/1985", canton="Ajaccio-1")]
STATION = SearchScope(
    area=(("33063", "0001"),), department="33", national=True, full_detail_outside_area=False, national_needs_detail=True
)


@pytest.fixture
async def registry(session, election):  # noqa: ANN201
    for commune, lines in (("33063", BORDEAUX), ("2A004", AJACCIO)):
        await import_commune_file(session, ACTOR, election, bytes_file(file_name(commune), reu_file(lines)))
    return election


async def station_search(session, election, given_names: str):  # noqa: ANN001, ANN201
    return await search_voters(session, ACTOR, VoterQuery(name="dupont", given_names=given_names), STATION, election=election)


@pytest.mark.parametrize("typed", ["St", "Sté", "ste", "Steph", "STÉPHANE"])
async def test_stephane_is_found_at_her_own_station(session, registry, typed: str) -> None:
    results = await station_search(session, registry, typed)
    assert results.levels_searched == [Level.AREA]  # found at the station: not widened to the country
    assert "Stéphane" in [hit.voter.given_names for hit in results.hits]


@pytest.mark.parametrize(("typed", "expected"), [("St", "Saint-Jean Marc"), ("Saint", "Saint-Jean Marc"), ("Ste", "Ste-Marie"), ("Sainte", "Ste-Marie")])
async def test_saints_are_still_found_by_the_abbreviation_and_the_word(session, registry, typed: str, expected: str) -> None:
    results = await station_search(session, registry, typed)
    assert expected in [hit.voter.given_names for hit in results.hits]


async def test_every_match_and_only_them(session, registry) -> None:
    found = {hit.voter.given_names for hit in (await station_search(session, registry, "St")).hits}
    assert found == {"Stéphane", "Saint-Jean Marc", "Ste-Marie"}  # not Paul; Steven is in another bureau
    found = {hit.voter.given_names for hit in (await station_search(session, registry, "Saint")).hits}
    assert found == {"Saint-Jean Marc", "Ste-Marie"}  # « Saint » typed whole is not a prefix of « Stéphane »
    found = {hit.voter.given_names for hit in (await station_search(session, registry, "Steph")).hits}
    assert found == {"Stéphane"}


async def test_every_level_tries_both(session, registry, election) -> None:
    scope = SearchScope(national=True)
    results = await search_voters(session, ACTOR, VoterQuery(name="dupont", given_names="Sté"), scope, election=election, widen="all")
    assert {hit.voter.given_names for hit in results.hits} == {"Stéphane", "Ste-Marie", "Steven", "Stéphanie"}
    department = SearchScope(department="33", national=False)
    results = await search_voters(session, ACTOR, VoterQuery(name="dupont", given_names="st"), department, election=election)
    assert {hit.voter.given_names for hit in results.hits} == {"Stéphane", "Saint-Jean Marc", "Ste-Marie", "Steven"}


async def test_an_abbreviation_ranks_as_a_prefix(session, registry) -> None:
    # « St »: « Stéphane » (typed prefix) and « Saint-Jean » (abbreviation, whole) are equally
    # plausible; « Saint » typed whole ranks the exact given name first.
    hits = (await station_search(session, registry, "St")).hits
    scores = {hit.voter.given_names: hit.score for hit in hits}
    assert scores["Stéphane"] == scores["Saint-Jean Marc"] == scores["Ste-Marie"]
    hits = (await station_search(session, registry, "Saint")).hits
    assert hits[0].voter.given_names == "Saint-Jean Marc"


WORDS = st.sampled_from(["st", "ste", "sts", "stes", "saint", "jean", "steph", "marie", "s"])


@given(st.lists(WORDS, min_size=1, max_size=4), st.lists(WORDS, min_size=1, max_size=3))
def test_a_typed_word_matches_a_stored_name_if_either_reading_does(stored: list[str], typed: list[str]) -> None:
    """Every alternative of every typed word is its typed form or its expansion, the typed form
    first; a stored given name starting with the typed form was found before the abbreviations
    were read, and still is."""
    key = given_names_key(" ".join(stored)).split()
    words = given_query_words(" ".join(typed))
    assert [alternatives[0] for alternatives in words] == list(dict.fromkeys(fold(" ".join(typed), abbreviations=False)))
    for alternatives in words:
        assert alternatives[1:] in ((), (fold(alternatives[0])[0],))
        expanded = fold(alternatives[0])[0]
        # What the search before this change found (the expansion) is still found.
        if any(g.startswith(expanded) for g in key):
            assert any(g.startswith(a) for a in alternatives for g in key)
