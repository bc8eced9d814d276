"""A signed-in searcher's look-up in ONE statement (`voter_registry.api._cached_search`): the
context (session or token, account, tablet, station area, election, registry election) is
kept per process and re-checked inside the levels' statement, which writes the audit row only
when it still holds; a revoked tablet, a sign-out, a deactivated account or an expired session
is refused at the very next search, with nothing logged by that statement."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.auth.roles import Role
from services.db import driver_connection
from services.events import AuditEvent
from tests.statements import counted_statements
from tests.voter_registry.test_http import loaded, sign_in, station_areas  # noqa: F401 - fixtures
from voter_registry import api, events
from voter_registry.territory_cache import territory

SEARCH = "/api/v1/registry/search?nom=martin&prenoms=jean"


async def _lookups(session) -> int:  # noqa: ANN001
    return await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == events.RegistryLookup.kind))


async def _warm(client, session) -> None:  # noqa: ANN001
    """Territory loaded, the context read and cached by a first search."""
    await territory(session)
    api.forget_cached_searchers()
    assert (await client.get(SEARCH)).status_code == 200


@pytest.mark.parametrize("role", [Role.TABLET, Role.PRESIDENT, Role.COMMISSION])
async def test_a_cached_search_is_one_statement(client, users, session, loaded, station_areas, role: Role) -> None:  # noqa: ANN001, F811
    scope = {"department": "33"} if role == Role.COMMISSION else {"station": "100019"}
    await sign_in(client, users, session, role, **scope)
    await _warm(client, session)
    before = await _lookups(session)
    async with counted_statements(session) as statements:
        response = await client.get(SEARCH)
    assert response.status_code == 200 and b'"results":[{' in response.content
    assert len(statements) == 1, statements
    assert "context_ok" in statements[0] and "INSERT INTO audit_event" in statements[0] and "web_session" in statements[0]
    assert await _lookups(session) == before + 1
    # Uncached (a new process): the context read, then the statement.
    api.forget_cached_searchers()
    async with counted_statements(session) as statements:
        assert (await client.get(SEARCH)).content == response.content
    assert len(statements) == 2, statements


REVOCATIONS = {
    "tablet_revoked": "UPDATE tablet SET revoked_at = now()",
    "signed_out": "UPDATE web_session SET revoked_at = now()",
    "expired": "UPDATE web_session SET expires_at = now() - interval '1 second'",
    "account_deactivated": "UPDATE account SET active = false",
}


@pytest.mark.parametrize("change", sorted(REVOCATIONS))
async def test_a_revoked_context_is_refused_at_the_next_search_with_nothing_logged(
    client, users, session, loaded, station_areas, change: str  # noqa: ANN001, F811
) -> None:
    role = Role.TABLET if change == "tablet_revoked" else Role.PRESIDENT
    await sign_in(client, users, session, role, station="100019")
    await _warm(client, session)
    assert api._SEARCHERS  # noqa: SLF001 - cached
    before = await _lookups(session)
    connection = await driver_connection(session)
    await connection.execute(REVOCATIONS[change])  # as a sign-out, a revocation… committed meanwhile
    async with counted_statements(session) as statements:
        response = await client.get(SEARCH)
    assert response.status_code == 401, response.text
    assert response.json()["message"]  # the regular route's refusal, in French
    # The cached statement ran first and wrote nothing; then the context was read again.
    assert "context_ok" in statements[0]
    assert await _lookups(session) == before
    assert not api._SEARCHERS  # noqa: SLF001 - dropped


async def test_a_changed_station_or_role_is_read_again(client, users, session, loaded, station_areas) -> None:  # noqa: ANN001, F811
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    await _warm(client, session)
    connection = await driver_connection(session)
    await connection.execute("UPDATE account SET role = 'organiser', department_code = NULL")
    async with counted_statements(session) as statements:
        response = await client.get(SEARCH)
    assert response.status_code == 200
    assert len(statements) == 3, statements  # stale (nothing written), the context read, the statement
    rows = (await session.execute(select(AuditEvent.actor_scope).where(AuditEvent.kind == events.RegistryLookup.kind).order_by(AuditEvent.id.desc()).limit(2))).all()
    assert rows[0] != rows[1]  # logged under the new role, once


async def test_the_pooled_connection_forces_generic_plans_and_resets_them_going_back(database, monkeypatch) -> None:  # noqa: ANN001
    """The hot paths' connections (`pooled_driver_connection`) run with `force_generic_plan`
    (the cached search's one statement needs it in force before it is bound); a connection given
    back to SQLAlchemy's pool has PostgreSQL's default again."""
    from services import db

    await database.release_driver_connections()
    async with db.pooled_driver_connection() as connection:
        assert await connection.fetchval("SELECT current_setting('plan_cache_mode')") == "force_generic_plan"
        kept = connection
    async with db.pooled_driver_connection() as connection:
        assert connection is kept  # set aside, still forced
        assert await connection.fetchval("SELECT current_setting('plan_cache_mode')") == "force_generic_plan"
    await database.release_driver_connections()  # back to the pool (which may hand out another of its connections next)
    assert await kept.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"
    # Set aside too long: reset on its release too.
    monkeypatch.setattr(db, "DRIVER_IDLE_SECONDS", 0.0)
    async with db.pooled_driver_connection() as connection:
        assert await connection.fetchval("SELECT current_setting('plan_cache_mode')") == "force_generic_plan"
        again = connection
    assert await again.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"


async def test_a_cached_search_follows_the_configured_election(client, users, session, loaded, station_areas, monkeypatch) -> None:  # noqa: ANN001, F811
    """With `PRIMAIRES_ELECTION` set, the cached statement reads the context of THAT election,
    not of the latest one: here a newer election, with no lists, was created after it."""
    from services import settings as settings_module
    from tests.voter_registry.conftest import make_election

    election, _import_id = loaded
    await make_election(session)  # the latest election from now on
    await session.commit()
    await sign_in(client, users, session, Role.PRESIDENT, station="100019")
    api.forget_cached_searchers()
    latest = await client.get(SEARCH)  # no election configured: the latest, for which the loaded lists are not valid
    assert latest.json()["results"][0]["eligibility"]["status"] == "ineligible"
    assert "pas celle de cette élection" in latest.json()["results"][0]["eligibility"]["reasons"][0]
    monkeypatch.setattr(settings_module, "_current", [settings_module.settings().model_copy(update={"election": election.slug})])
    await _warm(client, session)
    before = await _lookups(session)
    async with counted_statements(session) as statements:
        response = await client.get(SEARCH)
    assert response.status_code == 200 and b'"results":[{' in response.content
    assert response.json()["results"][0]["eligibility"]["status"] == "eligible"  # judged for the configured election
    assert len(statements) == 1 and "context_ok" in statements[0], statements
    assert await _lookups(session) == before + 1
    api.forget_cached_searchers()  # uncached: the same answer
    assert (await client.get(SEARCH)).content == response.content
