"""The sequencer, against real concurrent connections and real commits (own database)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import merkle, tree, verifier
from audit.export import checkpoint_notes, event_lines
from audit.models import AuditCheckpoint, AuditLeaf
from services.events import SYSTEM, AuditEvent, canonical_json, record
from tests.audit.events import ProbeRecorded

INSERT_EVENT = """
INSERT INTO audit_event (recorded_at, kind, actor, actor_scope, subjects, entry)
VALUES (now(), 'test.raw', 'system:test', 'national', '{}'::jsonb, $1) RETURNING id
"""


def raw_entry(marker: str, number: int) -> str:
    return canonical_json({"v": 1, "kind": "test.raw", "marker": marker, "n": number})


async def leaves_of(log_database, event_ids: list[int]) -> dict[int, int]:  # noqa: ANN001
    """event id -> leaf index, for those events that are leaves."""
    async with AsyncSession(log_database.database.engine) as session:
        rows = await session.execute(select(AuditLeaf.event_id, AuditLeaf.leaf_index).where(AuditLeaf.event_id.in_(event_ids)))
        return dict(rows.all())


async def verify_whole_log(log_database, signer) -> verifier.Report:  # noqa: ANN001
    """What the high authority would do with an export of the log database, in memory."""
    async with AsyncSession(log_database.database.engine) as session:
        notes = await checkpoint_notes(session)
        key = signer.public_key
        checkpoints, pending = verifier.load_checkpoints([verifier.checkpoint_line(note) for note in notes], key)
        log = verifier.LogVerifier(checkpoints, pending)
        async for lines in event_lines(session, checkpoints[-1].size):
            log.feed(lines)
        log.finish()
        return log.size


async def test_seal_integrates_committed_events_and_signs_a_checkpoint(log_database, signer):
    marker = uuid.uuid4().hex
    async with AsyncSession(log_database.database.engine, expire_on_commit=False) as session:
        rows = [record(session, ProbeRecorded(actor=SYSTEM, station_code="750001", marker=marker, number=n)) for n in range(5)]
        await session.commit()
    report = await log_database.seal(signer)
    assert not report.skipped
    assert report.integrated >= 5
    assert report.checkpoint is not None and report.checkpoint.tree_size == report.tree_size
    placed = await leaves_of(log_database, [row.id for row in rows])
    assert sorted(placed.values()) == [placed[row.id] for row in rows], "one transaction's events keep their order"
    assert max(placed.values()) - min(placed.values()) == 4, "one transaction's events are contiguous"
    # The signed root is the RFC 9162 root of the entries in leaf order.
    async with AsyncSession(log_database.database.engine) as session:
        entries = (
            await session.scalars(
                select(AuditEvent.entry).join(AuditLeaf, AuditLeaf.event_id == AuditEvent.id).order_by(AuditLeaf.leaf_index)
            )
        ).all()
    assert merkle.root_of(entry.encode() for entry in entries) == bytes(report.checkpoint.root_hash)
    parsed = verifier.parse_checkpoint(report.checkpoint.note, signer.public_key)
    assert parsed.size == report.tree_size
    # Nothing new: no new checkpoint.
    again = await log_database.seal(signer)
    assert again.integrated == 0 and again.checkpoint is None


async def test_a_running_transaction_holds_back_later_ones_without_being_skipped(log_database, signer):
    marker = uuid.uuid4().hex
    slow = await log_database.connect()
    fast = await log_database.connect()
    try:
        slow_tx = slow.transaction()
        await slow_tx.start()
        slow_id = await slow.fetchval(INSERT_EVENT, raw_entry(marker, 1))
        fast_id = await fast.fetchval(INSERT_EVENT, raw_entry(marker, 2))  # autocommit: committed now
        slow_xid = await slow.fetchval("SELECT pg_current_xact_id()::text::bigint")
        fast_xid = await fast.fetchval("SELECT xid FROM audit_event WHERE id = $1", fast_id)
        assert slow_xid < fast_xid

        await log_database.seal(signer)
        placed = await leaves_of(log_database, [slow_id, fast_id])
        assert placed == {}, "the committed event waits for the older running transaction"

        await slow_tx.commit()
        await log_database.seal(signer)
        placed = await leaves_of(log_database, [slow_id, fast_id])
        assert placed[slow_id] < placed[fast_id], "sealed in transaction order, the slow one first"
    finally:
        await slow.close()
        await fast.close()


async def test_rolled_back_events_never_become_leaves(log_database, signer):
    marker = uuid.uuid4().hex
    rolled = await log_database.connect()
    other = await log_database.connect()
    try:
        tx = rolled.transaction()
        await tx.start()
        rolled_id = await rolled.fetchval(INSERT_EVENT, raw_entry(marker, 1))
        kept_id = await other.fetchval(INSERT_EVENT, raw_entry(marker, 2))
        await tx.rollback()
        await log_database.seal(signer)
        placed = await leaves_of(log_database, [rolled_id, kept_id])
        assert list(placed) == [kept_id]
    finally:
        await rolled.close()
        await other.close()


async def test_concurrent_writers_and_two_sequencers(log_database, signer):
    """Writers commit and roll back at random while two sequencers (two server workers) seal."""
    marker = uuid.uuid4().hex
    rng = random.Random(20270101)
    committed: list[int] = []
    rolled_back: list[int] = []
    stop = asyncio.Event()
    reports = []

    async def writer(number: int) -> None:
        connection = await log_database.connect()
        try:
            for attempt in range(25):
                tx = connection.transaction()
                await tx.start()
                ids = []
                for step in range(rng.randint(1, 3)):
                    ids.append(await connection.fetchval(INSERT_EVENT, raw_entry(marker, number * 1000 + attempt * 10 + step)))
                    await asyncio.sleep(rng.random() * 0.004)
                if rng.random() < 0.15:
                    await tx.rollback()
                    rolled_back.extend(ids)
                else:
                    await tx.commit()
                    committed.extend(ids)
        finally:
            await connection.close()

    async def sealer() -> None:
        while not stop.is_set():
            reports.append(await log_database.seal(signer, limit=7))
            await asyncio.sleep(0.002)

    sealers = [asyncio.create_task(sealer()) for _ in range(2)]
    await asyncio.gather(*(writer(number) for number in range(6)))
    stop.set()
    await asyncio.gather(*sealers)
    while (await log_database.seal(signer)).integrated:
        pass

    assert any(report.skipped for report in reports) or len(reports) > 0
    placed = await leaves_of(log_database, committed + rolled_back)
    assert set(placed) == set(committed), "every committed event sealed once, no rolled-back one"
    async with AsyncSession(log_database.database.engine) as session:
        rows = (
            await session.execute(
                select(AuditEvent.xid, AuditEvent.id, AuditLeaf.leaf_index)
                .join(AuditLeaf, AuditLeaf.event_id == AuditEvent.id)
                .order_by(AuditLeaf.leaf_index)
            )
        ).all()
    order = [(row.xid, row.id) for row in rows]
    assert order == sorted(order), "the whole log is in (transaction id, event id) order"
    assert [row.leaf_index for row in rows] == list(range(len(rows))), "leaf indexes have no gap"
    # Every checkpoint signed during the run extends the previous ones, and the whole log verifies.
    assert await verify_whole_log(log_database, signer) == len(rows)


async def test_checkpoints_are_consistent_with_each_other(log_database, signer):
    async with AsyncSession(log_database.database.engine) as session:
        checkpoints = (await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size))).all()
        assert len(checkpoints) >= 3
        for old, new in zip(checkpoints, checkpoints[1:]):
            proof = await tree.consistency_proof(session, old.tree_size, new.tree_size)
            assert merkle.verify_consistency(old.tree_size, new.tree_size, bytes(old.root_hash), bytes(new.root_hash), proof)
