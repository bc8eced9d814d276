"""The version of the check-in's cached sessions: a second row of `polling_context_epoch`.

A tablet's check-in keeps, per process, the principal its session cookie was last read as
(`polling.checkin._cached_session`): while this row keeps its value, the session, its account
and its tablet are as they were read. Any UPDATE, DELETE or TRUNCATE of `web_session`,
`account` or `tablet` (a revocation, a sign-out, a deactivation, a tablet revoked or moved)
gives the row a new value from the epoch sequence (never reused, even when the writing
transaction rolls back). An INSERT does not: a new session or account changes no cached one.

Revision ID: 0005_polling_session_epoch
Revises: 0004_polling_context_epoch
Create Date: 2026-11-23 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0005_polling_session_epoch'
down_revision: str | Sequence[str] | None = '0004_polling_context_epoch'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As `polling.models.SESSION_TABLES` at the time of this revision.
TABLES = ("web_session", "account", "tablet")


def upgrade() -> None:
    op.execute("INSERT INTO polling_context_epoch (id, epoch) VALUES (2, nextval('polling_context_epoch_seq'))")
    op.execute(
        """
        CREATE FUNCTION polling_bump_session_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE polling_context_epoch SET epoch = nextval('polling_context_epoch_seq') WHERE id = 2;
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER polling_session_epoch_{table} AFTER UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION polling_bump_session_epoch()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER polling_session_epoch_{table} ON {table}")
    op.execute("DROP FUNCTION polling_bump_session_epoch()")
    op.execute("DELETE FROM polling_context_epoch WHERE id = 2")
