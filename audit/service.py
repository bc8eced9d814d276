"""What the pages, the API and the CLI ask of the log: status, search, proofs, verification.

Nothing here changes election state: the log's own tables are written only by the sequencer
and by verification runs (which record their results, insert-only).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit import export, keys, merkle, sequencer, tree, verifier
from audit.models import AuditCheckpoint, AuditLeaf, AuditVerification
from services.auth.models import Account
from services.errors import Conflict, InvalidInput, NotFound
from services.events import AuditEvent, Event

PAGE_SIZE = 50
# A verification asked from the page or the API runs inside the request: beyond this size it
# would keep the request waiting too long (about 2 s per 100,000 events); the periodic job and
# `primaires audit check` have no limit.
REQUEST_VERIFICATION_LIMIT = 1_000_000

SUBJECT_LABELS = {
    "station_code": "Bureau de vote",
    "department_code": "Département",
    "election_id": "Élection",
    "round_id": "Tour",
    "candidate_id": "Candidat",
    "account_id": "Compte",
    "tablet_id": "Tablette",
    "token_id": "Jeton d'API",
}


def subject_keys() -> list[tuple[str, str]]:
    """Every object kind that events name, with a French label: (key, label)."""
    keys_ = sorted({name for kind in Event.registry.values() for name in kind.subject_fields})
    return [(key, SUBJECT_LABELS.get(key, key)) for key in keys_]


def event_kinds() -> list[str]:
    return sorted(Event.registry)


# --- Status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str


@dataclass
class LogStatus:
    tree_size: int
    pending: int
    latest: AuditCheckpoint | None
    checkpoint_count: int
    public_key: verifier.PublicKey | None
    key_problem: str | None
    checks: list[Check] = field(default_factory=list)
    last_verification: AuditVerification | None = None

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


def public_key() -> tuple[verifier.PublicKey | None, str | None]:
    try:
        signer = keys.signer()
    except Exception as error:  # noqa: BLE001 - shown on the page, never a 500
        return None, str(error)
    if signer is None:
        return None, "Aucune clé de signature configurée (primaires audit keygen)."
    return signer.public_key, None


async def latest_checkpoints(session: AsyncSession, count: int) -> list[AuditCheckpoint]:
    return list(
        await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(count))
    )


async def log_status(session: AsyncSession) -> LogStatus:
    """The log's state and the quick checks the page shows (full verification is separate)."""
    key, key_problem = public_key()
    recent = await latest_checkpoints(session, 2)
    latest = recent[0] if recent else None
    status = LogStatus(
        tree_size=await tree.tree_size(session),
        pending=await sequencer.pending_count(session),
        latest=latest,
        checkpoint_count=await session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0,
        public_key=key,
        key_problem=key_problem,
        last_verification=await session.scalar(
            select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
        ),
    )
    if latest is None:
        return status
    if key is not None:
        try:
            verifier.parse_checkpoint(latest.note, key)
            status.checks.append(Check("Signature du dernier point de contrôle", True, f"valide, clé {key.name}"))
        except ValueError as error:
            status.checks.append(Check("Signature du dernier point de contrôle", False, str(error)))
    try:
        root = await tree.root(session, latest.tree_size)
    except tree.TreeError as error:
        status.checks.append(Check("Racine recalculée depuis l'arbre stocké", False, str(error)))
        return status
    status.checks.append(
        Check(
            "Racine recalculée depuis l'arbre stocké",
            root == bytes(latest.root_hash),
            "identique à la racine signée" if root == bytes(latest.root_hash) else "différente de la racine signée",
        )
    )
    if len(recent) == 2:
        previous = recent[1]
        try:
            proof = await tree.consistency_proof(session, previous.tree_size, latest.tree_size)
        except tree.TreeError:
            proof = []
        consistent = merkle.verify_consistency(
            previous.tree_size, latest.tree_size, bytes(previous.root_hash), bytes(latest.root_hash), proof
        )
        status.checks.append(
            Check(
                "Cohérence avec le point de contrôle précédent",
                consistent,
                f"preuve de cohérence {previous.tree_size} → {latest.tree_size} "
                + ("vérifiée" if consistent else "REJETÉE"),
            )
        )
    return status


# --- Checkpoints and proofs ---------------------------------------------------------------------


