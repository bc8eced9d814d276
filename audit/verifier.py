"""Independent verifier of an export of the primaires audit log.

    python verifier.py EXPORT_DIR [--cle CLE_PUBLIQUE] [--point-de-controle FICHIER ...]
    primaires audit verify EXPORT_DIR [...]               (the same code)

This file is self-contained on purpose: it needs Python 3.11+ and the `cryptography` package,
nothing else — no database, no settings, nothing from the rest of the project. The high
authority's experts can read it in one sitting and run it on an export they received.

What an export contains (written by `primaires audit export`):

  public-key.vkey     the log's Ed25519 public key, in the C2SP signed-note "verifier key"
                      text form: <name>+<key id, 8 hex digits>+<base64(0x01 || 32-byte key)>
  checkpoints.jsonl   one JSON object per line, {"note": "..."}: the signed checkpoints, in
                      increasing tree size. Each note is a C2SP tlog-checkpoint:
                          <origin>\\n<tree size>\\n<base64 root hash>\\n
                          \\n
                          — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\\n
  events.jsonl        one line per log entry, in leaf order, exactly:
                          {"index":<i>,"leaf":"<hex SHA-256(0x00 || entry)>","entry":<entry>}\\n
                      where <entry> is the event's canonical JSON, byte for byte what the
                      Merkle leaf hashes. `index` and `leaf` are redundant (they can be
                      recomputed) and are there so that the first bad line can be named.

What is checked:
  1. the public key is well formed and its key id matches (and equals --cle when given);
  2. every checkpoint is signed by that key, names it as origin, and sizes strictly increase;
  3. every line is well formed, carries the next index, and its leaf hash matches its entry;
  4. the Merkle tree (RFC 9162: leaf SHA-256(0x00 || entry), node SHA-256(0x01 || l || r)),
     rebuilt leaf by leaf, has exactly the signed root at every checkpoint's size;
  5. the events stop exactly at the last checkpoint's size.
Any modification, deletion, insertion or reordering of an event changes some root; any forged
checkpoint or replaced key fails a signature. The verifier stops at the first problem and names
the first index that can no longer be trusted. Memory stays flat: the tree is kept as its right
edge (at most 64 hashes), the events are read a block of lines at a time (a few MB).

Speed: the events file is cut into blocks of 4,096 lines (only newlines are looked for), and
the blocks are checked by one worker process per core (--processus), then joined strictly in
order. Each block is checked by the same short function, `check_block`, whatever the number of
processes: the answer, and the first bad index named, never depend on it (tested).

Checkpoints obtained independently (downloaded during the day from the published address, or
received from the operators at a known time) can be given with --point-de-controle: each one
must be signed and must match the export's tree at its size. This is what detects a log rolled
back to an earlier state and re-exported consistently.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import hashlib
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EVENTS_FILE = "events.jsonl"
CHECKPOINTS_FILE = "checkpoints.jsonl"
KEY_FILE = "public-key.vkey"

ED25519 = 0x01  # the signed-note algorithm byte for Ed25519
SIGNATURE_PREFIX = "\u2014 "  # "— ": an em dash and a space start every signature line
READ_CHUNK = 1 << 20  # bytes of lines handed to the tree builder at a time


class Failure(Exception):
    """The export is not an untouched copy of the log; `index` is the first untrusted entry."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"index {index} : {message}")
        self.index = index
        self.message = message


