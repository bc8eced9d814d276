"""The independent verifier against 10,000 seeded random tamperings of a small export.

The export is built with the log's own pure functions (merkle, checkpoints, the verifier's line
format); the database-backed export is checked against the same verifier elsewhere. Every
mutation must be detected, and where the damage has a position the verifier must name it.
"""

from __future__ import annotations

import base64
import io
import json
import random
from dataclasses import dataclass

import pytest

from audit import merkle, verifier
from audit.checkpoints import Signer
from services.events import Actor
from tests.audit.events import ProbeRecorded

SEED = 20111009  # the left's first open primary
TAMPERINGS = 10_000
EVENTS = 30
CHECKPOINT_SIZES = (7, 16, 30)


@dataclass
class Export:
    key: bytes
    checkpoints: bytes
    events: bytes
    entries: list[bytes]

    def lines(self) -> list[bytes]:
        return self.events.splitlines(keepends=True)


def build_export(signer: Signer, entries: list[bytes], sizes: tuple[int, ...] = CHECKPOINT_SIZES) -> Export:
    frontier = merkle.Frontier()
    notes = []
    for entry in entries:
        frontier.append(merkle.leaf_hash(entry))
        if frontier.size in sizes:
            notes.append(signer.sign_checkpoint(frontier.size, frontier.root()))
    events = b"".join(verifier.event_line(i, merkle.leaf_hash(e), e) for i, e in enumerate(entries))
    checkpoints = b"".join(verifier.checkpoint_line(note) for note in notes)
    return Export((signer.verifier_key + "\n").encode(), checkpoints, events, entries)


def run(export: Export, **kwargs) -> verifier.Report:  # noqa: ANN003
    return verifier.verify(
        io.BytesIO(export.events), io.BytesIO(export.checkpoints).readlines(), export.key, **kwargs
    )


def sample_entries(count: int) -> list[bytes]:
    from datetime import UTC, datetime

    actor = Actor(id="account:7", role="president", scope="2A0042")
    at = datetime(2027, 10, 9, 19, 30, tzinfo=UTC)
    return [
        ProbeRecorded(actor=actor, station_code="2A0042", marker="procès-verbal reçu — Ajaccio", number=n).entry(at).encode()
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate("test.primaires/journal")


@pytest.fixture(scope="module")
def export(signer: Signer) -> Export:
    return build_export(signer, sample_entries(EVENTS))


def test_an_untouched_export_verifies(export, signer):
    report = run(export, expected_key=signer.verifier_key)
    assert report.events == EVENTS
    assert report.checkpoints == len(CHECKPOINT_SIZES)
    assert report.root == merkle.root_of(export.entries)


@pytest.mark.parametrize("block", [1, 2, 4, 8, 16, 8192])
def test_the_block_size_changes_nothing(signer, monkeypatch, block):
    monkeypatch.setattr(verifier, "BLOCK", block)
    rng = random.Random(block)
    for size in (1, 2, 3, 31, 64, 65, 100):
        entries = sample_entries(size)
        sizes = tuple(sorted({rng.randint(1, size) for _ in range(4)} | {size}))
        assert run(build_export(signer, entries, sizes)).root == merkle.root_of(entries)


@pytest.mark.parametrize("processes", [1, 2])
def test_reading_the_file_gives_the_same_answers_as_reading_a_stream(export, signer, monkeypatch, tmp_path, processes):
    """The command line reads the events file in blocks cut by byte offsets, checked in this
    process or spread over worker processes: for every kind of tampering, the same result and
    the same first bad index as the line-by-line stream."""
    monkeypatch.setattr(verifier, "BLOCK", 4)  # inherited by the forked workers
    folder = tmp_path / "export"
    folder.mkdir()

    def write(export: Export) -> None:
        (folder / verifier.KEY_FILE).write_bytes(export.key)
        (folder / verifier.CHECKPOINTS_FILE).write_bytes(export.checkpoints)
        (folder / verifier.EVENTS_FILE).write_bytes(export.events)

    write(export)
    assert verifier.verify_directory(folder, processes=processes).root == merkle.root_of(export.entries)
    tamperer = Tamperer(random.Random(7), export, signer)
    for name, _weight in MUTATIONS:
        for _ in range(3):
            tampered, _check = getattr(tamperer, name)()
            with pytest.raises(verifier.Failure) as sequential:
                run(tampered)
            write(tampered)
            with pytest.raises(verifier.Failure) as from_file:
                verifier.verify_directory(folder, processes=processes)
            assert (from_file.value.index, from_file.value.message) == (sequential.value.index, sequential.value.message), name


@pytest.mark.parametrize("processes", [1, 2])
def test_a_file_cut_just_before_its_last_newline_is_refused(export, tmp_path, processes):
    """The last line is intact up to its closing brace: only the missing newline betrays the cut."""
    for name, data in ((verifier.KEY_FILE, export.key), (verifier.CHECKPOINTS_FILE, export.checkpoints)):
        (tmp_path / name).write_bytes(data)
    (tmp_path / verifier.EVENTS_FILE).write_bytes(export.events[:-1])
    with pytest.raises(verifier.Failure) as failure:
        verifier.verify_directory(tmp_path, processes=processes)
    assert failure.value.index == EVENTS - 1
    assert "tronqué" in failure.value.message


def test_the_file_is_cut_into_blocks_of_whole_lines(tmp_path, monkeypatch):
    """Block boundaries found by counting newlines, across read chunks of any size."""
    lines = [b"x" * (i % 37) + b"\n" for i in range(1000)]
    path = tmp_path / "lines"
    path.write_bytes(b"".join(lines) + b"cut")
    for block, chunk in ((1, 1 << 20), (7, 1 << 20), (64, 100), (999, 5000), (1000, 64)):
        monkeypatch.setattr(verifier, "BLOCK", block)
        monkeypatch.setattr(verifier, "READ_CHUNK", chunk)
        found = list(verifier.file_blocks(path))
        starts = [offset for offset, _length, _count in found]
        data = path.read_bytes()
        for offset, length, count in found:
            piece = data[offset : offset + length]
            assert piece.count(b"\n") == count or (piece.endswith(b"cut") and piece.count(b"\n") == count - 1)
            assert offset == 0 or data[offset - 1 : offset] == b"\n"
        assert starts == sorted(starts) and sum(length for _offset, length, _count in found) == len(data)
        assert [count for _offset, _length, count in found][:-1] == [block] * (len(found) - 1)
        assert sum(count for _offset, _length, count in found) == 1001


def line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position)


