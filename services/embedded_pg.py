"""An embedded PostgreSQL 16 (the `pgserver` package) for the demo, development and tests.

It listens on a Unix socket inside its data folder only (no TCP port, nothing exposed).
When started as root, pgserver runs the server as its own unprivileged user.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

DATABASE_NAME = "primaires"


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
    return f"postgresql://postgres@/{database}?host={quote(str(pgdata))}", server


def stop(server: Any) -> None:
    with contextlib.suppress(Exception):
        server.cleanup()