# --- Keys and checkpoints (C2SP signed-note and tlog-checkpoint) ----------------------------------


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class PublicKey:
    name: str
    key_id: bytes
    raw: bytes
    text: str

    @property
    def fingerprint(self) -> str:
        """What the high authority compares with the key published by the operators."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


VKEY_PATTERN = re.compile(r"([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})")


def parse_public_key(text: str) -> PublicKey:
    """Parse '<name>+<key id hex>+<base64(0x01 || key)>' followed by one newline."""
    if not text.endswith("\n"):
        raise ValueError("clé publique mal formée (fichier tronqué ?)")
    line = text[:-1]
    match = VKEY_PATTERN.fullmatch(line)
    if not match:
        raise ValueError("clé publique mal formée")
    name, hex_id, encoded = match.groups()
    try:
        blob = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("clé publique : base64 invalide") from None
    if len(blob) != 33 or blob[0] != ED25519:
        raise ValueError("clé publique : ce n'est pas une clé Ed25519")
    if key_id(name, blob[1:]).hex() != hex_id or base64.b64encode(blob).decode() != encoded:
        raise ValueError("clé publique : l'identifiant de clé ne correspond pas à la clé")
    return PublicKey(name=name, key_id=bytes.fromhex(hex_id), raw=blob[1:], text=line)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str


def parse_checkpoint(note: str, key: PublicKey) -> Checkpoint:
    """Check a signed checkpoint note against `key` and return what it commits to."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ValueError("note signée mal formée")
    body, signatures = note[: split + 1], note[split + 2 :]
    lines = body.split("\n")[:-1]
    if len(lines) != 3:
        raise ValueError("un point de contrôle a exactement trois lignes : origine, taille, racine")
    origin, size_text, root_text = lines
    if origin != key.name:
        raise ValueError(f"origine « {origin} » différente du nom de la clé « {key.name} »")
    if not re.fullmatch(r"[1-9][0-9]{0,18}", size_text):
        raise ValueError("taille d'arbre mal écrite")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        root = b""
    if len(root) != 32 or base64.b64encode(root).decode() != root_text:
        raise ValueError("racine mal écrite")
    found = False
    for line in signatures.split("\n")[:-1]:
        if not line.startswith(SIGNATURE_PREFIX):
            raise ValueError("ligne de signature mal formée")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError("signature : base64 invalide") from None
        if name != key.name or blob[:4] != key.key_id:
            continue  # another signer (a witness, say): not ours to judge
        if len(blob) != 68 or base64.b64encode(blob).decode() != encoded:
            raise ValueError("signature mal formée")
        try:
            Ed25519PublicKey.from_public_bytes(key.raw).verify(blob[4:], body.encode())
        except InvalidSignature:
            raise ValueError("signature invalide") from None
        found = True
    if not found:
        raise ValueError("aucune signature de la clé publiée")
    return Checkpoint(origin=origin, size=int(size_text), root=root, note=note)


# --- The event lines ------------------------------------------------------------------------


def event_line(index: int, leaf: bytes, entry: bytes) -> bytes:
    """One line of events.jsonl (the export writes exactly this)."""
    return b'{"index":%d,"leaf":"%s","entry":%s}\n' % (index, binascii.hexlify(leaf), entry)


