"""`primaires stations …` (plan, apply, adjust, staff, credentials, list) and
`primaires privacy …` (retention date, crypto-shredding). Messages in French."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

stations_app = typer.Typer(help="Bureaux de vote : plan, équipes, fiches d'identifiants.", no_args_is_help=True)
privacy_app = typer.Typer(help="Confidentialité de la participation : date de conservation, destruction des clés.", no_args_is_help=True)
console = Console()


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
        raise LookupError("Aucune élection n'est paramétrée (ou indiquez --election).")
    return election


def _run(work: Any) -> Any:
    from services.cli import run_with_database
    from services.errors import AppError

    try:
        return run_with_database(work)
    except AppError as error:
        _fail(error.message)
    except LookupError as error:
        _fail(str(error))


@stations_app.command("plan")
def plan_command(
    department: Annotated[str | None, typer.Option("--department", "--departement", help="Département (par défaut : toute la France)")] = None,
    max_voters: Annotated[int, typer.Option("--max-voters", help="Inscrits au plus par bureau de vote")] = 5000,
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection ; par défaut l'élection courante")] = None,
    sortie: Annotated[Path | None, typer.Option(help="Fichier CSV du plan (par défaut plan-<département>.csv)")] = None,
) -> None:
    """Calcule le plan des bureaux de vote (brouillon à revoir, puis à appliquer) : CSV et résumé."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import plans

    async def work() -> Any:
        async with db.session_scope() as session:
            current = await _election(session, election)
            started = time.monotonic()
            view = await plans.draft_plan(session, CLI_ACTOR, current, department=department.upper() if department else None, max_voters=max_voters)
            return view, time.monotonic() - started

    view, seconds = _run(work)
    path = sortie or Path(f"plan-{(department or 'france').lower()}.csv")
    path.write_bytes(view.csv_bytes())
    for line in view.summary:
        console.print(line)
    console.print(f"Plan n° {view.draft.id} calculé en {seconds:.1f} s ; détail par bureau dans {path}.")
    console.print(f"Revoyez-le (page /organisation/bureaux/plans/{view.draft.id}), ajustez-le si besoin, puis : primaires stations apply {view.draft.id}")


@stations_app.command("adjust")
def adjust_command(
    plan_id: Annotated[int, typer.Argument(help="Numéro du plan")],
    split: Annotated[str | None, typer.Option(help="Séparer des bureaux de cette station (avec --bureaux)")] = None,
    merge: Annotated[tuple[str, str] | None, typer.Option(help="Fusionner : station gardée, station absorbée")] = None,
    move: Annotated[str | None, typer.Option(help="Bureau à déplacer (commune:bureau), avec --to")] = None,
    to: Annotated[str | None, typer.Option(help="Station de destination du bureau déplacé")] = None,
    bureaux: Annotated[str, typer.Option(help="Bureaux séparés, « 33063:0012,33063:0013 »")] = "",
) -> None:
    """Ajuste un plan (séparer, fusionner, déplacer) ; refusé s'il enfreint une règle."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import plans

    if sum(option is not None for option in (split, merge, move)) != 1:
        _fail("Choisissez un seul ajustement : --split, --merge ou --move.")

    async def work() -> Any:
        async with db.session_scope() as session:
            if split:
                return await plans.adjust_draft(session, CLI_ACTOR, plan_id, adjustment="split", station=split, bureaux=bureaux.split(","))
            if merge:
                return await plans.adjust_draft(session, CLI_ACTOR, plan_id, adjustment="merge", station=merge[0], other=merge[1])
            if not to:
                raise LookupError("Indiquez la station de destination avec --to.")
            return await plans.adjust_draft(session, CLI_ACTOR, plan_id, adjustment="move", station=to, bureaux=[move or ""])

    view = _run(work)
    console.print(f"Ajustement enregistré : le plan n° {plan_id} compte {len(view.plan.stations)} stations et respecte les règles.")


@stations_app.command("apply")
def apply_command(
    plan_id: Annotated[int, typer.Argument(help="Numéro du plan")],
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection")] = None,
) -> None:
    """Applique un plan : crée les bureaux de vote (codes, bureaux rattachés, états par tour)."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import plans

    async def work() -> Any:
        async with db.session_scope() as session:
            current = await _election(session, election)
            stations = await plans.apply_draft(session, CLI_ACTOR, current, plan_id)
            return [(s.code, s.plan_key, s.name, s.registered) for s in stations]

    created = _run(work)
    console.print(f"{len(created)} bureaux de vote créés.")
    for code, key, name, registered in created[:10]:
        console.print(f"  {code}  {key}  {name} ({registered} inscrits)")
    if len(created) > 10:
        console.print(f"  … et {len(created) - 10} autres (primaires stations list).")


@stations_app.command("list")
def list_command(
    department: Annotated[str | None, typer.Option("--department", "--departement", help="Département")] = None,
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection")] = None,
) -> None:
    """Liste les bureaux de vote et leur état au tour en cours."""
    from services import db
    from polling import service

    async def work() -> Any:
        async with db.session_scope() as session:
            current = await _election(session, election)
            round_ = await service.active_round(session, current.id)
            return round_.number, await service.round_station_counts(session, round_.id, department.upper() if department else None)

    number, rows = _run(work)
    table = Table(title=f"Bureaux de vote — tour {number}")
    for column in ("Code", "Clé", "Nom", "Inscrits", "État", "Votants"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.station.code, row.station.plan_key, row.station.name, str(row.station.registered), row.state.label, str(row.counts.total))
    console.print(table)


