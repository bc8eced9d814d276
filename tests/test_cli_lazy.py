"""`primaires` loads a package's sub-commands only when they are called (or listed by `--help`).

`primaires registry import` and its worker processes must not import the web application
(FastAPI routers, every package, templates): its memory is capped (docs/performance.md). Every
command must still be there and answer `--help`, as when `services.cli` registered them all at
import time.
"""

from __future__ import annotations

import os
import subprocess
import sys

import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from services import cli, composition


def _group() -> TyperGroup:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, TyperGroup)
    return group


def test_the_lazy_table_is_the_composition_roots() -> None:
    """Same names, same order, same Typer applications as `composition.cli_apps()`."""
    registered = composition.cli_apps()
    assert list(cli.LAZY_SUB_APPS) == [name for name, _app in registered]
    for name, sub_app in registered:
        assert cli.lazy_sub_app(name) is sub_app


def test_every_command_and_sub_command_answers_help() -> None:
    runner = CliRunner()
    root = runner.invoke(cli.app, ["--help"], terminal_width=200)
    assert root.exit_code == 0, root.output
    group = _group()
    context = group.context_class(group)
    names = group.list_commands(context)
    assert {"db", "territory", "accounts", "demo", "serve", *cli.LAZY_SUB_APPS} <= set(names)
    for name in names:
        assert name in root.output
        command = group.get_command(context, name)
        assert command is not None, name
        shown = runner.invoke(cli.app, [name, "--help"], terminal_width=200)
        assert shown.exit_code == 0, (name, shown.output)
        assert "Usage" in shown.output and "--install-completion" not in shown.output
        if isinstance(command, TyperGroup):
            for sub_name in command.list_commands(command.context_class(command)):
                sub = runner.invoke(cli.app, [name, sub_name, "--help"], terminal_width=200)
                assert sub.exit_code == 0, (name, sub_name, sub.output)
                assert "Usage" in sub.output


def test_an_unknown_command_is_refused() -> None:
    result = CliRunner().invoke(cli.app, ["inconnue"])
    assert result.exit_code != 0
    assert "inconnue" in result.output


def test_the_import_does_not_load_the_web_application() -> None:
    """What `primaires registry import` imports in its process, and what a worker imports."""
    probe = (
        "import sys\n"
        "from services.cli import app\n"
        "import typer\n"
        "group = typer.main.get_command(app)\n"
        "group.get_command(group.context_class(group), 'registry')\n"
        "import voter_registry.import_job, voter_registry.territory_cache, services.territory.service\n"
        "heavy = [m for m in ('services.composition', 'services.app', 'jinja2', 'polling', 'results', 'audit', "
        "'voter_registry.search', 'voter_registry.views', 'voter_registry.api', 'alembic') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_refused_settings_get_a_french_message_without_a_traceback(tmp_path) -> None:  # noqa: ANN001
    """An organiser who runs a command without the production settings (no secret key) reads
    what to set, not a Python traceback; nothing is started."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRIMAIRES_") and key != "DATABASE_URL"}
    env["PRIMAIRES_MODE"] = "production"
    (tmp_path / "liste.csv").write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-c", "from services.cli import main; main()", "registry", "import", str(tmp_path / "liste.csv")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1
    assert "Erreur de configuration" in output and "PRIMAIRES_SECRET_KEY" in output
    assert "Traceback" not in output and "ValidationError" not in output
    assert not (tmp_path / ".primaires").exists()
