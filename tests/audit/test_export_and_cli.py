"""Export from the database, the standalone verifier, the demo step, the schema, the layering."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncSession

import audit
from audit import export, verifier
from audit.demo import seal_demo_log
from services.db import Base
from services.demo import DemoContext
from services.events import SYSTEM, record
from tests.audit.events import ProbeRecorded

AUDIT_DIR = Path(audit.__file__).parent
LOG_TABLES = {"audit_event", "audit_leaf", "audit_node", "audit_checkpoint", "audit_verification"}


async def test_a_database_export_verifies_with_the_standalone_copy_of_the_verifier(log_database, signer, tmp_path):
    async with AsyncSession(log_database.database.engine, expire_on_commit=False) as session:
        for number in range(40):
            record(session, ProbeRecorded(actor=SYSTEM, station_code="971001", marker="export", number=number))
        await session.commit()
    await log_database.seal(signer)
    async with AsyncSession(log_database.database.engine) as session:
        report = await export.write_export(session, tmp_path / "export", signer.verifier_key)
    folder = report.directory
    assert {path.name for path in folder.iterdir()} == {
        "events.jsonl", "checkpoints.jsonl", "public-key.vkey", "verifier.py", "LISEZMOI.txt"
    }
    assert verifier.verify_directory(folder, expected_key=signer.verifier_key).events == report.events
    # The copy in the export runs on its own, from the export folder, outside the project.
    standalone = subprocess.run(
        [sys.executable, "verifier.py", ".", "--cle", signer.verifier_key, "--processus", "1"],
        cwd=folder, capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"},
    )
    assert standalone.returncode == 0, standalone.stderr
    assert f"Journal vérifié : {report.events} événements" in standalone.stdout
    lines = (folder / "events.jsonl").read_bytes().splitlines(keepends=True)
    target = next(index for index, line in enumerate(lines) if b'"marker":"export"' in line) + 5
    lines[target] = lines[target].replace(b'"marker":"export"', b'"marker":"exp0rt"')
    (folder / "events.jsonl").write_bytes(b"".join(lines))
    tampered = subprocess.run(
        [sys.executable, "verifier.py", "."], cwd=folder, capture_output=True, text=True, check=False
    )
    assert tampered.returncode == 1
    assert f"premier index non fiable : {target}" in tampered.stderr


async def test_the_demo_step_seals_signs_and_verifies(session):
    context = DemoContext(election=None)  # type: ignore[arg-type] - the log's step needs no election
    record(session, ProbeRecorded(actor=SYSTEM, station_code="750001", marker="démo", number=1))
    await seal_demo_log(session, context)
    assert context.notes and "vérifié" in context.notes[-1] and "ÉCHEC" not in context.notes[-1]


def test_the_verifier_imports_nothing_from_the_project():
    tree = ast.parse((AUDIT_DIR / "verifier.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}, imported


def test_audit_imports_only_services_and_itself():
    allowed = {"audit", "services"}
    forbidden = {"voter_registry", "polling", "results"}
    for path in AUDIT_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in forbidden, (path, name)
    assert allowed


async def test_the_migrations_match_the_log_models(database):
    async with database.engine.connect() as connection:

        def differences(sync_connection):  # noqa: ANN001, ANN202
            context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)

        diff = await connection.run_sync(differences)

    def table_of(change) -> str | None:  # noqa: ANN001
        item = change[0] if isinstance(change, list) else change
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if isinstance(part, str) and part in LOG_TABLES:
                return part
            if name in LOG_TABLES:
                return name
        return None

    ours = [change for change in diff if table_of(change) in LOG_TABLES]
    assert ours == [], ours


def test_the_verify_command_needs_no_database_and_fails_with_a_non_zero_code(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from audit.checkpoints import Signer
    from services.cli import app
    from tests.audit.test_tampering import build_export, sample_entries

    monkeypatch.delenv("DATABASE_URL", raising=False)
    signer = Signer.generate("cli.primaires/journal")
    export_ = build_export(signer, sample_entries(12), (5, 12))
    (tmp_path / "public-key.vkey").write_bytes(export_.key)
    (tmp_path / "checkpoints.jsonl").write_bytes(export_.checkpoints)
    (tmp_path / "events.jsonl").write_bytes(export_.events)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", str(tmp_path), "--cle", signer.verifier_key, "--processus", "1"])
    assert ok.exit_code == 0, ok.output
    assert "Journal vérifié : 12 événements, 2 points de contrôle" in ok.output
    lines = export_.events.splitlines(keepends=True)
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines[:3] + lines[4:]))
    bad = runner.invoke(app, ["audit", "verify", str(tmp_path)])
    assert bad.exit_code == 1
    other = Signer.generate("cli.primaires/journal")
    (tmp_path / "events.jsonl").write_bytes(export_.events)
    replaced = runner.invoke(app, ["audit", "verify", str(tmp_path), "--cle", other.verifier_key])
    assert replaced.exit_code == 1
