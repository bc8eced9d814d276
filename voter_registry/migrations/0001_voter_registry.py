"""Voter registry: the copy of the electoral lists, import reports, supplementary registrations.

Revision ID: 0001_voter_registry
Revises:
Create Date: 2026-11-22 23:18:14.962122
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001_voter_registry'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('voter_registry',)
depends_on: str | Sequence[str] | None = '0001_services_foundation'


def upgrade() -> None:
    op.create_table('registry_bureau',
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('bureau_code', sa.String(length=10), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('circonscription_code', sa.String(length=20), nullable=False),
    sa.Column('canton_label', sa.Text(), nullable=False),
    sa.Column('canton_code', sa.String(length=6), nullable=True),
    sa.Column('canton_source', sa.String(length=10), nullable=False),
    sa.Column('voters', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('department_code', 'commune_code', 'bureau_code', name=op.f('pk_registry_bureau'))
    )
    op.create_table('registry_commune',
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voters', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('department_code', 'commune_code', name=op.f('pk_registry_commune'))
    )
    op.create_table('voter',
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('bureau_code', sa.String(length=10), nullable=False),
    sa.Column('lists', sa.SmallInteger(), nullable=False),
    sa.Column('identity_hash', sa.LargeBinary(), nullable=False),
    sa.Column('birth_name', sa.Text(), nullable=False),
    sa.Column('usage_name', sa.Text(), nullable=False),
    sa.Column('given_names', sa.Text(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_year', sa.SmallInteger(), nullable=False),
    sa.Column('birth_month', sa.SmallInteger(), nullable=False),
    sa.Column('birth_day', sa.SmallInteger(), nullable=False),
    sa.Column('birth_commune_code', sa.String(length=5), nullable=False),
    sa.Column('birth_commune', sa.Text(), nullable=False),
    sa.Column('birth_department_code', sa.String(length=3), nullable=False),
    sa.Column('birth_country', sa.Text(), nullable=False),
    sa.Column('nationality', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('order_number', sa.Integer(), nullable=False),
    sa.Column('birth_key', sa.Text(collation='C'), nullable=False),
    sa.Column('usage_key', sa.Text(collation='C'), nullable=False),
    sa.Column('given_key', sa.Text(collation='C'), nullable=False),
    sa.Column('name_flags', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('department_code', 'id', name=op.f('pk_voter')),
    sa.UniqueConstraint('department_code', 'identity_hash', 'commune_code', name=op.f('uq_voter_department_code_identity_hash_commune_code'))
    )
    op.create_index('ix_voter_area_birth', 'voter', ['department_code', 'commune_code', 'bureau_code', 'birth_key'], unique=False)
    op.create_index('ix_voter_area_usage', 'voter', ['department_code', 'commune_code', 'bureau_code', 'usage_key'], unique=False, postgresql_where=sa.text("usage_key <> ''"))
    op.create_index('ix_voter_birth', 'voter', ['department_code', 'birth_key', 'birth_year'], unique=False)
    op.create_index('ix_voter_usage', 'voter', ['department_code', 'usage_key', 'birth_year'], unique=False, postgresql_where=sa.text("usage_key <> ''"))
    op.create_table('registry_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('voters', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('merged', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('replaced', sa.Boolean(), nullable=False),
    sa.Column('warnings', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_registry_import_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_import'))
    )
    op.create_index('ix_registry_import_department_commune', 'registry_import', ['department_code', 'commune_code'], unique=False)
    op.create_index(op.f('ix_registry_import_election_id'), 'registry_import', ['election_id'], unique=False)
    op.create_table('registry_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_registry_state_singleton')),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_registry_state_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_state'))
    )
    op.create_table('supplementary_voter',
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('party', sa.Text(), nullable=False),
    sa.Column('proof_date', sa.Date(), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('bureau_code', sa.String(length=10), nullable=False),
    sa.Column('identity_hash', sa.LargeBinary(), nullable=False),
    sa.Column('birth_name', sa.Text(), nullable=False),
    sa.Column('usage_name', sa.Text(), nullable=False),
    sa.Column('given_names', sa.Text(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_year', sa.SmallInteger(), nullable=False),
    sa.Column('birth_month', sa.SmallInteger(), nullable=False),
    sa.Column('birth_day', sa.SmallInteger(), nullable=False),
    sa.Column('birth_commune_code', sa.String(length=5), nullable=False),
    sa.Column('birth_commune', sa.Text(), nullable=False),
    sa.Column('birth_department_code', sa.String(length=3), nullable=False),
    sa.Column('birth_country', sa.Text(), nullable=False),
    sa.Column('nationality', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('birth_key', sa.Text(collation='C'), nullable=False),
    sa.Column('usage_key', sa.Text(collation='C'), nullable=False),
    sa.Column('given_key', sa.Text(collation='C'), nullable=False),
    sa.Column('name_flags', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_supplementary_voter_election_id_election')),
    sa.PrimaryKeyConstraint('department_code', 'id', name=op.f('pk_supplementary_voter')),
    sa.UniqueConstraint('department_code', 'election_id', 'identity_hash', name=op.f('uq_supplementary_voter_department_code_election_id_identity_hash'))
    )
    op.create_index('ix_supplementary_voter_area', 'supplementary_voter', ['department_code', 'commune_code', 'bureau_code'], unique=False)
    op.create_index('ix_supplementary_voter_birth', 'supplementary_voter', ['department_code', 'birth_key'], unique=False)
    op.create_index(op.f('ix_supplementary_voter_election_id'), 'supplementary_voter', ['election_id'], unique=False)
    op.create_index('ix_supplementary_voter_usage', 'supplementary_voter', ['department_code', 'usage_key'], unique=False)
    op.create_table('registry_reject',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('column', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['registry_import.id'], name=op.f('fk_registry_reject_import_id_registry_import'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_reject'))
    )
    op.create_index(op.f('ix_registry_reject_import_id'), 'registry_reject', ['import_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_registry_reject_import_id'), table_name='registry_reject')
    op.drop_table('registry_reject')
    op.drop_index('ix_supplementary_voter_usage', table_name='supplementary_voter')
    op.drop_index(op.f('ix_supplementary_voter_election_id'), table_name='supplementary_voter')
    op.drop_index('ix_supplementary_voter_birth', table_name='supplementary_voter')
    op.drop_index('ix_supplementary_voter_area', table_name='supplementary_voter')
    op.drop_table('supplementary_voter')
    op.drop_table('registry_state')
    op.drop_index(op.f('ix_registry_import_election_id'), table_name='registry_import')
    op.drop_index('ix_registry_import_department_commune', table_name='registry_import')
    op.drop_table('registry_import')
    op.drop_index('ix_voter_usage', table_name='voter', postgresql_where=sa.text("usage_key <> ''"))
    op.drop_index('ix_voter_birth', table_name='voter')
    op.drop_index('ix_voter_area_usage', table_name='voter', postgresql_where=sa.text("usage_key <> ''"))
    op.drop_index('ix_voter_area_birth', table_name='voter')
    op.drop_table('voter')
    op.drop_table('registry_commune')
    op.drop_table('registry_bureau')
