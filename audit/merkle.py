"""Merkle-tree maths of the transparency log (RFC 9162, section 2.1). Pure: no I/O.

The log is a list of entries D[0:n]. Its tree hash is defined recursively (RFC 9162 2.1.1):

    MTH({})       = SHA-256()
    MTH({d0})     = SHA-256(0x00 || d0)                      -- a leaf
    MTH(D[0:n])   = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
                    where k is the largest power of two smaller than n

The 0x00 / 0x01 prefixes keep a leaf from ever being mistaken for an inner node.

Every subtree that appears in that recursion is either *perfect* (2^level leaves starting at a
multiple of 2^level: we name it by (level, index)) or a *right edge* [start, n) of the tree,
which is itself the fold of a few perfect subtrees. So the database only needs the hashes of
perfect subtrees, and every proof is a list of ranges whose hashes are computed from them.

Functions here take and return plain bytes and integers; `audit.sequencer` and `audit.proofs`
feed them from the database, the tests from a list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# Perfect subtrees stored in the database: every leaf (level 0, the `audit_leaf` table) and the
# nodes whose level is a multiple of STORED_LEVEL_STRIDE (the `audit_node` table). Any other
# perfect subtree is recomputed from at most 2^(STRIDE-1) stored hashes below it: this keeps
# the stored tree to about n/15 rows beyond the leaves, instead of n.
STORED_LEVEL_STRIDE = 4


def leaf_hash(entry: bytes) -> bytes:
    """MTH({entry}) = SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 9162's k."""
    if n < 2:
        raise ValueError("split_point needs n >= 2")
    return 1 << ((n - 1).bit_length() - 1)


def is_stored_level(level: int) -> bool:
    return level % STORED_LEVEL_STRIDE == 0


def stored_base_level(level: int) -> int:
    """The stored level from which a perfect subtree at `level` is recomputed."""
    return level - level % STORED_LEVEL_STRIDE


# --- Ranges ---------------------------------------------------------------------------------


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose the leaf range [start, end) into maximal aligned perfect subtrees.

    Returns (level, index) pairs from left to right; subtree (level, index) covers leaves
    [index * 2^level, (index + 1) * 2^level). Used for the right-edge ranges [k, n) of the
    RFC's recursion, where `start` is aligned, and for the whole tree [0, n).

    >>> perfect_subtrees(0, 6)
    [(2, 0), (1, 2)]
    """
    if not 0 <= start <= end:
        raise ValueError(f"invalid range [{start}, {end})")
    result = []
    while start < end:
        # The largest block aligned at `start` that fits in the remaining range.
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        result.append((level, start >> level))
        start += 1 << level
    return result


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range given the hashes of its perfect subtrees from left to right.

    The RFC's recursion always splits off the largest left part, so the range's hash is
    H(s0, H(s1, H(s2, ...))).
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size`.

    RFC 9162 2.1.3.1: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k,
                                      PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise.
    Listed from the leaf upwards, as the proof is.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start = start + k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form the consistency proof from size `first` to `second`.

    RFC 9162 2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m < n, where
      SUBPROOF(m, D[m], true)  = {}
      SUBPROOF(m, D[m], false) = {MTH(D[m])}
      SUBPROOF(m, D[n], b)     = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
                               = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
    """
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    ranges.reverse()
    return ranges


def range_hash(start: int, end: int, subtree_hash: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[start:end]) for a range of the RFC's recursion, from perfect-subtree hashes."""
    return fold_right([subtree_hash(level, index) for level, index in perfect_subtrees(start, end)])


# --- Verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------------


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by an inclusion proof, or None when the proof has the wrong shape."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    return root_from_inclusion_proof(index, size, leaf, proof) == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """Does `proof` show that the tree of size `second` extends the tree of size `first`?"""
    if first < 0 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        # Every tree extends the empty tree; the RFC defines no proof for it.
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_hash = second_hash = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_hash = node_hash(node, first_hash)
            second_hash = node_hash(node, second_hash)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second_hash = node_hash(second_hash, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first_hash == first_root and second_hash == second_root


# --- Appending ----------------------------------------------------------------------------------


@dataclass
class Frontier:
    """The right edge of the tree: the hashes of the perfect subtrees that make up [0, size).

    `hashes[i]` is the subtree for the i-th set bit of `size`, from the highest bit (the
    leftmost, largest subtree) to the lowest. Appending a leaf merges equal-sized subtrees,
    like carrying in a binary addition, and reports the perfect subtrees it completes so the
    sequencer can store those at stored levels.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    @classmethod
    def from_subtrees(cls, size: int, hashes: Iterable[bytes]) -> Frontier:
        hashes = list(hashes)
        if len(hashes) != bin(size).count("1"):
            raise ValueError("one hash per perfect subtree of the size is required")
        return cls(size=size, hashes=hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the completed perfect subtrees (level, index, hash), level >= 1."""
        completed = []
        index = self.size
        current = leaf
        level = 0
        while index & 1:
            current = node_hash(self.hashes.pop(), current)
            index >>= 1
            level += 1
            completed.append((level, index, current))
        self.hashes.append(current)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold_right(self.hashes)


def root_of(entries: Iterable[bytes]) -> bytes:
    """MTH of a list of entries (convenience for small trees)."""
    frontier = Frontier()
    for entry in entries:
        frontier.append(leaf_hash(entry))
    return frontier.root()
