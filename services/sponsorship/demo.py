"""Demo data of sponsorship: the 2011 rule, a synthetic roster imported through the real importers
(with a few malformed lines to show the report), forms for the demo candidates — each of the six
validated candidates qualified through a different route, a seventh, still declared, one region
short — and the ballot order drawn by lot from a public seed."""

from __future__ import annotations

from datetime import timedelta
from itertools import cycle

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo import DEMO_ACTOR, DEMO_AUTHORITY, DemoContext
from services.elections import service as elections
from services.elections.models import Candidate, CandidateStatus
from services.elections.schemas import CandidateCreate
from services.sponsorship import service, synthetic
from services.sponsorship.models import Official, OfficialMandate
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import PRESETS, Category
from services.territory.models import Department

DEMO_SEED = "tirage-public-demo-2027"
DECLARED_CANDIDATE = ("Lucie", "Marchetti", "Écologistes unis")
# Regions (before 2016) the seventh candidate's mayors come from: one short of the four required.
SHORT_REGIONS = ("11", "82", "93")  # Île-de-France, Rhône-Alpes, Provence-Alpes-Côte d'Azur


Pick = tuple[int, str | None, Category]


async def _pool(session: AsyncSession, election_id: int, category: Category, population_over: int | None = None) -> list[Pick]:
    """Party officials of a category: (official id, department, category), in a stable order."""
    statement = (
        select(Official.id, OfficialMandate.department_code)
        .join(OfficialMandate, OfficialMandate.official_id == Official.id)
        .where(
            OfficialMandate.election_id == election_id,
            OfficialMandate.category == category.value,
            Official.party_member.is_(True),
        )
        .order_by(Official.id)
    )
    if population_over is not None:
        statement = statement.where(OfficialMandate.population > population_over)
    return [(official_id, department, category) for official_id, department in (await session.execute(statement)).all()]


def _spread_pick(pool: list[Pick], count: int, used: set[int]) -> list[Pick]:
    """`count` officials taking departments in turn, so that the spread is as wide as possible."""
    by_department: dict[str | None, list[Pick]] = {}
    seen = set(used)
    for official in pool:
        if official[0] not in seen:
            seen.add(official[0])
            by_department.setdefault(official[1], []).append(official)
    chosen: list[Pick] = []
    for department in cycle(sorted(by_department, key=str)):
        if len(chosen) >= count or not any(by_department.values()):
            break
        if by_department[department]:
            chosen.append(by_department[department].pop(0))
    used.update(official_id for official_id, _department, _category in chosen)
    return chosen


async def seed_sponsorship(session: AsyncSession, context: DemoContext) -> None:
    election = context.election
    round_1 = await elections.round_by_number(session, election.id, 1)
    deadline = round_1.polling_date - timedelta(days=45)
    await service.configure(session, DEMO_ACTOR, election, preset="primaire-2011", deadline=deadline)

    # The roster: a national synthetic RNE (mayors of communes over 3,500 inhabitants only, to
    # load fast), through the real importers, and the party's files.
    territory = synthetic.load_territory_files()
    roster = synthetic.generate_roster(2027, territory=territory, mayor_min_population=3500)
    for kind, officials in roster.rne.items():
        data = synthetic.rne_file_bytes(officials, kind, territory=territory, malformed=3 if kind == RneKind.MAYORS else 0)
        await service.import_rne(session, DEMO_ACTOR, election, data, synthetic.RELEASES["2024-07"][kind].filename)
    for category, officials in roster.party.items():
        await service.import_party_file(
            session, DEMO_ACTOR, election, category, synthetic.party_file_bytes(officials, category), synthetic.PARTY_FILENAMES[category]
        )

    candidate = await elections.add_candidate(
        session,
        DEMO_ACTOR,
        election,
        CandidateCreate(given_name=DECLARED_CANDIDATE[0], family_name=DECLARED_CANDIDATE[1], party=DECLARED_CANDIDATE[2]),
    )
    candidates = [c for c in await elections.candidates_of(session, election.id) if c.status == CandidateStatus.VALIDATED.value]
    rule = PRESETS["primaire-2011"]
    totals = await service.eligible_totals(session, election.id, rule)
    routes = {route.key: route for route in rule.routes()}
    needed = {key: routes[key].required(totals[key]) for key in routes}
    used: set[int] = set()
    pools = {
        "parlementaires": await _pool(session, election.id, Category.PARLIAMENTARIAN),
        "conseil-national": await _pool(session, election.id, Category.NATIONAL_COUNCIL),
        "conseillers": await _pool(session, election.id, Category.REGIONAL_COUNCILLOR)
        + await _pool(session, election.id, Category.DEPARTMENTAL_COUNCILLOR),
        "maires": await _pool(session, election.id, Category.MAYOR, population_over=10_000),
    }
    # Each validated candidate qualifies through a route (some with a margin), in turn.
    plan = ["parlementaires", "conseil-national", "conseillers", "maires", "parlementaires", "conseillers"]
    forms: list[tuple[Candidate, int, Category]] = []
    for candidate_, route_key in zip(candidates, plan, strict=False):
        extra = 2 if route_key != "conseillers" else 5
        for official_id, _department, category in _spread_pick(pools[route_key], needed[route_key] + extra, used):
            forms.append((candidate_, official_id, category))
    # The declared candidate: enough mayors, but from three regions only.
    regions = {code: region for code, region in (await session.execute(select(Department.code, Department.region_code_before_2016))).all()}
    short_pool = [pick for pick in pools["maires"] if regions.get(pick[1] or "") in SHORT_REGIONS]
    for official_id, _department, category in _spread_pick(short_pool, needed["maires"] + 1, used):
        forms.append((candidate, official_id, category))

    received = deadline - timedelta(days=40)
    for index, (candidate_, official_id, category) in enumerate(forms):
        scan = synthetic.minimal_pdf(f"Formulaire de parrainage n. {index + 1} (demonstration) - candidat {candidate_.id}")
        await service.record_sponsorship(
            session,
            DEMO_ACTOR,
            election,
            service.FormIntake(
                official_id=official_id,
                candidate_id=candidate_.id,
                category=category,
                received_on=received + timedelta(days=index % 38),
                scan=scan,
            ),
            today=deadline,
        )
    await service.draw_ballot(session, DEMO_AUTHORITY, election, DEMO_SEED)
    context.notes.append(
        f"Parrainages : {len(forms)} formulaires, règle de la primaire 2011 — tableau public sur /parrainages "
        f"(« {DECLARED_CANDIDATE[0]} {DECLARED_CANDIDATE[1]} » : il manque une région), guichet du comité sur "
        "/organisation/parrainages, validation et tirage sur /haute-autorite/parrainages."
    )

