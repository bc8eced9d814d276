"""`results_lock_confirmable` in PL/pgSQL: the same lock, the same checks, its plans kept.

A `LANGUAGE sql` function that is not inlined (two statements, VOLATILE) parses and plans its
queries again at EVERY call (PostgreSQL 16 keeps no plan of an SQL function between calls): on
results night that was the single largest share of the `OK` write's database CPU. A PL/pgSQL
function plans each of its queries once per connection and reuses the plan (measured in a loop
of 3,000 calls, `bench/results_sms_statements.py`: 0.39–0.55 → 0.23–0.26 ms of PostgreSQL CPU
per call). The semantics are those of revision 0002: a VOLATILE PL/pgSQL function takes a new
snapshot for each query it runs (READ COMMITTED), so the checks after the station lock see every
report, confirmation and state change committed by whoever held the lock before.

Revision ID: 0003_results_confirmable_plpgsql
Revises: 0002_results_confirmable
Create Date: 2026-11-23 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_results_confirmable_plpgsql"
down_revision: str | Sequence[str] | None = "0002_results_confirmable"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lock key is `results.service.station_lock_key` (tested against it).
CONFIRMABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION results_lock_confirmable(p_round integer, p_station integer, p_report bigint, p_state text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock((82::bigint << 56) | ((p_round::bigint & 16777215) << 32) | (p_station::bigint & 4294967295));
    RETURN (
        SELECT r.id FROM results_report r WHERE r.round_id = p_round AND r.station_id = p_station
        ORDER BY r.version DESC LIMIT 1
    ) = p_report
    AND NOT EXISTS (SELECT 1 FROM results_confirmation c WHERE c.round_id = p_round AND c.station_id = p_station)
    AND coalesce(
        (SELECT sr.state FROM station_round sr WHERE sr.round_id = p_round AND sr.station_id = p_station), 'planned'
    ) = p_state;
END
$$
"""


def upgrade() -> None:
    op.execute(CONFIRMABLE_FUNCTION)


# Revision 0002's SQL function, as it was.
PREVIOUS_FUNCTION = """
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


def downgrade() -> None:
    op.execute(PREVIOUS_FUNCTION)
