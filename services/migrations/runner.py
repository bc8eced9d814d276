"""Running the Alembic migrations of every package.

Each package keeps its own migrations in `<package>/migrations/` as an Alembic branch
(branch label = package name) that depends on the revisions it needs from the packages
below it. Packages can add migrations without touching each other's chains, and
`upgrade("heads")` brings all branches up to date.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "audit", "voter_registry", "polling", "results")


def version_locations() -> list[str]:
    locations = [str(Path(__file__).parent / "versions")]
    for package in PACKAGES[1:]:
        folder = ROOT / package / "migrations"
        if folder.is_dir():
            locations.append(str(folder))
    return locations


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(version_locations()))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)


def revision(database_url: str, message: str, package: str, autogenerate: bool = True) -> None:
    config = alembic_config(database_url)
    folder = Path(__file__).parent / "versions" if package == "services" else ROOT / package / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    command.revision(
        config,
        message=message,
        autogenerate=autogenerate,
        head=f"{package}@head" if _has_branch(config, package) else "base",
        branch_label=None if _has_branch(config, package) else package,
        version_path=str(folder),
    )


def _has_branch(config: Config, package: str) -> bool:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)
    return any(package in (rev.branch_labels or ()) for rev in script.walk_revisions())
