"""Preparation of a rehearsal: the synthetic election, server-side, like the demo steps.

What a real organisation does in the weeks before polling day (import the lists, plan the
stations, recruit the teams, print PINs, register phones) is done here directly through the
domain services against the database, in a few transactions, each with its audit events.
The day itself never touches the database: it goes through HTTP and signed Twilio webhooks
only (`rehearsal.day`).

The plan returned holds everything the simulated volunteers « know » on the day: their
station code, PIN, phone, API token, and the people who will come to vote (their registry
reference and the contribution they will give). It is kept in memory only.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from polling import checkin
from polling import service as polling
from polling.models import StaffRole, StationBureau
from services import db
from services.auth import service as auth_service
from services.auth.roles import Role
from services.elections import service as elections
from services.elections.models import CandidateStatus, Phase
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import Actor
from voter_registry import service as registry
from voter_registry.generator import GeneratorOptions, generate
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import RegistryState, Voter
from voter_registry.reu import PARIS

ACTOR = Actor(id="system:rehearsal", role="organiser")
AUTHORITY_ACTOR = Actor(id="system:rehearsal", role="authority")
# Metropolitan departments only: a rehearsal run at night in Paris must not fall on another
# calendar day in the Antilles (the round's day is the same local date everywhere here).
DEPARTMENTS = ("33", "69", "13", "59", "35", "31", "44", "67", "2A", "75", "34", "06")
CANDIDATES = (
    ("Camille", "Laurent", "Les Communs"),
    ("Mathieu", "Garnier", "Parti du Travail"),
    ("Nadia", "Benali", "Écologie solidaire"),
    ("Julien", "Moreau", "Gauche républicaine"),
    ("Élise", "Girard", "Radicaux de progrès"),
)
CANDIDATE_WEIGHTS = (0.31, 0.27, 0.2, 0.14, 0.08)
CONTRIBUTIONS = ((100, 70), (200, 18), (500, 9), (1000, 3))  # cents, weight: whole euros (phone keys euros)


@dataclass
class Visit:
    """One person who will come to vote: their registry reference and contribution."""

    ref: str
    cents: int
    cheque: bool


@dataclass
class StationPlan:
    code: str
    department: str
    name: str
    registered: int
    pin: str
    president_phone: str
    assessor_phone: str
    president_token: str
    assessor_token: str | None
    open_via: str  # tablet | sms
    results_via: str  # sms | phone | tablet | paper
    sends_turnout: bool
    visits: list[Visit] = field(default_factory=list)


@dataclass
class Plan:
    election_id: int
    slug: str
    round_id: int
    round_number: int
    candidates: list[str]
    departments: list[str]
    stations: list[StationPlan]
    organiser_token: str
    authority_token: str
    commission_tokens: dict[str, list[str]]
    voters_on_lists: int
    seconds: float = 0.0


@contextmanager
def cheap_password_hashes() -> Iterator[None]:
    """The rehearsal's staff accounts sign in with API tokens only; their passwords are random
    48-character secrets nobody will ever type. Hashing them with argon2's interactive
    parameters (≈ 0.4 s each here) would make preparing 1,000 stations take minutes, so they
    are hashed with cheap parameters (argon2 reads the parameters from the hash: the server
    verifies them unchanged)."""
    from argon2 import PasswordHasher

    saved = dict(auth_service._hashers)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    auth_service._hashers[False] = cheap
    auth_service._hashers[True] = cheap
    try:
        yield
    finally:
        auth_service._hashers.clear()
        auth_service._hashers.update(saved)


def departments_for(stations: int) -> list[str]:
    return list(DEPARTMENTS[: max(2, min(len(DEPARTMENTS), stations // 150 + 1))])


def fake_phone(kind: int, number: int) -> str:
    """Numbers of the range reserved for fiction (+33 1 99 00 …), never a real phone."""
    return f"+33199{kind}{number:05d}"


def channel_mix(count: int, rng: random.Random) -> list[str]:
    """Results channels of the stations: 40 % SMS, 20 % phone, 30 % tablet, 10 % paper only;
    every channel used at least once as soon as there are four stations."""
    shares = (("sms", 0.4), ("phone", 0.2), ("tablet", 0.3), ("paper", 0.1))
    counts = {name: max(1 if count >= 4 else 0, round(count * share)) for name, share in shares}
    while sum(counts.values()) > count:
        counts[max(counts, key=counts.__getitem__)] -= 1
    counts["sms"] += count - sum(counts.values())
    channels = [name for name, number in counts.items() for _ in range(number)]
    rng.shuffle(channels)
    return channels


async def prepare(
    *, stations: int, voters: int, turnout: float, seed: int, progress: Callable[[str], None] = lambda _m: None
) -> Plan:
    import time as clock

    started = clock.monotonic()
    rng = random.Random(seed)
    today = datetime.now(PARIS).date()
    departments = departments_for(stations)
    stamp = datetime.now(PARIS).strftime("%Y%m%d-%H%M%S")
    slug = f"repetition-{stamp}"
    from services.territory.service import load_territory

    async with db.session_scope() as session:
        await load_territory(session, ACTOR)
    progress("référentiel territorial chargé")
    # 1. The election: one round, today, open all day long (the rehearsal compresses the day).
    async with db.session_scope() as session:
        election = await elections.create_election(
            session,
            ACTOR,
            ElectionCreate(
                slug=slug,
                name=f"Répétition générale du {today:%d/%m/%Y}",
                contribution_min_cents=100,
                contribution_covers_both_rounds=True,
                list_extraction_date=today - timedelta(days=60),
                majority_date=today,
                supplementary_deadline=today - timedelta(days=30),
                rounds=[RoundSpec(number=1, polling_date=today, opens_at=time(0, 0), closes_at=time(23, 59))],
            ),
        )
        ids = []
        for given, family, party in CANDIDATES:
            candidate = await elections.add_candidate(
                session, ACTOR, election, CandidateCreate(given_name=given, family_name=family, party=party)
            )
            await elections.set_candidate_status(session, AUTHORITY_ACTOR, candidate, CandidateStatus.VALIDATED)
            ids.append(candidate.id)
        round_1 = await elections.round_by_number(session, election.id, 1)
        await elections.set_ballot(session, ACTOR, round_1, ids)
        election_id, round_id = election.id, round_1.id
    # 2. The lists: synthetic REU extracts of the departments, imported as the registry does —
    # unless this installation's copy of the lists already belongs to an election (a rehearsal
    # against the organisers' own deployment, --url): then the rehearsal is an « exercise » of
    # polling day on that election's lists (polling's exercise elections), nothing imported.
    async with db.session_scope() as session:
        state = await session.get(RegistryState, 1)
        lists_election_id = state.election_id if state is not None else None
        if lists_election_id is not None and lists_election_id != election_id:
            election = await elections.get_election(session, election_id)
            await checkin.declare_exercise(session, ACTOR, election, await elections.get_election(session, lists_election_id))
            departments = list(
                await session.scalars(select(Voter.department_code).group_by(Voter.department_code).order_by(Voter.department_code))
            )[: len(departments)]
            progress(f"exercice sur les listes de l'élection n° {lists_election_id} : départements {', '.join(departments)}")
    options = GeneratorOptions(
        departments=tuple(departments),
        voters=voters,
        seed=seed,
        extracted_at=datetime.combine(today - timedelta(days=60), time(10, 0), tzinfo=PARIS),
        bureau_size=max(60, min(1000, voters // max(1, stations))),
        malformed_share=0.0,
    )
    imported = 0
    batch: list = []

    async def flush_batch() -> None:
        nonlocal imported
        if not batch:
            return
        async with db.session_scope() as session:
            election = await elections.get_election(session, election_id)
            for generated in batch:
                report = await import_commune_file(
                    session, ACTOR, election, bytes_file(generated.name, generated.data), today=today - timedelta(days=59)
                )
                imported += report.voters
        batch.clear()
        progress(f"listes électorales : {imported:,} électeurs importés".replace(",", "\u202f"))

    if lists_election_id is None or lists_election_id == election_id:
        for generated in generate(options):
            batch.append(generated)
            if len(batch) >= 50:
                await flush_batch()
        await flush_batch()
    else:
        async with db.session_scope() as session:
            imported = int(await session.scalar(select(func.count()).select_from(Voter).where(Voter.department_code.in_(departments))) or 0)
    # 3. Stations: the bureaux of each department grouped into stations of similar size.
    async with db.session_scope() as session:
        counts = await registry.bureau_counts(session)
    by_department: dict[str, list] = defaultdict(list)
    for count in counts:
        if count.total > 0 and count.department_code in departments:
            by_department[count.department_code].append(count)
    total_registered = sum(c.total for c in counts)
    specs: list[polling.StationSpec] = []
    remaining = stations
    for index, department in enumerate(sorted(by_department)):
        bureaux = sorted(by_department[department], key=lambda c: (c.canton_code or "", c.commune_code, c.bureau_code))
        registered = sum(c.total for c in bureaux)
        left = len(by_department) - index - 1
        wanted = remaining - left if left == 0 else max(1, round(stations * registered / max(1, total_registered)))
        wanted = max(1, min(wanted, len(bureaux), remaining - left))
        remaining -= wanted
        target = registered / wanted
        groups: list[list] = [[]]
        running = 0.0
        for position, bureau in enumerate(bureaux):
            must_leave = wanted - len(groups)  # groups still to open after this one
            if groups[-1] and running >= target * len(groups) and len(bureaux) - position > must_leave - 1 and must_leave > 0:
                groups.append([])
            groups[-1].append(bureau)
            running += bureau.total
        while len(groups) < wanted:  # not enough bureaux to split evenly: split the largest groups
            largest = max((g for g in groups if len(g) > 1), key=len, default=None)
            if largest is None:
                break
            half = len(largest) // 2
            groups.append(largest[half:])
            del largest[half:]
        for number, group in enumerate(groups, start=1):
            main = max({b.commune_code for b in group}, key=lambda c: sum(b.total for b in group if b.commune_code == c))
            name = next(b.commune_name for b in group if b.commune_code == main)
            specs.append(
                polling.StationSpec(
                    department_code=department,
                    canton_code=group[0].canton_code or "",
                    commune_code=main,
                    plan_key=f"{department}-R{number:04d}",
                    name=f"{name} — bureau de répétition {number}",
                    bureaux=[(b.commune_code, b.bureau_code, b.total) for b in group],
                    address="Salle de répétition",
                )
            )
    progress(f"{len(specs)} bureaux de vote à créer")
    channels = channel_mix(len(specs), rng)
    plans: list[StationPlan] = []
    with cheap_password_hashes():
        for first in range(0, len(specs), 200):
            async with db.session_scope() as session:
                election = await elections.get_election(session, election_id)
                created = await polling.create_stations(session, ACTOR, election, specs[first : first + 200])
                for offset, station in enumerate(created):
                    index = first + offset
                    president_phone, assessor_phone = fake_phone(1, index), fake_phone(2, index)
                    president = await auth_service.create_account(
                        session,
                        ACTOR,
                        auth_service.AccountSpec(
                            username=f"rep-president-{station.code}", display_name=f"Présidence {station.code}",
                            password=secrets.token_urlsafe(36), role=Role.PRESIDENT, station_code=station.code,
                        ),
                    )  # fmt: skip
                    _token, president_token = await auth_service.create_api_token(session, ACTOR, president, "répétition")
                    await polling.add_staff(
                        session, ACTOR, station, role=StaffRole.PRESIDENT, name=f"Présidence {index}", phone=president_phone,
                        account_id=president.id,
                    )  # fmt: skip
                    assessor_token = None
                    assessor_id = None
                    if channels[index] == "tablet":
                        assessor = await auth_service.create_account(
                            session,
                            ACTOR,
                            auth_service.AccountSpec(
                                username=f"rep-assesseur-{station.code}", display_name=f"Assesseur {station.code}",
                                password=secrets.token_urlsafe(36), role=Role.ASSESSOR, station_code=station.code,
                            ),
                        )  # fmt: skip
                        _token, assessor_token = await auth_service.create_api_token(session, ACTOR, assessor, "répétition")
                        assessor_id = assessor.id
                    await polling.add_staff(
                        session, ACTOR, station, role=StaffRole.ASSESSOR, name=f"Assesseur {index}", phone=assessor_phone,
                        account_id=assessor_id,
                    )  # fmt: skip
                    pin = await polling.issue_pin(session, ACTOR, station)
                    await polling.mark_ready(session, ACTOR, station)
                    plans.append(
                        StationPlan(
                            code=station.code, department=station.department_code, name=station.name,
                            registered=station.registered, pin=pin, president_phone=president_phone,
                            assessor_phone=assessor_phone, president_token=president_token, assessor_token=assessor_token,
                            open_via="sms" if rng.random() < 0.3 else "tablet", results_via=channels[index],
                            sends_turnout=rng.random() < 0.5,
                        )
                    )  # fmt: skip
            progress(f"bureaux créés : {len(plans)}/{len(specs)}")
        # 4. The national and departmental accounts, with API tokens.
        async with db.session_scope() as session:
            tokens: dict[str, str] = {}
            for username, role in (("rep-organisation", Role.ORGANISER), ("rep-haute-autorite", Role.AUTHORITY)):
                account = await auth_service.create_account(
                    session, ACTOR,
                    auth_service.AccountSpec(username=f"{username}-{stamp}", display_name=username, password=secrets.token_urlsafe(36), role=role),
                )  # fmt: skip
                _token, tokens[username] = await auth_service.create_api_token(session, ACTOR, account, "répétition")
            commission_tokens: dict[str, list[str]] = {}
            for department in sorted({p.department for p in plans}):
                for member in (1, 2):
                    account = await auth_service.create_account(
                        session, ACTOR,
                        auth_service.AccountSpec(
                            username=f"rep-commission-{department.lower()}-{member}-{stamp}", display_name=f"Commission {department} ({member})",
                            password=secrets.token_urlsafe(36), role=Role.COMMISSION, department_code=department,
                        ),
                    )  # fmt: skip
                    _token, raw = await auth_service.create_api_token(session, ACTOR, account, "répétition")
                    commission_tokens.setdefault(department, []).append(raw)
            # Polls open (the organisers' act on the morning of the day).
            round_1 = await elections.get_round(session, round_id)
            await elections.change_phase(session, ACTOR, round_1, Phase.POLLS_OPEN)
    # 5. Who will come: adults of each station's bureaux, at the turnout asked for.
    adult_before = today.year - 19
    by_code = {p.code: p for p in plans}
    async with db.session_scope() as session:
        from polling.models import Station

        rows = await session.execute(
            select(Voter.id, Voter.department_code, Station.code)
            .join(
                StationBureau,
                and_(
                    StationBureau.election_id == election_id,
                    StationBureau.department_code == Voter.department_code,
                    StationBureau.commune_code == Voter.commune_code,
                    StationBureau.bureau_code == Voter.bureau_code,
                ),
            )
            .join(Station, Station.id == StationBureau.station_id)
            .where(Voter.birth_year <= adult_before)
        )
        amounts = [cents for cents, _w in CONTRIBUTIONS]
        weights = [w for _c, w in CONTRIBUTIONS]
        for voter_id, department, code in rows:
            if rng.random() < turnout:
                by_code[code].visits.append(
                    Visit(f"L-{department}-{voter_id}", rng.choices(amounts, weights)[0], rng.random() < 0.12)
                )
    for plan in plans:
        rng.shuffle(plan.visits)
    progress(f"{sum(len(p.visits) for p in plans):,} votants attendus".replace(",", "\u202f"))
    return Plan(
        election_id=election_id, slug=slug, round_id=round_id, round_number=1, candidates=[f"{g} {f}" for g, f, _p in CANDIDATES],
        departments=sorted({p.department for p in plans}), stations=plans, organiser_token=tokens["rep-organisation"],
        authority_token=tokens["rep-haute-autorite"], commission_tokens=commission_tokens, voters_on_lists=imported,
        seconds=clock.monotonic() - started,
    )  # fmt: skip


def polling_day(today: date | None = None) -> date:
    return today or datetime.now(PARIS).date()
