"""The day and the night, through the running server only: HTTP with API tokens, and signed
Twilio webhooks (the SDK's own signature over the configured public URL).

Every request is timed per endpoint. What the server acknowledged is written in the
rehearsal's own ledger (check-ins per station, the figures each station sent): at the end the
published totals must equal the ledger's sums — nothing lost, nothing counted twice — whatever
the faults injected on the way (duplicate and dropped webhook deliveries, slow clients, the
server killed in the middle of the results burst, PostgreSQL restarted).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from rehearsal.prepare import CANDIDATE_WEIGHTS, Plan, StationPlan, Visit
from services.telephony.testing import TwilioSimulator, new_sid, parse_messages, parse_voice

# Share of the day's voters per hour from 8h to 18h (morning peak, lull at lunch, second wave).
HOURLY_PROFILE = (0.08, 0.12, 0.14, 0.10, 0.07, 0.09, 0.11, 0.11, 0.10, 0.08)
DAY_SECONDS = 3600 * len(HOURLY_PROFILE)
FIRST_HOUR = 8
CONFIRMATION = re.compile(r"OK ([A-Z0-9]{4})")
REPORT_ID = re.compile(r'name="report_id" value="(\d+)"( checked)?')
RETRY_SECONDS = 120.0
PARIS = ZoneInfo("Europe/Paris")  # every rehearsal department is metropolitan


class Unanswered(Exception):
    """No definitive answer from the server after retrying for RETRY_SECONDS."""


@dataclass
class Faults:
    dup: bool = False
    drop: bool = False
    slow: bool = False
    kill: bool = False
    pg_restart: bool = False
    drop_share: float = 0.10
    dup_share: float = 0.10
    slow_share: float = 0.03

    @classmethod
    def parse(cls, text: str) -> Faults:
        names = {part.strip().lower().replace("_", "-") for part in text.split(",") if part.strip()}
        known = {"dup", "drop", "slow", "kill", "pg-restart"}
        unknown = names - known
        if unknown:
            raise ValueError(f"Pannes inconnues : {', '.join(sorted(unknown))} (connues : {', '.join(sorted(known))}).")
        return cls(dup="dup" in names, drop="drop" in names, slow="slow" in names, kill="kill" in names, pg_restart="pg-restart" in names)

    def names(self) -> list[str]:
        return [n for n, on in (("dup", self.dup), ("drop", self.drop), ("slow", self.slow), ("kill", self.kill), ("pg-restart", self.pg_restart)) if on]


@dataclass
class Metrics:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    retries: int = 0
    checkins_timeline: list[float] = field(default_factory=list)  # seconds since the start of the day, per acknowledged check-in
    phases: dict[str, float] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fault_events: list[str] = field(default_factory=list)
    floor_per_second: float | None = None
    checkins_real: list[float] = field(default_factory=list)  # real seconds since the day began, per acknowledged check-in
    day_started: float = 0.0

    def time(self, endpoint: str, seconds: float) -> None:
        self.latencies[endpoint].append(seconds)

    def error(self, endpoint: str, message: str) -> None:
        self.errors[endpoint] += 1
        if len(self.error_samples) < 40:
            self.error_samples.append(f"{endpoint} : {message[:300]}")


@dataclass
class SentReport:
    """The figures a station sent and the server acknowledged (the ledger of results)."""

    signatures: int
    blank: int
    null: int
    votes: list[int]
    euros: int


@dataclass
class Ledger:
    checkins: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    contributions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused_checkins: int = 0
    opened: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    turnout_sms: int = 0
    reports: dict[str, SentReport] = field(default_factory=dict)
    validated: set[str] = field(default_factory=set)


def flash_of(response: httpx.Response) -> tuple[str, str]:
    """(kind, message) of the post/redirect/get flash a form answered with."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("primaires_flash="):
            raw = header.split(";", 1)[0].split("=", 1)[1].strip('"')
            payload = unquote(raw.rsplit(".", 1)[0])
            try:
                data = json.loads(payload)
            except ValueError:
                return "error", payload
            return str(data.get("k", "ok")), str(data.get("m", ""))
    return ("ok", "") if response.status_code in (200, 201, 303) else ("error", response.text[:300])


