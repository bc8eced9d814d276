"""The `primaires` command (organisers' messages in French).

With no DATABASE_URL, every command uses the embedded PostgreSQL in the data folder
(`.primaires/` by default): the one `primaires demo` starts.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from services import db, embedded_pg
from services.auth.roles import Role
from services.events import Actor
from services.settings import Mode, configure, settings

# Each domain package's sub-commands (`services.composition.cli_apps()`, which a test keeps in
# step with this table), imported only when one of them is called or listed (`--help`): the
# composition root imports the whole web application (FastAPI routers, every package, templates:
# ≈ 60 MB), which `primaires registry import` and its worker processes do not need (the import's
# memory is capped at 300 MB, see docs/performance.md).
LAZY_SUB_APPS: dict[str, tuple[str, str]] = {
    "parrainages": ("services.sponsorship.cli", "app"),
    "audit": ("audit.cli", "app"),
    "registry": ("voter_registry.cli", "app"),
    "stations": ("polling.cli", "stations_app"),
    "privacy": ("polling.cli", "privacy_app"),
    "rehearse": ("rehearsal.cli", "app"),
}


def lazy_sub_app(name: str) -> typer.Typer:
    module, attribute = LAZY_SUB_APPS[name]
    return getattr(importlib.import_module(module), attribute)


class _LazyGroup(TyperGroup):
    """The `primaires` group: its own commands, then the packages' sub-commands, loaded lazily."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in LAZY_SUB_APPS if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_SUB_APPS:
            # Built as `app.add_typer(sub_app, name=…)` would have built it (no completion options).
            holder = typer.Typer(add_completion=False)
            holder.add_typer(lazy_sub_app(cmd_name), name=cmd_name)
            command = self.commands[cmd_name] = typer.main.get_group(holder).commands[cmd_name]
        return command


console = Console()
app = typer.Typer(
    cls=_LazyGroup, help="primaires : organisation d'une primaire ouverte.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Base de données : migrations.", no_args_is_help=True)
territory_app = typer.Typer(help="Référentiel territorial (régions, départements, cantons, communes).", no_args_is_help=True)
accounts_app = typer.Typer(help="Comptes et jetons d'API.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(territory_app, name="territory")
app.add_typer(accounts_app, name="accounts")

CLI_ACTOR = Actor(id="system:cli", role="organiser")
T = TypeVar("T")
_servers: list[Any] = []


def fail(message: str) -> None:
    console.print(f"[bold red]Erreur :[/] {message}")
    raise typer.Exit(code=1)


def database_url(*, stop_at_exit: bool = True) -> str:
    """The schema owner's URL, for migrations (the embedded PostgreSQL when no DATABASE_URL).

    Afterwards `settings().database_url` is the application's URL: DATABASE_URL as given, or
    the embedded database's restricted user (see services/migrations/privileges.py).
    """
    current = settings()
    if current.database_url:
        return current.migration_database_url or current.database_url
    mode = os.environ.get("PRIMAIRES_MODE", Mode.DEMO.value)
    url, server = embedded_pg.start(current.data_dir, stop_at_exit=stop_at_exit)
    _servers.append(server)
    configure(**(current.model_dump() | {"mode": mode, "database_url": embedded_pg.app_url(url), "migration_database_url": url}))
    return url


def run_with_database(work: Callable[[], Awaitable[T]], *, migrate: bool = False) -> T:
    """Open the database (embedded if needed), optionally migrate, run `work`, close."""
    owner_url = database_url()
    if migrate:
        from services.migrations import runner

        runner.upgrade(owner_url)
    url = settings().database_url or owner_url

    async def main() -> T:
        db.init_database(url, pool_size=4)
        try:
            return await work()
        finally:
            await db.database().dispose()

    return asyncio.run(main())


# --- db ------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Applique toutes les migrations (toutes les branches de paquets)."""
    from services.migrations import runner

    runner.upgrade(database_url())
    console.print("[green]Base à jour.[/]")


@db_app.command("current")
def db_current() -> None:
    """Affiche les révisions appliquées."""
    from services.migrations import runner

    runner.current(database_url())


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="Objet de la migration")],
    package: Annotated[str, typer.Option(help="Paquet propriétaire : services, audit, voter_registry, polling, results")],
) -> None:
    """Crée une migration (autogénérée depuis les modèles) dans le dossier du paquet."""
    from services.migrations import runner

    if package not in runner.PACKAGES:
        fail(f"Paquet inconnu : {package}.")
    url = database_url()
    runner.upgrade(url)
    runner.revision(url, message, package)