def first_difference(old: list[bytes], new: list[bytes]) -> int:
    for index, (a, b) in enumerate(zip(old, new)):
        if a != b:
            return index
    return min(len(old), len(new))


def previous_size(line: int) -> int:
    return CHECKPOINT_SIZES[line - 1] if line > 0 else 0


class Tamperer:
    """Each method returns (tampered export, check of the failure) where the check asserts
    that the verifier named the right place."""

    def __init__(self, rng: random.Random, export: Export, signer: Signer) -> None:
        self.rng = rng
        self.export = export
        self.signer = signer

    def _events(self, data: bytes) -> Export:
        return Export(self.export.key, self.export.checkpoints, data, self.export.entries)

    def _checkpoints(self, data: bytes) -> Export:
        return Export(self.export.key, data, self.export.events, self.export.entries)

    def _flip(self, data: bytes) -> tuple[bytes, int]:
        position = self.rng.randrange(len(data))
        value = self.rng.choice([b for b in range(256) if b != data[position]])
        if self.rng.random() < 0.5:  # half of them a single bit
            value = data[position] ^ (1 << self.rng.randrange(8))
        return data[:position] + bytes([value]) + data[position + 1 :], position

    # events.jsonl: the failure is at the first line that differs

    def flip_event_byte(self):  # noqa: ANN201
        data, position = self._flip(self.export.events)
        return self._events(data), lambda index: index == line_of(self.export.events, position)

    def _line_change(self, lines: list[bytes]):  # noqa: ANN202
        expected = first_difference(self.export.lines(), lines)
        return self._events(b"".join(lines)), lambda index: index == expected

    def drop_event(self):  # noqa: ANN201
        lines = self.export.lines()
        del lines[self.rng.randrange(len(lines))]
        return self._line_change(lines)

    def duplicate_event(self):  # noqa: ANN201
        lines = self.export.lines()
        lines.insert(self.rng.randrange(len(lines) + 1), lines[self.rng.randrange(len(lines))])
        return self._line_change(lines)

    def swap_events(self):  # noqa: ANN201
        lines = self.export.lines()
        i, j = self.rng.sample(range(len(lines)), 2)
        lines[i], lines[j] = lines[j], lines[i]
        return self._line_change(lines)

    def move_event(self):  # noqa: ANN201
        lines = self.export.lines()
        line = lines.pop(self.rng.randrange(len(lines)))
        lines.insert(self.rng.randrange(len(lines) + 1), line)
        if lines == self.export.lines():
            return self.drop_event()
        return self._line_change(lines)

    def truncate_events(self):  # noqa: ANN201
        position = self.rng.randrange(len(self.export.events))
        return self._events(self.export.events[:position]), lambda index: index == line_of(self.export.events, position)

    def rewrite_event_consistently(self):  # noqa: ANN201
        """A careful forger: new content, its leaf hash recomputed, the line well formed."""
        target = self.rng.randrange(EVENTS)
        entry = self.export.entries[target].replace(b'"number":', b'"number":1')
        lines = self.export.lines()
        lines[target] = verifier.event_line(target, merkle.leaf_hash(entry), entry)
        start = max([0, *(size for size in CHECKPOINT_SIZES if size <= target)])
        return self._events(b"".join(lines)), lambda index: index == start

    def insert_forged_event(self):  # noqa: ANN201
        """A forged, well-formed event; the following lines renumbered (or not)."""
        position = self.rng.randrange(EVENTS + 1)
        entry = b'{"kind":"result.forged","votes":350000}'
        lines = self.export.lines()
        new = lines[:position] + [verifier.event_line(position, merkle.leaf_hash(entry), entry)]
        renumber = self.rng.random() < 0.5
        for offset, line in enumerate(lines[position:]):
            if renumber:
                old_entry = self.export.entries[position + offset]
                line = verifier.event_line(position + offset + 1, merkle.leaf_hash(old_entry), old_entry)
            new.append(line)
        start = max([0, *(size for size in CHECKPOINT_SIZES if size <= position)])
        return self._events(b"".join(new)), lambda index: start <= index <= position + 1

    # checkpoints.jsonl: the failure is at the start of what the bad checkpoint covered

    def flip_checkpoint_byte(self):  # noqa: ANN201
        data, position = self._flip(self.export.checkpoints)
        line = line_of(self.export.checkpoints, position)
        return self._checkpoints(data), lambda index: index == previous_size(line)

    def truncate_checkpoints(self):  # noqa: ANN201
        position = self.rng.randrange(len(self.export.checkpoints))
        line = line_of(self.export.checkpoints, position)
        return self._checkpoints(self.export.checkpoints[:position]), lambda index: index == previous_size(line)

    def _checkpoint_lines(self) -> list[bytes]:
        return self.export.checkpoints.splitlines(keepends=True)

    def drop_last_checkpoint(self):  # noqa: ANN201
        lines = self._checkpoint_lines()[:-1]
        return self._checkpoints(b"".join(lines)), lambda index: index == previous_size(len(lines))

    def duplicate_checkpoint(self):  # noqa: ANN201
        lines = self._checkpoint_lines()
        source = self.rng.randrange(len(lines))
        position = self.rng.randrange(len(lines) + 1)
        lines.insert(position, lines[source])
        return self._checkpoints(b"".join(lines)), lambda index: index in (0, *CHECKPOINT_SIZES)

    def swap_checkpoints(self):  # noqa: ANN201
        lines = self._checkpoint_lines()
        i, j = sorted(self.rng.sample(range(len(lines)), 2))
        lines[i], lines[j] = lines[j], lines[i]
        # The larger one, now first, is accepted; the next line is out of order.
        return self._checkpoints(b"".join(lines)), lambda index: index == CHECKPOINT_SIZES[j]

    def forge_checkpoint(self):  # noqa: ANN201
        """Replace one checkpoint by a forgery: another key under the same name, a changed root or
        size under the original signature, or random signature bytes under the right key id."""
        lines = self._checkpoint_lines()
        target = self.rng.randrange(len(lines))
        note = json.loads(lines[target])["note"]
        origin, size, root, _blank, signature, _end = note.split("\n")
        kind = self.rng.randrange(4)
        fake_root = base64.b64encode(self.rng.randbytes(32)).decode()
        if kind == 0:
            forger = Signer.generate(self.signer.name)
            note = forger.sign_checkpoint(int(size), base64.b64decode(fake_root))
        elif kind == 1:
            note = f"{origin}\n{size}\n{fake_root}\n\n{signature}\n"
        elif kind == 2:
            note = f"{origin}\n{int(size) + self.rng.randint(1, 5)}\n{root}\n\n{signature}\n"
        else:
            blob = self.signer.key_id + self.rng.randbytes(64)
            note = f"{origin}\n{size}\n{root}\n\n— {self.signer.name} {base64.b64encode(blob).decode()}\n"
        lines[target] = verifier.checkpoint_line(note)
        return self._checkpoints(b"".join(lines)), lambda index: index == previous_size(target)

    # public-key.vkey: nothing can be trusted

    def replace_key(self):  # noqa: ANN201
        other = Signer.generate(self.signer.name if self.rng.random() < 0.7 else "autre.exemple/journal")
        tampered = Export((other.verifier_key + "\n").encode(), self.export.checkpoints, self.export.events, self.export.entries)
        return tampered, lambda index: index == 0

    def flip_key_byte(self):  # noqa: ANN201
        data, _position = self._flip(self.export.key)
        return Export(data, self.export.checkpoints, self.export.events, self.export.entries), lambda index: index == 0

    def truncate_key(self):  # noqa: ANN201
        data = self.export.key[: self.rng.randrange(len(self.export.key))]
        return Export(data, self.export.checkpoints, self.export.events, self.export.entries), lambda index: index == 0


