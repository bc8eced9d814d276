"""The territory reference as the registry reads it, held in memory once per process.

Communes (≈35,000) and cantons (≈2,300) are read on every import and every search (names
for display, commune look-ups by name, canton labels of the REU): a few megabytes kept in
memory spare a join on the hot path. Reference data changes only when the shipped files do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.territory.models import Canton, Commune, Department
from voter_registry.normalize import fold

_CANTON_FILLER = frozenset({"canton", "de", "du", "des", "d", "l", "la", "le", "les"})


def canton_signature(label: str) -> str:
    """« Canton de Bordeaux-1 », « BORDEAUX 1 » and « Bordeaux-1 » all give 'bordeaux1'."""
    words = fold(label)
    start = 0
    while start < len(words) - 1 and words[start] in _CANTON_FILLER:
        start += 1
    return "".join(words[start:])


@dataclass(frozen=True, slots=True)
class CommuneInfo:
    code: str
    name: str
    department_code: str
    canton_code: str | None
    kind: str
    parent_code: str | None
    folded_name: str


@dataclass
class Territory:
    communes: dict[str, CommuneInfo] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)  # code → name
    cantons: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (department, name)
    canton_by_signature: dict[tuple[str, str], str] = field(default_factory=dict)  # (department, signature) → code

    def canton_for_label(self, department_code: str, label: str) -> str | None:
        if not label.strip():
            return None
        return self.canton_by_signature.get((department_code, canton_signature(label)))

    def communes_named(self, text: str, department_code: str | None = None, limit: int = 50) -> list[CommuneInfo]:
        """Communes whose folded name starts with the folded `text` (arrondissements map to their city)."""
        wanted = " ".join(fold(text))
        if not wanted:
            return []
        found: dict[str, CommuneInfo] = {}
        for commune in self.communes.values():
            if department_code and commune.department_code != department_code:
                continue
            if commune.folded_name.startswith(wanted):
                target = self.communes.get(commune.parent_code or "", commune) if commune.kind != "commune" else commune
                found.setdefault(target.code, target)
                if len(found) >= limit:
                    break
        return sorted(found.values(), key=lambda c: (c.folded_name != wanted, c.folded_name, c.code))


_cache: list[Territory] = []
# Single flight: the first requests after a start arrive together (16 tablets at once); without
# the lock each would read the 35,000 communes itself, ~16 times the work, at the worst moment.
# One lock per event loop (tests and CLI commands each run their own loop).
_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _loading() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        for stale in [other for other in _locks if other.is_closed()]:
            del _locks[stale]
        lock = _locks[loop] = asyncio.Lock()
    return lock


# The import processes' territory: the communes without their names (`name` and `folded_name`
# empty), which the import never reads (it looks a commune up by its code, for its department,
# canton and parent) — 35,000 names and folded names less in each import process (≈ 6 MB, and
# the folding of every name at start-up). Never served to anything else: `territory()` stays
# the complete one, and a process that has it loaded gives it to the import too.
_import_cache: list[Territory] = []


async def import_territory(session: AsyncSession) -> Territory:
    """The territory as the REU import needs it (see `_import_cache`)."""
    if _cache and _cache[0].communes:
        return _cache[0]
    if _import_cache and _import_cache[0].communes:
        return _import_cache[0]
    async with _loading():
        if _import_cache and _import_cache[0].communes:
            return _import_cache[0]
        return await _load(session, names=False)


async def territory(session: AsyncSession) -> Territory:
    if _cache and _cache[0].communes:
        return _cache[0]
    async with _loading():
        if _cache and _cache[0].communes:  # loaded by the request we waited for
            return _cache[0]
        return await _load(session)


async def _load(session: AsyncSession, *, names: bool = True) -> Territory:
    loaded = Territory()
    for row in await session.execute(select(Department.code, Department.name)):
        loaded.departments[row.code] = row.name
    for row in await session.execute(select(Canton.code, Canton.department_code, Canton.name)):
        loaded.cantons[row.code] = (row.department_code, row.name)
        loaded.canton_by_signature.setdefault((row.department_code, canton_signature(row.name)), row.code)
    # 35,000 communes in every import process and every web worker: slotted objects, and the
    # codes that repeat (department, kind, canton, parent) shared rather than one string per
    # row (≈ 27 MB per process before, see bench/registry_import.py's memory figures).
    shared: dict[str, str] = {}

    def one(value: str | None) -> str | None:
        return None if value is None else shared.setdefault(value, value)

    name_column = Commune.name if names else literal("")
    rows = await session.stream(
        select(Commune.code, name_column, Commune.department_code, Commune.canton_code, Commune.kind, Commune.parent_code)
    )
    # Streamed by partitions: one hop between the driver and this coroutine per 2,000 rows,
    # not per row (every import process loads this at its start, before its first file).
    async for partition in rows.partitions(2_000):
        for code, name, department_code, canton_code, kind, parent_code in partition:
            loaded.communes[code] = CommuneInfo(
                code,
                name if names else "",
                one(department_code),
                one(canton_code),
                one(kind),
                one(parent_code),
                " ".join(fold(name)) if names else "",
            )
    if loaded.communes:
        (_cache if names else _import_cache)[:] = [loaded]
    return loaded


def clear_cache() -> None:
    _cache.clear()
    _import_cache.clear()
