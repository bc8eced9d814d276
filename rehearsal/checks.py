"""After the night: export the transparency log over HTTP, verify it with the independent
verifier (no database), and compare what was published with what the stations sent."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import audit.verifier as verifier
from rehearsal.day import Driver, SentReport


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Outcome:
    checks: list[Check] = field(default_factory=list)
    log_events: int = 0
    log_checkpoints: int = 0
    log_root: str = ""
    verify_seconds: float = 0.0
    published_nation: dict[str, Any] = field(default_factory=dict)
    published_departments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


def sums(reports: list[SentReport], candidates: int) -> dict[str, Any]:
    return {
        "signatures": sum(r.signatures for r in reports),
        "blank": sum(r.blank for r in reports),
        "null": sum(r.null for r in reports),
        "votes": [sum(r.votes[i] for r in reports) for i in range(candidates)],
        "contributions_cents": sum(r.euros for r in reports) * 100,
    }


def published_figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "signatures": row["signatures"],
        "blank": row["blank"],
        "null": row["null"],
        "votes": [entry["votes"] for entry in row["votes"]],
        "contributions_cents": row["contributions_cents"],
    }


async def export_log(driver: Driver, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    token = driver.plan.organiser_token
    for name, path in (
        (verifier.KEY_FILE, "/api/v1/audit/export/public-key.vkey"),
        (verifier.CHECKPOINTS_FILE, "/api/v1/audit/export/checkpoints.jsonl"),
    ):
        response = await driver.request(f"GET {path}", "GET", path, token=token)
        response.raise_for_status()
        (directory / name).write_bytes(response.content)
    # The events up to the latest checkpoint, streamed to the file.
    path = "/api/v1/audit/export/events.jsonl"
    started = time.perf_counter()
    async with driver.client.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as response:
        response.raise_for_status()
        with open(directory / verifier.EVENTS_FILE, "wb") as handle:
            async for chunk in response.aiter_bytes():
                handle.write(chunk)
    driver.metrics.time(f"GET {path}", time.perf_counter() - started)


async def wait_for_checkpoint(driver: Driver, timeout: float = 60.0) -> None:
    """The sequencer seals every second: wait until the log's tree covers every event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await driver.request("GET /api/v1/audit/status", "GET", "/api/v1/audit/status", token=driver.plan.organiser_token)
        if response.status_code == 200:
            status = response.json()
            pending = status.get("pending_events", status.get("unsealed", 0))
            if not pending:
                return
        await driver.client.get("/healthz")
        import asyncio

        await asyncio.sleep(1.0)


async def run_checks(driver: Driver, export_dir: Path, *, final: bool = True) -> Outcome:
    outcome = Outcome()
    plan, ledger = driver.plan, driver.ledger
    candidates = len(plan.candidates)
    # 1. Check-ins: the server's counters equal the acknowledged check-ins (none lost, none twice).
    response = await driver.request(
        "GET /api/v1/polling/turnout", "GET", "/api/v1/polling/turnout", token=plan.organiser_token, params={"election": str(plan.election_id)}
    )
    turnout = response.json()
    acked = sum(ledger.checkins.values())
    cents = sum(ledger.contributions.values())
    outcome.add(
        "émargements",
        turnout.get("checked_in") == acked and turnout.get("contributions_cents") == cents,
        f"serveur : {turnout.get('checked_in')} émargements, {turnout.get('contributions_cents')} c ; "
        f"acquittés à la répétition : {acked}, {cents} c",
    )
    # 2. Published results (final, after the proclamation) against the ledger of what was sent.
    number = plan.round_number
    kind = {"resultats": "definitifs"} if final else {}  # provisional figures when the round was not proclaimed
    nation = await driver.request("GET /resultats/…/nation.json", "GET", f"/resultats/tour/{number}/donnees/nation.json", params=kind)
    departments = await driver.request("GET /resultats/…/departements.json", "GET", f"/resultats/tour/{number}/donnees/departements.json", params=kind)
    if nation.status_code != 200 or departments.status_code != 200:
        outcome.add("publication", False, f"données ouvertes indisponibles : HTTP {nation.status_code} {nation.text[:300]}")
    else:
        nation_row = nation.json()["rows"][0]
        outcome.published_nation = nation_row
        outcome.published_departments = departments.json()["rows"]
        sent = list(ledger.reports.values())
        expected = sums(sent, candidates)
        got = published_figures(nation_row)
        outcome.add("total national", got == expected, f"publié : {got} ; envoyé par les bureaux : {expected}")
        mismatched = []
        for row in outcome.published_departments:
            expected_dep = sums([r for code, r in ledger.reports.items() if driver.by_code[code].department == row["code"]], candidates)
            if published_figures(row) != expected_dep:
                mismatched.append(f"{row['code']} : publié {published_figures(row)} ≠ envoyé {expected_dep}")
        outcome.add(
            "totaux départementaux",
            not mismatched and len(outcome.published_departments) == len(plan.departments),
            "; ".join(mismatched) or f"{len(outcome.published_departments)} départements égaux aux sommes des bureaux",
        )
        outcome.add(
            "signatures = émargements acquittés",
            expected["signatures"] == sum(ledger.checkins[c] for c in ledger.reports),
            f"{expected['signatures']} signatures dans les PV des bureaux ayant transmis",
        )
        outcome.add(
            "bureaux ayant transmis",
            nation_row["stations_reported"] == len(ledger.reports),
            f"publié : {nation_row['stations_reported']} ; acquittés : {len(ledger.reports)} sur {len(plan.stations)}",
        )
    # 3. The transparency log, exported over HTTP and verified without the database.
    await wait_for_checkpoint(driver)
    await export_log(driver, export_dir)
    try:
        report = verifier.verify_directory(export_dir)
    except verifier.Failure as failure:
        outcome.add("journal de transparence", False, f"vérification échouée : {failure}")
    else:
        outcome.log_events, outcome.log_checkpoints = report.events, report.checkpoints
        outcome.log_root, outcome.verify_seconds = report.root.hex(), report.seconds
        outcome.add(
            "journal de transparence",
            True,
            f"{report.events} événements, {report.checkpoints} points de contrôle signés, racine {report.root.hex()[:16]}… "
            f"vérifiés en {report.seconds:.1f} s par le vérificateur indépendant",
        )
    return outcome
