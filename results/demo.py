"""Demo data of results night: round 1 of the main demo election, polls closed, results coming in.

Everything goes through the real services and the real telephony dispatcher (the SMS and the
phone call are handled exactly as Twilio's webhooks are, minus the HTTP signature), so every
fact is audited and sealed into the transparency log by the demo's last step; the public
pages then show the figures at that signed checkpoint.

What a newcomer sees, per department (stations from the polling demo, `context.station_codes`):

- 2A — fully validated: every station reported by SMS (+ « OK »), its paper PV keyed twice by
  two commission members, and the commission validated every PV;
- 33 — the paper PVs being keyed: one established and validated, one whose two entries
  disagree (a third entry settles it), one whose paper PV contradicts the SMS (both sets of
  figures in the commission's queue); one SMS still waiting for its « OK »; a few stations by
  tablet (entered by the president, countersigned by an assessor);
- 75 — SMS, a few tablets, one station by phone (voice server), one whose signatures exceed
  its check-ins (a flagged gap), one tablet entry waiting for the assessor (whose account is
  printed: sign in and countersign);
- 971 — voted the day before: SMS;
- in every department but 2A, a few stations have not reported yet (the dashboards list them
  with the staff's phones).
"""

from __future__ import annotations

import random
import re
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service as polling
from polling.models import Station
from results import service
from results.report import StationReport
from services.auth import service as auth_service
from services.auth.models import Account
from services.auth.principal import Principal
from services.auth.roles import Role
from services.demo import DEMO_ACTOR, DEMO_PASSWORD, DemoAccount, DemoContext
from services.elections import service as elections
from services.elections.models import Phase, Round
from services.events import Actor
from services.telephony import service as telephony

# The « T<tour> » and « OK » commands and the « resultats » voice flow register themselves on
# import (the application imports them in the composition root; the demo runs before it).
import results.sms  # noqa: E402, F401  isort: skip

SEED = 20270611
RESULTS_NUMBER = "+33644000000"  # the organisers' (fictional) results number the SMS are sent to
# Shares of the six demo candidates (by family name), tilted per department so that the map
# shows more than one leader and no one reaches an absolute majority: round 2 is needed.
BASE_SHARES = {"Laurent": 0.31, "Garnier": 0.25, "Benali": 0.18, "Moreau": 0.12, "Lefèvre": 0.08, "Girard": 0.06}
DEPARTMENT_TILT = {
    "75": {"Laurent": 0.05, "Garnier": -0.04, "Benali": 0.03},
    "33": {"Laurent": -0.05, "Garnier": 0.07},
    "2A": {"Garnier": 0.03, "Benali": -0.05, "Moreau": 0.04},
    "971": {"Laurent": -0.08, "Garnier": -0.06, "Benali": 0.16},
}
NOT_YET_REPORTED_SHARE = 0.12
TABLET_SHARE = 0.15


def _figures(rng: random.Random, department: str, signatures: int, contributions_cents: int, names: list[str]) -> StationReport:
    """A plausible PV: blank and null around 1 %, the rest split by the department's shares
    (with noise); ballots equal signatures, so no gap is flagged."""
    blank = round(signatures * rng.uniform(0.004, 0.015))
    null = round(signatures * rng.uniform(0.002, 0.01))
    valid = signatures - blank - null
    tilt = DEPARTMENT_TILT.get(department, {})
    weights = [max(0.01, (BASE_SHARES.get(name, 0.05) + tilt.get(name, 0.0)) * rng.uniform(0.8, 1.2)) for name in names]
    total = sum(weights)
    votes = [int(valid * weight / total) for weight in weights]
    for index in rng.sample(range(len(names)), valid - sum(votes)):
        votes[index] += 1
    return StationReport(signatures, blank, null, tuple(votes), contributions_cents)


def _sms_text(round_number: int, station: Station, pin: str, report: StationReport) -> str:
    euros, cents = divmod(report.contributions_cents or 0, 100)
    votes = " ".join(str(v) for v in report.votes)
    return f"T{round_number} {station.code} {pin} V{report.signatures} B{report.blank} N{report.null} {votes} E{euros},{cents:02d}"


