"""The confirmation check of the results SMS fast path, run after the station lock with a
fresh snapshot, inside the ONE statement that confirms a report (`results.sms_fast`).

A VOLATILE SQL function takes a new snapshot for each query it runs (READ COMMITTED): its
second query, after the station lock of its first, sees every report, confirmation and state
change committed by whoever held the lock before — what a second statement in a transaction
would see, without the transaction's BEGIN and COMMIT round trips on results night.

Revision ID: 0002_results_confirmable
Revises: 0001_results
Create Date: 2026-11-23 07:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_results_confirmable"
down_revision: str | Sequence[str] | None = "0001_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lock key is `results.service.station_lock_key` (tested against it).
CONFIRMABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION results_lock_confirmable(p_round integer, p_station integer, p_report bigint, p_state text)
RETURNS boolean LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock((82::bigint << 56) | ((p_round::bigint & 16777215) << 32) | (p_station::bigint & 4294967295));
    SELECT (
        SELECT r.id FROM results_report r WHERE r.round_id = p_round AND r.station_id = p_station
        ORDER BY r.version DESC LIMIT 1
    ) = p_report
    AND NOT EXISTS (SELECT 1 FROM results_confirmation c WHERE c.round_id = p_round AND c.station_id = p_station)
    AND coalesce(
        (SELECT sr.state FROM station_round sr WHERE sr.round_id = p_round AND sr.station_id = p_station), 'planned'
    ) = p_state;
$$
"""


def upgrade() -> None:
    op.execute(CONFIRMABLE_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS results_lock_confirmable(integer, integer, bigint, text)")
