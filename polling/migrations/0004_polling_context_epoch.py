"""The version of a check-in's cached context: one row, bumped by triggers.

A check-in keeps its station, election, rounds, privacy keys and the station's bureaux in a
per-process cache; its read and its write compare the cache's epoch with this row, and any
write to one of the tables the cache is made of (`polling.models.CONTEXT_TABLES`) gives the row
a new value from a sequence (never reused, even when the writing transaction rolls back).

Revision ID: 0004_polling_context_epoch
Revises: 0003_checkin_station_round_key
Create Date: 2026-11-23 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_polling_context_epoch'
down_revision: str | Sequence[str] | None = '0003_checkin_station_round_key'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = '0001_voter_registry'  # registry_state

# As `polling.models.CONTEXT_TABLES` at the time of this revision (a migration never imports
# the models: they change after it).
TABLES = ("election", "election_round", "election_privacy_key", "polling_exercise", "registry_state", "station", "station_bureau")


def upgrade() -> None:
    op.create_table(
        'polling_context_epoch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('epoch', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_polling_context_epoch')),
    )
    op.execute("CREATE SEQUENCE polling_context_epoch_seq")
    op.execute("INSERT INTO polling_context_epoch (id, epoch) VALUES (1, nextval('polling_context_epoch_seq'))")
    op.execute(
        """
        CREATE FUNCTION polling_bump_context_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE polling_context_epoch SET epoch = nextval('polling_context_epoch_seq') WHERE id = 1;
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER polling_context_epoch_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION polling_bump_context_epoch()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER polling_context_epoch_{table} ON {table}")
    op.execute("DROP FUNCTION polling_bump_context_epoch()")
    op.execute("DROP SEQUENCE polling_context_epoch_seq")
    op.drop_table('polling_context_epoch')