def checkpoint_line(note: str) -> bytes:
    """One line of checkpoints.jsonl: compact JSON, so that no byte of it is insignificant."""
    return json.dumps({"note": note}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _line_problem(index: int, line: bytes, complete: bool = True) -> str:
    """Why line `index` is not the expected one (only called once something is wrong)."""
    if not complete:
        return "ligne incomplète (fichier tronqué ?)"
    found = re.match(rb'\{"index":(0|[1-9][0-9]*),', line)
    if found and int(found.group(1)) != index:
        return (
            f"l'événement d'index {index} est attendu, la ligne porte l'index {int(found.group(1))} "
            "(événement supprimé, inséré, dupliqué ou déplacé)"
        )
    return "ligne mal formée"


# --- The tree builder --------------------------------------------------------------------------
#
# The lines are checked and hashed in blocks of BLOCK consecutive lines, each starting at a
# multiple of BLOCK: a full block is then one perfect subtree of the Merkle tree, and any
# checkpoint falling inside a block is the fold of what lies before the block (the "right
# edge") and a few perfect subtrees of the block. `check_block` does all the hashing of one
# block and knows nothing else, so blocks can be checked in parallel processes (the verifier's
# --processus option) or one after the other (the default in the library) with the same code.

BLOCK = 1 << 12  # lines per block (about 1.5 MB: a block's copies stay in the processor's cache)
ENTRY_SEPARATOR = b'","entry":'  # between the leaf field and the entry
LINE_HEAD = b'{"index":%d,"leaf":"%s","entry":'  # what precedes the entry on every line
# Hashes already fed the first byte of a leaf (0x00) or of a node (0x01): copying one costs less
# than starting a new hash and saves joining that byte to the data.
_LEAF_START = hashlib.sha256(b"\x00")
_NODE_START = hashlib.sha256(b"\x01")


def _intact_leaves(first: int, lines: list[bytes], ending: bytes) -> list[bytes] | None:
    """The leaf hashes of `lines` if every one of them is exactly as the export writes it, else
    None (and `check_block` looks for the first bad line one line at a time).

    The common case — an untouched export — is checked with a few operations over the whole
    block rather than a dozen per line: Python's per-line overhead, not SHA-256, was most of the
    verifier's time. Each line's head is its own first bytes up to the entry; all the heads,
    joined, must equal the expected heads (index, recomputed leaf hash, separator) written by one
    formatting operation; all the line endings, joined, must equal as many closing braces. Heads
    have one length per number of digits of the index: the lines are taken in runs of equal
    length. Equal joins of pieces that are each at most as long as expected mean equal pieces."""
    leaf_start = _LEAF_START  # a hash fed its first byte, copied for each line (cheaper than a new one)
    leaves: list[bytes] = []
    stop = -len(ending)
    position, total = 0, len(lines)
    while position < total:
        index = first + position
        digits = len(str(index))
        count = min(total - position, 10**digits - index)  # the run of lines whose index has `digits` digits
        run = lines if count == total else lines[position : position + count]
        entry_at = len(LINE_HEAD) - 4 + digits + 64  # the head's length: "%d" and "%s" replaced
        found = []
        append = found.append
        for line in run:  # RFC 9162 leaf: SHA-256(0x00 || entry)
            leaf = leaf_start.copy()
            leaf.update(line[entry_at:stop])
            append(leaf.digest())
        fields: list[object] = [None] * (2 * count)
        fields[::2] = range(index, index + count)
        fields[1::2] = map(binascii.hexlify, found)
        if (
            b"".join(map(itemgetter(slice(0, entry_at)), run)) != (LINE_HEAD * count) % tuple(fields)
            or b"".join(map(itemgetter(slice(stop, None)), run)) != ending * count
        ):
            return None
        leaves += found
        position += count
    return leaves


def check_block(
    first: int, lines: list[bytes], cuts: tuple[int, ...], *, newlines: bool = True, last_complete: bool = True
) -> tuple[int, list[bytes], dict[int, list[bytes]], tuple[int, str] | None]:
    """Check lines [first, first + len(lines)) and hash them.

    `lines` end with their newline (as `readlines` gives them), or not (`newlines=False`, as
    `split` gives them; then `last_complete=False` says that the file ended without a newline
    after the last one: a cut file). Returns (how many lines are good, the perfect subtrees
    covering them from left to right, the perfect subtrees covering [first, cut) for each
    checkpoint size `cut` inside the block, and the first bad line as (index, reason) or None).
    `first` is a multiple of BLOCK.
    """
    failure = None
    leaves = _intact_leaves(first, lines, b"}\n" if newlines else b"}")
    if leaves is None:
        leaves, failure = _leaves_to_first_failure(first, lines, newlines=newlines, last_complete=last_complete)
    if failure is None and not last_complete and leaves:
        # The last line is intact up to its final brace but the newline after it is missing.
        leaves.pop()
        failure = (first + len(leaves), _line_problem(first + len(leaves), lines[-1], complete=False))
    # levels[k][j] is the perfect subtree of 2^k leaves starting at leaf first + j * 2^k.
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        level: list[bytes] = []
        append = level.append
        for left, right in zip(below[::2], below[1::2]):  # RFC 9162 node: SHA-256(0x01 || left || right)
            node = _NODE_START.copy()
            node.update(left)
            node.update(right)
            append(node.digest())
        levels.append(level)

    def subtrees(count: int) -> list[bytes]:
        """The perfect subtrees covering [first, first + count), largest first."""
        hashes, offset = [], 0
        for level in reversed(range(count.bit_length())):
            if count >> level & 1:
                hashes.append(levels[level][offset >> level])
                offset += 1 << level
        return hashes

    good = len(leaves)
    return good, subtrees(good), {cut: subtrees(cut - first) for cut in cuts if cut - first <= good}, failure


def _leaves_to_first_failure(
    first: int, lines: list[bytes], *, newlines: bool, last_complete: bool
) -> tuple[list[bytes], tuple[int, str] | None]:
    """Line by line, once `_intact_leaves` has refused the block (the same rules, applied to
    each line in turn): the leaf hashes of the good lines before the first bad one, and why
    that one is bad."""
    sha256 = hashlib.sha256
    hexlify = binascii.hexlify
    ending = b"}\n" if newlines else b"}"
    stop = -len(ending)
    leaves: list[bytes] = []
    append = leaves.append
    failure = None
    index = first
    for line in lines:
        prefix = b'{"index":%d,"leaf":"' % index
        start = len(prefix)
        leaf = sha256(b"\x00" + line[start + 74 : stop]).digest()  # RFC 9162 leaf: SHA-256(0x00 || entry)
        # One comparison covers the line's head, its leaf field and the separator before the entry.
        if not (line.startswith(prefix) and line.endswith(ending) and line[start : start + 74] == hexlify(leaf) + ENTRY_SEPARATOR):
            if line.startswith(prefix) and line.endswith(ending) and line[start + 64 : start + 74] == ENTRY_SEPARATOR:
                failure = (index, "contenu modifié : l'empreinte de l'entrée ne correspond pas")
            else:
                complete = line.endswith(b"\n") if newlines else (last_complete or index - first < len(lines) - 1)
                failure = (index, _line_problem(index, line, complete))
            break
        append(leaf)
        index += 1
    return leaves, failure


def fold(hashes: list[bytes]) -> bytes:
    """The root of consecutive perfect subtrees given largest first: H(s0, H(s1, ... ))."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = hashlib.sha256(b"\x01" + left + root).digest()
    return root


class LogVerifier:
    """Rebuilds the tree from event lines given in order, and checks it at each checkpoint.

    `blocks(lines)` cuts the incoming lines into aligned blocks (keeping the remainder for the
    next call); each block goes through `check_block` (here or in another process) and its
    result through `absorb`, strictly in order. `finish` handles the last partial block and
    the end of the file.
    """

    def __init__(self, checkpoints: list[Checkpoint], pending: Failure | None = None) -> None:
        self.roots = {checkpoint.size: checkpoint.root for checkpoint in checkpoints}
        self.sizes = sorted(self.roots)
        self.previous = dict(zip(self.sizes, [0, *self.sizes]))  # size -> the checkpoint size before it
        self.size = 0  # lines verified so far
        self.edge: list[tuple[int, bytes]] = []  # (leaf count, hash) of the perfect subtrees of [0, size)
        self.buffer: list[bytes] = []  # lines received but not yet cut into a block
        self.received = 0  # lines received
        self.beyond = False  # lines were received past the last checkpoint
        # A checkpoint problem found while loading applies from `pending.index` on, unless an
        # event problem shows up before.
        self.pending = pending
        self.limit = self.sizes[-1] if self.sizes else 0
        if pending is not None:
            self.limit = min(self.limit, pending.index)

    def next_block(self, count: int) -> tuple[int, int, tuple[int, ...]] | None:
        """Take the next `count` lines as a block: (index of its first line, how many of its
        lines to check, the checkpoint sizes inside it), or None if all lie past the limit."""
        first = self.received
        self.received += count
        keep = min(count, max(0, self.limit - first))
        if keep < count:
            self.beyond = True
        if not keep:
            return None
        inside = self.sizes[bisect.bisect_right(self.sizes, first) : bisect.bisect_right(self.sizes, first + keep)]
        return first, keep, tuple(inside)

    def blocks(self, lines: list[bytes], *, last: bool = False) -> Iterable[tuple[int, list[bytes], tuple[int, ...]]]:
        """Arguments of `check_block` for every complete block (and the partial one if `last`)."""
        self.buffer.extend(lines)
        while len(self.buffer) >= BLOCK or (last and self.buffer):
            chunk, self.buffer = self.buffer[:BLOCK], self.buffer[BLOCK:]
            block = self.next_block(len(chunk))
            if block is not None:
                first, keep, cuts = block
                yield first, chunk[:keep], cuts

    def absorb(self, result: tuple[int, list[bytes], dict[int, list[bytes]], tuple[int, str] | None]) -> None:
        good, subtrees, cuts, failure = result
        before = [hash_ for _count, hash_ in self.edge]
        for cut in sorted(cuts):
            if fold(before + cuts[cut]) != self.roots[cut]:
                start = self.previous[cut]
                raise Failure(
                    start,
                    f"la racine recalculée pour {cut} événements diffère de la racine signée : "
                    f"un événement d'index {start} à {cut - 1} a été modifié, inséré, supprimé ou déplacé",
                )
        if failure is not None:
            raise Failure(*failure)
        # Append the block's subtrees (largest first) to the right edge, merging equal-sized
        # neighbours as in a binary carry.
        counts = [1 << level for level in reversed(range(good.bit_length())) if good >> level & 1]
        for count, hash_ in zip(counts, subtrees):
            while self.edge and self.edge[-1][0] == count:
                _count, left = self.edge.pop()
                hash_ = hashlib.sha256(b"\x01" + left + hash_).digest()
                count *= 2
            self.edge.append((count, hash_))
        self.size += good

    def feed(self, lines: list[bytes]) -> None:
        """Check lines in this process (the library's default, and the database check)."""
        for arguments in self.blocks(lines):
            self.absorb(check_block(*arguments))

    def finish(self) -> None:
        for arguments in self.blocks([], last=True):
            self.absorb(check_block(*arguments))
        if self.size < self.limit:
            raise Failure(
                self.size,
                f"le fichier s'arrête à {self.size} événements alors qu'un point de contrôle signé en couvre "
                f"{self.limit} (événements supprimés ou fichier tronqué)",
            )
        if self.pending is not None:
            raise self.pending
        if self.beyond:
            raise Failure(self.limit, "événement couvert par aucun point de contrôle signé (ajouté après coup ?)")


# --- Putting it together ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    events: int
    checkpoints: int
    root: bytes
    key: PublicKey
    seconds: float


def load_checkpoints(lines: Iterable[bytes], key: PublicKey, pinned: Iterable[str] = ()) -> tuple[list[Checkpoint], Failure | None]:
    """The valid checkpoints up to the first bad line, and the failure that line causes."""
    checkpoints: list[Checkpoint] = []
    for number, raw in enumerate(lines, start=1):
        previous = checkpoints[-1].size if checkpoints else 0
        try:
            if not raw.endswith(b"\n"):
                raise ValueError("ligne incomplète (fichier tronqué ?)")
            record = json.loads(raw)
            if not isinstance(record, dict) or set(record) != {"note"} or not isinstance(record["note"], str):
                raise ValueError("ligne mal formée")
            if checkpoint_line(record["note"]) != raw:
                raise ValueError("ligne non canonique")
            checkpoint = parse_checkpoint(record["note"], key)
        except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            return checkpoints, Failure(previous, f"point de contrôle n° {number} rejeté : {error}")
        if checkpoint.size <= previous:
            return checkpoints, Failure(
                previous, f"point de contrôle n° {number} hors d'ordre ou en double (taille {checkpoint.size})"
            )
        checkpoints.append(checkpoint)
    if not checkpoints:
        return checkpoints, Failure(0, "aucun point de contrôle signé : rien n'atteste le journal")
    by_size = {checkpoint.size: checkpoint for checkpoint in checkpoints}
    for text in pinned:
        try:
            extra = parse_checkpoint(text, key)
        except ValueError as error:
            raise Failure(0, f"point de contrôle fourni rejeté : {error}") from None
        known = by_size.get(extra.size)
        if known is not None and known.root != extra.root:
            raise Failure(0, f"le point de contrôle fourni de taille {extra.size} contredit celui de l'export (journal réécrit)")
        by_size[extra.size] = extra
    return sorted(by_size.values(), key=lambda checkpoint: checkpoint.size), None


def verify(
    events: BinaryIO,
    checkpoint_lines: Iterable[bytes],
    key_file: bytes,
    *,
    expected_key: str | None = None,
    pinned_checkpoints: Iterable[str] = (),
    processes: int = 1,
) -> Report:
    """Verify an export given as streams; raise Failure at the first problem."""
    started = time.perf_counter()
    try:
        key = parse_public_key(key_file.decode())
    except ValueError as error:  # UnicodeDecodeError included
        raise Failure(0, str(error)) from None
    if expected_key is not None and key.text != expected_key.strip():
        raise Failure(0, "la clé publique de l'export n'est pas la clé attendue (clé remplacée)")
    checkpoints, pending = load_checkpoints(checkpoint_lines, key, pinned_checkpoints)
    log = LogVerifier(checkpoints, pending)
    events_path = getattr(events, "name", None)
    if isinstance(events_path, str) and Path(events_path).is_file():
        check_file(log, Path(events_path), processes)
    else:
        while lines := events.readlines(READ_CHUNK):
            log.feed(lines)
    log.finish()
    last = checkpoints[-1]
    return Report(events=log.size, checkpoints=len(checkpoints), root=last.root, key=key, seconds=time.perf_counter() - started)


def _newlines(data: bytes, start: int = 0, end: int | None = None) -> int:
    """How many newlines data[start:end] holds. Counted by removing them: `bytes.replace`
    finds a single byte with memchr, several times faster than `bytes.count`."""
    piece = data[start:end] if start or end is not None else data
    return len(piece) - len(piece.replace(b"\n", b""))


def _nth_newline(chunk: bytes, start: int, n: int, available: int) -> int:
    """Where the n-th newline of chunk[start:] is (1 ≤ n ≤ `available`, the newlines it holds).
    Lines have similar lengths: the guess in proportion is a few lines off at most, and the
    remaining ones are stepped over with find/rfind (any lengths give the right answer)."""
    guess = start + (len(chunk) - start) * n // available
    before = _newlines(chunk, start, guess)
    if before < n:
        position = guess - 1
        for _ in range(n - before):
            position = chunk.find(b"\n", position + 1)
    else:
        position = guess
        for _ in range(before - n + 1):
            position = chunk.rfind(b"\n", start, position)
    return position


def file_blocks(path: Path) -> Iterable[tuple[int, int, int]]:
    """(offset, length in bytes, number of lines) of consecutive blocks of BLOCK lines of a
    file; the last block may be shorter, and its last line may lack its newline. Only the
    newlines are counted, a read chunk at a time (`_newlines`), and looked for one by one only
    around a block's end (`_nth_newline`): cutting costs the main process little, the workers
    do the per-line work."""
    offset = 0  # where the current block starts in the file
    counted = 0  # newlines of the current block seen so far
    position = 0  # where the current chunk starts in the file
    last_byte = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            start = 0  # where the part of the chunk not yet in a block begins
            available = _newlines(chunk)  # newlines in chunk[start:]
            while counted + available >= BLOCK:  # the current block ends in this chunk
                newline = _nth_newline(chunk, start, BLOCK - counted, available)
                yield offset, position + newline + 1 - offset, BLOCK
                available -= BLOCK - counted
                offset, counted, start = position + newline + 1, 0, newline + 1
            counted += available
            position += len(chunk)
            last_byte = chunk[-1:]
    lines = counted + (last_byte != b"\n")
    if lines:
        yield offset, position - offset, lines


def check_file_block(path: str, offset: int, length: int, first: int, keep: int, cuts: tuple[int, ...]):  # noqa: ANN201
    """`check_block` on lines read from the file by the worker itself (little to send between
    processes)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    lines = data.split(b"\n")
    complete = lines[-1] == b""  # what follows the last newline: nothing, unless the file was cut
    if complete:
        lines.pop()
    return check_block(first, lines[:keep], cuts, newlines=False, last_complete=complete or keep < len(lines))


def check_file(log: LogVerifier, path: Path, processes: int) -> None:
    """Check an events file block by block: the main process only cuts the file into blocks;
    with several processes, the workers read and check them in parallel, and the results are
    absorbed strictly in order, with at most two blocks per worker in flight (memory stays
    flat)."""
    if processes <= 1:
        for offset, length, count in file_blocks(path):
            block = log.next_block(count)
            if block is not None:
                log.absorb(check_file_block(str(path), offset, length, *block))
        return
    with ProcessPoolExecutor(processes) as pool:
        in_flight: deque[Future] = deque()
        try:
            for offset, length, count in file_blocks(path):
                block = log.next_block(count)
                if block is not None:
                    in_flight.append(pool.submit(check_file_block, str(path), offset, length, *block))
                while len(in_flight) > 2 * processes:
                    log.absorb(in_flight.popleft().result())
            while in_flight:
                log.absorb(in_flight.popleft().result())
        finally:
            for future in in_flight:
                future.cancel()


def verify_directory(
    directory: Path, *, expected_key: str | None = None, pinned_checkpoints: Iterable[str] = (), processes: int = 1
) -> Report:
    directory = Path(directory)
    for name in (KEY_FILE, CHECKPOINTS_FILE, EVENTS_FILE):
        if not (directory / name).is_file():
            raise Failure(0, f"fichier absent de l'export : {name}")
    key_file = (directory / KEY_FILE).read_bytes()
    with open(directory / CHECKPOINTS_FILE, "rb") as checkpoints, open(directory / EVENTS_FILE, "rb") as events:
        return verify(
            events, checkpoints, key_file, expected_key=expected_key, pinned_checkpoints=pinned_checkpoints, processes=processes
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier", description="Vérifie un export du journal d'audit de primaires, sans base de données."
    )
    parser.add_argument("dossier", type=Path, help="dossier de l'export (events.jsonl, checkpoints.jsonl, public-key.vkey)")
    parser.add_argument("--cle", help="clé publique attendue (texte publié par les organisateurs, ou fichier)")
    parser.add_argument(
        "--point-de-controle", action="append", default=[], type=Path, metavar="FICHIER",
        help="point de contrôle signé obtenu par ailleurs, qui doit figurer dans l'arbre (répétable)",
    )
    parser.add_argument(
        "--processus", type=int, default=os.cpu_count() or 1, metavar="N",
        help="nombre de processus de calcul (défaut : un par cœur)",
    )
    args = parser.parse_args(argv)
    expected = args.cle
    if expected is not None and Path(expected).is_file():
        expected = Path(expected).read_text()
    try:
        pinned = [path.read_text() for path in args.point_de_controle]
        report = verify_directory(args.dossier, expected_key=expected, pinned_checkpoints=pinned, processes=args.processus)
    except Failure as failure:
        print(f"ÉCHEC — premier index non fiable : {failure.index}\n{failure.message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"ÉCHEC — lecture impossible : {error}", file=sys.stderr)
        return 1
    rate = f"{report.events / report.seconds:,.0f}".replace(",", " ") if report.seconds else "—"
    print(
        f"Journal vérifié : {report.events} événements, {report.checkpoints} points de contrôle signés.\n"
        f"Racine : {report.root.hex()}\n"
        f"Clé : {report.key.text} (empreinte {report.key.fingerprint})\n"
        f"Durée : {report.seconds:.2f} s ({rate} événements/s)"
    )
    if expected is None:
        print("Attention : comparez cette clé à celle publiée par les organisateurs, ou passez-la avec --cle.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
