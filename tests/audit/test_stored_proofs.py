"""Proofs computed from the stored tree (leaves, one stored level in four) against the
straightforward recursive RFC 9162 implementation of test_merkle, on a real sealed log."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import tree
from audit.models import AuditLeaf
from services.events import SYSTEM, AuditEvent, record
from tests.audit.events import ProbeRecorded
from tests.audit.test_merkle import ref_mth, ref_path, ref_proof


async def test_stored_proofs_and_roots_match_the_reference(log_database, signer):
    async with AsyncSession(log_database.database.engine, expire_on_commit=False) as session:
        for number in range(300):
            record(session, ProbeRecorded(actor=SYSTEM, station_code="330001", marker="preuves", number=number))
        await session.commit()
    await log_database.seal(signer)
    rng = random.Random(9162)
    async with AsyncSession(log_database.database.engine) as session:
        entries = [
            entry.encode()
            for entry in await session.scalars(
                select(AuditEvent.entry).join(AuditLeaf, AuditLeaf.event_id == AuditEvent.id).order_by(AuditLeaf.leaf_index)
            )
        ]
        size = await tree.tree_size(session)
        assert size == len(entries) >= 300
        sizes = sorted({size, 1, 2, 15, 16, 17, 255, 256, 257, *(rng.randint(1, size) for _ in range(12))} - {0})
        for n in (value for value in sizes if value <= size):
            assert await tree.root(session, n) == ref_mth(entries[:n]), n
            for index in {0, n - 1, rng.randrange(n)}:
                assert await tree.inclusion_proof(session, index, n) == ref_path(index, entries[:n]), (index, n)
            for m in {1, n, rng.randint(1, n)}:
                expected = ref_proof(m, entries[:n]) if m < n else []
                assert await tree.consistency_proof(session, m, n) == expected, (m, n)
        # Stored (levels 8, 4) and recomputed (level 5) perfect subtrees.
        assert (await tree.subtree_hashes(session, [(8, 0), (4, 3), (5, 1)])) == {
            (8, 0): ref_mth(entries[0:256]),
            (4, 3): ref_mth(entries[48:64]),
            (5, 1): ref_mth(entries[32:64]),
        }
