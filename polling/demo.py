"""Demo data of polling day.

Main demo election (the results step builds its results night on it): the stations of the
demo departments planned from the imported lists and applied, their teams (with phones),
PINs, round 1 open with every station open, and check-ins spread over the day with a
realistic time profile (so the turnout curve and the dashboards have data); one station per
department reports by SMS only (« PART »). Its station codes go to `context.station_codes`.

A separate small « Exercice de formation des bureaux de vote » (same candidates, round 1
open today, on the main election's lists) with one training station per demo department,
their president accounts and fresh tablet pairing codes printed in the demo notes: a
newcomer pairs a tablet, opens the station, searches a voter, checks them in and sees the
counters move.
"""

from __future__ import annotations

import random
import time as clock
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from polling import checkin, codes, plans, service
from polling.checkin import RecordedCheckin
from polling.models import Channel, Payment, Station, StationBureau, StaffRole
from services.auth import service as auth_service
from services.auth.roles import Role
from services.demo import DEMO_ACTOR, DEMO_AUTHORITY, DEMO_PASSWORD, DemoAccount, DemoContext
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election, Phase
from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
from services.events import Actor
from services.telephony.phone import phone_actor
from voter_registry.models import Voter
from voter_registry.reu import format_birth_date

EXERCISE_SLUG = "exercice-formation-bureaux"
EXERCISE_NAME = "Exercice de formation des bureaux de vote"
TURNOUT = 0.09  # share of registered voters checked in over the day (2011: ≈ 6 %, 2016: ≈ 9 %)
# Share of the day's voters per hour from 9h (a primary's usual shape: a morning peak after
# mass, a lull at lunch, a second wave in the afternoon).
HOURLY_PROFILE = (0.08, 0.12, 0.14, 0.10, 0.07, 0.09, 0.11, 0.11, 0.10, 0.08)
SMS_ACTOR_ROLE = "president"


def _fake_phone(number: int) -> str:
    """A number of the range the numbering plan reserves for fiction (01 99 00 xx xx): never a real phone."""
    return f"+3319900{number % 10_000:04d}"


def _given_name(index: int) -> str:
    names = ("Claire", "Karim", "Sylvie", "Hugo", "Aïcha", "Olivier", "Nathalie", "Mehdi", "Isabelle", "Thomas", "Fatou", "Lucas")
    families = ("Martin", "Bernard", "Haddad", "Petit", "Nguyen", "Durand", "Lefebvre", "Moreau", "Diallo", "Laurent")
    return f"{names[index % len(names)]} {families[(index * 7) % len(families)]}"


