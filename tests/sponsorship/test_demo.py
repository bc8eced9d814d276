"""The demo step: the board shows qualified candidates and one a region short; the public list has data."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo import seed_platform
from services.elections import service as elections
from services.sponsorship import service
from services.sponsorship.demo import DECLARED_CANDIDATE, DEMO_SEED, seed_sponsorship

pytestmark = pytest.mark.asyncio


async def test_demo_step(session: AsyncSession) -> None:
    context, created = await seed_platform(session, today=date(2027, 4, 11))
    assert created
    await seed_sponsorship(session, context)
    board = await service.qualification_board(session, context.election)
    validated = [entry for entry in board.candidates if entry.candidate.status == "validated"]
    assert len(validated) == 6 and all(entry.qualified for entry in validated)
    # Each route of the 2011 rule qualifies at least one candidate.
    assert {route.key for entry in validated for route in entry.routes if route.met} == {"parlementaires", "conseil-national", "conseillers", "maires"}
    declared = next(entry for entry in board.candidates if entry.candidate.family_name == DECLARED_CANDIDATE[1])
    assert not declared.qualified
    mayors = next(route for route in declared.routes if route.key == "maires")
    assert mayors.counted >= mayors.required
    assert mayors.missing == ("il manque 1 région (3 sur 4, régions d'avant 2016)",)
    sponsors = await service.public_sponsors(session, context.election)
    assert len(sponsors) == sum(entry.active for entry in board.candidates)
    round_1 = await elections.round_by_number(session, context.election.id, 1)
    draw = await service.latest_draw(session, round_1.id)
    assert draw is not None and draw.seed == DEMO_SEED
    assert [c.id for _, c in await elections.ballot_of(session, round_1.id)] == draw.candidate_ids
    # The roster report shows the importer's line-numbered refusals.
    stats = await service.roster_stats(session, context.election)
    assert any(f.rejected_count == 3 for f in stats.files)
