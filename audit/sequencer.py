"""The sequencer: committed events become leaves of the Merkle tree, then a signed checkpoint.

The hot path takes no lock: every service inserts its events in its own transaction, each row
stamped with that transaction's id (`xid`, see `services.events`). Transactions do not commit
in the order they started, so the sequencer cannot just take "the events after the last one":
an event of a long transaction would appear later *below* events already sealed, and be
skipped forever — or force a reordering, which an append-only log cannot do.

The watermark solves it. `pg_snapshot_xmin(pg_current_snapshot())` is the oldest transaction
id still running: every transaction with a smaller id has finished, committed or rolled back,
and no new one can get a smaller id. So the events with `xid < watermark` are final, and the
sequencer integrates exactly those, in (xid, id) order — the order of their transactions'
first writes, and within a transaction the order of recording. Each batch starts after the
last integrated (xid, id); since nothing new can appear below the watermark, that order is
total and never needs to change: no event is skipped, none is sealed out of order, and the
events of one transaction stay together. (The watermark is read in a statement *before* the
one reading the events, so every transaction below it is visible to the second snapshot.)

The price: a long transaction holds the watermark back and delays the sealing of everything
recorded after it began (not its recording). Keep transactions short — imports commit per
chunk — and watch the "en attente" count on the log page.

Only one sequencer works at a time, whatever the number of server workers: each run takes a
transaction-level advisory lock, and one that does not get it leaves the work to the other.
Leaf indexes are a primary key and each event can be a leaf once, so even a bypassed lock
could not produce a fork — the second writer's transaction would fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from audit import merkle, tree
from audit.checkpoints import Signer
from audit.models import AuditCheckpoint, AuditLeaf, AuditNode
from services import db
from services.events import AuditEvent

logger = logging.getLogger("primaires.audit")

SEQUENCER_LOCK = 0x6A6F7572  # "jour" (journal): pg advisory lock key of the sequencer
BATCH = 20_000  # events integrated per transaction at most

WATERMARK = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


class SequencerError(RuntimeError):
    """The stored tree contradicts a signed checkpoint: the sequencer refuses to sign."""


@dataclass(frozen=True)
class SealReport:
    integrated: int  # events turned into leaves by this run
    tree_size: int
    pending: int | None = None  # events recorded but not yet integrable (not computed by default)
    checkpoint: AuditCheckpoint | None = None
    skipped: bool = False  # another worker holds the sequencer lock


async def _last_integrated(session: AsyncSession, size: int) -> tuple[int, int] | None:
    if size == 0:
        return None
    row = (
        await session.execute(
            select(AuditEvent.xid, AuditEvent.id)
            .join(AuditLeaf, AuditLeaf.event_id == AuditEvent.id)
            .where(AuditLeaf.leaf_index == size - 1)
        )
    ).one()
    return row.xid, row.id


async def integrate(session: AsyncSession, *, limit: int = BATCH, watermark: int | None = None) -> tuple[int, merkle.Frontier]:
    """Append up to `limit` final events to the tree; return (how many, the new right edge).

    `watermark` defaults to the oldest running transaction id; tests that work inside one
    rolled-back transaction pass their own id + 1 (nothing else runs during them).
    """
    size = await tree.tree_size(session)
    last = await _last_integrated(session, size)
    if watermark is None:
        watermark = await session.scalar(WATERMARK)
    query = select(AuditEvent.id, AuditEvent.entry).where(AuditEvent.xid < watermark)
    if last is not None:
        query = query.where(tuple_(AuditEvent.xid, AuditEvent.id) > tuple_(*last))
    rows = (await session.execute(query.order_by(AuditEvent.xid, AuditEvent.id).limit(limit))).all()
    right_edge = await tree.frontier(session, size)
    if not rows:
        return 0, right_edge
    leaves = []
    nodes = []
    for event_id, entry in rows:
        leaf = merkle.leaf_hash(entry.encode())
        leaves.append({"leaf_index": right_edge.size, "event_id": event_id, "leaf_hash": leaf})
        for level, index, node in right_edge.append(leaf):
            if merkle.is_stored_level(level):
                nodes.append({"level": level, "node_index": index, "node_hash": node})
    await session.execute(insert(AuditLeaf), leaves)
    if nodes:
        await session.execute(insert(AuditNode), nodes)
    return len(rows), right_edge


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    return await session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1))


async def sign_checkpoint(session: AsyncSession, signer: Signer, right_edge: merkle.Frontier) -> AuditCheckpoint | None:
    """Sign the tree as it now stands, unless a checkpoint already covers it.

    Before signing, the new tree must provably extend the last signed one (a consistency
    proof): the key never signs a fork, even if the tables were tampered with underneath.
    """
    latest = await latest_checkpoint(session)
    size = right_edge.size
    if size == 0 or (latest is not None and latest.tree_size >= size):
        return None
    root = right_edge.root()
    if latest is not None:
        proof = await tree.consistency_proof(session, latest.tree_size, size)
        if not merkle.verify_consistency(latest.tree_size, size, bytes(latest.root_hash), root, proof):
            raise SequencerError(
                f"L'arbre de {size} feuilles ne prolonge pas le point de contrôle signé de taille "
                f"{latest.tree_size} : le journal a été altéré, aucune signature n'est émise."
            )
    checkpoint = AuditCheckpoint(tree_size=size, root_hash=root, note=signer.sign_checkpoint(size, root))
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def seal(
    session: AsyncSession, signer: Signer | None, *, limit: int = BATCH, watermark: int | None = None
) -> SealReport:
    """One sequencer run in the caller's transaction: integrate a batch, sign a checkpoint."""
    if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK}):
        return SealReport(integrated=0, tree_size=await tree.tree_size(session), skipped=True)
    integrated, right_edge = await integrate(session, limit=limit, watermark=watermark)
    checkpoint = await sign_checkpoint(session, signer, right_edge) if signer is not None else None
    return SealReport(integrated=integrated, tree_size=right_edge.size, checkpoint=checkpoint)


async def seal_all(signer: Signer | None, *, limit: int = BATCH) -> SealReport:
    """Integrate everything final, batch after batch (one transaction each), as a job or CLI."""
    total = 0
    while True:
        async with db.session_scope() as session:
            report = await seal(session, signer, limit=limit)
        total += report.integrated
        if report.skipped or report.integrated < limit:
            return SealReport(integrated=total, tree_size=report.tree_size, checkpoint=report.checkpoint, skipped=report.skipped)


async def pending_count(session: AsyncSession) -> int:
    """Events recorded (and visible) but not yet leaves."""
    size = await tree.tree_size(session)
    last = await _last_integrated(session, size)
    query = select(AuditEvent.id)
    if last is not None:
        query = query.where(tuple_(AuditEvent.xid, AuditEvent.id) > tuple_(*last))
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0
