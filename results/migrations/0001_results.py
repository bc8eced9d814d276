"""Results night: station reports of every channel and version, confirmations, paper entries,
validations, the high authority's decisions and proclamations.

Every table is insert-only: the foundation's trigger `primaires_reject_change` refuses UPDATE,
DELETE and TRUNCATE to every role (what a figure is, is derived from these facts: see
results/models.py). The two hot tables (reports, confirmations) carry no foreign key, for the
same reason as the audit leaves: a key check share-locks the referenced row.

Revision ID: 0001_results
Revises: 
Create Date: 2026-11-23 01:30:21.270133
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001_results'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('results',)
depends_on: str | Sequence[str] | None = ('0001_polling', '0001_audit_log')


APPEND_ONLY_TABLES = (
    "results_report",
    "results_confirmation",
    "results_paper_entry",
    "results_validation",
    "results_decision",
    "results_proclamation",
)


def upgrade() -> None:
    op.create_table('results_confirmation',
    sa.Column('report_id', sa.BigInteger(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('confirmed_by', sa.Text(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_results_confirmation')),
    sa.UniqueConstraint('event_id', name=op.f('uq_results_confirmation_event_id'))
    )
    op.create_index('ix_results_confirmation_round_station', 'results_confirmation', ['round_id', 'station_id', 'version'], unique=False)
    op.create_table('results_report',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('findings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('sender', sa.Text(), nullable=False),
    sa.Column('sender_key', sa.String(length=40), nullable=True),
    sa.Column('confirmation_code', sa.String(length=8), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('paper_entry_ids', postgresql.ARRAY(sa.BigInteger()), nullable=True),
    sa.Column('message_sid', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signatures', sa.Integer(), nullable=False),
    sa.Column('blank', sa.Integer(), nullable=False),
    sa.Column('nulls', sa.Integer(), nullable=False),
    sa.Column('votes', postgresql.ARRAY(sa.Integer()), nullable=False),
    sa.Column('contributions_cents', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results_report')),
    sa.UniqueConstraint('round_id', 'station_id', 'version', name=op.f('uq_results_report_round_id_station_id_version'))
    )
    op.create_index('ix_results_report_round_department', 'results_report', ['round_id', 'department_code'], unique=False)
    op.create_index('ix_results_report_sender_code', 'results_report', ['sender_key', 'confirmation_code'], unique=False)
    op.create_table('results_decision',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('motive', sa.Text(), nullable=False),
    sa.Column('signatures', sa.Integer(), nullable=True),
    sa.Column('blank', sa.Integer(), nullable=True),
    sa.Column('nulls', sa.Integer(), nullable=True),
    sa.Column('votes', postgresql.ARRAY(sa.Integer()), nullable=True),
    sa.Column('contributions_cents', sa.BigInteger(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_results_decision_round_id_election_round')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_results_decision_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results_decision')),
    sa.UniqueConstraint('event_id', name=op.f('uq_results_decision_event_id'))
    )
    op.create_index('ix_results_decision_round', 'results_decision', ['round_id'], unique=False)
    op.create_table('results_paper_entry',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('keyed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signatures', sa.Integer(), nullable=False),
    sa.Column('blank', sa.Integer(), nullable=False),
    sa.Column('nulls', sa.Integer(), nullable=False),
    sa.Column('votes', postgresql.ARRAY(sa.Integer()), nullable=False),
    sa.Column('contributions_cents', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_results_paper_entry_round_id_election_round')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_results_paper_entry_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results_paper_entry'))
    )
    op.create_index('ix_results_paper_entry_round_station', 'results_paper_entry', ['round_id', 'station_id'], unique=False)
    op.create_table('results_proclamation',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('checkpoint_note', sa.Text(), nullable=False),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_results_proclamation_round_id_election_round')),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_results_proclamation')),
    sa.UniqueConstraint('event_id', name=op.f('uq_results_proclamation_event_id'))
    )
    op.create_table('results_validation',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('report_id', sa.BigInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['results_report.id'], name=op.f('fk_results_validation_report_id_results_report')),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_results_validation_round_id_election_round')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_results_validation_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results_validation')),
    sa.UniqueConstraint('event_id', name=op.f('uq_results_validation_event_id')),
    sa.UniqueConstraint('round_id', 'station_id', 'version', name=op.f('uq_results_validation_round_id_station_id_version'))
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION primaires_reject_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION primaires_reject_change()"
        )


def downgrade() -> None:
    op.drop_table('results_validation')
    op.drop_table('results_proclamation')
    op.drop_index('ix_results_paper_entry_round_station', table_name='results_paper_entry')
    op.drop_table('results_paper_entry')
    op.drop_index('ix_results_decision_round', table_name='results_decision')
    op.drop_table('results_decision')
    op.drop_index('ix_results_report_sender_code', table_name='results_report')
    op.drop_index('ix_results_report_round_department', table_name='results_report')
    op.drop_table('results_report')
    op.drop_index('ix_results_confirmation_round_station', table_name='results_confirmation')
    op.drop_table('results_confirmation')
