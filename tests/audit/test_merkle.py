"""The Merkle maths against a second, straightforward implementation of RFC 9162's
recursive definitions (section 2.1), written here from the RFC text and nothing else."""

from __future__ import annotations

import hashlib
import random

import pytest

from audit import merkle

# --- The reference: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, literally -------------------------------


def ref_mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:])).digest()


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, entries[:k]) + [ref_mth(entries[k:])]
    return ref_path(m - k, entries[k:]) + [ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], complete: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if complete else [ref_mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, entries[:k], complete) + [ref_mth(entries[k:])]
    return ref_subproof(m - k, entries[k:], False) + [ref_mth(entries[:k])]


def ref_proof(m: int, entries: list[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


# --- Helpers: the module's proofs computed from a plain list ---------------------------------------


def entries_of(n: int) -> list[bytes]:
    return [f'{{"n":{i}}}'.encode() for i in range(n)]


def subtree_from(entries: list[bytes]):  # noqa: ANN201
    def subtree(level: int, index: int) -> bytes:
        return ref_mth(entries[index << level : (index + 1) << level])

    return subtree


def inclusion(entries: list[bytes], index: int, size: int) -> list[bytes]:
    subtree = subtree_from(entries)
    return [merkle.range_hash(start, end, subtree) for start, end in merkle.inclusion_ranges(index, size)]


def consistency(entries: list[bytes], first: int, second: int) -> list[bytes]:
    subtree = subtree_from(entries)
    return [merkle.range_hash(start, end, subtree) for start, end in merkle.consistency_ranges(first, second)]


# --- Tests -----------------------------------------------------------------------------------------


def test_hash_prefixes_and_empty_tree():
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert merkle.node_hash(b"l" * 32, b"r" * 32) == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    assert merkle.root_of([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize(
    ("n", "k"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1 << 20, 1 << 19), ((1 << 20) + 1, 1 << 20)]
)
def test_split_point(n, k):
    assert merkle.split_point(n) == k


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 0, []), (0, 1, [(0, 0)]), (0, 6, [(2, 0), (1, 2)]), (0, 7, [(2, 0), (1, 2), (0, 6)]), (8, 13, [(2, 2), (0, 12)]), (4, 8, [(2, 1)])],
)
def test_perfect_subtrees(start, end, expected):
    assert merkle.perfect_subtrees(start, end) == expected


def test_roots_match_the_reference_for_every_size_up_to_300():
    entries = entries_of(300)
    frontier = merkle.Frontier()
    for size in range(1, 301):
        frontier.append(merkle.leaf_hash(entries[size - 1]))
        assert frontier.root() == ref_mth(entries[:size]), size


def test_completed_subtrees_reported_by_append_are_the_right_ones():
    entries = entries_of(70)
    frontier = merkle.Frontier()
    for entry in entries:
        for level, index, value in frontier.append(merkle.leaf_hash(entry)):
            assert value == ref_mth(entries[index << level : (index + 1) << level])


def test_inclusion_proofs_match_the_reference_exhaustively():
    entries = entries_of(65)
    for size in range(1, 66):
        root = ref_mth(entries[:size])
        for index in range(size):
            proof = inclusion(entries, index, size)
            assert proof == ref_path(index, entries[:size]), (index, size)
            assert merkle.verify_inclusion(index, size, merkle.leaf_hash(entries[index]), proof, root)


def test_consistency_proofs_match_the_reference_exhaustively():
    entries = entries_of(65)
    for second in range(1, 66):
        second_root = ref_mth(entries[:second])
        for first in range(1, second + 1):
            proof = consistency(entries, first, second)
            expected = ref_proof(first, entries[:second]) if first < second else []
            assert proof == expected, (first, second)
            assert merkle.verify_consistency(first, second, ref_mth(entries[:first]), second_root, proof)


def test_random_large_trees_against_the_reference():
    rng = random.Random(9162)
    entries = entries_of(3000)
    for _ in range(40):
        size = rng.randint(1, 3000)
        index = rng.randrange(size)
        assert inclusion(entries, index, size) == ref_path(index, entries[:size])
        first = rng.randint(1, size)
        assert consistency(entries, first, size) == (ref_proof(first, entries[:size]) if first < size else [])


def test_wrong_proofs_are_rejected():
    rng = random.Random(6962)
    entries = entries_of(40)
    for _ in range(300):
        size = rng.randint(2, 40)
        index = rng.randrange(size)
        root = ref_mth(entries[:size])
        leaf = merkle.leaf_hash(entries[index])
        proof = inclusion(entries, index, size)
        if proof:
            broken = list(proof)
            position = rng.randrange(len(broken))
            broken[position] = bytes([broken[position][0] ^ 1]) + broken[position][1:]
            assert not merkle.verify_inclusion(index, size, leaf, broken, root)
            assert not merkle.verify_inclusion(index, size, leaf, proof[:-1], root)
            assert not merkle.verify_inclusion(index, size, leaf, proof + [root], root)
        other = (index + 1) % size
        if entries[other] != entries[index]:
            assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(entries[other]), proof, root)
        first = rng.randint(1, size - 1)
        cproof = consistency(entries, first, size)
        first_root = ref_mth(entries[:first])
        assert merkle.verify_consistency(first, size, first_root, root, cproof)
        assert not merkle.verify_consistency(first, size, root, first_root, cproof)
        assert not merkle.verify_consistency(first, size, ref_mth(entries[1 : first + 1]), root, cproof)
        if cproof:
            assert not merkle.verify_consistency(first, size, first_root, root, cproof[1:])


def test_ranges_reject_impossible_requests():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
