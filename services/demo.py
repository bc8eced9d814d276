"""The demo election: what `primaires demo` loads on first run (idempotent).

The platform's part (this module): the election, its two rounds, the candidates validated
by the high authority and the round-1 ballot, and one account per role. Each domain package
adds its own demo data through the composition root (`services.composition.demo_steps`),
in dependency order, on the same `DemoContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import service as auth_service
from services.auth.models import Account
from services.auth.roles import Role
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import Actor

DEMO_SLUG = "primaire-demo-2027"
DEMO_PASSWORD = "demo-primaires"
DEMO_DEPARTMENTS = ("75", "33", "2A", "971")
# Fictional candidates: any resemblance to real persons would be coincidental.
DEMO_CANDIDATES = (
    ("Camille", "Laurent", "Parti des communs"),
    ("Mathieu", "Garnier", "Gauche républicaine"),
    ("Nadia", "Benali", "Écologistes unis"),
    ("Julien", "Moreau", "Parti des communs"),
    ("Sophie", "Lefèvre", "Mouvement radical"),
    ("Thomas", "Girard", "Gauche républicaine"),
)
DEMO_ACTOR = Actor(id="system:demo", role="organiser")
DEMO_AUTHORITY = Actor(id="system:demo", role="authority")


@dataclass
class DemoAccount:
    username: str
    role: Role
    scope: str
    note: str = ""


@dataclass
class DemoContext:
    election: Election
    departments: tuple[str, ...] = DEMO_DEPARTMENTS
    accounts: list[DemoAccount] = field(default_factory=list)
    # Station codes of the demo stations, filled by the polling package's demo step.
    station_codes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _last_sunday(today: date) -> date:
    return today - timedelta(days=(today.weekday() + 1) % 7)


async def seed_platform(session: AsyncSession, today: date | None = None) -> tuple[DemoContext, bool]:
    """Create the demo election and accounts unless they exist; returns (context, created)."""
    existing = await session.scalar(select(Election).where(Election.slug == DEMO_SLUG))
    if existing is not None:
        context = DemoContext(election=existing)
        context.accounts = await _list_demo_accounts(session)
        return context, False
    first = _last_sunday(today or date.today())
    election = await elections.create_election(
        session,
        DEMO_ACTOR,
        ElectionCreate(
            slug=DEMO_SLUG,
            name="Primaire citoyenne 2027 (démonstration)",
            contribution_min_cents=100,
            contribution_covers_both_rounds=True,
            list_extraction_date=first - timedelta(days=60),
            majority_date=first,
            supplementary_deadline=first - timedelta(days=30),
            rounds=[
                RoundSpec(number=1, polling_date=first, early_departments=["971"]),
                RoundSpec(number=2, polling_date=first + timedelta(days=7), early_departments=["971"]),
            ],
        ),
    )
    candidates = []
    for given, family, party in DEMO_CANDIDATES:
        candidate = await elections.add_candidate(
            session, DEMO_ACTOR, election, CandidateCreate(given_name=given, family_name=family, party=party)
        )
        await elections.set_candidate_status(session, DEMO_AUTHORITY, candidate, CandidateStatus.VALIDATED)
        candidates.append(candidate)
    round_1 = await elections.round_by_number(session, election.id, 1)
    await elections.set_ballot(session, DEMO_ACTOR, round_1, [candidate.id for candidate in candidates])

    specs = [
        ("organisation", "Comité national d'organisation", Role.ORGANISER, None, None),
        ("haute-autorite", "Haute Autorité", Role.AUTHORITY, None, None),
        ("observateur", "Représentant de C. Laurent", Role.OBSERVER, None, None),
    ] + [
        (f"commission-{code.lower()}", f"Commission départementale {code}", Role.COMMISSION, code, None)
        for code in DEMO_DEPARTMENTS
    ]
    for username, name, role, department, station in specs:
        await auth_service.create_account(
            session,
            DEMO_ACTOR,
            auth_service.AccountSpec(
                username=username,
                display_name=name,
                password=DEMO_PASSWORD,
                role=role,
                department_code=department,
                station_code=station,
            ),
        )
    context = DemoContext(election=election)
    context.accounts = await _list_demo_accounts(session)
    return context, True


async def _list_demo_accounts(session: AsyncSession) -> list[DemoAccount]:
    accounts = await session.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.id))
    return [
        DemoAccount(
            username=account.username,
            role=Role(account.role),
            scope=account.department_code or account.station_code or "national",
        )
        for account in accounts
    ]
