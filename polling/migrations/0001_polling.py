"""Polling stations and polling day: stations, bureaux, per-round state and counters, staff,
PINs, plans, participation (keyed tokens, encrypted display data, per-election keys),
turnout reports, rate limiting.

Revision ID: 0001_polling
Revises:
Create Date: 2026-11-23 01:12:25.550565
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001_polling'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('polling',)
depends_on: str | Sequence[str] | None = '0001_services_foundation'


def upgrade() -> None:
    op.create_table('pin_failure',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pin_failure'))
    )
    op.create_index('ix_pin_failure_key_at', 'pin_failure', ['key', 'at'], unique=False)
    op.create_table('rate_limit_hit',
    sa.Column('bucket', sa.Text(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'window_start', name=op.f('pk_rate_limit_hit'))
    )
    op.create_table('election_privacy_key',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('token_secret_wrapped', sa.LargeBinary(), nullable=True),
    sa.Column('display_key_wrapped', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retention_until', sa.Date(), nullable=True),
    sa.Column('shredded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_election_privacy_key_election_id_election')),
    sa.PrimaryKeyConstraint('election_id', name=op.f('pk_election_privacy_key'))
    )
    op.create_table('station',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=7), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('canton_code', sa.String(length=8), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('plan_key', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('opens_at', sa.Time(), nullable=True),
    sa.Column('closes_at', sa.Time(), nullable=True),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.Column('oversized', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_station_department_code_department')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_station_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station')),
    sa.UniqueConstraint('code', name=op.f('uq_station_code')),
    sa.UniqueConstraint('election_id', 'plan_key', name=op.f('uq_station_election_id_plan_key')),
    sa.UniqueConstraint('sequence', name=op.f('uq_station_sequence'))
    )
    op.create_index('ix_station_election_department', 'station', ['election_id', 'department_code'], unique=False)
    op.create_table('station_plan_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=True),
    sa.Column('max_voters', sa.Integer(), nullable=False),
    sa.Column('stations', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_station_plan_draft_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_plan_draft'))
    )
    op.create_index(op.f('ix_station_plan_draft_election_id'), 'station_plan_draft', ['election_id'], unique=False)
    op.create_table('checkin',
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contribution_cents', sa.Integer(), nullable=False),
    sa.Column('payment', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('display', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint('contribution_cents >= 0', name=op.f('ck_checkin_contribution_not_negative')),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_checkin_round_id_election_round')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_checkin_station_id_station')),
    sa.PrimaryKeyConstraint('department_code', 'id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('round_id', 'token', name=op.f('uq_checkin_round_id_token'))
    )
    op.create_index('ix_checkin_round_time', 'checkin', ['round_id', 'checked_in_at'], unique=False)
    op.create_index('ix_checkin_station', 'checkin', ['department_code', 'round_id', 'station_id', 'checked_in_at'], unique=False)
    op.create_table('station_bureau',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('bureau_code', sa.String(length=10), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_station_bureau_election_id_election')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_station_bureau_station_id_station'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('election_id', 'department_code', 'commune_code', 'bureau_code', name=op.f('pk_station_bureau'))
    )
    op.create_index('ix_station_bureau_station', 'station_bureau', ['station_id'], unique=False)
    op.create_table('station_pin',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_station_pin_station_id_station'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', name=op.f('pk_station_pin'))
    )
    op.create_table('station_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_via', sa.String(length=12), nullable=False),
    sa.Column('checkins_tablet', sa.Integer(), nullable=False),
    sa.Column('checkins_paper', sa.Integer(), nullable=False),
    sa.Column('contributions_cents', sa.BigInteger(), nullable=False),
    sa.Column('cash_cents', sa.BigInteger(), nullable=False),
    sa.Column('cheque_cents', sa.BigInteger(), nullable=False),
    sa.Column('covered', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_station_round_round_id_election_round')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_station_round_station_id_station'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_round')),
    sa.UniqueConstraint('round_id', 'station_id', name=op.f('uq_station_round_round_id_station_id'))
    )
    op.create_index('ix_station_round_round_department', 'station_round', ['round_id', 'department_code'], unique=False)
    op.create_table('station_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_station_staff_account_id_account')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_station_staff_station_id_station'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_staff')),
    sa.UniqueConstraint('station_id', 'phone', name=op.f('uq_station_staff_station_id_phone'))
    )
    op.create_index('ix_station_staff_phone', 'station_staff', ['phone'], unique=False)
    op.create_index(op.f('ix_station_staff_station_id'), 'station_staff', ['station_id'], unique=False)
    op.create_table('turnout_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_round_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('at_time', sa.Time(), nullable=False),
    sa.Column('voters', sa.Integer(), nullable=False),
    sa.Column('via', sa.String(length=12), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_round_id'], ['station_round.id'], name=op.f('fk_turnout_report_station_round_id_station_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turnout_report')),
    sa.UniqueConstraint('station_round_id', 'at_time', name=op.f('uq_turnout_report_station_round_id_at_time'))
    )


def downgrade() -> None:
    op.drop_table('turnout_report')
    op.drop_index(op.f('ix_station_staff_station_id'), table_name='station_staff')
    op.drop_index('ix_station_staff_phone', table_name='station_staff')
    op.drop_table('station_staff')
    op.drop_index('ix_station_round_round_department', table_name='station_round')
    op.drop_table('station_round')
    op.drop_table('station_pin')
    op.drop_index('ix_station_bureau_station', table_name='station_bureau')
    op.drop_table('station_bureau')
    op.drop_index('ix_checkin_station', table_name='checkin')
    op.drop_index('ix_checkin_round_time', table_name='checkin')
    op.drop_table('checkin')
    op.drop_index(op.f('ix_station_plan_draft_election_id'), table_name='station_plan_draft')
    op.drop_table('station_plan_draft')
    op.drop_index('ix_station_election_department', table_name='station')
    op.drop_table('station')
    op.drop_table('election_privacy_key')
    op.drop_table('rate_limit_hit')
    op.drop_index('ix_pin_failure_key_at', table_name='pin_failure')
    op.drop_table('pin_failure')
