"""Foundation: territory, elections, accounts, sessions, and the append-only audit events.

Revision ID: 0001_services_foundation
Revises: 
Create Date: 2026-11-22 22:58:39.978240
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001_services_foundation'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ('services',)
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION primaires_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal d''audit en ajout seul : % refusé sur %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('xid', sa.BigInteger(), server_default=sa.text('(pg_current_xact_id()::text)::bigint'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('subjects', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('entry', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    op.create_index('ix_audit_event_actor', 'audit_event', ['actor'], unique=False)
    op.create_index('ix_audit_event_kind', 'audit_event', ['kind'], unique=False)
    op.create_index('ix_audit_event_subjects', 'audit_event', ['subjects'], unique=False, postgresql_using='gin', postgresql_ops={'subjects': 'jsonb_path_ops'})
    op.create_index(op.f('ix_audit_event_xid'), 'audit_event', ['xid'], unique=False)
    op.create_table('department',
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('zone', sa.String(length=5), nullable=False),
    sa.Column('region_code', sa.String(length=3), nullable=True),
    sa.Column('region_code_before_2016', sa.String(length=3), nullable=True),
    sa.Column('chef_lieu', sa.String(length=5), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_department'))
    )
    op.create_table('election',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('contribution_min_cents', sa.Integer(), nullable=False),
    sa.Column('contribution_covers_both_rounds', sa.Boolean(), nullable=False),
    sa.Column('charter_text', sa.Text(), nullable=False),
    sa.Column('list_extraction_date', sa.Date(), nullable=True),
    sa.Column('majority_date', sa.Date(), nullable=True),
    sa.Column('supplementary_deadline', sa.Date(), nullable=True),
    sa.Column('timezone', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_election')),
    sa.UniqueConstraint('slug', name=op.f('uq_election_slug'))
    )
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    op.create_index('ix_login_failure_key_at', 'login_failure', ['key', 'at'], unique=False)
    op.create_table('reference_data_version',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_data_version'))
    )
    op.create_table('region',
    sa.Column('map', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('map', 'code', name=op.f('pk_region'))
    )
    op.create_table('tablet',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_code', sa.String(length=12), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tablet'))
    )
    op.create_index(op.f('ix_tablet_station_code'), 'tablet', ['station_code'], unique=False)
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=True),
    sa.Column('station_code', sa.String(length=12), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_account_department_code_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('username', name=op.f('uq_account_username'))
    )
    op.create_index(op.f('ix_account_station_code'), 'account', ['station_code'], unique=False)
    op.create_table('candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('given_name', sa.Text(), nullable=False),
    sa.Column('family_name', sa.Text(), nullable=False),
    sa.Column('party', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_candidate_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidate'))
    )
    op.create_index(op.f('ix_candidate_election_id'), 'candidate', ['election_id'], unique=False)
    op.create_table('canton',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=1), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_canton_department_code_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_canton'))
    )
    op.create_index(op.f('ix_canton_department_code'), 'canton', ['department_code'], unique=False)
    op.create_table('commune',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('region_code', sa.String(length=3), nullable=True),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('canton_code', sa.String(length=6), nullable=True),
    sa.Column('kind', sa.String(length=14), nullable=False),
    sa.Column('parent_code', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['department_code'], ['department.code'], name=op.f('fk_commune_department_code_department')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_commune'))
    )
    op.create_index(op.f('ix_commune_canton_code'), 'commune', ['canton_code'], unique=False)
    op.create_index(op.f('ix_commune_department_code'), 'commune', ['department_code'], unique=False)
    op.create_table('election_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('polling_date', sa.Date(), nullable=False),
    sa.Column('opens_at', sa.Time(), nullable=False),
    sa.Column('closes_at', sa.Time(), nullable=False),
    sa.Column('early_departments', postgresql.ARRAY(sa.String(length=3)), nullable=False),
    sa.Column('phase', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['election.id'], name=op.f('fk_election_round_election_id_election')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_election_round')),
    sa.UniqueConstraint('election_id', 'number', name=op.f('uq_election_round_election_id_number'))
    )
    op.create_index(op.f('ix_election_round_election_id'), 'election_round', ['election_id'], unique=False)
    op.create_table('pairing_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_code', sa.String(length=12), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tablet_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tablet_id'], ['tablet.id'], name=op.f('fk_pairing_code_tablet_id_tablet')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pairing_code')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_pairing_code_code_sha256'))
    )
    op.create_index(op.f('ix_pairing_code_station_code'), 'pairing_code', ['station_code'], unique=False)
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_api_token_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_token_token_sha256'))
    )
    op.create_index(op.f('ix_api_token_account_id'), 'api_token', ['account_id'], unique=False)
    op.create_table('ballot_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_ballot_entry_candidate_id_candidate')),
    sa.ForeignKeyConstraint(['round_id'], ['election_round.id'], name=op.f('fk_ballot_entry_round_id_election_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_entry')),
    sa.UniqueConstraint('round_id', 'candidate_id', name=op.f('uq_ballot_entry_round_id_candidate_id')),
    sa.UniqueConstraint('round_id', 'position', name=op.f('uq_ballot_entry_round_id_position'))
    )
    op.create_index(op.f('ix_ballot_entry_round_id'), 'ballot_entry', ['round_id'], unique=False)
    op.create_table('web_session',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('tablet_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_web_session_account_id_account')),
    sa.ForeignKeyConstraint(['tablet_id'], ['tablet.id'], name=op.f('fk_web_session_tablet_id_tablet')),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_web_session'))
    )
    op.create_index(op.f('ix_web_session_account_id'), 'web_session', ['account_id'], unique=False)
    op.create_index(op.f('ix_web_session_tablet_id'), 'web_session', ['tablet_id'], unique=False)
    # The audit log is append-only in the database too: whatever the role, UPDATE, DELETE and
    # TRUNCATE on its tables fail. (The application role's missing privileges are the first
    # barrier; this trigger is the second, and it also binds the table owner.)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION primaires_reject_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION primaires_reject_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS primaires_reject_change()")
    op.drop_index(op.f('ix_web_session_tablet_id'), table_name='web_session')
    op.drop_index(op.f('ix_web_session_account_id'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index(op.f('ix_ballot_entry_round_id'), table_name='ballot_entry')
    op.drop_table('ballot_entry')
    op.drop_index(op.f('ix_api_token_account_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_index(op.f('ix_pairing_code_station_code'), table_name='pairing_code')
    op.drop_table('pairing_code')
    op.drop_index(op.f('ix_election_round_election_id'), table_name='election_round')
    op.drop_table('election_round')
    op.drop_index(op.f('ix_commune_department_code'), table_name='commune')
    op.drop_index(op.f('ix_commune_canton_code'), table_name='commune')
    op.drop_table('commune')
    op.drop_index(op.f('ix_canton_department_code'), table_name='canton')
    op.drop_table('canton')
    op.drop_index(op.f('ix_candidate_election_id'), table_name='candidate')
    op.drop_table('candidate')
    op.drop_index(op.f('ix_account_station_code'), table_name='account')
    op.drop_table('account')
    op.drop_index(op.f('ix_tablet_station_code'), table_name='tablet')
    op.drop_table('tablet')
    op.drop_table('region')
    op.drop_table('reference_data_version')
    op.drop_index('ix_login_failure_key_at', table_name='login_failure')
    op.drop_table('login_failure')
    op.drop_table('election')
    op.drop_table('department')
    op.drop_index(op.f('ix_audit_event_xid'), table_name='audit_event')
    op.drop_index('ix_audit_event_subjects', table_name='audit_event', postgresql_using='gin', postgresql_ops={'subjects': 'jsonb_path_ops'})
    op.drop_index('ix_audit_event_kind', table_name='audit_event')
    op.drop_index('ix_audit_event_actor', table_name='audit_event')
    op.drop_table('audit_event')
