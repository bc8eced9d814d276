"""Loading and reading the territory reference shipped in `services/territory/data/`.

Loading is idempotent: the files' SHA-256 is stored, an unchanged set loads nothing, and a
new version upserts every row (codes are stable keys) and records one audit event.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.events import SYSTEM, Actor, record
from services.territory.events import TerritoryLoaded
from services.territory.models import Canton, Commune, Department, ReferenceDataVersion, Region

DATA_DIR = Path(__file__).parent / "data"
DATA_FILES = ("regions.csv", "departements.csv", "cantons.csv", "communes.csv.gz")
CHUNK = 5000


def data_sha256() -> str:
    digest = hashlib.sha256()
    for name in DATA_FILES:
        digest.update(name.encode() + b"\0" + (DATA_DIR / name).read_bytes())
    return digest.hexdigest()


def _rows(name: str) -> Iterator[dict[str, str]]:
    path = DATA_DIR / name
    if name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle)
    else:
        with io.open(path, encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle)


def _none(value: str) -> str | None:
    return value or None


def regions() -> list[dict]:
    return [{"map": r["map"], "code": r["code"], "name": r["name"]} for r in _rows("regions.csv")]


def departments() -> list[dict]:
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "zone": r["zone"],
            "region_code": _none(r["region_code"]),
            "region_code_before_2016": _none(r["region_code_avant_2016"]),
            "chef_lieu": _none(r["chef_lieu"]),
        }
        for r in _rows("departements.csv")
    ]


def cantons() -> list[dict]:
    return [
        {"code": r["code"], "department_code": r["department_code"], "name": r["name"], "type": r["type"]}
        for r in _rows("cantons.csv")
    ]


def communes() -> list[dict]:
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "department_code": r["department_code"],
            "region_code": _none(r["region_code"]),
            "population": int(r["population"] or 0),
            "canton_code": _none(r["canton_code"]),
            "kind": r["kind"],
            "parent_code": _none(r["parent_code"]),
        }
        for r in _rows("communes.csv.gz")
    ]


@dataclass(frozen=True)
class LoadReport:
    changed: bool
    sha256: str
    regions: int
    departments: int
    cantons: int
    communes: int


async def _upsert(session: AsyncSession, model: type, rows: list[dict], keys: list[str]) -> None:
    statement = insert(model)
    updates = {column: statement.excluded[column] for column in rows[0] if column not in keys}
    statement = statement.on_conflict_do_update(index_elements=keys, set_=updates)
    for start in range(0, len(rows), CHUNK):
        await session.execute(statement, rows[start : start + CHUNK])


async def load_territory(session: AsyncSession, actor: Actor = SYSTEM) -> LoadReport:
    sha = data_sha256()
    current = await session.get(ReferenceDataVersion, "territory")
    if current is not None and current.sha256 == sha:
        counts = [await session.scalar(select(func.count()).select_from(model)) or 0 for model in (Region, Department, Canton, Commune)]
        return LoadReport(False, sha, *counts)
    region_rows, department_rows, canton_rows, commune_rows = regions(), departments(), cantons(), communes()
    await _upsert(session, Region, region_rows, ["map", "code"])
    await _upsert(session, Department, department_rows, ["code"])
    await _upsert(session, Canton, canton_rows, ["code"])
    await _upsert(session, Commune, commune_rows, ["code"])
    if current is None:
        session.add(ReferenceDataVersion(name="territory", sha256=sha))
    else:
        current.sha256 = sha
    report = LoadReport(True, sha, len(region_rows), len(department_rows), len(canton_rows), len(commune_rows))
    record(
        session,
        TerritoryLoaded(
            actor=actor,
            sha256=sha,
            regions=report.regions,
            departments=report.departments,
            cantons=report.cantons,
            communes=report.communes,
        ),
    )
    await session.flush()
    return report
