"""The README's first command, as a newcomer runs it: `primaires demo` starts, serves, stops cleanly, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.conftest import _free_port


def _start_demo(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")}
    env.pop("PRIMAIRES_MODE", None)
    command = [str(Path(sys.executable).parent / "primaires"), "demo", "--port", str(port), "--data-dir", str(data_dir)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_healthy(base: str, process: subprocess.Popen[str], seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("La démonstration s'est arrêtée :\n" + (process.stdout.read() if process.stdout else ""))
        try:
            response = httpx.get(f"{base}/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("La démonstration n'a pas répondu à temps.")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output


def test_demo_starts_serves_stops_and_reuses_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    first = _start_demo(data_dir, port)
    try:
        health = _wait_healthy(base, first)
        assert health["database"] == "ok"
        landing = httpx.get(base + "/")
        assert landing.status_code == 200 and "Primaire citoyenne 2027" in landing.text
        login = httpx.get(base + "/connexion")
        assert "Connexion" in login.text
    finally:
        output = _stop(first)
    assert "Comptes de démonstration" in output and "organisation" in output
    assert "Serveur et base de données arrêtés." in output
    # The embedded PostgreSQL stopped with the demo.
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()

    second = _start_demo(data_dir, port)
    try:
        _wait_healthy(base, second)
    finally:
        output = _stop(second)
    assert "déjà présentes" in output