MUTATIONS = [
    ("flip_event_byte", 20),
    ("drop_event", 8),
    ("duplicate_event", 8),
    ("swap_events", 8),
    ("move_event", 6),
    ("truncate_events", 8),
    ("rewrite_event_consistently", 6),
    ("insert_forged_event", 6),
    ("flip_checkpoint_byte", 10),
    ("truncate_checkpoints", 4),
    ("drop_last_checkpoint", 2),
    ("duplicate_checkpoint", 3),
    ("swap_checkpoints", 3),
    ("forge_checkpoint", 6),
    ("replace_key", 3),
    ("flip_key_byte", 4),
    ("truncate_key", 2),
]


@pytest.fixture
def small_blocks(monkeypatch):  # noqa: ANN001, ANN201
    """Blocks of 8 lines: the 30 events span four blocks, and checkpoints fall inside blocks
    (7, 30) and on a block boundary (16), so every path of the block logic is exercised."""
    monkeypatch.setattr(verifier, "BLOCK", 8)


def test_every_random_tampering_is_detected_at_the_right_place(export, signer, small_blocks, monkeypatch):
    # Most tamperings leave the checkpoints untouched: an untouched note, once verified for
    # real, needs no second Ed25519 check (the answer is the same); any changed note is new.
    verified: dict[tuple[str, verifier.PublicKey], verifier.Checkpoint] = {}
    parse = verifier.parse_checkpoint

    def parse_once(note: str, key: verifier.PublicKey) -> verifier.Checkpoint:
        if (note, key) not in verified:
            verified[(note, key)] = parse(note, key)
        return verified[(note, key)]

    monkeypatch.setattr(verifier, "parse_checkpoint", parse_once)
    rng = random.Random(SEED)
    tamperer = Tamperer(rng, export, signer)
    names = [name for name, _weight in MUTATIONS]
    weights = [weight for _name, weight in MUTATIONS]
    counts = dict.fromkeys(names, 0)
    for attempt in range(TAMPERINGS):
        name = rng.choices(names, weights)[0]
        tampered, right_place = getattr(tamperer, name)()
        assert (tampered.key, tampered.checkpoints, tampered.events) != (export.key, export.checkpoints, export.events)
        with pytest.raises(verifier.Failure) as failure:
            run(tampered)
        assert right_place(failure.value.index), (attempt, name, failure.value)
        counts[name] += 1
    assert all(counts.values()), counts


