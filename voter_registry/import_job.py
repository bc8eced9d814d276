"""The import job: many commune files, one transaction each, on several processes.

`primaires registry import` parses in Python and PostgreSQL indexes on the server: with one
Python process, Python is the bottleneck (≈ 30 µs of CPU per line against ≈ 20 µs for the
server). `run_import` therefore imports the files on `jobs` processes (the command's own and
`jobs - 1` children), each importing its files one transaction at a time, while the command's
process gathers reports and shows progress. The processes take the next file from one shared
counter when they are ready for it (not a share fixed in advance): a child starts a second or
two after the command (it imports the importer and loads the territory first), and with
fixed shares the command then finished its half that much earlier and the child went on alone
on one core (measured: the end of every run had one import process busy, the other gone). A child dies with its
parent (PR_SET_PDEATHSIG): killing the command rolls back every commune in flight, in every
process, and leaves the communes already committed complete.

Memory (the whole import is capped at 300 MB, every process summed): a worker imports the
importer, the parser, the territory cache and the database layer, not the web application
(`services.cli` loads the packages' sub-commands lazily; the migrations run in a child process
of the command, see `voter_registry.cli`), and loads the territory without the communes' names.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import inspect
import multiprocessing
import signal
from queue import Empty
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from services import db
from services.elections.models import Election
from services.errors import AppError
from services.events import Actor
from voter_registry.errors import FileRefused, RegistryBoundElsewhere
from voter_registry.importer import ListFile, file_from_origin, import_commune_file
from voter_registry.territory_cache import import_territory

MAX_REPORTED_REJECTS = 10_000
# Commune files imported at the same time by one process, each in its own transaction on its
# own connection. One process alternates between Python work (reading, checking, building the
# COPY data) and waiting for PostgreSQL (the end of a COPY, the file's few statements, the
# commit); with a second file in flight, the process parses the next file while the server
# finishes the previous one, instead of leaving its core idle at every file boundary.
FILES_IN_FLIGHT = 2


def _release_freed_memory() -> None:
    """Give the heap pages freed by the last file back to the system (glibc keeps them by
    default): a large commune file's buffers would otherwise stay in the process's resident
    memory until the end of the import, in every process (≤ 300 MB for the whole import)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def _freeze_start_up_objects() -> None:
    """Move what the process built before its first file (modules, SQLAlchemy's mappers, the
    territory) out of the cyclic garbage collector's sight: the parser's caches fill with
    surviving tuples, which set off full collections, and each would walk those hundreds of
    thousands of start-up objects again for nothing (as the web servers do, see
    docs/performance.md)."""
    gc.collect()
    gc.freeze()


@dataclass
class FileOutcome:
    """What the command shows and writes about one file (sent between processes: plain data)."""

    file: str
    size: int
    status: str  # imported | replaced | unchanged | refused
    message: str = ""
    voters: int = 0
    lines: int = 0
    rejected: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    rejections: list[tuple[str, int, str, str]] = field(default_factory=list)  # (file, line, column, reason)
    warnings: list[str] = field(default_factory=list)


async def import_one(
    actor: Actor, election: Election, file: ListFile, progress: Callable[[int, int], None] | None
) -> FileOutcome:
    """One file in its own transaction (the commit point of the job)."""
    try:
        return await _import_one(actor, election, file, progress)
    finally:
        _release_freed_memory()


async def _import_one(
    actor: Actor, election: Election, file: ListFile, progress: Callable[[int, int], None] | None
) -> FileOutcome:
    try:
        async with db.session_scope() as session:
            report = await import_commune_file(session, actor, election, file, progress=progress)
    except RegistryBoundElsewhere:
        raise
    except AppError as error:
        rejections = []
        if isinstance(error, FileRefused):
            rejections = [(r.file, r.line, r.column, r.reason) for r in error.rejections[:MAX_REPORTED_REJECTS]]
        return FileOutcome(file.name, file.size, "refused", error.message, rejected=getattr(error, "rejected", 0), rejections=rejections)
    return FileOutcome(
        file=file.name,
        size=file.size,
        status=report.status,
        message=report.message,
        voters=report.voters,
        lines=report.lines,
        rejected=report.rejected,
        added=report.added,
        removed=report.removed,
        changed=report.changed,
        rejections=[(r.file, r.line, r.column, r.reason) for r in report.rejections],
        warnings=report.warnings,
    )


