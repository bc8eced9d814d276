"""`primaires audit …`: the log's commands (messages in French).

`verify` needs nothing but the export folder: no database, no settings (it is the independent
verifier, `audit/verifier.py`). The other commands work on the database like the rest of the
CLI (DATABASE_URL, or the embedded database of the data folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from audit import verifier

app = typer.Typer(help="Journal d'audit : scellement, points de contrôle, preuves, export, vérification.", no_args_is_help=True)
proof_app = typer.Typer(help="Preuves d'inclusion et de cohérence (RFC 9162).", no_args_is_help=True)
app.add_typer(proof_app, name="proof")


def _console() -> Any:
    from services.cli import console

    return console


def _fail(message: str) -> None:
    from services.cli import fail

    fail(message)


def _run(work: Any) -> Any:
    from services.cli import run_with_database

    return run_with_database(work, migrate=True)


@app.command("keygen")
def keygen(
    origine: Annotated[str | None, typer.Option(help="Nom du journal (défaut : hôte de PRIMAIRES_PUBLIC_URL + /journal)")] = None,
    fichier: Annotated[Path | None, typer.Option(help="Fichier de la clé secrète (défaut : PRIMAIRES_AUDIT_KEY_PATH)")] = None,
    force: Annotated[bool, typer.Option(help="Remplacer une clé existante (démarre un nouveau journal)")] = False,
) -> None:
    """Crée la clé de signature Ed25519 du journal et affiche la clé publique à publier."""
    from audit import keys
    from audit.checkpoints import KeyFileError, Signer, key_name_for, write_signer
    from services.settings import settings

    try:
        path = fichier or keys.key_path()
        if path is None:
            _fail("Indiquez le fichier de la clé : --fichier CHEMIN, ou PRIMAIRES_AUDIT_KEY_PATH.")
        signer = Signer.generate(origine or key_name_for(settings().public_url))
        write_signer(signer, path, overwrite=force)
    except KeyFileError as error:
        _fail(str(error))
    console = _console()
    console.print(f"Clé secrète écrite dans {path} (lisible par son seul propriétaire ; gardez-en une copie scellée hors ligne).")
    console.print("Clé publique à publier :")
    print(signer.verifier_key)


@app.command("seal")
def seal() -> None:
    """Scelle les événements validés et signe un point de contrôle (comme le fait le serveur)."""
    from audit import keys, sequencer

    async def work() -> Any:
        return await sequencer.seal_all(keys.require_signer())

    try:
        report = _run(work)
    except Exception as error:  # noqa: BLE001 - shown in French
        _fail(getattr(error, "message", str(error)))
    console = _console()
    if report.skipped:
        console.print("Un autre processus scelle le journal en ce moment ; réessayez dans quelques secondes.")
        return
    console.print(f"{report.integrated} événements scellés ; le journal compte {report.tree_size} événements.")
    if report.checkpoint is not None:
        console.print(f"Point de contrôle signé :\n{report.checkpoint.note}")


@app.command("export")
def export_command(dossier: Annotated[Path, typer.Argument(help="Dossier de destination")]) -> None:
    """Exporte le journal (événements, points de contrôle, clé publique, vérificateur)."""
    from audit import export, keys
    from services import db

    async def work() -> Any:
        async with db.session_scope() as session:
            return await export.write_export(session, dossier, keys.require_signer().verifier_key)

    try:
        report = _run(work)
    except Exception as error:  # noqa: BLE001 - shown in French
        _fail(getattr(error, "message", str(error)))
    _console().print(
        f"Export écrit dans {report.directory} : {report.events} événements, {report.checkpoints} points de contrôle.\n"
        f"Racine : {report.root.hex()}\nClé : {report.verifier_key}\n"
        f"Vérification : primaires audit verify {report.directory} --cle \"{report.verifier_key}\""
    )


@app.command("verify")
def verify(
    dossier: Annotated[Path, typer.Argument(help="Dossier d'un export")],
    cle: Annotated[str | None, typer.Option(help="Clé publique attendue (texte publié, ou fichier)")] = None,
    point_de_controle: Annotated[
        list[Path] | None, typer.Option("--point-de-controle", help="Point de contrôle relevé par ailleurs (répétable)")
    ] = None,
    processus: Annotated[int | None, typer.Option(help="Processus de calcul (défaut : un par cœur)")] = None,
) -> None:
    """Vérifie un export sans base de données ni réglages ; code de sortie non nul au premier défaut."""
    arguments = [str(dossier)]
    if cle:
        arguments += ["--cle", cle]
    if processus:
        arguments += ["--processus", str(processus)]
    for path in point_de_controle or []:
        arguments += ["--point-de-controle", str(path)]
    code = verifier.main(arguments)
    if code:
        raise typer.Exit(code=code)


@app.command("check")
def check() -> None:
    """Vérifie tout le journal stocké avec le vérificateur indépendant et enregistre le résultat."""
    from audit import service
    from services import db

    async def work() -> Any:
        async with db.session_scope() as session:
            return await service.verify_stored_log(session, "system:cli")

    result = _run(work)
    if not result.ok:
        _fail(f"ÉCHEC à l'index {result.first_bad_index} : {result.message}")
    _console().print(f"{result.message} ({result.seconds} s)")


@app.command("status")
def status() -> None:
    """Affiche la taille du journal, le dernier point de contrôle et les contrôles rapides."""
    from audit import service
    from services import db

    async def work() -> Any:
        async with db.session_scope() as session:
            return await service.log_status(session)

    current = _run(work)
    console = _console()
    console.print(f"Événements scellés : {current.tree_size} ; en attente : {current.pending} ; points de contrôle : {current.checkpoint_count}")
    if current.latest is not None:
        console.print(f"Dernier point de contrôle :\n{current.latest.note}")
    for item in current.checks:
        console.print(f"{'✓' if item.ok else '✗'} {item.label} — {item.detail}")


@proof_app.command("inclusion")
def inclusion(
    index: Annotated[int, typer.Argument(help="Index de l'événement dans l'arbre")],
    taille: Annotated[int | None, typer.Option(help="Taille du point de contrôle (défaut : le dernier)")] = None,
) -> None:
    """Preuve d'inclusion d'un événement dans un point de contrôle (JSON), vérifiée localement."""
    from audit import merkle, service
    from services import db

    async def work() -> Any:
        async with db.session_scope() as session:
            return await service.inclusion_proof(session, index, taille)

    try:
        proof = _run(work)
    except Exception as error:  # noqa: BLE001 - shown in French
        _fail(getattr(error, "message", str(error)))
    root = bytes(proof.checkpoint.root_hash)
    ok = merkle.verify_inclusion(proof.leaf_index, proof.tree_size, proof.leaf_hash, proof.hashes, root)
    print(json.dumps({
        "leaf_index": proof.leaf_index, "tree_size": proof.tree_size, "leaf_hash": proof.leaf_hash.hex(),
        "hashes": [value.hex() for value in proof.hashes], "root_hash": root.hex(), "checkpoint": proof.checkpoint.note,
    }, indent=2, ensure_ascii=False))
    if not ok:
        _fail("La preuve ne se vérifie pas contre la racine signée.")
    _console().print("Preuve vérifiée (RFC 9162, 2.1.3.2).", style="green")


@proof_app.command("consistency")
def consistency(
    premiere: Annotated[int, typer.Argument(help="Taille du premier point de contrôle")],
    seconde: Annotated[int | None, typer.Argument(help="Taille du second (défaut : le dernier)")] = None,
) -> None:
    """Preuve de cohérence entre deux points de contrôle (JSON), vérifiée localement."""
    from audit import merkle, service
    from services import db

    async def work() -> Any:
        async with db.session_scope() as session:
            return await service.consistency_proof(session, premiere, seconde)

    try:
        proof = _run(work)
    except Exception as error:  # noqa: BLE001 - shown in French
        _fail(getattr(error, "message", str(error)))
    first_root, second_root = bytes(proof.first.root_hash), bytes(proof.second.root_hash)
    ok = merkle.verify_consistency(proof.first.tree_size, proof.second.tree_size, first_root, second_root, proof.hashes)
    print(json.dumps({
        "first": proof.first.tree_size, "second": proof.second.tree_size, "first_root": first_root.hex(),
        "second_root": second_root.hex(), "hashes": [value.hex() for value in proof.hashes],
    }, indent=2))
    if not ok:
        _fail("La preuve de cohérence ne se vérifie pas.")
    _console().print("Preuve de cohérence vérifiée (RFC 9162, 2.1.4.2).", style="green")