async def seed_polling(session: AsyncSession, context: DemoContext) -> None:
    started = clock.monotonic()
    election = context.election
    rng = random.Random(2027)
    # 1. Stations of the demo departments, planned from the lists and applied.
    stations: list[Station] = []
    for department in context.departments:
        try:
            view = await plans.draft_plan(session, DEMO_ACTOR, election, department=department)
        except Exception:  # noqa: BLE001 - a department without lists in the demo: no station
            continue
        stations += await plans.apply_draft(session, DEMO_ACTOR, election, view.draft.id)
    if not stations:
        context.notes.append("Bureaux de vote : aucune liste électorale importée, pas de bureau de démonstration.")
        return
    # 2. Teams, PINs, addresses; round 1 open, every station open.
    for index, station in enumerate(stations):
        await service.update_station(session, DEMO_ACTOR, station, address=f"Salle polyvalente, {station.name}")
        await service.add_staff(session, DEMO_ACTOR, station, role=StaffRole.PRESIDENT, name=_given_name(index), phone=_fake_phone(1000 + index * 2))
        await service.add_staff(session, DEMO_ACTOR, station, role=StaffRole.ASSESSOR, name=_given_name(index + 5), phone=_fake_phone(1001 + index * 2))
        await service.issue_pin(session, DEMO_ACTOR, station)
        await service.mark_ready(session, DEMO_ACTOR, station)
    round_1 = await elections.round_by_number(session, election.id, 1)
    if round_1.phase == Phase.SETUP.value:
        await elections.change_phase(session, DEMO_ACTOR, round_1, Phase.POLLS_OPEN)
    sms_only = {next(s.id for s in stations if s.department_code == department) for department in {s.department_code for s in stations}}
    total = 0
    for station in stations:
        zone = service.station_zone(station)
        day, opens, closes = service.station_hours(station, round_1)
        opening = datetime.combine(day, opens, tzinfo=zone)
        staff = await service.staff_of(session, station.id)
        president = phone_actor(staff[0].phone or "", role=SMS_ACTOR_ROLE, scope=station.code)
        row = await service.open_station(session, president if station.id in sms_only else DEMO_ACTOR, station, round_1,
                                         via="sms" if station.id in sms_only else "tablet")
        # Demo data: the station opened a few minutes around the round's opening time.
        row.opened_at = opening + timedelta(minutes=rng.randint(-12, 9))
        now_local = datetime.now(zone)
        end = min(datetime.combine(day, closes, tzinfo=zone), now_local) if day >= now_local.date() else datetime.combine(day, closes, tzinfo=zone)
        if end <= opening:
            continue
        if station.id in sms_only:
            voters = round(station.registered * TURNOUT)
            for hour in (12, 17):
                at = datetime.combine(day, time(hour), tzinfo=zone)
                if at <= end:
                    share = sum(HOURLY_PROFILE[: hour - 9])
                    await service.record_turnout(session, president, station, round_1, time(hour), round(voters * share), via="sms")
            continue
        total += await _checkins(session, rng, election, station, round_1, opening, end)
    context.station_codes[:] = [station.code for station in stations]
    seconds = clock.monotonic() - started
    context.notes.append(
        f"Bureaux de vote : {len(stations)} bureaux (75, 33, 2A, 971) planifiés depuis les listes, ouverts ; {total} émargements "
        f"répartis sur la journée du tour 1 (en {seconds:.0f} s) → tableau de bord /bureaux/tableau-de-bord (compte "
        "organisation), bureaux d'un département /departements/33/bureaux (compte commission-33), « Où voter ? » → /ou-voter."
    )
    await _exercise(session, context, election)


async def _checkins(
    session: AsyncSession, rng: random.Random, election: Election, station: Station, round_1, opening: datetime, end: datetime  # noqa: ANN001
) -> int:
    """About TURNOUT of the station's adult voters, at times drawn from the hourly profile (up to `end`)."""
    pairs = [
        (b.commune_code, b.bureau_code)
        for b in await session.scalars(select(StationBureau).where(StationBureau.station_id == station.id))
    ]
    adult_before = (election.majority_date or date.today()).year - 19
    voters = list(
        await session.scalars(
            select(Voter).where(
                Voter.department_code == station.department_code,
                tuple_(Voter.commune_code, Voter.bureau_code).in_(pairs),
                Voter.birth_year <= adult_before,
            )
        )
    )
    rng.shuffle(voters)
    chosen = voters[: round(len(voters) * TURNOUT)]
    entries = []
    for voter in chosen:
        hour = rng.choices(range(10), weights=HOURLY_PROFILE)[0]
        at = opening.replace(minute=0) + timedelta(hours=hour, seconds=rng.randint(0, 3599))
        if at >= end or at < opening:
            continue
        cents = rng.choices((100, 200, 500, 1000), weights=(70, 18, 9, 3))[0]
        payment = Payment.CHEQUE if rng.random() < 0.12 else Payment.CASH
        name = voter.birth_name + (f" (usage : {voter.usage_name})" if voter.usage_name else "") + f" {voter.given_names}"
        entries.append(
            RecordedCheckin(
                identity=bytes(voter.identity_hash),
                display={"nom": name, "naissance": format_birth_date(voter.birth_year, voter.birth_month, voter.birth_day),
                         "commune": voter.commune_code, "bureau": voter.bureau_code, "ordre": voter.order_number},
                checked_in_at=at,
                contribution_cents=cents,
                payment=payment,
                channel=Channel.PAPER if rng.random() < 0.03 else Channel.TABLET,
            )
        )
    actor = Actor(id=f"tablet:demo-{station.code}", role=Role.TABLET.value, scope=station.code)
    return await checkin.load_checkins(session, actor, station, round_1, entries)