@stations_app.command("staff")
def staff_command(
    fichier: Annotated[Path, typer.Argument(help="CSV : bureau ; rôle ; nom ; téléphone")],
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection")] = None,
) -> None:
    """Importe les équipes des bureaux (tout ou rien)."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import service

    if not fichier.is_file():
        _fail(f"Fichier introuvable : {fichier}.")

    async def work() -> Any:
        async with db.session_scope() as session:
            current = await _election(session, election)
            return await service.import_staff(session, CLI_ACTOR, current, fichier.name, fichier.read_bytes())

    try:
        report = _run(work)
    except typer.Exit:
        raise
    console.print(f"{report.added} membre(s) ajouté(s), {report.updated} mis à jour, {len(report.stations)} bureau(x).")


@stations_app.command("credentials")
def credentials_command(
    sortie: Annotated[Path, typer.Option(help="Fichier PDF des fiches (une page par bureau)")],
    department: Annotated[str | None, typer.Option("--department", "--departement", help="Département (par défaut : tous)")] = None,
    election: Annotated[str | None, typer.Option(help="Identifiant (slug) de l'élection")] = None,
) -> None:
    """Édite les fiches d'identifiants : NOUVEAU code PIN et nouveau code d'appairage par bureau."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import printing, service

    async def work() -> Any:
        async with db.session_scope() as session:
            current = await _election(session, election)
            stations = await service.stations_of(session, current.id, department.upper() if department else None)
            return len(stations), await printing.issue_credentials(session, CLI_ACTOR, current, stations)

    count, data = _run(work)
    sortie.write_bytes(data)
    console.print(f"{count} fiche(s) écrite(s) dans {sortie}. Les anciens codes PIN de ces bureaux ne fonctionnent plus.")
    console.print("[bold]Ce fichier contient les codes PIN en clair :[/] imprimez-le, puis détruisez-le.")


@privacy_app.command("retention")
def retention_command(
    election: Annotated[str, typer.Option(help="Identifiant (slug) de l'élection")],
    jusqu_au: Annotated[str, typer.Option("--jusqu-au", help="Date de destruction des clés (aaaa-mm-jj)")],
) -> None:
    """Fixe la date jusqu'à laquelle la participation reste lisible (puis les clés sont détruites)."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import privacy

    try:
        until = date.fromisoformat(jusqu_au)
    except ValueError:
        _fail("Date illisible : écrivez aaaa-mm-jj, par exemple 2027-02-15.")

    async def work() -> Any:
        async with db.session_scope() as session:
            current = await _election(session, election)
            await privacy.set_retention_date(session, CLI_ACTOR, current, until)

    _run(work)
    console.print(f"Clés de l'élection « {election} » à détruire le {until:%d/%m/%Y}.")


@privacy_app.command("shred")
def shred_command(
    election: Annotated[str, typer.Option(help="Identifiant (slug) de l'élection")],
    avant_terme: Annotated[bool, typer.Option("--avant-terme", help="Détruire avant la date de conservation (décision écrite)")] = False,
) -> None:
    """Détruit les clés de la participation (irréversible) : plus personne ne peut savoir qui a voté.

    Les comptes et le journal d'audit restent vérifiables ; l'événement de destruction est scellé
    et couvert par un point de contrôle signé."""
    from services import db
    from services.cli import CLI_ACTOR
    from polling import privacy

    async def work() -> Any:
        from audit import keys, sequencer

        async with db.session_scope() as session:
            current = await _election(session, election)
            report = await privacy.shred_keys(session, CLI_ACTOR, current, today=date.today(), force=avant_terme)
        sealed = await sequencer.seal_all(keys.require_signer())
        return report, sealed

    report, sealed = _run(work)
    _vacuum_keys()
    total = sum(report.checkins_per_round.values())
    console.print(f"Clés détruites : {total} émargement(s) ne sont plus reliables à personne ; les comptes sont conservés.")
    if sealed.checkpoint is not None:
        console.print(f"Événement scellé ; point de contrôle signé :\n{sealed.checkpoint.note}")


def _vacuum_keys() -> None:
    """Rewrite the keys table so that the old row versions (with the wrapped keys) leave the disk."""
    import asyncio

    import asyncpg

    from services.settings import settings

    owner = settings().migration_database_url or settings().database_url
    if not owner:
        return

    async def vacuum() -> None:
        connection = await asyncpg.connect(owner.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute("VACUUM FULL election_privacy_key")
        finally:
            await connection.close()

    try:
        asyncio.run(vacuum())
    except Exception as error:  # noqa: BLE001 - the keys are already unusable; say what is left to do
        console.print(f"[yellow]Attention :[/] VACUUM FULL election_privacy_key a échoué ({error}) : lancez-le en propriétaire de la base.")
