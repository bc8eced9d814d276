"""`primaires registry …`: import, generate and purge electoral lists (messages in French)."""

from __future__ import annotations

import csv
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="Listes électorales : import des extraits REU, données de synthèse, purge.", no_args_is_help=True)
members_app = typer.Typer(help="Inscriptions complémentaires des adhérents.", no_args_is_help=True)
app.add_typer(members_app, name="members")
console = Console()


class RateColumn(ProgressColumn):
    """Lines per second since the start."""

    def render(self, task: Task) -> Text:
        lines = task.fields.get("lines", 0)
        elapsed = task.elapsed or 0
        rate = lines / elapsed if elapsed > 0 else 0
        return Text(f"{lines:>12,} lignes · {rate:>9,.0f} lignes/s".replace(",", "\u202f"), style="cyan")


def _fail(message: str) -> None:
    console.print(f"[bold red]Erreur :[/] {message}")
    raise typer.Exit(code=1)


async def _election(session: Any, slug: str | None) -> Any:
    from sqlalchemy import select

    from services.elections import service as elections
    from services.elections.models import Election

    if slug:
        election = await session.scalar(select(Election).where(Election.slug == slug))
        if election is None:
            raise LookupError(f"Élection « {slug} » introuvable.")
        return election
    election = await elections.current_election(session)
    if election is None:
        raise LookupError("Aucune élection n'est paramétrée : créez-la d'abord (ou indiquez --election).")
    return election


