"""Telephony gateway: inbound SMS, voice calls and their steps (operational, idempotent stores).

Revision ID: 0002_telephony_gateway
Revises: 0001_services_foundation
Create Date: 2026-11-22 23:13:10.902127
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002_telephony_gateway'
down_revision: str | Sequence[str] | None = '0001_services_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('telephony_inbound_sms',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('from_number', sa.String(length=32), nullable=False),
    sa.Column('to_number', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('keyword', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_telephony_inbound_sms'))
    )
    op.create_index('ix_telephony_inbound_sms_from_number_received_at', 'telephony_inbound_sms', ['from_number', 'received_at'], unique=False)
    op.create_index(op.f('ix_telephony_inbound_sms_received_at'), 'telephony_inbound_sms', ['received_at'], unique=False)
    op.create_table('telephony_voice_call',
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('from_number', sa.String(length=32), nullable=False),
    sa.Column('to_number', sa.String(length=32), nullable=False),
    sa.Column('flow', sa.String(length=40), nullable=True),
    sa.Column('state', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_sid', name=op.f('pk_telephony_voice_call'))
    )
    op.create_index(op.f('ix_telephony_voice_call_started_at'), 'telephony_voice_call', ['started_at'], unique=False)
    op.create_table('telephony_voice_step',
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('digits', sa.String(length=64), nullable=False),
    sa.Column('twiml', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_sid'], ['telephony_voice_call.call_sid'], name=op.f('fk_telephony_voice_step_call_sid_telephony_voice_call')),
    sa.PrimaryKeyConstraint('call_sid', 'step', name=op.f('pk_telephony_voice_step'))
    )


def downgrade() -> None:
    op.drop_table('telephony_voice_step')
    op.drop_index(op.f('ix_telephony_voice_call_started_at'), table_name='telephony_voice_call')
    op.drop_table('telephony_voice_call')
    op.drop_index(op.f('ix_telephony_inbound_sms_received_at'), table_name='telephony_inbound_sms')
    op.drop_index('ix_telephony_inbound_sms_from_number_received_at', table_name='telephony_inbound_sms')
    op.drop_table('telephony_inbound_sms')
