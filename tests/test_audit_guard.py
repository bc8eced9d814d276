"""No change without its audit event; the audit table is append-only in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from services.db import UnauditedChange
from services.elections.models import Election
from services.elections.schemas import ElectionCreate
from services.elections.service import create_election
from tests.conftest import TEST_ACTOR



async def test_a_write_without_its_event_is_refused_at_commit(session) -> None:  # noqa: ANN001
    session.add(Election(slug="sans-trace", name="Élection sans trace"))
    await session.flush()
    with pytest.raises(UnauditedChange, match="sans événement d'audit"):
        await session.commit()
    await session.rollback()


async def test_a_core_update_without_its_event_is_refused(session) -> None:  # noqa: ANN001
    await create_election(session, TEST_ACTOR, ElectionCreate(slug="avec-trace", name="Élection tracée"))
    await session.commit()
    await session.execute(update(Election).where(Election.slug == "avec-trace").values(name="Modifiée en douce"))
    with pytest.raises(UnauditedChange):
        await session.commit()
    await session.rollback()


async def test_a_service_that_records_commits(session) -> None:  # noqa: ANN001
    election = await create_election(session, TEST_ACTOR, ElectionCreate(slug="normale", name="Élection normale"))
    await session.commit()
    assert election.id is not None


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET kind = 'falsifié'", "DELETE FROM audit_event", "TRUNCATE audit_event"],
)
async def test_the_database_refuses_to_rewrite_the_log(session, statement: str) -> None:  # noqa: ANN001
    await create_election(session, TEST_ACTOR, ElectionCreate(slug="journal", name="Journal"))
    await session.commit()
    # The application role lacks the privilege (first barrier); the trigger binds even the owner (tests/audit).
    with pytest.raises(DBAPIError, match="permission denied|ajout seul"):
        await session.execute(text(statement))
    await session.rollback()