async def checkpoint_at(session: AsyncSession, size: int | None) -> AuditCheckpoint:
    if size is None:
        checkpoint = await sequencer.latest_checkpoint(session)
        if checkpoint is None:
            raise NotFound("Aucun point de contrôle n'a encore été signé.", code="no_checkpoint")
        return checkpoint
    checkpoint = await session.get(AuditCheckpoint, size)
    if checkpoint is None:
        raise NotFound(f"Aucun point de contrôle signé pour la taille {size}.", code="unknown_checkpoint")
    return checkpoint


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]
    checkpoint: AuditCheckpoint


async def inclusion_proof(session: AsyncSession, leaf_index: int, tree_size: int | None = None) -> InclusionProof:
    checkpoint = await checkpoint_at(session, tree_size)
    if not 0 <= leaf_index < checkpoint.tree_size:
        raise InvalidInput(
            f"L'index {leaf_index} n'est pas couvert par le point de contrôle de taille {checkpoint.tree_size}.",
            code="index_out_of_range",
        )
    leaf = await session.get(AuditLeaf, leaf_index)
    assert leaf is not None
    hashes = await tree.inclusion_proof(session, leaf_index, checkpoint.tree_size)
    return InclusionProof(leaf_index, checkpoint.tree_size, bytes(leaf.leaf_hash), hashes, checkpoint)


@dataclass(frozen=True)
class ConsistencyProof:
    first: AuditCheckpoint
    second: AuditCheckpoint
    hashes: list[bytes]


async def consistency_proof(session: AsyncSession, first: int, second: int | None = None) -> ConsistencyProof:
    old = await checkpoint_at(session, first)
    new = await checkpoint_at(session, second)
    if old.tree_size > new.tree_size:
        raise InvalidInput("La première taille doit être inférieure ou égale à la seconde.", code="sizes_reversed")
    hashes = await tree.consistency_proof(session, old.tree_size, new.tree_size)
    return ConsistencyProof(old, new, hashes)


# --- Events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilters:
    station: str | None = None
    subject_key: str | None = None
    subject_value: str | None = None
    actor: str | None = None
    kind: str | None = None

    @property
    def active(self) -> bool:
        return any((self.station, self.subject_value, self.actor, self.kind))


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    leaf_index: int | None
    actor_label: str

    @cached_property
    def entry(self) -> dict[str, Any]:
        return json.loads(self.event.entry)

    @property
    def payload(self) -> dict[str, Any]:
        return self.entry.get("payload", {})


async def _resolve_actor(session: AsyncSession, text_: str) -> str:
    """'account:12', 'tablet:3', 'system:demo' as they are; a username becomes its account."""
    text_ = text_.strip()
    if ":" in text_:
        return text_
    account = await session.scalar(select(Account).where(Account.username == text_.lower()))
    if account is None:
        raise InvalidInput(
            f"Acteur inconnu : « {text_} ». Donnez un identifiant de compte (ex. organisation) "
            "ou un acteur du journal (ex. account:12, tablet:3, system:demo).",
            code="unknown_actor",
        )
    return f"account:{account.id}"


def _subject_condition(key: str, value: str) -> Any:
    value = value.strip()
    conditions = [AuditEvent.subjects.contains({key: value})]
    if value.lstrip("-").isdigit():
        conditions.append(AuditEvent.subjects.contains({key: int(value)}))
    return or_(*conditions)


async def actor_labels(session: AsyncSession, actors: set[str]) -> dict[str, str]:
    ids = [int(actor.split(":", 1)[1]) for actor in actors if actor.startswith("account:") and actor[8:].isdigit()]
    names = {}
    if ids:
        for account in await session.scalars(select(Account).where(Account.id.in_(ids))):
            names[f"account:{account.id}"] = f"{account.display_name} ({account.username})"
    return {actor: names.get(actor, actor) for actor in actors}