async def import_files(
    files: Iterable[ListFile],
    import_file: Callable[[ListFile], Awaitable[FileOutcome]],
    on_outcome: Callable[[FileOutcome], Any],
    *,
    in_flight: int = FILES_IN_FLIGHT,
) -> None:
    """Import `files` with `in_flight` of them at a time; outcomes are reported in the order
    the files came (the rejects report reads the same whatever the timing). `files` may be a
    list or an iterator that claims each file when it is asked for the next one (`claimed`).
    The first error stops the others (their transactions roll back) and is raised as is."""
    queue = enumerate(files)
    done: dict[int, FileOutcome] = {}
    next_reported = 0

    async def report_ready() -> None:
        nonlocal next_reported
        while next_reported in done:
            result = on_outcome(done.pop(next_reported))
            next_reported += 1
            if inspect.isawaitable(result):
                await result

    async def consume() -> None:
        for index, file in queue:  # shared: each file is taken by exactly one consumer
            done[index] = await import_file(file)
            await report_ready()

    consumers = max(1, min(in_flight, len(files))) if isinstance(files, list) else max(1, in_flight)
    tasks = [asyncio.ensure_future(consume()) for _ in range(consumers)]
    try:
        finished, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in finished:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def claimed(files: list[ListFile], counter: Any) -> Iterator[ListFile]:
    """The files this process takes, one at a time, from a counter shared by every process of
    the import (a `multiprocessing.Value`): each file is imported by exactly one process, and
    a process that is ready takes the next one, so that all finish together."""
    while True:
        with counter.get_lock():
            index = counter.value
            if index >= len(files):
                return
            counter.value = index + 1
        yield files[index]


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies (a killed import leaves no orphan)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the child then finishes its current file and stops at the next
        pass


def _worker(url: str, election_id: int, actor: dict, origins: list[tuple[str, ...]], counter: Any, queue: Any) -> None:
    """A child process: import its files, send progress and outcomes to the command."""
    _die_with_parent()

    async def main() -> None:
        db.init_database(url, pool_size=FILES_IN_FLIGHT)
        try:
            async with db.session_scope() as session:
                election = await session.get(Election, election_id)
                # Loaded before the freeze below, so that the collector never walks its
                # 35,000 communes again (it used to be loaded by the first file, after it).
                await import_territory(session)
            assert election is not None
            who = Actor(**actor)
            _freeze_start_up_objects()
            await import_files(
                claimed([file_from_origin(origin) for origin in origins], counter),
                lambda file: import_one(
                    who, election, file, lambda size, lines, name=file.name: queue.put(("progress", name, size, lines))
                ),
                lambda outcome: queue.put(("file", outcome)),
            )
        finally:
            await db.database().dispose()

    try:
        asyncio.run(main())
    except BaseException as error:  # noqa: BLE001 - reported to the command, which stops
        queue.put(("crash", f"{type(error).__name__}: {error}"))
    finally:
        queue.put(("done", None))


async def run_import(
    url: str,
    actor: Actor,
    election: Election,
    files: list[ListFile],
    *,
    jobs: int,
    on_progress: Callable[[str, int, int], None],
    on_outcome: Callable[[FileOutcome], None],
    after_own_file: Callable[[], Any] | None = None,
) -> None:
    """Import `files` on `jobs` processes; report progress and each file's outcome as they come."""
    _freeze_start_up_objects()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    # Files that another process can open (paths, zip members) are claimed from one shared
    # counter by every process, in name order; in-memory files (demo, tests) stay here.
    parallel = jobs > 1 and len(files) > 1 and all(f.origin for f in files)
    counter = context.Value("q", 0)
    children = [
        context.Process(
            target=_worker,
            args=(url, election.id, actor.model_dump(), [f.origin for f in files], counter, queue),
            daemon=True,
        )
        for _ in range(min(jobs, len(files)) - 1 if parallel else 0)
    ]
    for child in children:
        child.start()
    loop = asyncio.get_running_loop()
    crashes: list[str] = []

    def next_message() -> tuple | None:
        try:
            return queue.get(timeout=1)
        except Empty:
            return None

    async def gather_children() -> None:
        running = len(children)
        while running:
            message = await loop.run_in_executor(None, next_message)
            if message is None:
                if not any(child.is_alive() for child in children) and queue.empty():
                    crashes.append("processus d'import arrêté sans rendre compte")
                    return
                continue
            kind, *payload = message
            if kind == "progress":
                on_progress(*payload)
            elif kind == "file":
                on_outcome(payload[0])
            elif kind == "crash":
                crashes.append(payload[0])
            elif kind == "done":
                running -= 1

    async def reported(outcome: FileOutcome) -> None:
        on_outcome(outcome)
        if after_own_file is not None:
            await after_own_file()

    async def own_files() -> None:
        await import_files(
            claimed(files, counter) if parallel else files,
            lambda file: import_one(actor, election, file, lambda size, lines, name=file.name: on_progress(name, size, lines)),
            reported,
            # In-memory files (demo, tests) one at a time, as before: their caller may act
            # between two files (`after_own_file`).
            in_flight=FILES_IN_FLIGHT if after_own_file is None and all(f.origin for f in files) else 1,
        )

    try:
        await asyncio.gather(own_files(), gather_children())
    finally:
        gc.unfreeze()  # the command's process may go on (in-process callers, tests)
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
    if crashes:
        raise RuntimeError("Un processus d'import s'est arrêté : " + " ; ".join(crashes))
