"""Import of REU extracts: one commune file, one transaction, streamed into PostgreSQL by COPY.

`import_commune_file` reads a file line by line (never whole), validates each line
(`voter_registry.reu`), and streams the valid voters to the database with COPY, in small
chunks, while the server indexes them. Memory stays bounded whatever the input: the lines
in flight, the rejects kept for the report (at most `MAX_STORED_REJECTS`), the commune's
bureaux, a set of 64-bit identity hashes (at most `DEDUP_MAX`) that finds people listed
twice, and the complementary-list people held back to merge their two lists (at most
`HELD_MAX`); beyond those bounds a file goes through the staging path. Several files are
imported in parallel processes by `voter_registry.import_job`.

Two paths, same result:
- a commune loaded for the first time is COPYed straight into `voter` (the national load);
- a commune already loaded (a newer extract) is COPYed into a temporary table, then compared
  with the rows in place by identity: removed people are deleted, changed ones updated, new
  ones inserted, unchanged ones left alone (their row, hence their id, is kept). The report
  gives added / removed / changed counts.

The caller owns the transaction (one per file: `primaires registry import` commits after
each file). If anything fails half-way — a bad file, a killed process — the transaction rolls
back and nothing of that commune changes. Re-importing the same bytes changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from itertools import islice
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import note_write, utcnow
from services.elections.models import Election
from services.errors import InvalidInput
from services.events import Actor, record
from voter_registry import events
from voter_registry.errors import FileRefused, OlderExtract, RegistryBoundElsewhere
from voter_registry.models import RegistryBureau, RegistryCommune, RegistryImport, RegistryReject, RegistryState
from voter_registry.reu import (
    COLUMNS,
    MAIN_LIST,
    UGLE_CODE,
    VOTER_COLUMNS,
    BureauInfo,
    Rejection,
    bureau_of,
    check_header,
    decode_line,
    fields_of,
    parse_fields,
    parse_file_name,
    split_line,
)
from voter_registry.territory_cache import import_territory

MAX_STORED_REJECTS = 10_000
# The bounds of one file's in-memory state, per import process: the peak memory of the whole
# import (≤ 300 MB, command and workers summed) must hold whatever the largest commune. Paris is
# ONE commune file of ≈ 1.35 M lines (273 MB): with the earlier bounds (1.5 M hashes, 100,000
# held people, 350 MB files) its worker alone reached 216 MB and the import 334 MB. Files above
# `DIRECT_MAX_BYTES` (≈ 230,000 lines of ≈ 208 bytes: a handful of cities) go through the
# staging table from the start, whose memory does not grow with the file.
DEDUP_MAX = 300_000  # 64-bit identity hashes kept in memory (≈ 20 MB at most)
HELD_MAX = 20_000  # complementary-list people held back until the end of a file (≈ 12 MB at most)
DIRECT_MAX_BYTES = 48 * 1024 * 1024  # larger commune files go through the staging table
PROGRESS_EVERY = 5_000
BLOCK_LINES = 256  # lines read, checked and decoded together (≈ 60 kB)
HASH_CHUNK = 1 << 20


# --- Input files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFile:
    """One commune file to import: a path, a member of a zip archive, or bytes in memory."""

    name: str  # shown in reports: "dir/file.csv" or "archive.zip:file.csv"
    base_name: str  # the file's own name (holds the commune code and the extraction time)
    size: int
    opener: Callable[[], contextlib.AbstractContextManager[IO[bytes]]]
    # How another process opens the same file: ("path", path) or ("zip", archive, member).
    origin: tuple[str, ...] | None = None


def bytes_file(name: str, data: bytes) -> ListFile:
    return ListFile(name, Path(name).name, len(data), lambda: contextlib.nullcontext(io.BytesIO(data)))


def _path_file(path: Path) -> ListFile:
    return ListFile(str(path), path.name, path.stat().st_size, lambda: open(path, "rb"), ("path", str(path)))  # noqa: SIM115


def file_from_origin(origin: tuple[str, ...]) -> ListFile:
    """The `ListFile` another process described by its `origin` (parallel imports)."""
    if origin[0] == "path":
        return _path_file(Path(origin[1]))
    return next(file for file in _zip_files(Path(origin[1])) if file.origin == origin)


def _zip_files(path: Path) -> list[ListFile]:
    with zipfile.ZipFile(path) as archive:
        members = sorted(
            (info for info in archive.infolist() if not info.is_dir() and info.filename.lower().endswith(".csv")),
            key=lambda info: info.filename,
        )

    def opener(member: str) -> Callable[[], contextlib.AbstractContextManager[IO[bytes]]]:
        @contextlib.contextmanager
        def open_member() -> Iterator[IO[bytes]]:
            with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
                yield stream

        return open_member

    return [
        ListFile(
            f"{path}:{info.filename}", Path(info.filename).name, info.file_size, opener(info.filename), ("zip", str(path), info.filename)
        )
        for info in members
    ]


def list_files(paths: Iterable[Path | str]) -> list[ListFile]:
    """The commune files named by `paths`: CSV files, directories (searched recursively) and zips."""
    found: list[ListFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InvalidInput(f"Chemin introuvable : « {path} ».", code="path_not_found")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() == ".csv":
                    found.append(_path_file(child))
                elif child.is_file() and child.suffix.lower() == ".zip":
                    found.extend(_zip_files(child))
        elif path.suffix.lower() == ".zip":
            if not zipfile.is_zipfile(path):
                raise InvalidInput(f"« {path} » n'est pas une archive zip lisible.", code="bad_zip")
            found.extend(_zip_files(path))
        else:
            found.append(_path_file(path))
    return found


def file_sha256(file: ListFile) -> str:
    digest = hashlib.sha256()
    with file.opener() as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- Reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedLine:
    file: str
    line: int
    column: str
    reason: str


@dataclass
class ImportReport:
    file: str
    status: str  # imported | replaced | unchanged | refused
    message: str = ""
    department_code: str = ""
    commune_code: str = ""
    import_id: int | None = None
    lines: int = 0
    voters: int = 0
    rejected: int = 0
    merged: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    encoding: str = "utf-8"
    warnings: list[str] = field(default_factory=list)
    rejections: list[RejectedLine] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.voters - self.added - self.changed if self.status == "replaced" else 0


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-bom": "UTF-8 (avec BOM)",
    "windows-1252": "Windows-1252",
    "mixed": "UTF-8 et Windows-1252 mêlés",
}


# --- Reading a commune file ----------------------------------------------------------------------

ProgressCallback = Callable[[int, int], None]  # (bytes read since last call, lines since last call)


class _RetryWithStaging(Exception):
    """The direct path met something only the staging path handles (identity-prefix collision)."""


class _LineReader:
    """Streams a commune file's lines into COPY records, counting and keeping rejects."""

    def __init__(
        self,
        file: ListFile,
        stream: IO[bytes],
        *,
        department_code: str,
        commune_code: str,
        max_year: int,
        progress: ProgressCallback | None,
    ) -> None:
        self.file = file
        self.stream = stream
        self.department_code = department_code
        self.commune_code = commune_code
        self.max_year = max_year
        self.progress = progress
        self.lines = 0
        self.accepted = 0
        self.rejected = 0
        self.windows_lines = 0
        self.utf8_lines = 0
        self.bom = False
        self.rejections: list[RejectedLine] = []
        self.bureaux: dict[str, BureauInfo] = {}
        self.seen: set[int] = set()
        self.duplicates: list[tuple[bytes, int]] = []
        self.bureau_counts: dict[str, int] = {}
        self.overflow = False
        self.needs_escaping = False
        self.merged_here = 0  # complementary-list lines merged in memory
        self.pending_bytes = 0
        self.pending_lines = 0

    def reject(self, line_number: int, rejection: Rejection) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_STORED_REJECTS:
            self.rejections.append(RejectedLine(self.file.name, line_number, rejection.column, rejection.reason))

    def flush_progress(self) -> None:
        if self.progress is not None and (self.pending_bytes or self.pending_lines):
            self.progress(self.pending_bytes, self.pending_lines)
        self.pending_bytes = self.pending_lines = 0

    def records(self, lines: Iterable[tuple[int, bytes]], *, staged: bool = False) -> Iterator[tuple]:
        """COPY records of the valid lines; rejects are counted and kept.

        The hot path of the import, hence one loop and no object per line. On the direct path
        (`staged` False) a person met again in the file (same identity: several lists) is held
        back and merged after the COPY; the staging path keeps every line with its position.
        """
        department_code, commune_code, max_year = self.department_code, self.commune_code, self.max_year
        bureaux, counts, seen, duplicates, progress = self.bureaux, self.bureau_counts, self.seen, self.duplicates, self.progress
        complementary: dict[bytes, tuple] = {}
        pending_bytes = pending_lines = 0
        position = 0
        # Counters in local names during the loop (an attribute write per line costs more),
        # stored back on the reader at every exit of the loop.
        line_count, accepted, utf8_lines, windows_lines = self.lines, self.accepted, self.utf8_lines, self.windows_lines
        needs_escaping = self.needs_escaping
        reject = self.reject
        split = str.split
        lines = iter(lines)
        try:
            while True:
                # Lines are read by blocks of `BLOCK_LINES`: a block in plain UTF-8, with no
                # carriage return, quote, NUL, backslash nor tab — nearly every block of a real
                # extract — is decoded and split in one go, and its lines need none of the
                # per-line checks below; any other block is read line by line, as it always was.
                batch = list(islice(lines, BLOCK_LINES))
                if not batch:
                    break
                number = batch[0][0] - 1  # line numbers follow each other within a file
                raws = [raw for _number, raw in batch]
                block = b"".join(raws)
                pending_bytes += len(block)
                pending_lines += len(raws)
                if pending_lines >= PROGRESS_EVERY and progress is not None:
                    progress(pending_bytes, pending_lines)
                    pending_bytes = pending_lines = 0
                plain = not (b"\r" in block or b'"' in block or b"\x00" in block or b"\\" in block or b"\t" in block)
                texts = None
                if plain:
                    try:
                        texts = block.decode("utf-8").split("\n")
                    except UnicodeDecodeError:
                        texts = None  # not UTF-8 (Windows-1252, a broken byte): read line by line below
                    else:
                        if block[-1:] == b"\n":
                            texts.pop()  # every line but the file's last ends with a newline
                        if not block.isascii():
                            utf8_lines += sum(1 for text in texts if not text.isascii())
                if texts is None:
                    plain = False
                    texts = []
                    for raw in raws:
                        if raw.isascii():
                            line = raw.decode("ascii")
                        else:
                            try:
                                line = raw.decode("utf-8")
                                utf8_lines += 1
                            except UnicodeDecodeError:
                                line = decode_line(raw)[0]
                                windows_lines += 1
                        texts.append(line.rstrip("\r\n"))
                for line in texts:
                    number += 1
                    if len(line) < 40 and not line.strip(" ;\t"):
                        continue  # blank lines (and lines of empty fields) are not voters
                    line_count += 1
                    if plain:
                        fields = split(line, ";")
                    else:
                        if not needs_escaping and ("\\" in line or "\t" in line):
                            needs_escaping = self.needs_escaping = True
                        fields = split(line, ";") if '"' not in line and "\x00" not in line else fields_of(line)
                    record = fields if fields.__class__ is Rejection else parse_fields(fields, department_code, commune_code, max_year)
                    if record.__class__ is Rejection:
                        reject(number, record)
                        continue
                    accepted += 1
                    bureau = record[2]
                    if bureau not in bureaux:
                        bureaux[bureau] = bureau_of(fields)
                    if staged:
                        yield (*record, position)
                        position += 1
                        continue
                    identity = record[4]
                    if record[3] != MAIN_LIST:
                        # Complementary lists (EU citizens, often on both): held back until the end of
                        # the file and merged here, by exact identity.
                        held = complementary.get(identity)
                        if held is None:
                            if len(complementary) >= HELD_MAX:
                                self.overflow = True
                                break  # out of the block, then out of the file
                            complementary[identity] = record
                        else:
                            complementary[identity] = (*held[:3], held[3] | record[3], *held[4:])
                            self.merged_here += 1
                        continue
                    key = hash(identity)
                    if key in seen:
                        duplicates.append((identity, record[3]))  # checked against the database after the COPY
                        continue
                    if len(seen) >= DEDUP_MAX:
                        # Too many people for the in-memory check: end the COPY cleanly; the caller
                        # drops what was copied and goes through the staging table instead.
                        self.overflow = True
                        break  # out of the block, then out of the file
                    seen.add(key)
                    counts[bureau] = counts.get(bureau, 0) + 1
                    yield record
                if self.overflow:
                    break
        finally:
            self.lines, self.accepted, self.utf8_lines, self.windows_lines = line_count, accepted, utf8_lines, windows_lines
        self.pending_bytes += pending_bytes
        self.pending_lines += pending_lines
        if staged or self.overflow:
            return
        for identity, record in complementary.items():
            if hash(identity) in seen:
                duplicates.append((identity, record[3]))  # also on the main list: rare
                continue
            counts[record[2]] = counts.get(record[2], 0) + 1
            yield record
        complementary.clear()

    @property
    def encoding(self) -> str:
        if self.windows_lines and self.utf8_lines:
            return "mixed"
        if self.windows_lines:
            return "windows-1252"
        return "utf-8-bom" if self.bom else "utf-8"


