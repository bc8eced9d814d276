"""`primaires parrainages …`: rules, roster imports, the synthetic RNE, the board and the public list.

`services.cli` imports this module through the composition root, so it imports `services.cli`
only inside the commands (no import cycle).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from services.sponsorship.models import WithdrawalPolicy
from services.sponsorship.rne_formats import DEFAULT_RELEASE, RELEASES, RneKind
from services.sponsorship.rules import PRESETS, Category

app = typer.Typer(help="Parrainages : règles, répertoire des élus, tableau de qualification.", no_args_is_help=True)

ElectionOption = Annotated[str | None, typer.Option("--election", help="Identifiant (slug) de l'élection ; par défaut la dernière")]


def _run(work: Any) -> Any:
    from services import cli as base

    try:
        return base.run_with_database(work, migrate=True)
    except Exception as error:  # noqa: BLE001 - shown to the organiser in French
        base.fail(getattr(error, "message", None) or str(error))


async def _election(session: Any, slug: str | None) -> Any:
    from sqlalchemy import select

    from services.elections import service as elections
    from services.elections.models import Election
    from services.errors import NotFound

    if slug:
        election = await session.scalar(select(Election).where(Election.slug == slug))
    else:
        election = await elections.current_election(session)
    if election is None:
        raise NotFound(f"Élection introuvable{f' : « {slug} »' if slug else ''}.")
    return election


@app.command("regles")
def set_rules(
    preset: Annotated[str, typer.Option("--preset", help=f"Règle prédéfinie : {', '.join(PRESETS)}")],
    cloture: Annotated[str | None, typer.Option("--cloture", help="Dernier jour de réception (AAAA-MM-JJ)")] = None,
    retrait: Annotated[WithdrawalPolicy, typer.Option("--retrait", help="Politique de retrait")] = WithdrawalPolicy.IRREVOCABLE,
    election: ElectionOption = None,
) -> None:
    """Fixe la règle de parrainage de l'élection."""
    from services import cli as base
    from services import db
    from services.sponsorship import service

    deadline = date.fromisoformat(cloture) if cloture else None

    async def work() -> Any:
        async with db.session_scope() as session:
            target = await _election(session, election)
            return await service.configure(session, base.CLI_ACTOR, target, preset=preset, deadline=deadline, withdrawal_policy=retrait)

    _run(work)
    base.console.print(f"Règle « {PRESETS[preset].label} » enregistrée.")


def _print_report(report: Any) -> None:
    from services import cli as base

    base.console.print(report.summary)
    for error in report.errors[:50]:
        base.console.print(f"  [yellow]{error}[/]")
    if len(report.errors) > 50:
        base.console.print(f"  … et {len(report.errors) - 50} autres lignes refusées.")


@app.command("importer-rne")
def import_rne(
    fichiers: Annotated[list[Path], typer.Argument(help="Fichiers CSV du RNE", exists=True, dir_okay=False)],
    type_: Annotated[RneKind | None, typer.Option("--type", help="Type (détecté d'après les colonnes s'il est omis)")] = None,
    election: ElectionOption = None,
) -> None:
    """Importe des fichiers du Répertoire national des élus (séparateur et encodage détectés)."""
    from services import cli as base
    from services import db
    from services.sponsorship import service

    for path in fichiers:

        async def work(path: Path = path) -> Any:
            async with db.session_scope() as session:
                target = await _election(session, election)
                return await service.import_rne(session, base.CLI_ACTOR, target, path.read_bytes(), path.name, type_)

        _print_report(_run(work))


@app.command("importer-parti")
def import_party(
    fichier: Annotated[Path, typer.Argument(help="Fichier CSV du parti", exists=True, dir_okay=False)],
    categorie: Annotated[Category, typer.Option("--categorie", help="Catégorie du fichier")],
    election: ElectionOption = None,
) -> None:
    """Importe un fichier du parti : qui, parmi les élus, appartient au parti."""
    from services import cli as base
    from services import db
    from services.sponsorship import service

    async def work() -> Any:
        async with db.session_scope() as session:
            target = await _election(session, election)
            return await service.import_party_file(session, base.CLI_ACTOR, target, categorie, fichier.read_bytes(), fichier.name)

    _print_report(_run(work))