def _upgrade_if_behind(owner_url: str) -> None:
    """Apply the migrations unless the database is already at every package's head.

    Runs in a child process of `primaires registry import` (see `_migrate_in_child`): Alembic's
    environment imports every package's models through the composition root, hence the whole
    web application, which the import does not need and whose memory would otherwise stay in
    the command's process for the whole import (the import is capped at 300 MB)."""
    import asyncio

    import asyncpg
    from alembic.script import ScriptDirectory

    from services.migrations import runner

    script = ScriptDirectory.from_config(runner.alembic_config(owner_url))

    async def applied() -> set[str]:
        connection = await asyncpg.connect(owner_url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            return {row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")}
        except asyncpg.UndefinedTableError:  # an empty database
            return set()
        finally:
            await connection.close()

    def behind(current: set[str]) -> bool:
        # Alembic keeps in its table only the revisions no other one depends on: what
        # `upgrade heads` would apply is what lies between them and the heads.
        if not current:
            return True
        try:
            return any(True for _ in script.iterate_revisions("heads", tuple(current), implicit_base=True))
        except Exception:  # noqa: BLE001 - an unknown revision: `upgrade` reports it in its words
            return True

    if behind(asyncio.run(applied())):
        runner.upgrade(owner_url)


def _migrate_in_child(owner_url: str) -> None:
    """`_upgrade_if_behind` in a child process, which ends before the import starts.

    A plain interpreter (not multiprocessing's spawn, which would first import the `primaires`
    script's module again): it imports only Alembic and the driver when the database is at its
    heads (≈ 0.5 s), the whole application only when there are migrations to apply."""
    import subprocess

    # The URL on the child's standard input: a command line is readable by every user (ps).
    code = "import sys; from voter_registry.cli import _upgrade_if_behind; _upgrade_if_behind(sys.stdin.read())"
    completed = subprocess.run([sys.executable, "-c", code], input=owner_url, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(
            f"la mise à jour de la base (migrations) a échoué (code {completed.returncode}) : voir le message ci-dessus."
        )


@app.command("import")
def import_lists(
    paths: Annotated[list[Path], typer.Argument(help="Fichiers CSV, dossiers ou archives zip des extraits REU")],
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection ; par défaut l'élection courante")] = None,
    rejets: Annotated[Path | None, typer.Option(help="Écrire le rapport complet des lignes rejetées (CSV)")] = None,
    jobs: Annotated[int, typer.Option(help="Processus d'import en parallèle (un par cœur)", min=1, max=16)] = 2,
) -> None:
    """Importe des extraits des listes électorales (un fichier par commune, une transaction par fichier)."""
    import asyncio

    from services import db
    from services.cli import CLI_ACTOR, database_url
    from services.errors import AppError
    from services.settings import settings
    from voter_registry.errors import RegistryBoundElsewhere
    from voter_registry.import_job import FileOutcome, run_import
    from voter_registry.importer import bind_registry, list_files, refresh_statistics
    from voter_registry.territory_cache import import_territory

    try:
        files = list_files(paths)
    except AppError as error:
        _fail(error.message)
    if not files:
        _fail("Aucun fichier CSV trouvé dans les chemins indiqués.")
    total_bytes = sum(file.size for file in files)
    totals = {"imported": 0, "replaced": 0, "unchanged": 0, "refused": 0, "voters": 0, "rejected": 0, "added": 0, "removed": 0, "changed": 0, "lines": 0}
    shown_rejects: list[tuple[str, int, str, str]] = []
    rejects_handle = open(rejets, "w", encoding="utf-8-sig", newline="") if rejets else None  # noqa: SIM115
    rejects_writer = csv.writer(rejects_handle, delimiter=";") if rejects_handle else None
    if rejects_writer:
        rejects_writer.writerow(["fichier", "ligne", "colonne", "motif"])

    async def work() -> None:
        from services.territory.service import load_territory

        async with db.session_scope() as session:
            await load_territory(session, CLI_ACTOR)
            target = await _election(session, election)
            await import_territory(session)
        try:
            async with db.session_scope() as session:
                await bind_registry(session, CLI_ACTOR, target)
        except RegistryBoundElsewhere as error:
            raise LookupError(error.message) from None
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f} %"),
            RateColumn(),
            TextColumn("reste"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        with progress:
            task = progress.add_task("Import des listes", total=total_bytes, lines=0)
            reported: dict[str, int] = {}  # bytes already shown, per file in progress

            def advance(file_name: str, size: int, lines: int) -> None:
                reported[file_name] = reported.get(file_name, 0) + size
                progress.update(task, advance=size, lines=progress.tasks[0].fields.get("lines", 0) + lines)

            def outcome(result: FileOutcome) -> None:
                progress.update(task, advance=max(result.size - reported.pop(result.file, 0), 0))
                totals[result.status] += 1
                if result.status == "refused":
                    progress.console.print(f"[red]Refusé[/] {result.message}")
                else:
                    totals["voters"] += result.voters if result.status != "unchanged" else 0
                for key in ("rejected", "added", "removed", "changed", "lines"):
                    totals[key] += getattr(result, key)
                for rejection in result.rejections:
                    if rejects_writer:
                        rejects_writer.writerow(list(rejection))
                    if len(shown_rejects) < 10:
                        shown_rejects.append(rejection)
                for warning in result.warnings:
                    if "postérieur" not in warning:
                        progress.console.print(f"[yellow]Attention[/] {result.file} : {warning}")

            # The workers write as the application's restricted role, like every other writer.
            await run_import(
                settings().database_url or database_url(),
                CLI_ACTOR,
                target,
                files,
                jobs=jobs,
                on_progress=advance,
                on_outcome=outcome,
            )
            if totals["imported"] or totals["replaced"]:
                # ANALYZE needs the table's owner (PostgreSQL 16): statistics, not election data.
                await refresh_statistics(database_url())

    async def opened() -> None:
        db.init_database(settings().database_url or owner_url, pool_size=4)
        try:
            await work()
        finally:
            await db.database().dispose()

    started_at = time.monotonic()
    try:
        # As `services.cli.run_with_database(work, migrate=True)`, with the migrations in a
        # child process (`_migrate_in_child`).
        owner_url = database_url()
        _migrate_in_child(owner_url)
        asyncio.run(opened())
    except (LookupError, RuntimeError) as error:
        _fail(str(error))
    finally:
        if rejects_handle:
            rejects_handle.close()
    elapsed = time.monotonic() - started_at
    table = Table(title=f"Import terminé en {elapsed:,.1f} s".replace(",", "\u202f"))
    table.add_column("Fichiers")
    table.add_column("Nombre", justify="right")
    for label, key in (("importés (nouvelle commune)", "imported"), ("remplaçant un extrait", "replaced"), ("identiques, ignorés", "unchanged"), ("refusés", "refused")):
        table.add_row(label, f"{totals[key]:,}".replace(",", "\u202f"))
    console.print(table)
    console.print(
        f"Lignes lues : {totals['lines']:,} · électeurs des communes importées : {totals['voters']:,} · "
        f"lignes rejetées : {totals['rejected']:,} · ajoutés : {totals['added']:,} · retirés : {totals['removed']:,} · "
        f"modifiés : {totals['changed']:,}".replace(",", "\u202f")
    )
    if shown_rejects:
        rejects_table = Table(title="Premières lignes rejetées")
        for column in ("Fichier", "Ligne", "Colonne", "Motif"):
            rejects_table.add_column(column)
        for file_name, line, column, reason in shown_rejects:
            rejects_table.add_row(Path(file_name).name, str(line), column or "—", reason)
        console.print(rejects_table)
        if rejets:
            console.print(f"Rapport complet des rejets : {rejets}")
        else:
            console.print("Rapport complet : option --rejets FICHIER.csv, ou la page « Listes électorales » de l'application.")
    if totals["refused"]:
        raise typer.Exit(code=1)


@app.command("generate")
def generate(
    departments: Annotated[str, typer.Option(help="Départements, séparés par des virgules (ex. 75,33,2A,971)")],
    voters: Annotated[int, typer.Option(help="Nombre total d'électeurs à générer", min=1)],
    out: Annotated[Path, typer.Option(help="Dossier de sortie (un fichier par commune), ou fichier .zip")],
    seed: Annotated[int, typer.Option(help="Graine : mêmes octets pour la même graine")] = 2027,
    date: Annotated[str, typer.Option(help="Date d'extraction jj/mm/aaaa[-HHhMM]")] = "01/09/2026-10h00",
    bureau_size: Annotated[int, typer.Option(help="Électeurs par bureau de vote (environ)", min=50)] = 1000,
    oddities: Annotated[float, typer.Option(help="Part des bizarreries réelles (accents, espaces, 00/00)", min=0, max=1)] = 0.02,
    malformed: Annotated[float, typer.Option(help="Part des lignes malformées", min=0, max=1)] = 0.002,
    windows: Annotated[float, typer.Option(help="Part des fichiers encodés en Windows-1252", min=0, max=1)] = 0.05,
) -> None:
    """Génère des extraits REU de synthèse, réalistes, pour la démonstration, les tests et les mesures."""
    from voter_registry.generator import GeneratorOptions, generate as generate_files, write_zip
    from voter_registry.reu import PARIS

    try:
        stamp = datetime.strptime(date, "%d/%m/%Y-%Hh%M") if "-" in date else datetime.strptime(date, "%d/%m/%Y")
    except ValueError:
        _fail(f"Date « {date} » illisible : jj/mm/aaaa ou jj/mm/aaaa-HHhMM.")
    options = GeneratorOptions(
        departments=tuple(code.strip() for code in departments.split(",") if code.strip()),
        voters=voters,
        seed=seed,
        extracted_at=stamp.replace(tzinfo=PARIS),
        bureau_size=bureau_size,
        oddity_share=oddities,
        malformed_share=malformed,
        windows_share=windows,
    )
    summary = {"files": 0, "voters": 0, "lines": 0, "malformed": 0, "windows": 0}

    def counted(files: Any) -> Any:
        for file in files:
            summary["files"] += 1
            summary["voters"] += file.voters
            summary["lines"] += file.lines
            summary["malformed"] += file.malformed
            summary["windows"] += file.encoding != "utf-8"
            yield file

    try:
        with console.status("Génération des extraits…"):
            files = counted(generate_files(options))
            if out.suffix.lower() == ".zip":
                out.parent.mkdir(parents=True, exist_ok=True)
                write_zip(files, str(out))
            else:
                out.mkdir(parents=True, exist_ok=True)
                for file in files:
                    (out / file.name).write_bytes(file.data)
    except ValueError as error:
        _fail(str(error))
    console.print(
        f"{summary['files']} fichiers (communes) écrits dans {out} : {summary['voters']:,} électeurs, "
        f"{summary['lines']:,} lignes dont {summary['malformed']:,} malformées, "
        f"{summary['windows']} fichier(s) en Windows-1252.".replace(",", "\u202f")
    )


@app.command("purge")
def purge(
    election: Annotated[str, typer.Option(help="Identifiant (slug) de l'élection dont les listes sont à détruire")],
    force: Annotated[bool, typer.Option(help="Purger avant la fin de l'élection (journalisé)")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Ne pas demander de confirmation")] = False,
) -> None:
    """Détruit la copie des listes électorales et les inscriptions complémentaires d'une élection."""
    import asyncio

    from services import db
    from services.cli import CLI_ACTOR, database_url
    from services.errors import AppError
    from services.migrations import runner
    from voter_registry.service import purge_registry

    if not yes and not typer.confirm(f"Détruire définitivement les listes électorales de l'élection « {election} » ?"):
        raise typer.Exit(code=1)

    # An administrative operation, run on the server like the migrations: with the schema
    # owner's URL (PRIMAIRES_MIGRATION_DATABASE_URL, or the embedded database's owner) the
    # lists are TRUNCATEd and their files removed at once; with only the application's URL
    # they are DELETEd (its role may not TRUNCATE). Either way in one transaction with the
    # audit event.
    owner_url = database_url()
    runner.upgrade(owner_url)

    async def work() -> Any:
        db.init_database(owner_url, pool_size=1)
        try:
            async with db.session_scope() as session:
                target = await _election(session, election)
                return await purge_registry(session, CLI_ACTOR, target, force=force)
        finally:
            await db.database().dispose()

    try:
        report = asyncio.run(work())
    except (AppError, LookupError) as error:
        _fail(getattr(error, "message", str(error)))
    console.print(
        f"Listes purgées : {report.voters:,} électeurs de {report.communes:,} communes, {report.imports:,} rapports "
        f"d'import, {report.supplementary:,} inscriptions complémentaires. L'opération est inscrite au journal.".replace(",", "\u202f")
    )
    if report.method == "delete":
        console.print(
            "Les lignes sont supprimées ; l'espace disque sera libéré par le prochain VACUUM automatique "
            "(pour effacer les fichiers sans attendre : VACUUM FULL voter, par le propriétaire de la base)."
        )


@members_app.command("import")
def members_import(
    path: Annotated[Path, typer.Argument(help="Fichier CSV des adhérents (« ; », UTF-8)")],
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection")] = None,
) -> None:
    """Inscrit les adhérents de 16–17 ans et étrangers d'un fichier de parti (avant la date limite)."""
    from services import db
    from services.cli import CLI_ACTOR, run_with_database
    from services.errors import AppError
    from voter_registry.service import MEMBER_COLUMNS, import_members_file

    if not path.is_file():
        _fail(f"Fichier introuvable : « {path} ». Colonnes attendues : {'; '.join(MEMBER_COLUMNS)}.")

    async def work() -> Any:
        async with db.session_scope() as session:
            target = await _election(session, election)
            return await import_members_file(session, CLI_ACTOR, target, path.name, path.read_bytes())

    try:
        report = run_with_database(work, migrate=True)
    except (AppError, LookupError) as error:
        _fail(getattr(error, "message", str(error)))
    console.print(
        f"{report.lines} lignes : {report.registered} inscrits, {report.already_registered} déjà inscrits, "
        f"{len(report.rejects)} refusés."
    )
    for line, _column, reason in report.rejects[:30]:
        console.print(f"  ligne {line} : {reason}")


def main() -> None:  # pragma: no cover - for `python -m voter_registry.cli`
    sys.exit(app())