def test_a_log_re_signed_with_another_key_fails_against_the_published_key(export, signer):
    forger = Signer.generate(signer.name)
    entries = list(export.entries)
    entries[3] = entries[3].replace(b"Ajaccio", b"Bastia")
    forged = build_export(forger, entries)
    run(forged)  # consistent in itself...
    with pytest.raises(verifier.Failure, match="clé remplacée") as failure:
        run(forged, expected_key=signer.verifier_key)  # ...but not signed by the published key
    assert failure.value.index == 0


def test_a_rolled_back_log_fails_against_a_checkpoint_kept_by_the_authority(export, signer):
    """Cut the log at an earlier checkpoint and drop the later ones: the export is consistent in
    itself, but the authority kept the latest checkpoint it saw, and that one no longer fits."""
    lines = export.lines()[:16]
    checkpoint_lines = export.checkpoints.splitlines(keepends=True)[:2]
    rolled_back = Export(export.key, b"".join(checkpoint_lines), b"".join(lines), export.entries[:16])
    run(rolled_back)
    kept = json.loads(export.checkpoints.splitlines()[-1])["note"]
    with pytest.raises(verifier.Failure, match="s'arrête à 16"):
        run(rolled_back, pinned_checkpoints=[kept])


def test_a_checkpoint_kept_by_the_authority_that_contradicts_the_export_is_a_fork(export, signer):
    other = build_export(signer, sample_entries(EVENTS)[:15] + [b'{"forged":true}'] * 15)
    kept = json.loads(other.checkpoints.splitlines()[1])["note"]  # size 16, another history
    with pytest.raises(verifier.Failure, match="journal réécrit"):
        run(export, pinned_checkpoints=[kept])


