"""A check-in references its station's row of the round, not the round and the station apart.

The two foreign keys made every check-in lock the round's row (FOR KEY SHARE, a tuple rewrite
and a MultiXact shared by all check-ins in flight at once, nationwide) and the station's row;
the composite key to `station_round` is checked against the row the check-in's statement has
already locked and updated (its counters). Existing check-ins all have their station's row of
the round (the check-in requires it open or closed), which the new key verifies.

Revision ID: 0003_checkin_station_round_key
Revises: 0002_polling_exercise
Create Date: 2026-11-23 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0003_checkin_station_round_key'
down_revision: str | Sequence[str] | None = '0002_polling_exercise'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_foreign_key(
        op.f('fk_checkin_round_id_station_round'), 'checkin', 'station_round',
        ['round_id', 'station_id'], ['round_id', 'station_id'],
    )
    op.drop_constraint('fk_checkin_round_id_election_round', 'checkin', type_='foreignkey')
    op.drop_constraint('fk_checkin_station_id_station', 'checkin', type_='foreignkey')


def downgrade() -> None:
    op.create_foreign_key('fk_checkin_station_id_station', 'checkin', 'station', ['station_id'], ['id'])
    op.create_foreign_key('fk_checkin_round_id_election_round', 'checkin', 'election_round', ['round_id'], ['id'])
    op.drop_constraint(op.f('fk_checkin_round_id_station_round'), 'checkin', type_='foreignkey')
