"""The rehearsal's own deployment on this machine: an embedded PostgreSQL in a folder of its
own, and `primaires serve --workers N` on 127.0.0.1, started as a separate process group so
that the « kill » fault can kill -9 every worker at once, as a crash would."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services import embedded_pg
from services.migrations import runner
from services.settings import configure, settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Database:
    owner_url: str
    app_url: str
    data_dir: Path
    handle: Any = None

    def restart(self) -> float:
        """Restart PostgreSQL (fast shutdown: open connections are cut, as in a failover);
        returns the seconds it was unavailable."""
        from pgserver._commands import pg_ctl

        started = time.monotonic()
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.handle.pgdata, user=self.handle.system_user, timeout=60)
        return time.monotonic() - started


def start_database(data_dir: Path, *, public_url: str, secret_key: str) -> Database:
    owner_url, handle = embedded_pg.start(data_dir)
    runner.upgrade(owner_url)
    configure(
        mode="demo",
        database_url=embedded_pg.app_url(owner_url),
        migration_database_url=owner_url,
        data_dir=data_dir,
        secret_key=secret_key,
        public_url=public_url,
        sms_gateway="memory",
    )
    from audit import keys

    keys.signer()  # generate the log's signing key once, before several workers race to do it
    return Database(owner_url, embedded_pg.app_url(owner_url), data_dir, handle)


@dataclass
class Server:
    """`primaires serve` in its own process group, logging to a file."""

    url: str
    port: int
    workers: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, *, timeout: float = 90.0) -> float:
        started = time.monotonic()
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open by the child
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from services.cli import main; main()", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--no-access-log"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Le serveur s'est arrêté au démarrage : voir {self.log_path}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Le serveur n'a pas répondu en {timeout:.0f} s : voir {self.log_path}")

    def kill(self) -> None:
        """kill -9 of the whole process group (the supervisor and every worker)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def crash_and_restart(self) -> float:
        started = time.monotonic()
        self.kill()
        self.start()
        seconds = time.monotonic() - started
        self.restarts.append(seconds)
        return seconds


def server_for(database: Database, *, workers: int, election_slug: str, port: int | None = None) -> Server:
    port = port or free_port()
    current = settings()
    env = {
        **os.environ,
        "PRIMAIRES_MODE": "demo",
        "DATABASE_URL": database.app_url,
        "PRIMAIRES_MIGRATION_DATABASE_URL": database.owner_url,
        "PRIMAIRES_DATA_DIR": str(database.data_dir),
        "PRIMAIRES_SECRET_KEY": current.secret_key,
        "PRIMAIRES_PUBLIC_URL": current.public_url,
        "PRIMAIRES_ELECTION": election_slug,
        "PRIMAIRES_SMS_GATEWAY": "memory",
        "PRIMAIRES_AUDIT_SEAL_INTERVAL_SECONDS": "1",
        "PRIMAIRES_DB_POOL_SIZE": "8",
    }
    return Server(f"http://127.0.0.1:{port}", port, workers, env, database.data_dir / "serveur.log")


def new_secret() -> str:
    return secrets.token_urlsafe(32)
