"""Architecture rules: dependency direction, empty top-level packages, guarded routes, templates."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError

from services import web
from services.auth.dependencies import iter_api_routes, unguarded_routes

ROOT = Path(__file__).resolve().parents[1]
# A package may import only the packages to its left (and itself).
LAYERS = ["services", "audit", "voter_registry", "polling", "results", "rehearsal"]
# The composition roots: the only platform modules that wire the domain packages in.
COMPOSITION_ROOTS = {"services/composition.py", "services/cli.py"}


def _imported_top_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


@pytest.mark.parametrize("package", LAYERS)
def test_packages_import_only_lower_layers(package: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in COMPOSITION_ROOTS:
            continue
        forbidden = _imported_top_packages(path) - allowed
        if forbidden:
            violations.append(f"{relative} imports {sorted(forbidden)}")
    assert not violations, "Dependency direction broken:\n" + "\n".join(violations)


@pytest.mark.parametrize("package", LAYERS + ["tests"])
def test_top_level_init_files_are_empty(package: str) -> None:
    init = ROOT / package / "__init__.py"
    assert init.exists() and init.read_text().strip() == ""


def test_every_route_declares_its_access(app) -> None:  # noqa: ANN001
    assert unguarded_routes(app) == []
    assert sum(1 for _ in iter_api_routes(app)) > 20


def test_every_template_compiles(app) -> None:  # noqa: ANN001
    env = web.environment()
    names = env.list_templates(extensions=["html", "txt", "xml", "svg"])
    assert "services/base.html" in names
    broken = []
    for name in names:
        try:
            env.get_template(name)
        except TemplateSyntaxError as error:
            broken.append(f"{name}: {error}")
    assert not broken, broken


def test_no_sqlite_anywhere() -> None:
    offenders = [
        path.relative_to(ROOT).as_posix()
        for package in LAYERS + ["tests", "bench"]
        if (ROOT / package).exists()
        for path in (ROOT / package).rglob("*.py")
        if path.name != "test_architecture.py" and "sqlite" in path.read_text(encoding="utf-8").lower()
    ]
    assert offenders == []
