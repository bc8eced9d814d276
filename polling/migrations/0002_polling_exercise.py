"""Exercise elections: rehearsals of polling day on the lists of another election.

Revision ID: 0002_polling_exercise
Revises: 0001_polling
Create Date: 2026-11-23 01:15:29.634692
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_polling_exercise'
down_revision: str | Sequence[str] | None = '0001_polling'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('polling_exercise',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('lists_election_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_polling_exercise_election_id_election')),
    sa.ForeignKeyConstraint(['lists_election_id'], ['election.id'], name=op.f('fk_polling_exercise_lists_election_id_election')),
    sa.PrimaryKeyConstraint('election_id', name=op.f('pk_polling_exercise'))
    )


def downgrade() -> None:
    op.drop_table('polling_exercise')