def _numbered(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    return enumerate(stream, start=1)


@dataclass
class _Opened:
    lines: Iterator[tuple[int, bytes]]
    header_size: int
    commune_code: str
    bom: bool


def _open_lines(file: ListFile, stream: IO[bytes]) -> _Opened:
    """Check the header, find the commune (file name, else first line); the iterator continues after."""
    lines = _numbered(stream)
    header_raw = b""
    for _number, raw in lines:
        if raw.strip():
            header_raw = raw
            break
    if not header_raw:
        raise FileRefused(f"Le fichier « {file.name} » est vide.")
    header_text, _windows = decode_line(header_raw)
    bom = header_text.startswith("\ufeff")
    header_fields = split_line(header_text.lstrip("\ufeff").rstrip("\r\n"))
    problem = check_header(header_fields or [])
    if problem is not None:
        raise FileRefused(f"« {file.name} » : {problem.message}")
    named = parse_file_name(file.base_name)
    if named is not None:
        return _Opened(lines, len(header_raw), named.commune_code, bom)
    # No commune in the file name: the first data line's UGLE code says which commune it is.
    peeked: list[tuple[int, bytes]] = []
    commune_code = ""
    for number, raw in lines:
        peeked.append((number, raw))
        fields = split_line(decode_line(raw)[0].rstrip("\r\n"))
        if fields and len(fields) > UGLE_CODE and fields[UGLE_CODE].strip():
            commune_code = fields[UGLE_CODE].strip().upper()
            break
    if not commune_code:
        raise FileRefused(
            f"« {file.name} » : impossible de savoir de quelle commune est ce fichier (ni le nom du fichier "
            f"« ListesElecteursActifs-com<code INSEE>-<jj-mm-aaaa>-<HHhMM>.csv » ni la colonne « {COLUMNS[UGLE_CODE]} »)."
        )

    def chained() -> Iterator[tuple[int, bytes]]:
        yield from peeked
        yield from lines

    return _Opened(chained(), len(header_raw), commune_code, bom)


# --- The registry's election ---------------------------------------------------------------------


async def refresh_statistics(owner_url: str) -> None:
    """ANALYZE the registry's tables after a bulk import, so that searches are planned on
    the real size of the lists at once, without waiting for autovacuum. Not election state:
    no audit event. On its own connection as the schema owner: PostgreSQL 16 lets only a
    table's owner analyze it (the application role would get a warning and nothing done)."""
    import asyncpg

    connection = await asyncpg.connect(owner_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("ANALYZE voter")
        await connection.execute("ANALYZE registry_bureau")
    finally:
        await connection.close()


async def bind_registry(session: AsyncSession, actor: Actor, election: Election) -> RegistryState:
    """The copy of the lists belongs to one election: bind it at the first import, refuse another."""
    state = await session.get(RegistryState, 1)
    if state is None:
        # Two imports starting together: the first one binds, the other waits for it here.
        inserted = await session.execute(
            pg_insert(RegistryState)
            .values(id=1, election_id=election.id, created_at=utcnow())
            .on_conflict_do_nothing()
            .returning(RegistryState.id)
        )
        if inserted.first() is not None:
            record(session, events.RegistryBound(actor=actor, election_id=election.id))
        state = await session.get(RegistryState, 1, populate_existing=True)
        assert state is not None
    if state.election_id != election.id:
        other = await session.get(Election, state.election_id)
        name = other.name if other is not None else f"n° {state.election_id}"
        raise RegistryBoundElsewhere(
            f"Les listes chargées sont celles de l'élection « {name} ». Purgez-les d'abord "
            f"(primaires registry purge --election {other.slug if other else state.election_id}) avant d'en charger "
            "pour une autre élection."
        )
    return state


# --- One commune file ------------------------------------------------------------------------------

_DATA_COLUMNS = [column for column in VOTER_COLUMNS if column not in ("department_code", "commune_code", "identity_hash")]


async def _locked_driver(session: AsyncSession, commune_code: str) -> Any:
    """The driver connection, in a transaction that holds the commune's lock."""
    connection = await session.connection()
    # A statement through SQLAlchemy first, so that the transaction has begun on the driver
    # connection before COPY runs on it; the same statement takes the commune's lock (one
    # round trip per file instead of two). An import's commit need not wait for the disk
    # (`synchronous_commit` off, for this transaction only): if the machine crashes right
    # after, the commune is simply not recorded and the next run of the (idempotent) import
    # loads it again; atomicity is unchanged.
    await connection.execute(
        text("SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"registry:{commune_code}"},
    )
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def import_commune_file(
    session: AsyncSession,
    actor: Actor,
    election: Election,
    file: ListFile,
    *,
    today: date | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import one commune file in the caller's transaction; raises `FileRefused` for a refused file.

    Returns status "unchanged" (and writes nothing) when the same file is already in place.
    """
    sha = file_sha256(file)
    world = await import_territory(session)
    with file.opener() as stream:
        opened = _open_lines(file, stream)
        commune = world.communes.get(opened.commune_code)
        if commune is None:
            raise FileRefused(f"« {file.name} » : commune {opened.commune_code} inconnue du référentiel territorial.")
        department_code = commune.department_code
        report = ImportReport(file=file.name, status="imported", department_code=department_code, commune_code=commune.code)
        named = parse_file_name(file.base_name)
        extracted_at = named.extracted_at if named else None

        # Straight on the driver (two cheap statements instead of ORM look-ups for every file):
        # lock the commune, then — in a snapshot taken after the lock — is it loaded already,
        # and is the registry bound to this election? The ORM object is loaded only when the
        # commune is already there (a replacement, a re-import).
        driver = await _locked_driver(session, commune.code)
        bound_to, known = await driver.fetchrow(
            "SELECT (SELECT election_id FROM registry_state WHERE id = 1), "
            "EXISTS (SELECT 1 FROM registry_commune WHERE department_code = $1 AND commune_code = $2)",
            department_code,
            commune.code,
        )
        current = await session.get(RegistryCommune, (department_code, commune.code)) if known else None
        if current is not None and current.file_sha256 == sha:
            report.status = "unchanged"
            report.voters = current.voters
            report.import_id = current.import_id
            report.message = "Fichier identique à celui déjà importé : rien n'a changé."
            return report
        if current is not None and extracted_at and current.extracted_at and extracted_at < current.extracted_at:
            raise OlderExtract(
                f"« {file.name} » : extrait du {extracted_at:%d/%m/%Y à %Hh%M}, plus ancien que celui en place "
                f"({current.extracted_at:%d/%m/%Y à %Hh%M}) : ignoré, la liste en place est conservée."
            )
        if bound_to != election.id:
            await bind_registry(session, actor, election)  # binds, or refuses another election's registry

        reader = _LineReader(
            file,
            stream,
            department_code=department_code,
            commune_code=commune.code,
            max_year=(today or date.today()).year,
            progress=progress,
        )
        reader.bom = opened.bom
        if progress is not None:
            progress(opened.header_size, 0)
        note_write(session, "voter")
        # A commune has voter rows only once its extract is recorded (`RegistryCommune`): a
        # commune seen for the first time goes straight into `voter`.
        direct = current is None and file.size <= DIRECT_MAX_BYTES
        if direct:
            try:
                await _copy_direct(session, driver, reader, opened.lines, report)
            except _RetryWithStaging:
                # Only this transaction wrote rows of this commune: drop them, read again.
                await driver.execute(
                    "DELETE FROM voter WHERE department_code = $1 AND commune_code = $2", department_code, commune.code
                )
                report.added = report.merged = 0
                reader = None
        else:
            await _copy_staged(session, driver, reader, opened.lines, report)
            if current is not None:
                report.status = "replaced"
    if reader is None:
        direct = False
        with file.opener() as stream:
            opened = _open_lines(file, stream)
            reader = _LineReader(
                file, stream, department_code=department_code, commune_code=commune.code,
                max_year=(today or date.today()).year, progress=None,
            )  # fmt: skip
            reader.bom = opened.bom
            await _copy_staged(session, driver, reader, opened.lines, report)

    reader.flush_progress()
    report.lines = reader.lines
    report.rejected = reader.rejected
    report.rejections = reader.rejections
    report.encoding = reader.encoding
    if reader.accepted == 0:
        raise FileRefused(
            f"« {file.name} » : aucune ligne valide ({reader.rejected} lignes rejetées) ; "
            "la liste en place de la commune est conservée.",
            rejections=reader.rejections,
            rejected=reader.rejected,
        )
    report.warnings = _warnings(reader, election, extracted_at, file)
    bureau_count = await _store_bureaux(
        session, department_code, commune.code, reader.bureaux, world, report,
        counts=reader.bureau_counts if direct else None, replace=current is not None,
    )  # fmt: skip
    await _store_report(session, actor, election, file, sha, extracted_at, report, current)
    record(
        session,
        events.CommuneListImported(
            actor=actor,
            election_id=election.id,
            department_code=department_code,
            commune_code=commune.code,
            import_id=report.import_id or 0,
            file_name=file.base_name,
            file_sha256=sha,
            extracted_at=extracted_at.isoformat() if extracted_at else None,
            encoding=report.encoding,
            lines=report.lines,
            voters=report.voters,
            rejected=report.rejected,
            merged=report.merged,
            added=report.added,
            removed=report.removed,
            changed=report.changed,
            replaced=report.status == "replaced",
            bureaux=bureau_count,
        ),
    )
    return report


# Rows go to PostgreSQL in COPY's text format, in chunks of `COPY_CHUNK` bytes: small chunks
# let the server index the first rows of a file while Python still reads the rest of it, and
# a `\t`-joined line costs less Python time than per-field binary encoding.
COPY_CHUNK = 64 * 1024
_VOTER_COLUMN_COUNT = len(VOTER_COLUMNS)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_line(record: tuple, escape: bool) -> str:
    """One row in COPY's text format: tab-separated, bytea as « \\x<hex> », specials escaped.

    Written out column by column (`VOTER_COLUMNS`, then the staging position if any): the
    import's hot path, where a generic per-value conversion would cost more than the parse.
    """
    if escape:
        record = tuple(value.translate(_ESCAPES) if value.__class__ is str else value for value in record)
    (department, commune, bureau, lists, identity, birth_name, usage_name, given_names, sex, year, month, day,
     birth_commune_code, birth_commune, birth_department, birth_country, nationality, address, order, birth_key,
     usage_key, given_key, flags, *position) = record  # fmt: skip
    line = (
        f"{department}\t{commune}\t{bureau}\t{lists}\t\\\\x{identity.hex()}\t{birth_name}\t{usage_name}\t"
        f"{given_names}\t{sex}\t{year}\t{month}\t{day}\t{birth_commune_code}\t{birth_commune}\t{birth_department}\t"
        f"{birth_country}\t{nationality}\t{address}\t{order}\t{birth_key}\t{usage_key}\t{given_key}\t{flags}"
    )
    return f"{line}\t{position[0]}" if position else line


async def _text_chunks(reader: _LineReader, records: Iterator[tuple]) -> AsyncIterator[bytes]:
    buffer: list[str] = []
    append = buffer.append
    size = 0
    for record in records:
        if reader.needs_escaping or len(record) != _VOTER_COLUMN_COUNT:
            line = _text_line(record, reader.needs_escaping)
        else:
            # `_text_line` written out for the usual case (direct path, nothing to escape):
            # the import's hot path, one call less per row.
            (department, commune, bureau, lists, identity, birth_name, usage_name, given_names, sex, year, month, day,
             birth_commune_code, birth_commune, birth_department, birth_country, nationality, address, order, birth_key,
             usage_key, given_key, flags) = record  # fmt: skip
            line = (
                f"{department}\t{commune}\t{bureau}\t{lists}\t\\\\x{identity.hex()}\t{birth_name}\t{usage_name}\t"
                f"{given_names}\t{sex}\t{year}\t{month}\t{day}\t{birth_commune_code}\t{birth_commune}\t{birth_department}\t"
                f"{birth_country}\t{nationality}\t{address}\t{order}\t{birth_key}\t{usage_key}\t{given_key}\t{flags}"
            )
        append(line)
        size += len(line) + 1
        if size >= COPY_CHUNK:
            append("")
            yield "\n".join(buffer).encode("utf-8")
            buffer, size = [], 0
            append = buffer.append
    if buffer:
        buffer.append("")
        yield "\n".join(buffer).encode("utf-8")


async def _copy(driver: Any, table: str, columns: list[str] | tuple[str, ...], reader: _LineReader, records: Iterator[tuple]) -> int:
    # (asyncpg's binary `copy_records_to_table` sends 512 kB at a time: a commune file of a
    # few thousand lines then reaches the server in one or two pieces, after Python has read
    # it all, and the two never work at the same time; measured slower.)
    status = await driver.copy_to_table(table, source=_text_chunks(reader, records), columns=list(columns), format="text")
    return int(status.split()[-1])


async def _copy_direct(session: AsyncSession, driver: Any, reader: _LineReader, lines: Iterator, report: ImportReport) -> None:
    """First load of a commune: COPY into `voter`, then fold people listed twice into one row."""
    copied = await _copy(driver, "voter", VOTER_COLUMNS, reader, reader.records(lines))
    if reader.overflow:
        raise _RetryWithStaging
    if reader.duplicates:
        extra: dict[bytes, int] = {}
        for identity, lists in reader.duplicates:
            extra[identity] = extra.get(identity, 0) | lists
        # One statement for the file: at worst one pass over the commune's rows (a join), never
        # one pass per person, whatever plan the statistics of a table being loaded lead to.
        updated = await driver.fetch(
            """
            UPDATE voter AS v SET lists = v.lists | extra.l
            FROM unnest($3::bytea[], $4::smallint[]) AS extra(h, l)
            WHERE v.department_code = $1 AND v.commune_code = $2 AND v.identity_hash = extra.h
            RETURNING v.identity_hash
            """,
            report.department_code,
            report.commune_code,
            list(extra),
            list(extra.values()),
        )
        if len(updated) != len(extra):
            # Two different people share the first 64 bits of their identity hash: extremely
            # rare, but then only the exact comparison of the staging path is right.
            raise _RetryWithStaging
    report.added = copied
    report.voters = copied
    report.merged = len(reader.duplicates) + reader.merged_here


_COMPARED = ", ".join(_DATA_COLUMNS)


async def _copy_staged(session: AsyncSession, driver: Any, reader: _LineReader, lines: Iterator, report: ImportReport) -> None:
    """Replacement (or a very large file): COPY into a temporary table, then apply the difference."""
    department_code, commune_code = report.department_code, report.commune_code
    await driver.execute("DROP TABLE IF EXISTS registry_stage; DROP TABLE IF EXISTS registry_new")
    await driver.execute(
        "CREATE TEMP TABLE registry_stage ON COMMIT DROP AS "
        f"SELECT {', '.join(VOTER_COLUMNS)}, 0::integer AS seq FROM voter WITH NO DATA"
    )
    await _copy(driver, "registry_stage", [*VOTER_COLUMNS, "seq"], reader, reader.records(lines, staged=True))
    staged_columns = ", ".join(column for column in VOTER_COLUMNS if column != "lists")
    await driver.execute(
        "CREATE TEMP TABLE registry_new ON COMMIT DROP AS "
        f"SELECT DISTINCT ON (identity_hash) {staged_columns}, "
        "bit_or(lists) OVER (PARTITION BY identity_hash)::smallint AS lists "
        "FROM registry_stage ORDER BY identity_hash, seq"
    )
    await driver.execute("ANALYZE registry_new")
    staged = await driver.fetchval("SELECT count(*) FROM registry_stage")
    fresh = await driver.fetchval("SELECT count(*) FROM registry_new")
    removed = await driver.execute(
        """
        DELETE FROM voter AS v WHERE v.department_code = $1 AND v.commune_code = $2
        AND NOT EXISTS (SELECT 1 FROM registry_new AS n WHERE n.identity_hash = v.identity_hash)
        """,
        department_code,
        commune_code,
    )
    assignments = ", ".join(f"{column} = n.{column}" for column in _DATA_COLUMNS)
    changed = await driver.execute(
        f"""
        UPDATE voter AS v SET {assignments} FROM registry_new AS n
        WHERE v.department_code = $1 AND v.commune_code = $2 AND v.identity_hash = n.identity_hash
        AND ({", ".join(f"v.{c}" for c in _DATA_COLUMNS)}) IS DISTINCT FROM ({", ".join(f"n.{c}" for c in _DATA_COLUMNS)})
        """,
        department_code,
        commune_code,
    )
    added = await driver.execute(
        f"""
        INSERT INTO voter ({", ".join(VOTER_COLUMNS)})
        SELECT {", ".join(f"n.{c}" for c in VOTER_COLUMNS)} FROM registry_new AS n
        WHERE NOT EXISTS (
            SELECT 1 FROM voter AS v
            WHERE v.department_code = $1 AND v.commune_code = $2 AND v.identity_hash = n.identity_hash
        )
        """,
        department_code,
        commune_code,
    )
    await driver.execute("DROP TABLE registry_stage; DROP TABLE registry_new")
    report.removed = int(removed.split()[-1])
    report.changed = int(changed.split()[-1])
    report.added = int(added.split()[-1])
    report.merged = int(staged) - int(fresh)
    report.voters = int(fresh)


def _warnings(reader: _LineReader, election: Election, extracted_at: datetime | None, file: ListFile) -> list[str]:
    warnings = []
    if reader.windows_lines:
        warnings.append(
            f"{reader.windows_lines} ligne(s) encodée(s) en Windows-1252 et non en UTF-8 : lues comme telles ; "
            "vérifiez les accents de ces lignes et demandez un export UTF-8 à la commune."
        )
    if extracted_at is None:
        warnings.append(
            "Date d'extraction inconnue (nom de fichier non standard) : un extrait plus récent de la commune "
            "remplacera celui-ci sans comparaison de dates."
        )
    elif election.list_extraction_date and extracted_at.date() > election.list_extraction_date:
        warnings.append(
            f"Extrait du {extracted_at:%d/%m/%Y}, postérieur à la date d'extraction des listes fixée pour "
            f"l'élection ({election.list_extraction_date:%d/%m/%Y})."
        )
    if reader.rejected > len(reader.rejections):
        warnings.append(
            f"{reader.rejected - len(reader.rejections)} ligne(s) rejetée(s) au-delà des {MAX_STORED_REJECTS} "
            "premières ne sont pas détaillées."
        )
    return warnings


async def _store_bureaux(
    session: AsyncSession,
    department_code: str,
    commune_code: str,
    bureaux: dict[str, BureauInfo],
    world: Any,
    report: ImportReport,
    *,
    counts: dict[str, int] | None,
    replace: bool,
) -> int:
    """One row per polling place of the commune, with its canton and its registered count."""
    if counts is None:
        result = await session.execute(
            text(
                "SELECT bureau_code, count(*) FROM voter WHERE department_code = :d AND commune_code = :c "
                "GROUP BY bureau_code"
            ),
            {"d": department_code, "c": commune_code},
        )
        counts = {code: count for code, count in result}
    if replace:
        await session.execute(
            delete(RegistryBureau).where(
                RegistryBureau.department_code == department_code, RegistryBureau.commune_code == commune_code
            )
        )
    commune = world.communes[commune_code]
    fallback = commune.canton_code or (world.communes.get(commune.parent_code or "") or commune).canton_code
    rows = []
    unknown_labels: set[str] = set()
    for code, voters in sorted(counts.items()):
        info = bureaux.get(code) or BureauInfo(code, "", "", "")
        canton = world.canton_for_label(department_code, info.canton_label)
        source = "libelle"
        if canton is None:
            if info.canton_label.strip():
                unknown_labels.add(info.canton_label.strip())
            canton, source = fallback, "commune" if fallback else ""
        rows.append(
            {
                "department_code": department_code,
                "commune_code": commune_code,
                "bureau_code": code,
                "label": info.label,
                "circonscription_code": info.circonscription_code,
                "canton_label": info.canton_label,
                "canton_code": canton,
                "canton_source": source,
                "voters": voters,
            }
        )
    if rows:
        await session.execute(insert(RegistryBureau), rows)
    if unknown_labels:
        shown = ", ".join(f"« {label} »" for label in sorted(unknown_labels)[:5])
        report.warnings.append(
            f"Canton(s) inconnu(s) du référentiel : {shown} ; le canton de la commune a été retenu pour ces bureaux."
        )
    return len(rows)


async def _store_report(
    session: AsyncSession,
    actor: Actor,
    election: Election,
    file: ListFile,
    sha: str,
    extracted_at: datetime | None,
    report: ImportReport,
    current: RegistryCommune | None,
) -> None:
    row = RegistryImport(
        election_id=election.id,
        department_code=report.department_code,
        commune_code=report.commune_code,
        file_name=file.base_name,
        file_sha256=sha,
        extracted_at=extracted_at,
        imported_at=utcnow(),
        actor=actor.id,
        encoding=report.encoding,
        lines=report.lines,
        voters=report.voters,
        rejected=report.rejected,
        merged=report.merged,
        added=report.added,
        removed=report.removed,
        changed=report.changed,
        replaced=report.status == "replaced",
        warnings=report.warnings,
    )
    session.add(row)
    await session.flush()
    report.import_id = row.id
    if report.rejections:
        await session.execute(
            insert(RegistryReject),
            [{"import_id": row.id, "line": r.line, "column": r.column, "reason": r.reason} for r in report.rejections],
        )
    if current is None:
        session.add(
            RegistryCommune(
                department_code=report.department_code,
                commune_code=report.commune_code,
                file_name=file.base_name,
                file_sha256=sha,
                extracted_at=extracted_at,
                imported_at=row.imported_at,
                voters=report.voters,
                import_id=row.id,
            )
        )
    else:
        current.file_name = file.base_name
        current.file_sha256 = sha
        current.extracted_at = extracted_at
        current.imported_at = row.imported_at
        current.voters = report.voters
        current.import_id = row.id
    # Flushed now: the next file of the same session (demo, rehearsal) reads `registry_commune`
    # straight on the driver, which sees only what was flushed.
    await session.flush()