# --- territory -----------------------------------------------------------------------------------


@territory_app.command("load")
def territory_load() -> None:
    """Charge (ou met à jour) le référentiel territorial embarqué ; sans effet s'il est déjà à jour."""
    from services.territory.service import load_territory

    async def work() -> Any:
        async with db.session_scope() as session:
            return await load_territory(session, CLI_ACTOR)

    report = run_with_database(work, migrate=True)
    state = "chargé" if report.changed else "déjà à jour"
    console.print(
        f"Référentiel territorial {state} : {report.regions} régions, {report.departments} départements, "
        f"{report.cantons} cantons, {report.communes} communes et arrondissements."
    )


# --- accounts ------------------------------------------------------------------------------------


@accounts_app.command("create")
def accounts_create(
    username: Annotated[str, typer.Option(help="Identifiant de connexion")],
    role: Annotated[Role, typer.Option(help="Rôle")],
    name: Annotated[str, typer.Option(help="Nom affiché")] = "",
    department: Annotated[str | None, typer.Option(help="Département (commission)")] = None,
    station: Annotated[str | None, typer.Option(help="Bureau de vote (président, assesseur)")] = None,
    password: Annotated[str | None, typer.Option(help="Mot de passe (demandé s'il est omis)")] = None,
) -> None:
    """Crée un compte (le premier organisateur se crée ainsi)."""
    from services.auth import service as auth_service

    secret = password or typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    spec = auth_service.AccountSpec(
        username=username,
        display_name=name or username,
        password=secret,
        role=role,
        department_code=department,
        station_code=station,
    )

    async def work() -> Any:
        async with db.session_scope() as session:
            return await auth_service.create_account(session, CLI_ACTOR, spec)

    try:
        account = run_with_database(work, migrate=True)
    except Exception as error:  # noqa: BLE001 - shown to the organiser in French
        fail(getattr(error, "message", str(error)))
    console.print(f"Compte « {account.username} » créé ({role.label}).")


@accounts_app.command("token")
def accounts_token(
    username: Annotated[str, typer.Option(help="Compte titulaire du jeton")],
    name: Annotated[str, typer.Option(help="Nom du jeton")] = "cli",
) -> None:
    """Crée un jeton d'API pour un compte et l'affiche (une seule fois)."""
    from sqlalchemy import select

    from services.auth import service as auth_service
    from services.auth.models import Account

    async def work() -> Any:
        async with db.session_scope() as session:
            account = await session.scalar(select(Account).where(Account.username == username.lower()))
            if account is None:
                return None
            _token, raw = await auth_service.create_api_token(session, CLI_ACTOR, account, name)
            return raw

    raw = run_with_database(work, migrate=True)
    if raw is None:
        fail(f"Compte inconnu : « {username} ».")
    console.print(raw)


# --- demo and serve --------------------------------------------------------------------------------


async def _prepare_demo() -> Any:
    from services import composition
    from services.demo import seed_platform
    from services.territory.service import load_territory

    async with db.session_scope() as session:
        report = await load_territory(session, CLI_ACTOR)
    console.print(f"Référentiel territorial {'chargé' if report.changed else 'déjà à jour'} ({report.communes} communes).")
    async with db.session_scope() as session:
        context, created = await seed_platform(session)
    if created:
        for label, step in composition.demo_steps():
            with console.status(f"Démonstration : {label}…"):
                async with db.session_scope() as session:
                    await step(session, context)
            console.print(f"  [green]✓[/] {label}")
        async with db.session_scope() as session:
            from services.demo import _list_demo_accounts

            context.accounts = await _list_demo_accounts(session)
    else:
        console.print("Données de démonstration déjà présentes : réutilisées.")
    return context


