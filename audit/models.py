"""Tables of the transparency log. All insert-only: the application's database role has no
UPDATE, DELETE or TRUNCATE on them, and a trigger refuses those to every role, owner included
(see `audit/migrations/0001_audit_log.py`).

The events themselves are `services.events.AuditEvent` (table `audit_event`), written by every
service in its own transaction. The sequencer then gives each committed event a leaf index in
a separate table — never by updating the event row — and stores the hashes of the completed
perfect subtrees, so proofs are a handful of lookups however large the log grows.

These tables are the log's own structure, not election state: writing them needs no audit
event (`__audit_exempt__`), which would be circular anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, LargeBinary, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow


class AuditLeaf(Base):
    """Leaf `leaf_index` of the Merkle tree is the event `event_id`; `leaf_hash` = SHA-256(0x00 || entry)."""

    __tablename__ = "audit_leaf"
    __audit_exempt__ = True
    __table_args__ = (CheckConstraint("octet_length(leaf_hash) = 32", name="leaf_hash_size"),)

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Deliberately no foreign key to audit_event: its check would lock, and so rewrite, every
    # event row once more when it is sealed (it halves the sequencer's speed). Events cannot be
    # deleted anyway (append-only trigger), and a leaf without its event would show as a gap
    # in any export, which the verifier rejects.
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditNode(Base):
    """Hash of the perfect subtree (level, node_index), covering leaves
    [node_index * 2^level, (node_index + 1) * 2^level). Only levels that are multiples of
    `audit.merkle.STORED_LEVEL_STRIDE` are stored; the others are recomputed from below."""

    __tablename__ = "audit_node"
    __audit_exempt__ = True
    __table_args__ = (
        CheckConstraint("octet_length(node_hash) = 32", name="node_hash_size"),
        CheckConstraint("level > 0 AND level % 4 = 0", name="stored_level"),
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    node_hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(Base):
    """A signed checkpoint: the C2SP note committing to the tree of `tree_size` leaves."""

    __tablename__ = "audit_checkpoint"
    __audit_exempt__ = True
    __table_args__ = (
        CheckConstraint("octet_length(root_hash) = 32", name="root_hash_size"),
        CheckConstraint("tree_size > 0", name="tree_size_positive"),
    )

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditVerification(Base):
    """The result of one full verification of the stored log by the independent verifier
    (run periodically by the server, by `primaires audit check`, or on request)."""

    __tablename__ = "audit_verification"
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    checkpoints: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    first_bad_index: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
    seconds: Mapped[float]
    requested_by: Mapped[str] = mapped_column(Text)
