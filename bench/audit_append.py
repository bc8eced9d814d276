"""Benchmark: appending audit events from concurrent transactions, with the sequencer running.

    uv run python bench/audit_append.py [--seconds 15] [--workers 16]

A fresh embedded PostgreSQL (in a temporary folder), migrated, the application connecting as
its restricted role. Three phases of the same length, the same number of concurrent workers:

1. floor: raw asyncpg, one INSERT per transaction of the same entries (built the same way)
   into a bare table (no index, no trigger, no sequencer) — what this machine does at best;
2. log appends: raw asyncpg, one INSERT INTO audit_event per transaction, of real event
   entries (the same shape as the floor) into the real table (its indexes, its xid default, its append-only trigger),
   while the sequencer job integrates and signs a checkpoint every
   `audit_seal_interval_seconds` (2 s), exactly as in the server. This is the log's cost;
3. through `record()`: the application's real write path — a SQLAlchemy session per
   transaction, `record(session, event)`, commit — with the sequencer running. The gap between
   2 and 3 is the ORM/session machinery every request pays, audit or not.

For phases 2 and 3: events committed per second, and the checkpoint lag of every event: the
time from its commit to the signing of the first checkpoint covering it (max, p99, median).
The machine's load average at the start is printed: other processes skew the figures.
Prints one final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from services import db, embedded_pg  # noqa: E402
from services.events import Actor, Event, record  # noqa: E402
from services.migrations import runner  # noqa: E402
from services.settings import Mode, configure  # noqa: E402


class CheckInRecorded(Event):
    """Shaped like a polling-station check-in: a keyed token, never an identity."""

    kind: ClassVar[str] = "bench.check_in"
    subject_fields: ClassVar[tuple[str, ...]] = ("station_code",)
    station_code: str
    round_id: int
    token_prefix: str
    contribution_cents: int


def event(worker: int, number: int) -> CheckInRecorded:
    return CheckInRecorded(
        actor=Actor(id=f"tablet:{worker}", role="tablet", scope=f"75{worker:04d}"),
        station_code=f"75{worker:04d}",
        round_id=1,
        token_prefix=f"{number:016x}",
        contribution_cents=200,
    )


async def floor_rate(owner_url: str, app_url: str, workers: int, seconds: float) -> float:
    """Raw asyncpg inserts of the same entries into a bare table, one per transaction; the
    client builds each event exactly as in the measured phase, so only the database differs."""
    from datetime import UTC, datetime

    connection = await asyncpg.connect(owner_url)
    await connection.execute("DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (id bigserial, entry text)")
    await connection.execute("GRANT INSERT ON bench_floor TO primaires_app; GRANT USAGE ON SEQUENCE bench_floor_id_seq TO primaires_app")
    await connection.close()
    deadline = time.monotonic() + seconds
    counts = [0] * workers

    async def insert_loop(worker: int) -> None:
        connection = await asyncpg.connect(app_url)
        try:
            while time.monotonic() < deadline:
                item = event(worker, counts[worker])
                json.dumps(item.subjects())
                await connection.execute("INSERT INTO bench_floor (entry) VALUES ($1)", item.entry(datetime.now(UTC)))
                counts[worker] += 1
        finally:
            await connection.close()

    started = time.monotonic()
    await asyncio.gather(*(insert_loop(worker) for worker in range(workers)))
    return sum(counts) / (time.monotonic() - started)


INSERT_EVENT = """
INSERT INTO audit_event (recorded_at, kind, actor, actor_scope, subjects, entry)
VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id
"""


async def measured(workers: int, seconds: float, *, app_url: str, through_record: bool) -> dict:
    from datetime import UTC, datetime

    from audit import keys, sequencer
    from audit.models import AuditLeaf

    signer = keys.signer()
    checkpoints: list[tuple[int, float]] = []  # (tree size, monotonic time it was committed)
    commits: dict[int, float] = {}  # event id -> monotonic time its transaction committed
    stop = asyncio.Event()
    async with db.database().sessionmaker() as session:
        start_size = (await sequencer.seal(session, signer)).tree_size
        await session.commit()

    async def sealer() -> None:
        # The server's loop (audit.jobs.sealing_job), instrumented.
        from services.settings import settings

        while not stop.is_set():
            started = time.monotonic()
            report = await sequencer.seal_all(signer)
            if report.checkpoint is not None:
                checkpoints.append((report.checkpoint.tree_size, time.monotonic()))
            pause = max(0.1, settings().audit_seal_interval_seconds - (time.monotonic() - started))
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass

    async def record_writer(worker: int) -> None:
        number = 0
        while time.monotonic() < deadline:
            async with db.database().sessionmaker() as session:
                row = record(session, event(worker, number))
                await session.commit()
            commits[row.id] = time.monotonic()
            number += 1

    async def raw_writer(worker: int) -> None:
        connection = await asyncpg.connect(app_url)
        number = 0
        try:
            while time.monotonic() < deadline:
                item = event(worker, number)
                at = datetime.now(UTC)
                # One statement, one transaction (autocommit), like the floor: the event gets its
                # transaction id and goes through the sequencer's watermark like any other.
                event_id = await connection.fetchval(
                    INSERT_EVENT, at, item.kind, item.actor.id, item.actor.scope, json.dumps(item.subjects()), item.entry(at)
                )
                commits[event_id] = time.monotonic()
                number += 1
        finally:
            await connection.close()

    writer = record_writer if through_record else raw_writer
    sealing = asyncio.create_task(sealer())
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(writer(worker) for worker in range(workers)))
    elapsed = time.monotonic() - started
    # Let the sequencer catch up (it keeps its 2 s rhythm), then stop it.
    while not checkpoints or checkpoints[-1][0] < start_size + len(commits):
        await asyncio.sleep(0.1)
    stop.set()
    await sealing
    async with db.database().sessionmaker() as session:
        leaves = dict((await session.execute(select(AuditLeaf.event_id, AuditLeaf.leaf_index).where(AuditLeaf.leaf_index >= start_size))).all())
    sizes = [size for size, _at in checkpoints]
    lags = []
    for event_id, committed_at in commits.items():
        covering = bisect.bisect_right(sizes, leaves[event_id])  # first checkpoint with size > leaf index
        lags.append(checkpoints[covering][1] - committed_at)
    lags.sort()
    return {
        "events": len(commits),
        "events_per_second": round(len(commits) / elapsed),
        "checkpoints": len(checkpoints),
        "checkpoint_lag_max_s": round(lags[-1], 2),
        "checkpoint_lag_p99_s": round(lags[max(0, int(len(lags) * 0.99) - 1)], 2),
        "checkpoint_lag_median_s": round(lags[len(lags) // 2], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    load = [round(value, 2) for value in os.getloadavg()]
    folder = Path(tempfile.mkdtemp(prefix="primaires-bench-"))
    owner_url, server = embedded_pg.start(folder, database="bench_audit")
    app_url = embedded_pg.app_url(owner_url)
    configure(mode=Mode.TEST, database_url=app_url, migration_database_url=owner_url, data_dir=folder)
    runner.upgrade(owner_url)

    async def run() -> dict:
        floor = await floor_rate(owner_url, app_url, args.workers, args.seconds)
        db.init_database(app_url, pool_size=args.workers)
        try:
            log = await measured(args.workers, args.seconds, app_url=app_url, through_record=False)
            through_record = await measured(args.workers, args.seconds, app_url=app_url, through_record=True)
        finally:
            await db.database().dispose()
        return {
            "floor_bare_inserts_per_second": round(floor),
            "log_appends": log,
            "ratio_log_to_floor": round(log["events_per_second"] / floor, 3),
            "through_record": through_record,
            "ratio_record_to_floor": round(through_record["events_per_second"] / floor, 3),
        }

    try:
        result = asyncio.run(run())
    finally:
        embedded_pg.stop(server)
    log = result["log_appends"]
    result = {
        "benchmark": "audit_append",
        "workers": args.workers,
        "seconds_per_phase": args.seconds,
        "cores": os.cpu_count(),
        "load_average_at_start": load,
        **result,
        "target": "log appends >= 2000 events/s with checkpoint lag <= 5 s",
        "meets_target": log["events_per_second"] >= 2000 and log["checkpoint_lag_max_s"] <= 5,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