def _print_demo_accounts(context: Any, url: str) -> None:
    from services.demo import DEMO_PASSWORD

    table = Table(title=f"Comptes de démonstration — mot de passe commun : {DEMO_PASSWORD}")
    table.add_column("Identifiant", style="bold")
    table.add_column("Rôle")
    table.add_column("Périmètre")
    station_accounts = [account for account in context.accounts if account.role in (Role.PRESIDENT, Role.ASSESSOR)]
    for account in context.accounts:
        if account in station_accounts[4:]:
            continue
        table.add_row(account.username, account.role.label, account.scope)
    if len(station_accounts) > 4:
        table.add_row("…", f"et {len(station_accounts) - 4} autres comptes de bureau", "")
    console.print(table)
    for note in context.notes:
        console.print(f"• {note}")
    console.print(f"\n[bold]Application :[/] {url}   (santé : {url}/healthz, API : {url}/docs)")
    console.print("Ctrl-C arrête le serveur et la base de données.\n")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Dossier des données de démonstration")] = Path(".primaires"),
) -> None:
    """Démonstration : base embarquée, élection d'exemple, serveur sur http://127.0.0.1:8000."""
    import uvicorn

    from services.app import create_app

    from services.demo import DEMO_SLUG

    # The pages work on the demo election even though the demo also holds a training exercise
    # (a separate election, created after it): PRIMAIRES_ELECTION pins it.
    election = os.environ.get("PRIMAIRES_ELECTION") or DEMO_SLUG
    if os.environ.get("DATABASE_URL") or os.environ.get("PRIMAIRES_DATABASE_URL"):
        given = settings().database_url or ""
        configure(mode=Mode.DEMO, database_url=given, data_dir=data_dir, public_url=f"http://{host}:{port}", election=election)
    else:
        configure(mode=Mode.DEMO, data_dir=data_dir, public_url=f"http://{host}:{port}", election=election)
    with console.status("Démarrage de PostgreSQL embarqué…"):
        owner_url = database_url()
    from services.migrations import runner

    with console.status("Migrations…"):
        runner.upgrade(owner_url)
    app_url = settings().database_url or owner_url

    async def prepare() -> Any:
        db.init_database(app_url, pool_size=4)
        try:
            return await _prepare_demo()
        finally:
            await db.database().dispose()

    context = asyncio.run(prepare())
    _print_demo_accounts(context, f"http://{host}:{port}")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    finally:
        for server in _servers:
            embedded_pg.stop(server)
        console.print("Serveur et base de données arrêtés.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Nombre de processus")] = 1,
    migrate: Annotated[bool, typer.Option(help="Appliquer les migrations avant de démarrer")] = False,
    access_log: Annotated[bool, typer.Option(help="Journal de chaque requête HTTP")] = True,
) -> None:
    """Production : sert l'application sur DATABASE_URL (plusieurs processus possibles)."""
    import uvicorn

    try:
        current = settings()
    except Exception as error:  # noqa: BLE001 - settings errors are shown in French
        fail(str(error))
    if not current.database_url:
        fail("DATABASE_URL n'est pas défini. (Pour essayer l'application : « primaires demo ».)")
    if migrate:
        from services.migrations import runner

        runner.upgrade(current.migration_database_url or current.database_url)
    uvicorn.run(
        "services.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips="*",
        log_level="info",
        access_log=access_log,
        # A worker imports every domain package and loads the territory before it answers the
        # supervisor's health check: uvicorn's default 5 s is too short on a loaded 2-core machine
        # (workers were killed and restarted in a loop during the results-burst benchmark).
        timeout_worker_healthcheck=60,
    )


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except ValidationError as invalid:
        # The settings read from the environment (PRIMAIRES_*, DATABASE_URL) are refused: their
        # own French messages, without a traceback, for the organiser who runs the command.
        reasons = "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in invalid.errors())
        console.print(f"[bold red]Erreur de configuration :[/] {reasons}")
        sys.exit(1)