@app.command("generer")
def generate(
    dossier: Annotated[Path, typer.Argument(help="Dossier où écrire les fichiers")],
    graine: Annotated[int, typer.Option("--graine", help="Graine du générateur")] = 2011,
    version: Annotated[str, typer.Option("--version", help=f"Version du RNE imitée : {', '.join(RELEASES)}")] = DEFAULT_RELEASE,
    adherents: Annotated[int, typer.Option("--adherents", help="Nombre d'adhérents à générer")] = 0,
    maires_au_dessus: Annotated[int, typer.Option("--maires-au-dessus", help="Seulement les maires des communes de plus de N habitants")] = 0,
    lignes_malformees: Annotated[int, typer.Option("--lignes-malformees", help="Lignes cassées exprès par fichier RNE")] = 0,
) -> None:
    """Écrit un RNE synthétique (vrais en-têtes, faux élus) et les fichiers du parti correspondants."""
    from services import cli as base
    from services.sponsorship import synthetic

    if version not in RELEASES:
        base.fail(f"Version inconnue : « {version} » (connues : {', '.join(RELEASES)}).")
    roster = synthetic.generate_roster(graine, mayor_min_population=maires_au_dessus, members=adherents)
    paths = synthetic.write_files(roster, dossier, release=version, malformed=lignes_malformees)
    for path in paths:
        base.console.print(f"  {path}")
    base.console.print(f"{roster.officials} personnes fictives, {len(paths)} fichiers écrits dans {dossier}.")


@app.command("tableau")
def board(election: ElectionOption = None) -> None:
    """Affiche le tableau de qualification des candidats."""
    from rich.table import Table

    from services import cli as base
    from services import db
    from services.sponsorship import service

    async def work() -> Any:
        async with db.session_scope() as session:
            return await service.qualification_board(session, await _election(session, election))

    result = _run(work)
    if result.rule is None:
        base.fail("Aucune règle de parrainage n'est fixée.")
    table = Table(title=f"{result.rule.label} — calculé en {result.elapsed_ms:.1f} ms")
    table.add_column("Candidat")
    table.add_column("Parrainages", justify="right")
    for route in result.rule.routes():
        table.add_column(route.label)
    table.add_column("Qualification")
    for entry in result.candidates:
        cells = [
            f"{r.counted}/{r.required}"
            + (f" · dép. {r.departments}/{r.min_departments}" if r.min_departments else "")
            + (f" · rég. {r.regions}/{r.min_regions}" if r.min_regions else "")
            for r in entry.routes
        ]
        table.add_row(entry.candidate.full_name, str(entry.active), *cells, "qualifié(e)" if entry.qualified else "incomplet")
    base.console.print(table)


@app.command("exporter-parrains")
def export(
    fichier: Annotated[Path, typer.Argument(help="Fichier CSV à écrire")],
    election: ElectionOption = None,
) -> None:
    """Écrit la liste publique des parrains (CSV, séparateur point-virgule, UTF-8)."""
    from services import cli as base
    from services import db
    from services.sponsorship import service

    async def work() -> Any:
        async with db.session_scope() as session:
            return await service.public_sponsors(session, await _election(session, election))

    sponsors = _run(work)
    with fichier.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(service.PUBLIC_CSV_HEADER)
        for s in sponsors:
            writer.writerow((s.candidate, s.family_name, s.given_name, s.capacity, s.department_code or "", s.department or "", s.commune or "", s.received_on.isoformat()))
    base.console.print(f"{len(sponsors)} parrains écrits dans {fichier}.")
