"""Several commune files in flight in one import process (`import_job.import_files`).

The files overlap (one is parsed while PostgreSQL finishes another), but the outcomes are
reported in the files' order, each file is imported exactly once, and the first error stops
the others and is raised as it is (the command shows its French message).
"""

from __future__ import annotations

import asyncio

import pytest

from voter_registry.errors import RegistryBoundElsewhere
from voter_registry.import_job import FileOutcome, import_files
from voter_registry.importer import ListFile, bytes_file


def _files(count: int) -> list[ListFile]:
    return [bytes_file(f"commune-{index:02d}.csv", b"x" * (index + 1)) for index in range(count)]


async def test_outcomes_come_in_file_order_whatever_finishes_first() -> None:
    files = _files(7)
    started: list[str] = []
    finished: list[str] = []
    in_flight = peak = 0

    async def import_file(file: ListFile) -> FileOutcome:
        nonlocal in_flight, peak
        started.append(file.name)
        in_flight += 1
        peak = max(peak, in_flight)
        # Even files take longer: the odd ones finish first.
        await asyncio.sleep(0.02 if int(file.name[8:10]) % 2 == 0 else 0.001)
        in_flight -= 1
        finished.append(file.name)
        return FileOutcome(file.name, file.size, "imported", voters=file.size)

    reported: list[FileOutcome] = []
    await import_files(files, import_file, reported.append, in_flight=2)

    assert [outcome.file for outcome in reported] == [file.name for file in files]
    assert [outcome.voters for outcome in reported] == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(started) == [file.name for file in files]  # each file once
    assert peak == 2
    assert finished != [file.name for file in files]  # they did overlap and finish out of order


async def test_first_error_stops_the_others_and_is_raised_as_is() -> None:
    files = _files(6)
    imported: list[str] = []

    async def import_file(file: ListFile) -> FileOutcome:
        if file.name == "commune-01.csv":
            await asyncio.sleep(0.005)
            raise RegistryBoundElsewhere("Les listes chargées sont celles d'une autre élection.")
        await asyncio.sleep(0.05)
        imported.append(file.name)
        return FileOutcome(file.name, file.size, "imported")

    with pytest.raises(RegistryBoundElsewhere, match="autre élection"):
        await import_files(files, import_file, lambda outcome: None, in_flight=2)
    await asyncio.sleep(0.1)
    # The file in flight beside the failing one was cancelled (its transaction rolls back);
    # no further file was started.
    assert imported == []


async def test_one_at_a_time_when_asked() -> None:
    files = _files(3)
    active = peak = 0

    async def import_file(file: ListFile) -> FileOutcome:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.001)
        active -= 1
        return FileOutcome(file.name, file.size, "imported")

    reported: list[str] = []
    await import_files(files, import_file, lambda outcome: reported.append(outcome.file), in_flight=1)
    assert peak == 1
    assert reported == [file.name for file in files]


async def test_processes_claim_each_file_once_from_a_shared_counter() -> None:
    """`claimed`: the files of a multi-process import are taken from one shared counter, each
    by exactly one process; a process that goes faster takes more of them."""
    import multiprocessing

    from voter_registry.import_job import claimed

    files = _files(9)
    counter = multiprocessing.get_context("spawn").Value("q", 0)
    fast_taken: list[str] = []
    slow_taken: list[str] = []

    async def process(taken: list[str], delay: float) -> None:
        async def import_file(file: ListFile) -> FileOutcome:
            taken.append(file.name)
            await asyncio.sleep(delay)
            return FileOutcome(file.name, file.size, "imported", voters=file.size)

        reported: list[FileOutcome] = []
        await import_files(claimed(files, counter), import_file, reported.append, in_flight=2)
        # Each process reports its own files in the order it claimed them.
        assert [outcome.file for outcome in reported] == taken

    await asyncio.gather(process(fast_taken, 0.001), process(slow_taken, 0.05))
    assert sorted(fast_taken + slow_taken) == [file.name for file in files]
    assert not set(fast_taken) & set(slow_taken)
    assert len(fast_taken) > len(slow_taken)
    assert counter.value == len(files)
