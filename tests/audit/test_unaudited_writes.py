"""No change without its audit event: the guard of services/db.py refuses, at commit, any
transaction that wrote to an election table and recorded no event — through the ORM, through
a bulk statement, or through a bulk path that declares its writes. These tests exercise it
table by table, and check that real services record what they change. (Every other test is
also checked at its end by the `session` fixture, commit or not.)"""

from __future__ import annotations

import pytest
from sqlalchemy import false, func, insert, select, text, update

from services.migrations.privileges import APPEND_ONLY_TABLES

from services.db import AUDIT_EXEMPT_TABLES, Base, UnauditedChange, note_write
from services.elections import service as elections
from services.elections.models import CandidateStatus, Election
from services.elections.schemas import CandidateCreate, ElectionCreate, ElectionUpdate, RoundSpec
from services.events import SYSTEM, Actor, AuditEvent, record
from services.auth.models import LoginFailure
from tests.audit.events import ProbeRecorded

AUDITED_TABLES = sorted(name for name in Base.metadata.tables if name not in AUDIT_EXEMPT_TABLES)


def probe() -> ProbeRecorded:
    return ProbeRecorded(actor=SYSTEM, station_code="750001", marker="guard", number=1)


def test_the_log_tables_and_operational_tables_are_the_only_exempt_ones():
    assert {"audit_event", "audit_leaf", "audit_node", "audit_checkpoint", "audit_verification"} <= AUDIT_EXEMPT_TABLES
    assert "election" in AUDITED_TABLES and "account" in AUDITED_TABLES


@pytest.mark.parametrize("table", AUDITED_TABLES)
async def test_a_statement_on_any_audited_table_needs_an_event(session, table):
    # A harmless UPDATE (no row matches): setting the first column to itself. Insert-only
    # tables (the append-only trigger; the application's role may not UPDATE them) get a
    # harmless INSERT … SELECT of no row instead.
    target = Base.metadata.tables[table]
    column = next(iter(target.columns))
    statement = update(target).where(false()).values({column.name: column})
    if table in set(await session.scalars(text(APPEND_ONLY_TABLES))):
        columns = list(target.columns)
        statement = insert(target).from_select([c.name for c in columns], select(*columns).where(false()))
    await session.execute(statement)
    with pytest.raises(UnauditedChange, match=table):
        await session.commit()
    await session.rollback()
    await session.execute(statement)
    record(session, probe())
    await session.commit()


async def test_an_orm_change_without_event_is_refused_and_leaves_nothing(session):
    election = await elections.create_election(session, SYSTEM, ElectionCreate(slug="garde-audit", name="Garde", rounds=[]))
    await session.commit()
    election_id = election.id
    election.name = "Renommée en douce"
    with pytest.raises(UnauditedChange, match="Election"):
        await session.commit()
    await session.rollback()
    assert await session.scalar(select(Election.name).where(Election.id == election_id)) == "Garde"


async def test_a_bulk_path_must_declare_and_record(session):
    note_write(session, "copy:voter")
    with pytest.raises(UnauditedChange, match="copy:voter"):
        await session.commit()
    await session.rollback()
    note_write(session, "copy:voter")
    record(session, probe())
    await session.commit()


async def test_operational_tables_need_no_event(session):
    await session.execute(insert(LoginFailure).values(key="ip:203.0.113.9"))
    session.add(LoginFailure(key="user:personne"))
    await session.commit()


async def test_election_services_record_every_change(session):
    async def events() -> int:
        return await session.scalar(select(func.count()).select_from(AuditEvent))

    before = await events()
    election = await elections.create_election(
        session,
        SYSTEM,
        ElectionCreate(slug="garde-services", name="Garde", rounds=[RoundSpec(number=1, polling_date="2027-10-09")]),
    )
    await session.commit()
    after_creation = await events()
    assert after_creation > before
    candidate = await elections.add_candidate(session, SYSTEM, election, CandidateCreate(given_name="Ada", family_name="Lovelace"))
    await session.commit()
    authority = Actor(id="system:test", role="authority")
    await elections.set_candidate_status(session, authority, candidate, CandidateStatus.VALIDATED)
    await session.commit()
    await elections.update_election(session, SYSTEM, election, ElectionUpdate(name="Garde 2"))
    await session.commit()
    round_ = await elections.round_by_number(session, election.id, 1)
    await elections.set_ballot(session, SYSTEM, round_, [candidate.id])
    await session.commit()
    assert await events() >= after_creation + 4
    kinds = set(await session.scalars(select(AuditEvent.kind).order_by(AuditEvent.id.desc()).limit(5)))
    assert {"candidate.added", "candidate.status_changed", "election.updated", "round.ballot_set"} <= kinds


async def test_the_end_of_test_check_catches_a_write_that_is_never_committed(session):
    """The `session` fixture's final check: a service that forgets its event fails its test
    even when the test never commits."""
    from tests.conftest import check_no_unaudited_writes

    election = await elections.create_election(session, SYSTEM, ElectionCreate(slug="garde-fin", name="Garde", rounds=[]))
    await session.commit()
    election.name = "Oubli d'événement"
    with pytest.raises(pytest.fail.Exception, match="Écriture sans événement d'audit"):
        await check_no_unaudited_writes(session)
    await session.rollback()
    await check_no_unaudited_writes(session)  # after the rollback, nothing is pending