class _Night:
    """The demo's results night: who sends what, through which channel."""

    def __init__(self, session: AsyncSession, context: DemoContext, round_: Round) -> None:
        self.session = session
        self.context = context
        self.round = round_
        self.rng = random.Random(SEED)
        self.pins: dict[str, str] = {}
        self.sms_count = 0
        self.commission_members: dict[str, list[tuple[int, Actor]]] = {}

    async def _sms(self, phone: str, body: str) -> str:
        self.sms_count += 1
        return await telephony.receive_sms(
            self.session, sid=f"SMdemo{secrets.token_hex(13)}", from_number=phone, to_number=RESULTS_NUMBER, body=body
        )

    async def pin_of(self, station: Station) -> str:
        # The polling demo printed no PIN: each reporting station gets a fresh one (audited).
        if station.code not in self.pins:
            self.pins[station.code] = await polling.issue_pin(self.session, DEMO_ACTOR, station)
        return self.pins[station.code]

    async def president_phone(self, station: Station) -> str:
        staff = await polling.staff_of(self.session, station.id)
        phone = next((member.phone for member in staff if member.role == "president" and member.phone), None)
        if phone is None:
            raise RuntimeError(f"Démonstration : le bureau {station.code} n'a pas de président avec un téléphone.")
        return phone

    async def by_sms(self, station: Station, report: StationReport, *, confirm: bool = True) -> None:
        phone = await self.president_phone(station)
        reply = await self._sms(phone, _sms_text(self.round.number, station, await self.pin_of(station), report))
        code = re.search(r"OK ([A-Z0-9]{4})", reply)
        if code is None:
            raise RuntimeError(f"Démonstration : SMS de résultats du bureau {station.code} refusé : {reply}")
        if confirm:
            answer = await self._sms(phone, f"OK {code.group(1)}")
            if "enregistrés" not in answer:
                raise RuntimeError(f"Démonstration : confirmation du bureau {station.code} refusée : {answer}")

    async def by_phone(self, station: Station, report: StationReport) -> None:
        """One call to the voice server, keyed as a president would (station, PIN, each figure, 1)."""
        phone = await self.president_phone(station)
        call_sid = f"CAdemo{secrets.token_hex(13)}"
        keys = [station.code, await self.pin_of(station), str(report.signatures), str(report.blank), str(report.null)]
        keys += [str(v) for v in report.votes] + [str((report.contributions_cents or 0) // 100), "1"]
        twiml = await telephony.voice_call_turn(self.session, call_sid=call_sid, from_number=phone, to_number=RESULTS_NUMBER, step=0, digits=None)
        step = 0
        menu = re.search(r"transmettre les résultats d'un bureau de vote, tapez (\d)", twiml)
        if menu:
            keys.insert(0, menu.group(1))
        for digits in keys:
            step += 1
            twiml = await telephony.voice_call_turn(
                self.session, call_sid=call_sid, from_number=phone, to_number=RESULTS_NUMBER, step=step, digits=digits
            )
        if "enregistrés" not in twiml:
            raise RuntimeError(f"Démonstration : appel du bureau {station.code} non abouti : {twiml[-400:]}")

    async def station_accounts(self, station: Station) -> tuple[Principal, Principal]:
        """A president and an assessor account for a tablet station (password of the demo)."""
        principals = []
        for role, label in ((Role.PRESIDENT, "president"), (Role.ASSESSOR, "assesseur")):
            username = f"{label}-{station.code}"
            account = await auth_service.create_account(
                self.session,
                DEMO_ACTOR,
                auth_service.AccountSpec(
                    username=username, display_name=f"{role.label} du bureau {station.code}", password=DEMO_PASSWORD,
                    role=role, station_code=station.code,
                ),
            )  # fmt: skip
            self.context.accounts.append(DemoAccount(username, role, station.code, "résultats"))
            principals.append(Principal(role, account.display_name, account_id=account.id, station_code=station.code))
        return principals[0], principals[1]

    async def by_tablet(self, station: Station, report: StationReport, *, countersign: bool = True) -> tuple[Principal, Principal]:
        president, assessor = await self.station_accounts(station)
        received = await service.enter_tablet_report(
            self.session, president.actor, station, self.round, report, account_id=president.account_id, pin=None
        )
        if countersign:
            await service.countersign_tablet_report(
                self.session, assessor.actor, station, self.round, received.report.id, assessor_account_id=assessor.account_id or 0
            )
        return president, assessor

    async def members(self, department: str) -> list[tuple[int, Actor]]:
        """Two commission members of the department: the demo's account and a second one."""
        if department not in self.commission_members:
            found = []
            for username in (f"commission-{department.lower()}", f"commission-{department.lower()}-saisie"):
                account = await self.session.scalar(select(Account).where(Account.username == username))
                if account is None:
                    account = await auth_service.create_account(
                        self.session,
                        DEMO_ACTOR,
                        auth_service.AccountSpec(
                            username=username, display_name=f"Commission départementale {department} (2e saisie)",
                            password=DEMO_PASSWORD, role=Role.COMMISSION, department_code=department,
                        ),
                    )  # fmt: skip
                    self.context.accounts.append(DemoAccount(username, Role.COMMISSION, department, "2e saisie des PV"))
                principal = Principal(Role.COMMISSION, account.display_name, account_id=account.id, department_code=department)
                found.append((account.id, principal.actor))
            self.commission_members[department] = found
        return self.commission_members[department]

    async def paper(self, station: Station, first: StationReport, second: StationReport | None = None) -> int | None:
        """The station's paper PV keyed by the two members; returns the established PV's id."""
        (first_id, first_actor), (second_id, second_actor) = await self.members(station.department_code)
        await service.key_paper_entry(self.session, first_actor, station, self.round, first, account_id=first_id)
        outcome = await service.key_paper_entry(
            self.session, second_actor, station, self.round, second or first, account_id=second_id
        )
        return outcome.established.id if outcome.established else None

    async def validate(self, station: Station, report_id: int, comment: str = "") -> None:
        member_id, actor = (await self.members(station.department_code))[0]
        await service.validate_station(self.session, actor, station, self.round, report_id, comment=comment, account_id=member_id)


def _typo(report: StationReport, delta: int) -> StationReport:
    """The same PV with `delta` votes moved from the leading candidate to the next one on the
    ballot (a typical misreading: the total stays consistent, only the split differs)."""
    votes = list(report.votes)
    leader = max(range(len(votes)), key=votes.__getitem__)
    moved = min(delta, votes[leader])
    votes[leader] -= moved
    votes[(leader + 1) % len(votes)] += moved
    return StationReport(report.signatures, report.blank, report.null, tuple(votes), report.contributions_cents)


async def seed_results(session: AsyncSession, context: DemoContext) -> None:
    if not context.station_codes:
        context.notes.append("Soirée électorale : aucun bureau de vote de démonstration, pas de résultats.")
        return
    election = context.election
    round_1 = await elections.round_by_number(session, election.id, 1)
    # 1. The close of polls: every station still open closes, the round leaves « polls open ».
    await polling.close_open_stations(session, DEMO_ACTOR, round_1)
    if round_1.phase == Phase.POLLS_OPEN.value:
        await elections.change_phase(session, DEMO_ACTOR, round_1, Phase.POLLS_CLOSED)
    rules = await service.round_rules(session, round_1)
    stations = list(
        await session.scalars(
            select(Station).where(Station.code.in_(context.station_codes)).order_by(Station.department_code, Station.plan_key)
        )
    )
    night = _Night(session, context, round_1)
    rng = night.rng
    by_department: dict[str, list[Station]] = {}
    for station in stations:
        by_department.setdefault(station.department_code, []).append(station)
    # The special cases go to the largest department but the fully validated one (33 in the demo).
    validated_department = "2A" if "2A" in by_department else None
    others = [department for department in by_department if department != validated_department]
    busy = max(others, key=lambda department: len(by_department[department])) if others else None

    def pv_of(station: Station, row) -> StationReport:  # noqa: ANN001 - a StationRound row
        counts = polling.counts_of(row)
        if counts.total:
            signatures, cents = counts.total, counts.contributions_cents
        else:  # the SMS-only station of the polling demo (paper lists, not keyed)
            signatures = max(20, round((station.registered or 400) * rng.uniform(0.07, 0.11)))
            cents = signatures * 100 + rng.randint(0, signatures) * 50
        return _figures(rng, station.department_code, signatures, cents, rules.family_names)

    shown: dict[str, Station] = {}
    reported = validated = pending = missing = 0
    for department, members in by_department.items():
        if department == validated_department:
            # Every station: SMS + OK, paper PV keyed twice, validated by the commission.
            for station in members:
                report = pv_of(station, await polling.station_round(session, station, round_1))
                await night.by_sms(station, report)
                established = await night.paper(station, report)
                assert established is not None
                await night.validate(station, established)
                reported += 1
                validated += 1
            continue
        missing_count = max(1, round(len(members) * NOT_YET_REPORTED_SHARE))
        tablet_count = round(len(members) * TABLET_SHARE)
        last_reporting = len(members) - missing_count - 1
        for index, station in enumerate(members):
            row = await polling.station_round(session, station, round_1)
            report = pv_of(station, row)
            has_checkins = polling.counts_of(row).total > 0
            if index > last_reporting:
                missing += 1
                continue
            if index == 1 and "phone" not in shown and (department == "75" or department == busy):
                await night.by_phone(station, report)
                shown["phone"] = station
                reported += 1
                continue
            if department == busy and index == last_reporting:
                await night.by_sms(station, report, confirm=False)  # the « OK » has not come yet
                shown["pending_sms"] = station
                pending += 1
                continue
            if department == busy and index == 2 and has_checkins:
                # The station's tablet entry waits for the assessor (a newcomer can countersign).
                _president, _assessor = await night.by_tablet(station, report, countersign=False)
                shown["waiting_tablet"] = station
                pending += 1
                continue
            if department == busy and index == 3 and has_checkins:
                # 25 signatures more than check-ins (paper signatures not keyed): a flagged gap.
                extra = 25
                report = StationReport(
                    report.signatures + extra, report.blank, report.null,
                    tuple(v + (extra if i == 0 else 0) for i, v in enumerate(report.votes)),
                    (report.contributions_cents or 0) + extra * 100,
                )  # fmt: skip
                await night.by_sms(station, report)
                shown["gap"] = station
                reported += 1
                continue
            if 4 <= index < 4 + tablet_count and has_checkins:
                await night.by_tablet(station, report)
                reported += 1
                continue
            await night.by_sms(station, report)
            reported += 1
            if department != busy:
                continue
            if "paper_validated" not in shown:  # paper PV agrees with the SMS: validated
                established = await night.paper(station, report)
                assert established is not None
                await night.validate(station, established)
                shown["paper_validated"] = station
                validated += 1
            elif "paper_queue" not in shown:  # the paper PV contradicts the SMS: both in the queue
                await night.paper(station, _typo(report, 10))
                shown["paper_queue"] = station
            elif "paper_disagree" not in shown:  # two members keyed different figures
                await night.paper(station, report, _typo(report, 3))
                shown["paper_disagree"] = station
    total = len(stations)
    code = {key: station.code for key, station in shown.items()}
    busy_lower = (busy or "").lower()
    context.notes.append(
        f"Soirée électorale (tour 1, scrutin clos) : {reported} bureaux sur {total} ont transmis ({night.sms_count} SMS "
        f"traités par le vrai aiguillage Twilio, tablettes contresignées, un appel au serveur vocal), {pending} en attente "
        f"de confirmation, {missing} pas encore transmis ; {validated} bureaux validés, dont tout le département "
        f"{validated_department}. Résultats publiés au point de contrôle signé du journal : /resultats/tour/1 (public : "
        f"carte, barres, départements, données ouvertes JSON/CSV/CDF), /resultats/tour/1/departements/{busy}."
    )
    context.notes.append(
        f"Commission : /departements/{busy}/resultats (compte commission-{busy_lower} ; 2e saisie des PV : "
        f"commission-{busy_lower}-saisie) — "
        + (f"PV papier contredisant le SMS au bureau {code['paper_queue']}, " if "paper_queue" in code else "")
        + (f"double saisie discordante au bureau {code['paper_disagree']}, " if "paper_disagree" in code else "")
        + (f"écart émargements / passages au bureau {code['gap']}, " if "gap" in code else "")
        + (f"SMS sans « OK » au bureau {code['pending_sms']}, " if "pending_sms" in code else "")
        + "bureaux non transmis avec les téléphones de l'équipe. Comité : /organisation/resultats (compte organisation) ; "
        "Haute Autorité : /haute-autorite/resultats (compte haute-autorite)."
    )
    extras = []
    if "phone" in code:
        extras.append(f"bureau {code['phone']} transmis par téléphone (serveur vocal)")
    if "waiting_tablet" in code:
        extras.append(
            f"saisie tablette du bureau {code['waiting_tablet']} en attente de l'assesseur : connectez-vous avec "
            f"assesseur-{code['waiting_tablet']} et confirmez sur /resultats/bureau"
        )
    if extras:
        context.notes.append("Soirée électorale, à essayer : " + " ; ".join(extras) + ".")
