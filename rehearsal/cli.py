"""`primaires rehearse`: the national dress rehearsal (issue 8).

    primaires rehearse --stations 1000 --voters 300000 --speedup 600 --faults dup,drop,kill

1. Preparation, server-side (like the demo steps): an embedded PostgreSQL of its own in a
   temporary folder (or DATABASE_URL with --url), a synthetic election, its lists, stations,
   teams with phones and PINs, API tokens.
2. The day and the night through the running server only (`rehearsal.day`): it starts
   `primaires serve --workers N` on 127.0.0.1 unless --url names a server.
3. The log exported over HTTP and verified by the independent verifier; the published totals
   compared with what the stations sent; a report in JSON and HTML.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Répétition générale du jour du vote et de la nuit des résultats.", add_completion=False)
console = Console()


@dataclass
class RehearsalResult:
    ok: bool
    document: dict[str, Any]
    json_path: Path
    html_path: Path
    checks: list[Any] = field(default_factory=list)


def run_rehearsal(
    *,
    stations: int,
    voters: int,
    speedup: float = 600.0,
    faults: str = "",
    url: str | None = None,
    workers: int = 2,
    concurrency: int = 24,
    turnout: float = 0.09,
    seed: int = 2027,
    output: Path = Path("repetition"),
    keep: bool = False,
    quiet: bool = False,
    floor_requests: int = 0,
) -> RehearsalResult:
    from rehearsal import checks, report
    from rehearsal.day import Driver, Faults, Unanswered
    from rehearsal.prepare import prepare
    from rehearsal.report import french_int
    from rehearsal.server import free_port, new_secret, server_for, start_database
    from services import db
    from services.settings import settings

    fault_plan = Faults.parse(faults)
    if url and (fault_plan.kill or fault_plan.pg_restart):
        raise ValueError("Les pannes « kill » et « pg-restart » exigent le serveur de la répétition (sans --url).")
    out = console if not quiet else Console(quiet=True)
    timings: dict[str, float] = {}
    data_dir = Path(tempfile.mkdtemp(prefix="rep-", dir="/tmp"))
    database = server = None
    started = time.monotonic()
    try:
        if url:
            from services.cli import database_url

            import os

            from services.settings import configure

            database_url()
            base_url = url.rstrip("/")
            # Webhooks are signed over the server's public URL: the one it is configured with.
            configure(**(settings().model_dump() | {"public_url": os.environ.get("PRIMAIRES_PUBLIC_URL", base_url)}))
        else:
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            with out.status("Base de données de la répétition (PostgreSQL embarqué, migrations)…"):
                database = start_database(data_dir, public_url=base_url, secret_key=new_secret())
        timings["base de données"] = time.monotonic() - started

        async def main() -> RehearsalResult:
            nonlocal server
            db.init_database(settings().database_url, pool_size=4)
            try:
                step = time.monotonic()
                with out.status("Préparation de l'élection de synthèse…") as status:
                    plan = await prepare(
                        stations=stations, voters=voters, turnout=turnout, seed=seed,
                        progress=lambda message: status.update(f"Préparation : {message}…"),
                    )  # fmt: skip
                timings["préparation"] = time.monotonic() - step
                out.print(
                    f"[green]✓[/] Préparé en {plan.seconds:.0f} s : {len(plan.stations)} bureaux, {french_int(plan.voters_on_lists)} inscrits, "
                    f"{french_int(sum(len(s.visits) for s in plan.stations))} votants attendus, départements {', '.join(plan.departments)}"
                )
            finally:
                await db.database().dispose()
            if database is not None:
                server = server_for(database, workers=workers, election_slug=plan.slug, port=int(base_url.rsplit(":", 1)[1]))
                step = time.monotonic()
                with out.status(f"Démarrage du serveur ({workers} processus) sur {base_url}…"):
                    await asyncio.to_thread(server.start)
                timings["démarrage du serveur"] = time.monotonic() - step
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out, transient=False
            ) as progress:
                tasks: dict[str, Any] = {}

                def advance(phase: str, done: int, total: int) -> None:
                    if phase not in tasks:
                        tasks[phase] = progress.add_task(phase.capitalize(), total=total)
                    progress.update(tasks[phase], completed=done, total=total)

                driver = Driver(
                    plan, base_url, faults=fault_plan, concurrency=concurrency, speedup=speedup, seed=seed,
                    on_kill=(lambda: asyncio.to_thread(server.crash_and_restart)) if server else None,
                    on_pg_restart=(lambda: asyncio.to_thread(database.restart)) if database else None,
                    progress=advance,
                )  # fmt: skip
                fatal = None
                try:
                    try:
                        await driver.open_stations()
                        await driver.polling_day()
                        if floor_requests:
                            await driver.measure_floor(floor_requests)
                        await driver.close_stations()
                        await driver.results_night()
                        await driver.phase_validation()
                        proclamation = await driver.proclaim()
                        out.print(f"[green]✓[/] {proclamation}")
                    except (RuntimeError, Unanswered) as error:
                        # The rehearsal stops where the system refused to go on; the report still
                        # says what was sent, what was lost and why.
                        fatal = str(error)
                        driver.metrics.error("arrêt de la répétition", fatal)
                        out.print(f"[red]✘ Répétition interrompue :[/] {fatal}")
                    outcome = await checks.run_checks(driver, data_dir / "export", final=fatal is None)
                    if fatal:
                        outcome.add("déroulement complet", False, fatal)
                finally:
                    await driver.close()
            timings["total"] = time.monotonic() - started
            document = report.build(
                driver, outcome, timings=timings,
                settings={"stations": stations, "voters": voters, "speedup": speedup, "faults": fault_plan.names(),
                          "workers": workers, "concurrency": concurrency, "turnout": turnout, "seed": seed, "url": url},
            )  # fmt: skip
            json_path, html_path = report.write(document, output)
            for check in outcome.checks:
                out.print(f"{'[green]✓' if check.ok else '[red]✘'}[/] {check.name} : {check.detail}")
            return RehearsalResult(document["ok"], document, json_path, html_path, outcome.checks)

        return asyncio.run(main())
    finally:
        if server is not None:
            server.stop()
        if database is not None:
            from services import embedded_pg

            embedded_pg.stop(database.handle)
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


@app.callback(invoke_without_command=True)
def rehearse(
    stations: Annotated[int, typer.Option(help="Nombre de bureaux de vote")] = 1000,
    voters: Annotated[int, typer.Option(help="Électeurs inscrits sur les listes")] = 300_000,
    speedup: Annotated[float, typer.Option(help="Accélération de la journée (600 : 10 h en 1 min ; 0 : au plus vite)")] = 600.0,
    faults: Annotated[str, typer.Option(help="Pannes : dup,drop,slow,kill,pg-restart")] = "",
    url: Annotated[str | None, typer.Option(help="Serveur existant (sinon un serveur est démarré sur 127.0.0.1)")] = None,
    workers: Annotated[int, typer.Option(help="Processus du serveur démarré")] = 2,
    concurrency: Annotated[int, typer.Option(help="Requêtes simultanées au plus")] = 24,
    turnout: Annotated[float, typer.Option(help="Part des inscrits qui viennent voter (2011 : ≈ 6 %, 2016 : ≈ 9 %)")] = 0.09,
    seed: Annotated[int, typer.Option(help="Graine du hasard (répétition reproductible)")] = 2027,
    output: Annotated[Path, typer.Option(help="Dossier du rapport (JSON et HTML)")] = Path("repetition"),
    keep: Annotated[bool, typer.Option(help="Garder la base et l'export du journal (dossier temporaire)")] = False,
) -> None:
    """Répétition générale : journée et nuit des résultats par les vrais canaux, avec pannes, puis rapport."""
    try:
        result = run_rehearsal(
            stations=stations, voters=voters, speedup=speedup, faults=faults, url=url, workers=workers,
            concurrency=concurrency, turnout=turnout, seed=seed, output=output, keep=keep,
        )  # fmt: skip
    except ValueError as error:
        console.print(f"[bold red]Erreur :[/] {error}")
        raise typer.Exit(code=2) from None
    console.print(f"Rapport : {result.json_path} et {result.html_path}")
    console.print("[bold green]Répétition réussie.[/]" if result.ok else "[bold red]Répétition échouée : voir le rapport.[/]")
    raise typer.Exit(code=0 if result.ok else 1)
