"""The dress rehearsal, small enough for CI: 10 stations, 300 voters, a whole day and night
through the real server (its own embedded PostgreSQL and `primaires serve`), with duplicated
and dropped Twilio deliveries; then the published totals against what the stations sent and
the exported log through the independent verifier."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rehearsal.day import Faults, flash_of
from rehearsal.prepare import channel_mix, departments_for

ROOT = Path(__file__).resolve().parents[2]


def test_small_rehearsal_with_duplicate_and_dropped_webhooks_loses_and_doubles_nothing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRIMAIRES_") and key != "DATABASE_URL"}
    completed = subprocess.run(
        [sys.executable, "-c", "from services.cli import main; main()", "rehearse", "--stations", "10", "--voters", "300",
         "--speedup", "36000", "--faults", "dup,drop", "--workers", "1", "--concurrency", "8", "--turnout", "0.3",
         "--output", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    document = json.loads((tmp_path / "repetition.json").read_text())
    assert document["ok"] is True
    checks = {check["name"]: check for check in document["checks"]}
    assert {"émargements", "total national", "totaux départementaux", "journal de transparence"} <= set(checks)
    assert all(check["ok"] for check in document["checks"]), document["checks"]
    # Nothing lost, nothing counted twice: the server's counters equal what was acknowledged,
    # and the published national total equals the sum of the reports the stations sent.
    assert document["throughput"]["checkins"] > 0
    nation = document["published_nation"]
    assert nation["signatures"] == document["throughput"]["checkins"]
    assert nation["stations_reported"] == document["election"]["stations"] == 10
    assert document["stations_not_reported"] == []
    assert document["faults"].get("dup", 0) > 0 and document["faults"].get("drop", 0) > 0
    assert document["errors"] == {}, document["error_samples"]
    assert document["log"]["events"] > 100 and document["log"]["checkpoints"] >= 1
    channels = document["channels"]
    assert all(channels[f"results_{c}"] >= 1 for c in ("sms", "phone", "tablet", "paper"))
    html = (tmp_path / "repetition.html").read_text()
    assert "Répétition RÉUSSIE" in html and "<svg" in html


def test_faults_are_parsed_and_unknown_ones_refused_in_french() -> None:
    faults = Faults.parse("dup, drop,kill,pg_restart")
    assert faults.names() == ["dup", "drop", "kill", "pg-restart"]
    with pytest.raises(ValueError, match="Pannes inconnues : fire"):
        Faults.parse("dup,fire")


@pytest.mark.parametrize("count", [1, 3, 4, 10, 1000])
def test_every_results_channel_is_used_once_there_are_four_stations(count: int) -> None:
    import random

    channels = channel_mix(count, random.Random(1))
    assert len(channels) == count
    if count >= 4:
        assert {"sms", "phone", "tablet", "paper"} <= set(channels)
    assert 2 <= len(departments_for(count)) <= 12


def test_flash_messages_are_read_from_the_redirect() -> None:
    import httpx

    cookie = 'primaires_flash="%7B%22m%22%3A%20%22Bureau%20clos.%22%2C%20%22k%22%3A%20%22ok%22%7D.0123456789abcdef"; Path=/'
    response = httpx.Response(303, headers=[("set-cookie", cookie)])
    assert flash_of(response) == ("ok", "Bureau clos.")
    assert flash_of(httpx.Response(403, text="interdit"))[0] == "error"


def test_the_day_talks_to_the_server_only_through_http_and_webhooks() -> None:
    """The driver of the day and the checks import no domain package that writes: only the
    plan (prepared beforehand), the Twilio simulator and the independent log verifier."""
    for name in ("day.py", "checks.py", "report.py"):
        tree = ast.parse((ROOT / "rehearsal" / name).read_text(encoding="utf-8"))
        modules = {
            node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        domain = {m for m in modules if m.split(".")[0] in ("polling", "results", "voter_registry", "audit")}
        assert domain <= {"audit.verifier"}, (name, domain)
        assert "services.db" not in modules and "sqlalchemy" not in modules, name
