"""Sponsorship: rules, roster of officials (RNE mandates and the party's files), forms and their
scans, and the ballot-order draw.

Revision ID: 0003_sponsorship
Revises: 0002_telephony_gateway
Create Date: 2026-11-22 23:12:39.024358
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003_sponsorship'
down_revision: str | Sequence[str] | None = '0002_telephony_gateway'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sponsorship_scan',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_sponsorship_scan'))
    )
    op.create_table('sponsorship_official',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('person_key', sa.Text(), nullable=False),
    sa.Column('family_name', sa.Text(), nullable=False),
    sa.Column('given_name', sa.Text(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('member_number', sa.String(length=40), nullable=True),
    sa.Column('search_name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_sponsorship_official_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_official')),
    sa.UniqueConstraint('election_id', 'person_key', name=op.f('uq_sponsorship_official_election_id_person_key'))
    )
    op.create_index(op.f('ix_sponsorship_official_election_id'), 'sponsorship_official', ['election_id'], unique=False)
    op.create_table('sponsorship_roster_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('separator', sa.String(length=20), nullable=False),
    sa.Column('data_lines', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('rejected', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_sponsorship_roster_file_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_roster_file'))
    )
    op.create_index(op.f('ix_sponsorship_roster_file_election_id'), 'sponsorship_roster_file', ['election_id'], unique=False)
    op.create_table('sponsorship_settings',
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('preset', sa.String(length=40), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('withdrawal_policy', sa.String(length=30), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_sponsorship_settings_election_id_election')),
    sa.PrimaryKeyConstraint('election_id', name=op.f('pk_sponsorship_settings'))
    )
    op.create_table('sponsorship',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=True),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('scan_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_sponsorship_candidate_id_candidate')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_sponsorship_election_id_election')),
    sa.ForeignKeyConstraint(['official_id'], ['sponsorship_official.id'], name=op.f('fk_sponsorship_official_id_sponsorship_official')),
    sa.ForeignKeyConstraint(['scan_sha256'], ['sponsorship_scan.sha256'], name=op.f('fk_sponsorship_scan_sha256_sponsorship_scan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship')),
    sa.UniqueConstraint('scan_sha256', name=op.f('uq_sponsorship_scan_sha256'))
    )
    op.create_index(op.f('ix_sponsorship_candidate_id'), 'sponsorship', ['candidate_id'], unique=False)
    op.create_index(op.f('ix_sponsorship_election_id'), 'sponsorship', ['election_id'], unique=False)
    op.create_index(op.f('ix_sponsorship_official_id'), 'sponsorship', ['official_id'], unique=False)
    op.create_index('uq_sponsorship_active_official', 'sponsorship', ['election_id', 'official_id'], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('sponsorship_ballot_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Text(), nullable=False),
    sa.Column('candidate_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('keys', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_sponsorship_ballot_draw_round_id_election_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_ballot_draw'))
    )
    op.create_index(op.f('ix_sponsorship_ballot_draw_round_id'), 'sponsorship_ballot_draw', ['round_id'], unique=False)
    op.create_table('sponsorship_mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=True),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.Column('commune_name', sa.Text(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('party_listed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_sponsorship_mandate_election_id_election')),
    sa.ForeignKeyConstraint(['official_id'], ['sponsorship_official.id'], name=op.f('fk_sponsorship_mandate_official_id_sponsorship_official')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_mandate')),
    sa.UniqueConstraint('official_id', 'category', name=op.f('uq_sponsorship_mandate_official_id_category'))
    )
    op.create_index('ix_sponsorship_mandate_election_id_category', 'sponsorship_mandate', ['election_id', 'category'], unique=False)
    op.create_index(op.f('ix_sponsorship_mandate_official_id'), 'sponsorship_mandate', ['official_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sponsorship_mandate_official_id'), table_name='sponsorship_mandate')
    op.drop_index('ix_sponsorship_mandate_election_id_category', table_name='sponsorship_mandate')
    op.drop_table('sponsorship_mandate')
    op.drop_index(op.f('ix_sponsorship_ballot_draw_round_id'), table_name='sponsorship_ballot_draw')
    op.drop_table('sponsorship_ballot_draw')
    op.drop_index('uq_sponsorship_active_official', table_name='sponsorship', postgresql_where=sa.text("status = 'active'"))
    op.drop_index(op.f('ix_sponsorship_official_id'), table_name='sponsorship')
    op.drop_index(op.f('ix_sponsorship_election_id'), table_name='sponsorship')
    op.drop_index(op.f('ix_sponsorship_candidate_id'), table_name='sponsorship')
    op.drop_table('sponsorship')
    op.drop_table('sponsorship_settings')
    op.drop_index(op.f('ix_sponsorship_roster_file_election_id'), table_name='sponsorship_roster_file')
    op.drop_table('sponsorship_roster_file')
    op.drop_index(op.f('ix_sponsorship_official_election_id'), table_name='sponsorship_official')
    op.drop_table('sponsorship_official')
    op.drop_table('sponsorship_scan')
