"""An embedded PostgreSQL 16 (the `pgserver` package) for the demo, development and tests.

It listens on a Unix socket inside its data folder only (no TCP port, nothing exposed).
When started as root, pgserver runs the server as its own unprivileged user.

Two users connect, as in production (see `services.migrations.privileges`): `postgres` (the
owner: `start` returns its URL, used for migrations) and `primaires_web`, a member of the
restricted group role `primaires_app` (`app_url`: what the application uses). Local socket
connections are trusted, so neither has a password.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

from services.migrations.privileges import APP_ROLE

DATABASE_NAME = "primaires"
APP_LOGIN = "primaires_web"

ENSURE_APP_LOGIN = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN
    CREATE ROLE {APP_LOGIN} LOGIN IN ROLE {APP_ROLE};
  END IF;
END $$;
"""


def start(data_dir: Path, *, database: str = DATABASE_NAME, stop_at_exit: bool = True) -> tuple[str, Any]:
    """Start (or reuse) the server whose data lives in `data_dir/pgdata`; return (URL, server)."""
    import pgserver

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The socket lives in the data folder: its path must stay under the kernel's 107-byte limit.
    if len(str(pgdata)) > 90:
        raise RuntimeError(f"Chemin du dossier de données trop long pour PostgreSQL : {pgdata}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    server.psql(ENSURE_APP_LOGIN)
    # As docker-compose.yml: no DETAIL in the server's log, where a second check-in of the same
    # person (a unique violation on (round, token)) would otherwise copy its participation token.
    server.psql("ALTER SYSTEM SET log_error_verbosity = 'terse';")
    server.psql("SELECT pg_reload_conf();")
    return f"postgresql://postgres@/{database}?host={quote(str(pgdata))}", server


def app_url(owner_url: str) -> str:
    """The application's URL for an embedded database, given the owner's URL from `start`."""
    prefix = "postgresql://postgres@"
    if not owner_url.startswith(prefix):
        raise ValueError("not an embedded database URL")
    return f"postgresql://{APP_LOGIN}@" + owner_url[len(prefix) :]


def stop(server: Any) -> None:
    with contextlib.suppress(Exception):
        server.cleanup()
