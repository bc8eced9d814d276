"""The registry imports only `services` and `audit` (dependency direction), and its templates compile."""

from __future__ import annotations

import ast
from pathlib import Path

from services import web

PACKAGE = Path(__file__).resolve().parents[2] / "voter_registry"
FORBIDDEN = ("polling", "results")


def test_dependency_direction() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_templates_compile() -> None:
    web.add_template_package("voter_registry")
    environment = web.environment()
    templates = sorted(p.name for p in (PACKAGE / "templates" / "voter_registry").glob("*.html"))
    assert len(templates) >= 6
    for name in templates:
        environment.get_template(f"voter_registry/{name}")
