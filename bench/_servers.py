"""What the HTTP benchmarks share: a database of their own (embedded, or created beside
DATABASE_URL) with the application migrated and the floor's bare table, free ports, the wait
for a server to answer, and the reading of one HTTP/1.1 response off a keep-alive connection."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, *, seconds: float = 120) -> None:
    """Until the server on `port` answers /healthz; stops the run if it dies or never answers."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Le serveur du port {port} s'est arrêté (code {process.returncode}).")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"Le serveur du port {port} n'a pas démarré.")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of the next response on a keep-alive connection (Content-Length bodies)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, (await reader.readexactly(length) if length else b"")


def bench_database(name: str, floor_statements: Sequence[str]) -> tuple[str, str, object | None, Path | None]:
    """A fresh database for one benchmark, migrated, with the floor's table made by
    `floor_statements` (run as the owner). With DATABASE_URL, the database `name` is
    (re)created beside it; without, an embedded PostgreSQL starts in a temporary folder.
    Returns (owner URL, application-role URL, embedded server or None, its folder or None)."""
    import asyncpg

    from services import embedded_pg
    from services.migrations import runner

    given = os.environ.get("DATABASE_URL") or os.environ.get("PRIMAIRES_DATABASE_URL")
    server = folder = None
    if given:
        plain = given.replace("postgresql+asyncpg://", "postgresql://")

        async def create() -> None:
            connection = await asyncpg.connect(plain)
            await connection.execute(f"DROP DATABASE IF EXISTS {name}")
            await connection.execute(f"CREATE DATABASE {name}")
            await connection.close()

        asyncio.run(create())
        base, _, query = plain.partition("?")
        owner = base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
        app = owner
    else:
        folder = Path(tempfile.mkdtemp(prefix=f"{name.replace('_', '-')}-"))
        owner, server = embedded_pg.start(folder, database="primaires_bench")
        app = embedded_pg.app_url(owner)
    runner.upgrade(owner)

    async def floor_table() -> None:
        connection = await asyncpg.connect(owner)
        for statement in floor_statements:
            await connection.execute(statement)
        await connection.close()

    asyncio.run(floor_table())
    return owner, app, server, folder
