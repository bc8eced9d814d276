"""Export of the log: the files the independent verifier reads, and nothing else.

    events.jsonl        every sealed event up to the latest checkpoint, in leaf order
    checkpoints.jsonl   every signed checkpoint, in increasing size
    public-key.vkey     the log's public key
    verifier.py         a copy of the verifier (python verifier.py DOSSIER)
    LISEZMOI.txt        what the files are and how to check them

The formats are described in `audit/verifier.py`, which owns them. The export streams from
the database: memory stays flat whatever the size of the log.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import verifier
from audit.models import AuditCheckpoint, AuditLeaf
from services.errors import Conflict
from services.events import AuditEvent

CHUNK = 5_000

README = """Export du journal d'audit de primaires
=======================================

Origine du journal : {origin}
Événements : {events}    Points de contrôle signés : {checkpoints}
Racine du dernier point de contrôle : {root}
Clé publique : {vkey}

Fichiers
  events.jsonl       un événement par ligne, dans l'ordre des feuilles de l'arbre de Merkle :
                     {{"index":i,"leaf":"<SHA-256(0x00 || entrée) en hexadécimal>","entry":<entrée>}}
                     où <entrée> est le JSON canonique de l'événement, octet pour octet.
  checkpoints.jsonl  les points de contrôle signés (format C2SP tlog-checkpoint, Ed25519),
                     un objet {{"note": "..."}} par ligne, par taille croissante.
  public-key.vkey    la clé publique du journal (format « verifier key » des notes signées C2SP).
  verifier.py        le vérificateur indépendant (Python 3.11 et le paquet « cryptography »).

Vérifier
  python verifier.py DOSSIER --cle "<clé publiée par les organisateurs>"
  (ou : primaires audit verify DOSSIER --cle ...)
Le vérificateur recalcule chaque haché et chaque racine et contrôle chaque signature ; au
moindre événement modifié, supprimé, inséré ou déplacé, ou point de contrôle falsifié, il
s'arrête avec un code non nul en nommant le premier index non fiable.
Comparez la clé ci-dessus à celle publiée à l'adresse /.well-known/primaires/audit-key et
ajoutez avec --point-de-controle les points de contrôle que vous avez relevés vous-même.
"""


@dataclass(frozen=True)
class ExportReport:
    directory: Path
    events: int
    checkpoints: int
    root: bytes
    verifier_key: str


async def checkpoint_notes(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(AuditCheckpoint.note).order_by(AuditCheckpoint.tree_size)))


async def event_lines(session: AsyncSession, size: int, *, chunk: int = CHUNK) -> AsyncIterator[list[bytes]]:
    """The lines of events.jsonl for leaves [0, size), a chunk at a time, from a server-side cursor."""
    if size <= 0:
        return
    result = await session.stream(
        select(AuditLeaf.leaf_index, AuditLeaf.leaf_hash, AuditEvent.entry)
        .join(AuditEvent, AuditEvent.id == AuditLeaf.event_id)
        .where(AuditLeaf.leaf_index < size)
        .order_by(AuditLeaf.leaf_index)
        .execution_options(yield_per=chunk)
    )
    async for partition in result.partitions(chunk):
        yield [verifier.event_line(index, bytes(leaf), entry.encode()) for index, leaf, entry in partition]


def _replace(path: Path, write) -> None:  # noqa: ANN001 - a callable writing to a binary file
    """Write through a temporary file and rename, so a reader never sees half a file."""
    temporary = path.with_name(path.name + ".partiel")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


async def write_export(session: AsyncSession, directory: Path, verifier_key: str) -> ExportReport:
    """Write the export of everything covered by the latest signed checkpoint into `directory`."""
    notes = await checkpoint_notes(session)
    if not notes:
        raise Conflict(
            "Aucun point de contrôle signé : rien à exporter. Scellez d'abord le journal (primaires audit seal).",
            code="no_checkpoint",
        )
    key = verifier.parse_public_key(verifier_key + "\n")
    last = verifier.parse_checkpoint(notes[-1], key)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    _replace(directory / verifier.KEY_FILE, lambda handle: handle.write(key.text.encode() + b"\n"))
    _replace(
        directory / verifier.CHECKPOINTS_FILE,
        lambda handle: handle.writelines(verifier.checkpoint_line(note) for note in notes),
    )
    temporary = directory / (verifier.EVENTS_FILE + ".partiel")
    count = 0
    with open(temporary, "wb") as handle:
        async for lines in event_lines(session, last.size):
            handle.writelines(lines)
            count += len(lines)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(directory / verifier.EVENTS_FILE)
    source = Path(verifier.__file__).read_bytes()
    _replace(directory / "verifier.py", lambda handle: handle.write(source))
    readme = README.format(
        origin=key.name, events=count, checkpoints=len(notes), root=last.root.hex(), vkey=key.text
    )
    _replace(directory / "LISEZMOI.txt", lambda handle: handle.write(readme.encode()))
    return ExportReport(directory, count, len(notes), last.root, key.text)
