"""The Merkle tree as stored in the database: subtree hashes, roots and proofs.

Leaves are in `audit_leaf` (level 0); perfect subtrees whose level is a multiple of
`merkle.STORED_LEVEL_STRIDE` are in `audit_node`. Any perfect subtree inside the sealed part of
the tree is thus either stored or recomputed from at most 8 stored hashes just below it, and a
proof costs one query per stored level involved, whatever the size of the log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import merkle
from audit.models import AuditLeaf, AuditNode


class TreeError(RuntimeError):
    """The stored tree lacks a hash it should have (the log's tables were tampered with)."""


async def tree_size(session: AsyncSession) -> int:
    """Number of leaves integrated so far."""
    last = await session.scalar(select(func.max(AuditLeaf.leaf_index)))
    return 0 if last is None else last + 1


async def _stored_hashes(session: AsyncSession, level: int, indexes: set[int]) -> dict[int, bytes]:
    if not indexes:
        return {}
    if level == 0:
        rows = await session.execute(
            select(AuditLeaf.leaf_index, AuditLeaf.leaf_hash).where(AuditLeaf.leaf_index.in_(sorted(indexes)))
        )
    else:
        rows = await session.execute(
            select(AuditNode.node_index, AuditNode.node_hash).where(
                AuditNode.level == level, AuditNode.node_index.in_(sorted(indexes))
            )
        )
    found = {index: bytes(value) for index, value in rows}
    if len(found) != len(indexes):
        missing = sorted(indexes - set(found))[:5]
        raise TreeError(f"Arbre incomplet : hachés absents au niveau {level}, index {missing}.")
    return found


async def subtree_hashes(session: AsyncSession, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of the perfect subtrees (level, index), fetched from the stored levels."""
    wanted = set(wanted)
    needed: dict[int, set[int]] = defaultdict(set)
    for level, index in wanted:
        base = merkle.stored_base_level(level)
        span = level - base
        needed[base].update(range(index << span, (index + 1) << span))
    stored = {base: await _stored_hashes(session, base, indexes) for base, indexes in needed.items()}
    result = {}
    for level, index in wanted:
        base = merkle.stored_base_level(level)
        span = level - base
        row = [stored[base][i] for i in range(index << span, (index + 1) << span)]
        while len(row) > 1:
            row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        result[(level, index)] = row[0]
    return result


async def range_hashes(session: AsyncSession, ranges: list[tuple[int, int]]) -> list[bytes]:
    """MTH(D[start:end]) for each range of the RFC's recursion (all inside the sealed tree)."""
    pieces = [merkle.perfect_subtrees(start, end) for start, end in ranges]
    known = await subtree_hashes(session, [subtree for piece in pieces for subtree in piece])
    return [merkle.fold_right([known[subtree] for subtree in piece]) for piece in pieces]


async def frontier(session: AsyncSession, size: int) -> merkle.Frontier:
    """The right edge of the tree of `size` leaves, ready for appending."""
    subtrees = merkle.perfect_subtrees(0, size)
    known = await subtree_hashes(session, subtrees)
    return merkle.Frontier.from_subtrees(size, [known[subtree] for subtree in subtrees])


async def root(session: AsyncSession, size: int) -> bytes:
    return (await frontier(session, size)).root()


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    return await range_hashes(session, merkle.inclusion_ranges(index, size))


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    if first == second:
        return []
    return await range_hashes(session, merkle.consistency_ranges(first, second))