def test_dropping_an_intermediate_checkpoint_changes_no_event(export):
    """Documented limit: an intermediate checkpoint is a redundant attestation. Removing it from
    the export alters no event (the last checkpoint still covers them all), so the export still
    verifies, with one checkpoint fewer; the checkpoints the authority kept are checked with
    --point-de-controle."""
    lines = export.checkpoints.splitlines(keepends=True)
    thinner = Export(export.key, lines[0] + lines[2], export.events, export.entries)
    assert run(thinner).checkpoints == len(CHECKPOINT_SIZES) - 1


def test_the_signed_note_format_matches_the_go_reference_vector():
    """golang.org/x/mod/sumdb/note's documented example, byte for byte."""
    signer = Signer.from_text("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
    assert signer.verifier_key == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    assert signer.sign_note(text) == (
        text + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    )


@pytest.mark.parametrize("first", [0, 90, 9_990, 99_999_950])
def test_the_whole_block_check_and_the_line_by_line_check_agree(first):
    """An untouched block is checked with a few operations over all its lines
    (`_intact_leaves`); the line-by-line rules decide as soon as anything differs. Across
    indexes changing their number of digits, and for 2,000 random one-byte changes, insertions
    and deletions: the whole-block check accepts exactly the blocks the line-by-line check
    accepts, with the same leaf hashes."""
    entries = sample_entries(120)
    lines = [verifier.event_line(first + i, merkle.leaf_hash(e), e) for i, e in enumerate(entries)]
    for newlines in (True, False):
        block = lines if newlines else [line[:-1] for line in lines]
        ending = b"}\n" if newlines else b"}"
        leaves = verifier._intact_leaves(first, block, ending)  # noqa: SLF001
        assert leaves == [merkle.leaf_hash(e) for e in entries]
        rng = random.Random(first + newlines)
        for _ in range(1_000):
            damaged = list(block)
            row = rng.randrange(len(damaged))
            line = damaged[row]
            at = rng.randrange(len(line) + 1)
            match rng.randrange(3):
                case 0 if at < len(line):
                    line = line[:at] + bytes([(line[at] + rng.randrange(1, 256)) % 256]) + line[at + 1 :]
                case 1:
                    line = line[:at] + bytes([rng.randrange(256)]) + line[at:]
                case _:
                    line = line[:at] + line[at + 1 :]
            damaged[row] = line
            whole = verifier._intact_leaves(first, damaged, ending)  # noqa: SLF001
            good, failure = verifier._leaves_to_first_failure(first, damaged, newlines=newlines, last_complete=True)  # noqa: SLF001
            if failure is None:
                assert whole == good
            else:
                assert whole is None
                assert failure[0] == first + row


def test_the_nth_newline_is_found_whatever_the_line_lengths():
    """Block ends are found by a guess in proportion then steps: exact for any lengths, even a
    chunk of very short lines after very long ones (the guess far off, stepped back)."""
    rng = random.Random(3)
    for _ in range(300):
        lengths = [rng.choice((0, 1, 5, 380, 5000)) for _ in range(rng.randint(1, 60))]
        chunk = b"".join(b"x" * length + b"\n" for length in lengths) + b"x" * rng.randint(0, 9)
        start = rng.randrange(len(chunk))
        positions = [i for i in range(start, len(chunk)) if chunk[i : i + 1] == b"\n"]
        assert verifier._newlines(chunk, start) == len(positions)  # noqa: SLF001
        for n in range(1, len(positions) + 1):
            assert verifier._nth_newline(chunk, start, n, len(positions)) == positions[n - 1]  # noqa: SLF001