async def search_events(
    session: AsyncSession, filters: EventFilters, *, before: int | None = None, limit: int = PAGE_SIZE
) -> list[EventRow]:
    """Events matching every given filter, most recent first (keyset pagination on the id)."""
    query = select(AuditEvent, AuditLeaf.leaf_index).outerjoin(AuditLeaf, AuditLeaf.event_id == AuditEvent.id)
    if filters.station:
        station = filters.station.strip()
        query = query.where(or_(AuditEvent.subjects.contains({"station_code": station}), AuditEvent.actor_scope == station))
    if filters.subject_value:
        key = filters.subject_key or ""
        if key not in {name for name, _label in subject_keys()}:
            raise InvalidInput(f"Type d'objet inconnu : « {key} ».", code="unknown_subject")
        query = query.where(_subject_condition(key, filters.subject_value))
    if filters.actor:
        query = query.where(AuditEvent.actor == await _resolve_actor(session, filters.actor))
    if filters.kind:
        query = query.where(AuditEvent.kind == filters.kind.strip())
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = (await session.execute(query.order_by(AuditEvent.id.desc()).limit(limit))).all()
    labels = await actor_labels(session, {event.actor for event, _index in rows})
    return [EventRow(event, index, labels[event.actor]) for event, index in rows]


@dataclass(frozen=True)
class EventDetail:
    row: EventRow
    leaf_hash: bytes | None
    proof: InclusionProof | None
    proof_ok: bool | None


async def event_detail(session: AsyncSession, event_id: int) -> EventDetail:
    found = (
        await session.execute(
            select(AuditEvent, AuditLeaf).outerjoin(AuditLeaf, AuditLeaf.event_id == AuditEvent.id).where(AuditEvent.id == event_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"Événement n° {event_id} introuvable dans le journal.", code="unknown_event")
    event, leaf = found
    labels = await actor_labels(session, {event.actor})
    row = EventRow(event, leaf.leaf_index if leaf else None, labels[event.actor])
    if leaf is None:
        return EventDetail(row, None, None, None)
    latest = await sequencer.latest_checkpoint(session)
    if latest is None or latest.tree_size <= leaf.leaf_index:
        return EventDetail(row, bytes(leaf.leaf_hash), None, None)
    proof = await inclusion_proof(session, leaf.leaf_index, latest.tree_size)
    ok = bytes(leaf.leaf_hash) == merkle.leaf_hash(event.entry.encode()) and merkle.verify_inclusion(
        leaf.leaf_index, latest.tree_size, bytes(leaf.leaf_hash), proof.hashes, bytes(latest.root_hash)
    )
    return EventDetail(row, bytes(leaf.leaf_hash), proof, ok)


# --- Full verification of the stored log -------------------------------------------------------


async def verify_on_request(session: AsyncSession, requested_by: str) -> AuditVerification:
    """A full verification asked from the page or the API, if the log is small enough."""
    size = await tree.tree_size(session)
    if size > REQUEST_VERIFICATION_LIMIT:
        raise Conflict(
            f"Le journal compte {size} événements : trop pour une vérification depuis la page. Elle est faite "
            "périodiquement par le serveur ; pour la lancer maintenant : « primaires audit check ».",
            code="log_too_large_for_request",
        )
    return await verify_stored_log(session, requested_by)


async def verify_stored_log(session: AsyncSession, requested_by: str) -> AuditVerification:
    """Run the independent verifier over the log as stored (the same lines an export holds),
    against the published key, and record the result."""
    started = time.perf_counter()
    key, key_problem = public_key()
    notes = await export.checkpoint_notes(session)
    size = 0
    failure: verifier.Failure | None = None
    if key is None:
        failure = verifier.Failure(0, key_problem or "clé publique indisponible")
        checkpoints: list[verifier.Checkpoint] = []
    else:
        checkpoints, pending = verifier.load_checkpoints(
            (verifier.checkpoint_line(note) for note in notes), key
        )
        log = verifier.LogVerifier(checkpoints, pending)
        limit = checkpoints[-1].size if checkpoints else 0
        try:
            async for lines in export.event_lines(session, limit):
                log.feed(lines)
            log.finish()
            size = log.size
        except verifier.Failure as error:
            failure = error
            size = log.size
    if failure is None:
        message = f"Conforme : {size} événements, {len(checkpoints)} points de contrôle signés vérifiés."
    else:
        message = failure.message
    result = AuditVerification(
        tree_size=size,
        checkpoints=len(checkpoints),
        ok=failure is None,
        first_bad_index=failure.index if failure else None,
        message=message,
        seconds=round(time.perf_counter() - started, 3),
        requested_by=requested_by,
    )
    session.add(result)
    await session.flush()
    return result
