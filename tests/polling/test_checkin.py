"""Check-in: charter, contribution, eligibility, one participation per round nationwide,
round 2, paper late entries, privacy of what is stored."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text

from polling import checkin, privacy, service
from polling.checkin import CheckinRequest
from polling.models import Channel, Checkin, Payment, StationState
from services.db import utcnow
from services.elections import service as elections
from services.elections.models import Phase
from services.errors import Conflict, InvalidInput, NotFound, WrongPhase
from tests.polling.conftest import AUTHORITY, ORGANISER, World, build_world
from voter_registry import service as registry
from voter_registry.search import SearchScope, VoterQuery


async def find(session, world: World, name: str, given: str = "") -> str:  # noqa: ANN001
    results = await registry.search_voters(
        session, ORGANISER, VoterQuery(name=name, given_names=given), SearchScope(department="33", national=False),
        election=world.election,
    )
    assert results.hits, name
    return results.hits[0].voter.ref


def request(ref: str, cents: int = 200, **kwargs) -> CheckinRequest:  # noqa: ANN003
    return CheckinRequest(voter_ref=ref, contribution_cents=cents, payment=kwargs.pop("payment", Payment.CASH), charter_signed=kwargs.pop("charter", True), **kwargs)


async def test_check_in_updates_the_counters(session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1, via="tablet")
    ref = await find(session, world, "martin", "jean")
    result = await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(ref, 500))
    assert result.counts.tablet == 1 and result.counts.contributions_cents == 500 and result.counts.cash_cents == 500
    ref2 = await find(session, world, "dupont")
    result = await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(ref2, 200, payment=Payment.CHEQUE))
    counts = await service.station_counts(session, world.bordeaux, world.round_1)
    assert (counts.total, counts.contributions_cents, counts.cheque_cents) == (2, 700, 200)
    totals = await service.round_totals(session, world.round_1.id)
    assert totals.checkins == 2 and totals.opened == 1 and totals.stations == 2


async def test_a_second_check_in_anywhere_says_where_and_when(session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await service.open_station(session, ORGANISER, world.merignac, world.round_1)
    ref = await find(session, world, "martin", "jean")
    await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(ref))
    with pytest.raises(Conflict, match=r"Déjà émargé pour le tour 1 : dans ce bureau, le \d\d/\d\d à \d\d:\d\d"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(ref))
    # From another station the voter is refused as « not from here » before anything else...
    with pytest.raises(Conflict, match="ne vote pas ici"):
        await checkin.check_in(session, ORGANISER, world.merignac, world.round_1, request(ref))
    # ...and a second check-in elsewhere in the country is refused by the token, saying where.
    keys = await privacy.election_keys(session, world.election.id)
    voter = await registry.get_voter(session, ref)
    first = await checkin.already_checked_in(session, world.round_1, keys.token(voter.identity))
    assert first is not None and first[0].code == world.bordeaux.code


async def test_bad_input_is_refused_in_french_and_records_nothing(session, world: World, count_writes) -> None:
    martin = await find(session, world, "martin", "jean")
    before = await count_writes()
    with pytest.raises(WrongPhase, match="n'est pas ouvert"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(martin))
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    durand = await find(session, world, "durand")
    before = await count_writes()
    cases = [
        (request("L-33-999999999"), NotFound, "Électeur introuvable"),
        (request(durand), InvalidInput, "ne peut pas voter : .*trop jeune"),
        (request(martin, 150), InvalidInput, r"Participation insuffisante : 1,50\s€ ; le minimum est de 2,00\s€"),
        (request(martin, charter=False), InvalidInput, "signer la charte"),
        (request(martin, 200_000), InvalidInput, "Montant improbable"),
    ]
    for req, error, message in cases:
        with pytest.raises(error, match=message):
            await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, req)
    assert await count_writes() == before
    with pytest.raises(WrongPhase, match="Scrutin ouvert|pas ouvert"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_2, request(martin))
    assert await count_writes() == before


@pytest.fixture
def without_results_checks(monkeypatch):  # noqa: ANN001, ANN201
    """Round 1 is taken to « proclaimed » by hand here: once the results package has registered
    its phase conditions (validated station reports, a proclamation — whichever test created the
    app first), they would refuse. What these tests check is the check-in rules of round 2."""
    from services.elections import service as election_service

    monkeypatch.setattr(election_service, "_transition_checks", [])


@pytest.mark.usefixtures("without_results_checks")
async def test_round_two_everyone_votes_again_round_one_contribution_covers(session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    martin = await find(session, world, "martin", "jean")
    lefevre = await find(session, world, "lefevre")
    await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(martin))
    await elections.change_phase(session, ORGANISER, world.round_1, Phase.POLLS_CLOSED)
    await elections.change_phase(session, ORGANISER, world.round_1, Phase.RESULTS_VALIDATED)
    await elections.change_phase(session, AUTHORITY, world.round_1, Phase.PROCLAIMED)
    candidates = await elections.candidates_of(session, world.election.id)
    await elections.set_ballot(session, ORGANISER, world.round_2, [c.id for c in candidates[:2]])
    await elections.change_phase(session, ORGANISER, world.round_2, Phase.POLLS_OPEN)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_2)
    result = await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_2, request(martin, 0, payment=Payment.COVERED))
    assert result.payment == Payment.COVERED and result.counts.covered == 1
    with pytest.raises(InvalidInput, match="Participation insuffisante"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_2, request(lefevre, 0))
    await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_2, request(lefevre, 200))


@pytest.mark.usefixtures("without_results_checks")
async def test_without_the_two_rounds_rule_round_two_is_paid_again(session) -> None:
    world = await build_world(session, covers_both_rounds=False)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    martin = await find(session, world, "martin", "jean")
    await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(martin))
    for phase, actor in ((Phase.POLLS_CLOSED, ORGANISER), (Phase.RESULTS_VALIDATED, ORGANISER), (Phase.PROCLAIMED, AUTHORITY)):
        await elections.change_phase(session, actor, world.round_1, phase)
    candidates = await elections.candidates_of(session, world.election.id)
    await elections.set_ballot(session, ORGANISER, world.round_2, [c.id for c in candidates[:2]])
    await elections.change_phase(session, ORGANISER, world.round_2, Phase.POLLS_OPEN)
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_2)
    with pytest.raises(InvalidInput, match="par tour"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_2, request(martin, 0, payment=Payment.COVERED))


async def test_paper_late_entries_count_once(session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    martin = await find(session, world, "martin", "jean")
    dupont = await find(session, world, "dupont")
    await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(martin))
    await service.close_station(session, ORGANISER, world.bordeaux, world.round_1)
    # After closing, the signed paper list is keyed: the tablet's voter is not counted twice.
    with pytest.raises(Conflict, match="dans ce bureau"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(martin, channel=Channel.PAPER))
    # A minute ago, or the polling day's last minute at the station once its local day is over
    # (the test's polling day is the machine's date: from 22:00 or 23:00 UTC, Paris is already
    # on the next day, and a paper check-in of that day is rightly refused).
    day, _opens, _closes = service.station_hours(world.bordeaux, world.round_1)
    at = min(utcnow() - timedelta(minutes=1), datetime.combine(day, time(23, 59), tzinfo=service.station_zone(world.bordeaux)))
    result = await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(dupont, channel=Channel.PAPER, checked_in_at=at))
    assert (result.counts.tablet, result.counts.paper) == (1, 1)
    with pytest.raises(WrongPhase):  # the tablet channel is closed with the station
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(dupont))
    lines = await checkin.station_checkins(session, world.bordeaux, world.round_1)
    # In time order: the paper entry was signed a minute before the tablet's check-in.
    assert [line.channel for line in lines] == [Channel.PAPER, Channel.TABLET]
    assert lines[0].name.startswith("DUPONT") and lines[1].name.startswith("MARTIN")


async def test_nothing_readable_is_stored_and_shredding_makes_it_unlinkable(session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    martin = await find(session, world, "martin", "jean")
    await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(martin))
    raw = (await session.execute(text("SELECT * FROM checkin"))).mappings().all()
    dump = repr(raw).upper()
    assert "MARTIN" not in dump and "JEAN" not in dump and "1953" not in dump
    voter = await registry.get_voter(session, martin)
    assert all(bytes(row["token"]) != voter.identity for row in raw)
    report = await privacy.shred_keys(session, ORGANISER, world.election, today=utcnow().date())
    assert report.checkins_per_round == {world.round_1.id: 1}
    with pytest.raises(WrongPhase, match="détruites"):
        await privacy.election_keys(session, world.election.id)
    with pytest.raises(WrongPhase, match="détruites"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(await find(session, world, "dupont")))
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 1
    assert (await service.station_counts(session, world.bordeaux, world.round_1)).total == 1


async def test_a_station_closed_between_the_checks_and_the_insert_counts_nothing(session, world: World, monkeypatch) -> None:  # noqa: ANN001
    """The insert and the counters are one statement guarded by the station's state: a closing
    committed after the check-in read the station « open » refuses it, and nothing is counted."""
    from dataclasses import replace

    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    await service.close_station(session, ORGANISER, world.bordeaux, world.round_1)
    real_context = checkin._context

    async def read_before_the_closing(*args):  # noqa: ANN002, ANN202
        return replace(await real_context(*args), state=StationState.OPEN.value)

    monkeypatch.setattr(checkin, "_context", read_before_the_closing)
    ref = await find(session, world, "martin", "jean")
    savepoint = await session.begin_nested()
    with pytest.raises(WrongPhase, match="vient d'être clos"):
        await checkin.check_in(session, ORGANISER, world.bordeaux, world.round_1, request(ref))
    await savepoint.rollback()  # what the request's transaction does with the refusal
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 0
    assert (await service.station_counts(session, world.bordeaux, world.round_1)).total == 0