class Driver:
    def __init__(
        self,
        plan: Plan,
        base_url: str,
        *,
        faults: Faults,
        concurrency: int,
        speedup: float,
        seed: int,
        on_kill: Callable[[], Awaitable[float]] | None = None,
        on_pg_restart: Callable[[], Awaitable[float]] | None = None,
        progress: Callable[[str, int, int], None] = lambda _p, _d, _t: None,
    ) -> None:
        self.plan = plan
        self.base_url = base_url
        self.faults = faults
        self.concurrency = concurrency
        self.speedup = speedup
        self.rng = random.Random(seed)
        self.metrics = Metrics()
        self.ledger = Ledger()
        self.on_kill = on_kill
        self.on_pg_restart = on_pg_restart
        self.progress = progress
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(60.0, connect=10.0),
            limits=httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8),
        )  # fmt: skip
        self.twilio = TwilioSimulator(self.client)
        self.limit = asyncio.Semaphore(concurrency)
        self.redeliveries: list[Callable[[], Awaitable[None]]] = []
        self.by_code = {s.code: s for s in plan.stations}

    async def close(self) -> None:
        await self.client.aclose()

    # --- transport ---------------------------------------------------------------------------------------

    async def request(self, endpoint: str, method: str, path: str, *, token: str | None = None, slow: bool = False, **kwargs: Any) -> httpx.Response:
        """One request, retried on connection failures (server killed, PostgreSQL restarting) and
        on 5xx until a definitive answer; the latency of the answered attempt is recorded."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + RETRY_SECONDS
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                if slow:
                    response = await self._slow_request(method, path, headers, kwargs)
                else:
                    response = await self.client.request(method, path, headers=headers, **kwargs)
            except (httpx.TransportError, httpx.TimeoutException) as error:
                if time.monotonic() > deadline:
                    self.metrics.error(endpoint, f"sans réponse : {error!r}")
                    raise Unanswered(endpoint) from error
                self.metrics.retries += 1
                await asyncio.sleep(min(2.0, 0.1 * attempt))
                continue
            if response.status_code >= 500 and time.monotonic() <= deadline:
                self.metrics.retries += 1
                self.metrics.error(endpoint, f"HTTP {response.status_code} (réessayé) : {response.text[:200]}")
                await asyncio.sleep(min(2.0, 0.1 * attempt))
                continue
            self.metrics.time(endpoint, time.perf_counter() - started)
            response.rehearsal_attempts = attempt  # type: ignore[attr-defined]
            return response

    async def _slow_request(self, method: str, path: str, headers: dict[str, str], kwargs: dict[str, Any]) -> httpx.Response:
        """A slow client (a tablet on a bad 3G link): the body trickles in over a second or two."""
        self.metrics.faults["slow"] += 1
        kwargs = dict(kwargs)  # the caller's arguments serve again if this attempt must be retried
        if "json" in kwargs:
            body = json.dumps(kwargs.pop("json")).encode()
            headers["content-type"] = "application/json"
        else:
            body = httpx.QueryParams(kwargs.pop("data", {})).__str__().encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        headers["content-length"] = str(len(body))

        async def trickle():  # noqa: ANN202
            for start in range(0, len(body), 16):
                yield body[start : start + 16]
                await asyncio.sleep(0.15)

        return await self.client.request(method, path, headers=headers, content=trickle(), **kwargs)

    async def webhook(self, endpoint: str, path: str, params: dict[str, str]) -> httpx.Response:
        """A Twilio delivery: duplicated or dropped-then-redelivered under the faults, as Twilio
        does (same MessageSid / CallSid, same parameters, same signature)."""
        signature_url = self.twilio.public_url(path)
        from services.telephony.testing import sign

        headers = {"X-Twilio-Signature": sign(signature_url, params)}
        if self.faults.drop and self.rng.random() < self.faults.drop_share:
            self.metrics.faults["drop"] += 1
            if self.rng.random() < 0.5:
                # Lost on the way in: the app never saw it; Twilio retries a little later.
                await asyncio.sleep(0.05)
            else:
                # Handled, but the answer was lost on the way back: Twilio retries the same sid.
                await self.request(endpoint, "POST", path, data=params, headers=headers)
        response = await self.request(endpoint, "POST", path, data=params, headers=headers)
        if self.faults.dup and self.rng.random() < self.faults.dup_share:
            self.metrics.faults["dup"] += 1
            again = await self.request(endpoint, "POST", path, data=params, headers=headers)
            if again.text != response.text:
                self.metrics.error(endpoint, f"doublon livré : réponse différente ({again.text[:120]!r} ≠ {response.text[:120]!r})")
        return response

    async def sms(self, body: str, phone: str) -> str:
        """One SMS; when the answer is « Erreur interne » (nothing was recorded), the volunteer
        sends it again a moment later — a new message, a new sid — up to five times."""
        for attempt in range(5):
            params = self.twilio.sms_params(body, from_number=phone)
            params["SmsSid"] = params["MessageSid"]
            response = await self.webhook("SMS (webhook Twilio)", "/twilio/sms", params)
            if response.status_code != 200:
                raise RuntimeError(f"SMS refusé (HTTP {response.status_code}) : {response.text[:200]}")
            reply = "\n".join(parse_messages(response.text))
            if not reply.startswith("Erreur interne"):
                return reply
            self.metrics.error("SMS (erreur interne, renvoyé)", f"{body.split()[0]} : {reply}")
            await asyncio.sleep(1.0 + attempt)
        return reply

    # --- the day -----------------------------------------------------------------------------------------

    async def open_stations(self) -> None:
        started = time.monotonic()
        done = 0

        async def one(station: StationPlan) -> None:
            nonlocal done
            async with self.limit:
                if station.open_via == "sms":
                    reply = await self.sms(f"OUV {station.code} {station.pin}", station.president_phone)
                    ok = " ouvert à " in reply
                    message = reply
                else:
                    response = await self.request("POST /bureau/ouverture", "POST", "/bureau/ouverture", token=station.president_token)
                    kind, message = flash_of(response)
                    ok = kind == "ok" and response.status_code == 303
                if ok:
                    self.ledger.opened.add(station.code)
                else:
                    self.metrics.error("ouverture", f"{station.code} : {message}")
                done += 1
                self.progress("ouvertures", done, len(self.plan.stations))

        await asyncio.gather(*(one(s) for s in self.plan.stations))
        self.metrics.phases["ouvertures"] = time.monotonic() - started

    def schedule(self) -> list[tuple[float, StationPlan, Visit]]:
        """Every visit at an instant of the day drawn from the hourly profile (seconds from 8h)."""
        entries = []
        hours = list(range(len(HOURLY_PROFILE)))
        for station in self.plan.stations:
            if station.code not in self.ledger.opened:
                continue
            for visit in station.visits:
                hour = self.rng.choices(hours, HOURLY_PROFILE)[0]
                entries.append((hour * 3600 + self.rng.random() * 3600, station, visit))
        entries.sort(key=lambda entry: entry[0])
        return entries

    async def checkin(self, station: StationPlan, visit: Visit, at: float) -> None:
        body = {
            "ref": visit.ref, "contribution_cents": visit.cents, "payment": "cheque" if visit.cheque else "cash",
            "charter_signed": True, "identity_checked": True,
        }  # fmt: skip
        slow = self.faults.slow and self.rng.random() < self.faults.slow_share
        duplicate = self.faults.dup and self.rng.random() < self.faults.dup_share / 2
        attempts = 2 if duplicate else 1
        acknowledged = False
        for attempt in range(attempts):
            try:
                response = await self.request(
                    "POST /api/v1/polling/checkins", "POST", "/api/v1/polling/checkins", token=station.president_token, json=body, slow=slow and attempt == 0
                )
            except Unanswered:
                return
            if response.status_code == 201:
                if acknowledged:
                    self.metrics.error("émargement", f"{visit.ref} émargé deux fois !")
                acknowledged = True
            elif (
                response.status_code == 409
                and response.json().get("code") == "already_checked_in"
                and (acknowledged or getattr(response, "rehearsal_attempts", 1) > 1)
            ):
                # A duplicate (the tablet sent it twice) or the retry of an attempt the server
                # committed before dying: the person is checked in once, the second is refused.
                if attempt:
                    self.metrics.faults["dup"] += 1
                if not acknowledged:
                    acknowledged = True
            else:
                self.ledger.refused_checkins += 1
                self.metrics.error("émargement", f"{visit.ref} : HTTP {response.status_code} {response.text[:200]}")
                return
        if acknowledged:
            self.ledger.checkins[station.code] += 1
            self.ledger.contributions[station.code] += visit.cents
            self.metrics.checkins_timeline.append(at)
            self.metrics.checkins_real.append(time.monotonic() - self.metrics.day_started)

    async def turnout_sms(self, station: StationPlan, hour: int) -> None:
        voters = self.ledger.checkins[station.code]
        # The server refuses a turnout « at an hour not yet come » by its own clock: the simulated
        # 12h and 17h are sent with the real local time of the sending (a minute ago).
        now = datetime.now(PARIS) - timedelta(minutes=1)
        try:
            reply = await self.sms(f"PART {station.code} {station.pin} {now.hour}h{now.minute:02d} {voters}", station.president_phone)
        except (Unanswered, RuntimeError) as error:
            self.metrics.error("participation SMS", str(error))
            return
        if " votants à " in reply and "enregistrés" in reply:
            self.ledger.turnout_sms += 1
        else:
            self.metrics.error("participation SMS", f"{station.code} : {reply}")

    async def polling_day(self) -> None:
        """Check-ins paced by the hourly profile compressed `speedup` times, with bounded
        concurrency; PART SMS at 12h and 17h from half of the stations."""
        entries = self.schedule()
        total = len(entries)
        started = time.monotonic()
        self.metrics.day_started = started
        pending: set[asyncio.Task] = set()
        done = 0
        turnout_marks = [((12 - FIRST_HOUR) * 3600, 12), ((17 - FIRST_HOUR) * 3600, 17)]

        async def run(station: StationPlan, visit: Visit, at: float) -> None:
            nonlocal done
            try:
                await self.checkin(station, visit, at)
            finally:
                done += 1
                self.limit.release()

        for at, station, visit in entries:
            while turnout_marks and at >= turnout_marks[0][0]:
                _mark, hour = turnout_marks.pop(0)
                for s in self.plan.stations:
                    if s.sends_turnout and s.code in self.ledger.opened:
                        sms_task = asyncio.create_task(self.turnout_sms(s, hour))
                        pending.add(sms_task)
                        sms_task.add_done_callback(pending.discard)
            if self.speedup > 0:
                delay = started + at / self.speedup - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.limit.acquire()
            task = asyncio.create_task(run(station, visit, at))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if done % 50 == 0:
                self.progress("émargements", done, total)
        while pending:
            await asyncio.gather(*list(pending))
            self.progress("émargements", done, total)
        self.metrics.phases["journée (émargements)"] = time.monotonic() - started

    async def close_stations(self) -> None:
        started = time.monotonic()

        async def one(station: StationPlan) -> None:
            async with self.limit:
                response = await self.request("POST /bureau/cloture", "POST", "/bureau/cloture", token=station.president_token)
                kind, message = flash_of(response)
                if kind == "ok":
                    self.ledger.closed.add(station.code)
                else:
                    self.metrics.error("clôture", f"{station.code} : {message}")

        await asyncio.gather(*(one(s) for s in self.plan.stations if s.code in self.ledger.opened))
        await self.phase("polls_closed")
        self.metrics.phases["clôture"] = time.monotonic() - started

    async def phase(self, to: str) -> None:
        response = await self.request(
            "POST /api/v1/rounds/{id}/phase", "POST", f"/api/v1/rounds/{self.plan.round_id}/phase", token=self.plan.organiser_token, json={"to": to}
        )
        if response.status_code != 200:
            raise RuntimeError(f"Changement de phase « {to} » refusé : {response.text[:400]}")

    # --- results night -----------------------------------------------------------------------------------

    def figures_for(self, station: StationPlan) -> SentReport:
        """What the count at the station found: every signature is a ballot; 1 % blank, 1 % null."""
        signatures = self.ledger.checkins[station.code]
        rng = random.Random(station.code)
        blank = sum(1 for _ in range(signatures) if rng.random() < 0.01)
        null = sum(1 for _ in range(signatures - blank) if rng.random() < 0.01)
        votes = [0] * len(self.plan.candidates)
        for _ in range(signatures - blank - null):
            votes[rng.choices(range(len(votes)), CANDIDATE_WEIGHTS[: len(votes)])[0]] += 1
        return SentReport(signatures, blank, null, votes, self.ledger.contributions[station.code] // 100)

    def form_of(self, report: SentReport) -> dict[str, str]:
        form = {"emargements": str(report.signatures), "blancs": str(report.blank), "nuls": str(report.null), "euros": str(report.euros)}
        form |= {f"voix_{position}": str(votes) for position, votes in enumerate(report.votes, start=1)}
        return form

    async def results_by_sms(self, station: StationPlan, report: SentReport) -> bool:
        votes = " ".join(str(v) for v in report.votes)
        body = f"T{self.plan.round_number} {station.code} {station.pin} V{report.signatures} B{report.blank} N{report.null} {votes} E{report.euros}"
        reply = await self.sms(body, station.president_phone)
        match = CONFIRMATION.search(reply)
        if match is None:
            self.metrics.error("résultats SMS", f"{station.code} : {reply}")
            return False
        confirmed = await self.sms(f"OK {match.group(1)}", station.president_phone)
        if not confirmed.startswith("Merci : résultats du bureau") and "déjà confirmés" not in confirmed:
            self.metrics.error("résultats SMS (OK)", f"{station.code} : {confirmed}")
            return False
        return True

    async def results_by_phone(self, station: StationPlan, report: SentReport) -> bool:
        """A call; when the server answers « Erreur interne » (nothing recorded) the volunteer
        calls again, up to three times."""
        for attempt in range(3):
            outcome = await self._call(station, report)
            if outcome is not None:
                return outcome
            await asyncio.sleep(1.0 + attempt)
        return False

    async def _call(self, station: StationPlan, report: SentReport) -> bool | None:
        call_sid = new_sid("CA")
        base = {"CallSid": call_sid, "AccountSid": "AC" + "0" * 32, "From": station.president_phone, "To": "+33757000000", "Direction": "inbound"}
        answer = parse_voice(await self.webhook("appel (webhook Twilio)", "/twilio/voice", {**base, "CallStatus": "ringing"}))
        keys = [station.code, station.pin, str(report.signatures), str(report.blank), str(report.null), *map(str, report.votes), str(report.euros), "1"]
        for digits in keys:
            if answer.action is None:
                self.metrics.error("résultats téléphone", f"{station.code} : appel terminé trop tôt : {answer.said[:200]}")
                return None if answer.said.startswith("Erreur interne") else False
            path = self.twilio.path_of(answer.action)
            answer = parse_voice(await self.webhook("touches (webhook Twilio)", path, {**base, "CallStatus": "in-progress", "Digits": digits}))
        if "suffrages exprimés" not in answer.said and "identiques à ceux déjà enregistrés" not in answer.said:
            self.metrics.error("résultats téléphone", f"{station.code} : {answer.said[:300]}")
            return None if answer.said.startswith("Erreur interne") else False
        return True

    async def results_by_tablet(self, station: StationPlan, report: SentReport) -> bool:
        response = await self.request("POST /resultats/bureau/saisie", "POST", "/resultats/bureau/saisie", token=station.president_token, data=self.form_of(report))
        kind, message = flash_of(response)
        if kind == "error":
            self.metrics.error("résultats tablette", f"{station.code} : {message}")
            return False
        page = await self.request("GET /resultats/bureau", "GET", "/resultats/bureau", token=station.assessor_token)
        found = REPORT_ID.search(page.text)
        if found is None:
            self.metrics.error("résultats tablette", f"{station.code} : aucune saisie à confirmer")
            return False
        response = await self.request(
            "POST /resultats/bureau/confirmation", "POST", "/resultats/bureau/confirmation", token=station.assessor_token, data={"report_id": found.group(1)}
        )
        kind, message = flash_of(response)
        if kind == "error":
            self.metrics.error("résultats tablette (confirmation)", f"{station.code} : {message}")
            return False
        return True

    async def results_on_paper(self, station: StationPlan, report: SentReport) -> bool:
        path = f"/departements/{station.department}/resultats/bureaux/{station.code}/saisie-papier"
        form = {**self.form_of(report), "tour": str(self.plan.round_number)}
        for member, token in enumerate(self.plan.commission_tokens[station.department][:2]):
            response = await self.request("POST …/saisie-papier", "POST", path, token=token, data=form)
            kind, message = flash_of(response)
            if kind == "error":
                self.metrics.error("PV papier", f"{station.code} (membre {member + 1}) : {message}")
                return False
        return True

    async def results_night(self) -> None:
        started = time.monotonic()
        stations = [s for s in self.plan.stations if s.code in self.ledger.closed]
        self.rng.shuffle(stations)
        total = len(stations)
        done = 0
        kill_at = total // 2 if self.faults.kill else -1
        restart_at = total // 3 if self.faults.pg_restart else -1
        channels = {"sms": self.results_by_sms, "phone": self.results_by_phone, "tablet": self.results_by_tablet, "paper": self.results_on_paper}

        async def one(index: int, station: StationPlan) -> None:
            nonlocal done
            async with self.limit:
                if index == kill_at and self.on_kill is not None:
                    asyncio.create_task(self._fault("kill", self.on_kill))
                if index == restart_at and self.on_pg_restart is not None:
                    asyncio.create_task(self._fault("pg-restart", self.on_pg_restart))
                report = self.figures_for(station)
                try:
                    if await channels[station.results_via](station, report):
                        self.ledger.reports[station.code] = report
                except (Unanswered, RuntimeError) as error:
                    self.metrics.error(f"résultats ({station.results_via})", f"{station.code} : {error}")
                done += 1
                self.progress("résultats", done, total)

        await asyncio.gather(*(one(i, s) for i, s in enumerate(stations)))
        await self.reconcile()
        self.metrics.phases["nuit des résultats"] = time.monotonic() - started

    async def reconcile(self) -> None:
        """Stations whose report got no clear answer (the server died under it, a countersign
        retried after its commit…) do what a volunteer does: look at the results page. When the
        station's provisional figures there are the ones sent, the report was acknowledged;
        otherwise it is sent once more by the same channel."""
        missing = [s for s in self.plan.stations if s.code in self.ledger.closed and s.code not in self.ledger.reports]
        if not missing:
            return
        await asyncio.sleep(3.0)  # the published figures stand at a signed checkpoint (sealed every second)
        path = f"/resultats/tour/{self.plan.round_number}/donnees/bureaux.json"
        response = await self.request("GET /resultats/…/bureaux.json", "GET", path)
        rows = {row["code"]: row for row in response.json().get("rows", [])} if response.status_code == 200 else {}
        channels = {"sms": self.results_by_sms, "phone": self.results_by_phone, "tablet": self.results_by_tablet, "paper": self.results_on_paper}
        for station in missing:
            sent = self.figures_for(station)
            row = rows.get(station.code)
            if row and row.get("stations_reported") and (
                row["signatures"], row["blank"], row["null"], [v["votes"] for v in row["votes"]], row["contributions_cents"]
            ) == (sent.signatures, sent.blank, sent.null, sent.votes, sent.euros * 100):
                self.ledger.reports[station.code] = sent
                self.metrics.faults["acquittés après vérification de la page des résultats"] += 1
                continue
            try:
                if await channels[station.results_via](station, sent):
                    self.ledger.reports[station.code] = sent
                    self.metrics.faults["renvoyés une seconde fois"] += 1
            except (Unanswered, RuntimeError) as error:
                self.metrics.error(f"résultats ({station.results_via})", f"{station.code} (second envoi) : {error}")

    async def _fault(self, name: str, action: Callable[[], Awaitable[float]]) -> None:
        seconds = await action()
        self.metrics.faults[name] += 1
        self.metrics.fault_events.append(f"{name} : service rétabli en {seconds:.1f} s")

    async def validate(self) -> None:
        """Each department's commission validates its stations (the counted report)."""
        started = time.monotonic()

        async def one(station: StationPlan) -> None:
            async with self.limit:
                token = self.plan.commission_tokens[station.department][0]
                base = f"/departements/{station.department}/resultats/bureaux/{station.code}"
                page = await self.request("GET …/resultats/bureaux/{code}", "GET", base, token=token, params={"tour": str(self.plan.round_number)})
                ids = REPORT_ID.findall(page.text)
                chosen = next((value for value, checked in ids if checked), ids[0][0] if ids else None)
                if chosen is None:
                    self.metrics.error("validation", f"{station.code} : aucun procès-verbal compté")
                    return
                response = await self.request(
                    "POST …/validation", "POST", base + "/validation", token=token,
                    data={"report_id": chosen, "tour": str(self.plan.round_number), "commentaire": "Répétition générale : PV transmis conforme aux chiffres du bureau."},
                )  # fmt: skip
                kind, message = flash_of(response)
                if kind == "error" and "déjà validés" not in message:
                    self.metrics.error("validation", f"{station.code} : {message}")
                else:
                    self.ledger.validated.add(station.code)

        await asyncio.gather(*(one(s) for s in self.plan.stations if s.code in self.ledger.reports))
        self.metrics.phases["validations"] = time.monotonic() - started

    async def not_opened(self) -> None:
        """Stations that never reported: the commission records a PV of « carence » so that the
        round can be validated (they appear in the report as not reported)."""
        for station in self.plan.stations:
            if station.code in self.ledger.reports:
                continue
            token = self.plan.commission_tokens[station.department][0]
            base = f"/departements/{station.department}/resultats/bureaux/{station.code}"
            response = await self.request(
                "POST …/carence", "POST", base + "/carence", token=token,
                data={"tour": str(self.plan.round_number), "commentaire": "Répétition : aucun résultat reçu du bureau."},
            )  # fmt: skip
            kind, message = flash_of(response)
            if kind == "error":
                self.metrics.error("carence", f"{station.code} : {message}")

    async def measure_floor(self, requests: int) -> float:
        """The floor of the same server, client and concurrency: a bare health check (one
        `SELECT 1`), in requests per second — what any check-in costs at the very least."""
        started = time.monotonic()

        async def one() -> None:
            async with self.limit:
                await self.request("GET /healthz (plancher)", "GET", "/healthz")

        await asyncio.gather(*(one() for _ in range(requests)))
        rate = requests / (time.monotonic() - started)
        self.metrics.phases["plancher (GET /healthz)"] = time.monotonic() - started
        self.metrics.floor_per_second = rate
        return rate

    async def phase_validation(self) -> None:
        await self.validate()
        await self.not_opened()

    async def proclaim(self) -> str:
        started = time.monotonic()
        await self.phase("results_validated")
        message = ""
        for _attempt in range(60):
            response = await self.request(
                "POST …/proclamation", "POST", f"/haute-autorite/resultats/tours/{self.plan.round_number}/proclamation", token=self.plan.authority_token
            )
            kind, message = flash_of(response)
            if kind == "ok":
                break
            await asyncio.sleep(1.0)
        else:
            raise RuntimeError(f"Proclamation refusée : {message}")
        self.metrics.phases["proclamation"] = time.monotonic() - started
        return message
