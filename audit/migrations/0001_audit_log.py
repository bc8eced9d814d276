"""Transparency log: leaves, stored subtree hashes, signed checkpoints, verification results.

Also extends `audit_event` (created by the services foundation): `actor_scope`, so the high
authority can search what was done from a station, and an (xid, id) index, the sequencer's
order of integration.

Every table of the log is append-only: a trigger (the foundation's `primaires_reject_change`)
refuses UPDATE, DELETE and TRUNCATE to every role, and the application's role is granted only
SELECT and INSERT on them (services/migrations/privileges.py, applied after every upgrade).

Revision ID: 0001_audit_log
Revises:
Create Date: 2026-11-22 23:13:42.943152
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_audit_log"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = "0001_services_foundation"

LOG_TABLES = ("audit_leaf", "audit_node", "audit_checkpoint", "audit_verification")


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("actor_scope", sa.Text(), server_default="national", nullable=False))
    op.create_index("ix_audit_event_actor_scope", "audit_event", ["actor_scope"], unique=False)
    op.drop_index(op.f("ix_audit_event_xid"), table_name="audit_event")
    op.create_index("ix_audit_event_xid_id", "audit_event", ["xid", "id"], unique=False)

    op.create_table(
        "audit_leaf",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("octet_length(leaf_hash) = 32", name=op.f("ck_audit_leaf_leaf_hash_size")),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_audit_leaf")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_leaf_event_id")),
    )
    op.create_table(
        "audit_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("node_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("level > 0 AND level % 4 = 0", name=op.f("ck_audit_node_stored_level")),
        sa.CheckConstraint("octet_length(node_hash) = 32", name=op.f("ck_audit_node_node_hash_size")),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_audit_node")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("octet_length(root_hash) = 32", name=op.f("ck_audit_checkpoint_root_hash_size")),
        sa.CheckConstraint("tree_size > 0", name=op.f("ck_audit_checkpoint_tree_size_positive")),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoint")),
    )
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoints", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("first_bad_index", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification")),
    )
    for table in LOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION primaires_reject_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION primaires_reject_change()"
        )


def downgrade() -> None:
    # Dropping the log's tables is the one way to "delete" it: it needs the owner, and a
    # downgrade. Never run this on an election's database.
    for table in reversed(LOG_TABLES):
        op.drop_table(table)
    op.drop_index("ix_audit_event_xid_id", table_name="audit_event")
    op.create_index(op.f("ix_audit_event_xid"), "audit_event", ["xid"], unique=False)
    op.drop_index("ix_audit_event_actor_scope", table_name="audit_event")
    op.drop_column("audit_event", "actor_scope")