async def _exercise(session: AsyncSession, context: DemoContext, main: Election) -> None:
    """The training election: one station per demo department, its president, a pairing code."""
    today = datetime.now(service.PARIS).date()
    exercise = await elections.create_election(
        session,
        DEMO_ACTOR,
        ElectionCreate(
            slug=EXERCISE_SLUG,
            name=EXERCISE_NAME,
            contribution_min_cents=main.contribution_min_cents,
            contribution_covers_both_rounds=main.contribution_covers_both_rounds,
            charter_text=main.charter_text,
            list_extraction_date=main.list_extraction_date,
            majority_date=main.majority_date,
            supplementary_deadline=main.supplementary_deadline,
            rounds=[RoundSpec(number=1, polling_date=today, opens_at=time(0, 0), closes_at=time(23, 59))],
        ),
    )
    await checkin.declare_exercise(session, DEMO_ACTOR, exercise, main)
    candidates = []
    for candidate in await elections.candidates_of(session, main.id):
        copy = await elections.add_candidate(
            session, DEMO_ACTOR, exercise, CandidateCreate(given_name=candidate.given_name, family_name=candidate.family_name, party=candidate.party)
        )
        await elections.set_candidate_status(session, DEMO_AUTHORITY, copy, CandidateStatus.VALIDATED)
        candidates.append(copy)
    round_1 = await elections.round_by_number(session, exercise.id, 1)
    await elections.set_ballot(session, DEMO_ACTOR, round_1, [c.id for c in candidates])
    await elections.change_phase(session, DEMO_ACTOR, round_1, Phase.POLLS_OPEN)
    main_stations = await service.stations_of(session, main.id)
    specs = []
    for department in context.departments:
        bureaux = [
            (b.commune_code, b.bureau_code, b.registered)
            for s in main_stations
            if s.department_code == department
            for b in await service.station_bureaux(session, s.id)
        ]
        if not bureaux:
            continue
        main_commune = max({c for c, _b, _r in bureaux}, key=lambda c: sum(r for cc, _b, r in bureaux if cc == c))
        specs.append(
            service.StationSpec(
                department_code=department,
                canton_code=next(s.canton_code for s in main_stations if s.department_code == department),
                commune_code=main_commune,
                plan_key=f"{department}-F01",
                name=f"Bureau de formation — {department}",
                bureaux=bureaux,
                address="Salle de formation de la commission départementale",
            )
        )
    training = await service.create_stations(session, DEMO_ACTOR, exercise, specs)
    lines = []
    for station in training:
        username = f"president-formation-{station.department_code.lower()}"
        account = await auth_service.create_account(
            session,
            DEMO_ACTOR,
            auth_service.AccountSpec(
                username=username, display_name=f"Président(e) du bureau de formation {station.department_code}",
                password=DEMO_PASSWORD, role=Role.PRESIDENT, station_code=station.code,
            ),
        )
        await service.add_staff(
            session, DEMO_ACTOR, station, role=StaffRole.PRESIDENT, name=f"Formation {station.department_code}",
            phone=_fake_phone(9000 + int(codes.sequence_of(station.code)) % 1000), account_id=account.id,
        )
        pin = await service.issue_pin(session, DEMO_ACTOR, station)
        _pairing, pairing_code = await auth_service.issue_pairing_code(session, DEMO_ACTOR, station.code)
        await service.mark_ready(session, DEMO_ACTOR, station)
        context.accounts.append(DemoAccount(username, Role.PRESIDENT, station.code, "formation"))
        lines.append(f"{station.department_code} : bureau {station.code}, appairage {pairing_code}, PIN {pin}, compte {username}")
    context.notes.append(
        f"{EXERCISE_NAME} (tour 1 ouvert aujourd'hui) : appairez une tablette sur /tablette/appairer avec un des codes, "
        "touchez « Ouvrir le bureau », cherchez un électeur (ex. « martin »), faites signer la charte, émargez : "
        + " ; ".join(lines) + "."
    )
