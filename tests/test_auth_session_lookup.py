"""The session check every request starts with: one round trip, and every refusal kept
(expired, revoked, deactivated account, revoked tablet, unknown token)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from services.auth import service as auth_service
from services.auth.models import Tablet, WebSession
from services.auth.roles import Role
from services.db import utcnow
from tests.conftest import TEST_ACTOR
from tests.statements import counted_statements


async def _count_statements(session, call):  # noqa: ANN001, ANN202
    await session.flush()  # what the test set up is written first, not counted
    async with counted_statements(session) as statements:
        result = await call()
    return result, statements


async def test_an_account_session_is_checked_in_one_statement(session, users) -> None:  # noqa: ANN001
    account = await users.create(Role.COMMISSION, department="33")
    token = await auth_service.open_session(session, account_id=account.id)
    principal, statements = await _count_statements(
        session, lambda: auth_service.principal_from_session_token(session, token)
    )
    assert len(statements) == 1
    assert principal is not None
    assert (principal.role, principal.account_id, principal.department_code) == (Role.COMMISSION, account.id, "33")
    assert principal.via == "session" and principal.session_token == token
    assert principal.covers_department("33") and not principal.covers_department("75")


async def test_a_tablet_session_is_checked_in_one_statement(session) -> None:  # noqa: ANN001
    _pairing, code = await auth_service.issue_pairing_code(session, TEST_ACTOR, "100019")
    tablet, token = await auth_service.pair_tablet(session, code, "Tablette A", "198.51.100.7")
    principal, statements = await _count_statements(
        session, lambda: auth_service.principal_from_session_token(session, token)
    )
    assert len(statements) == 1
    assert principal is not None
    assert (principal.role, principal.tablet_id, principal.station_code, principal.via) == (
        Role.TABLET, tablet.id, "100019", "tablet",
    )
    assert principal.actor.id == f"tablet:{tablet.id}"


async def test_expired_revoked_and_unknown_sessions_give_no_principal(session, users) -> None:  # noqa: ANN001
    account = await users.create(Role.ORGANISER)
    expired = await auth_service.open_session(session, account_id=account.id)
    revoked = await auth_service.open_session(session, account_id=account.id)
    await session.execute(
        update(WebSession).where(WebSession.token_sha256 == auth_service.sha256_hex(expired))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.execute(
        update(WebSession).where(WebSession.token_sha256 == auth_service.sha256_hex(revoked)).values(revoked_at=utcnow())
    )
    assert await auth_service.principal_from_session_token(session, expired) is None
    assert await auth_service.principal_from_session_token(session, revoked) is None
    assert await auth_service.principal_from_session_token(session, "jamais-émis") is None


async def test_a_deactivated_account_or_a_revoked_tablet_loses_its_sessions(session, users) -> None:  # noqa: ANN001
    account = await users.create(Role.ORGANISER)
    token = await auth_service.open_session(session, account_id=account.id)
    assert await auth_service.principal_from_session_token(session, token) is not None
    # Deactivated straight in the table (the service would also revoke the sessions): the
    # session check itself must refuse an inactive account.
    account.active = False
    await session.flush()
    assert await auth_service.principal_from_session_token(session, token) is None

    _pairing, code = await auth_service.issue_pairing_code(session, TEST_ACTOR, "100019")
    tablet, tablet_token = await auth_service.pair_tablet(session, code, "Tablette B", "198.51.100.8")
    assert await auth_service.principal_from_session_token(session, tablet_token) is not None
    await session.execute(update(Tablet).where(Tablet.id == tablet.id).values(revoked_at=utcnow()))
    assert await auth_service.principal_from_session_token(session, tablet_token) is None


async def test_a_tablet_session_cannot_check_in_once_revoked(client, session, users) -> None:  # noqa: ANN001
    principal = await users.sign_in_tablet(client, "100019")
    tablet = await session.get(Tablet, principal.tablet_id)
    await auth_service.revoke_tablet(session, TEST_ACTOR, tablet)
    await session.commit()
    response = await client.post("/api/v1/polling/checkins", json={"ref": "L-33-1", "contribution_cents": 200,
                                                                    "payment": "cash", "charter_signed": True})
    assert response.status_code == 401
    assert "connecter" in response.json()["message"]


async def test_an_api_token_is_checked_in_one_statement_until_revoked(session, users) -> None:  # noqa: ANN001
    account = await users.create(Role.AUTHORITY)
    api_token, raw = await auth_service.create_api_token(session, TEST_ACTOR, account, "script")
    principal, statements = await _count_statements(session, lambda: auth_service.principal_from_api_token(session, raw))
    assert len(statements) == 1
    assert principal is not None and principal.role == Role.AUTHORITY and principal.via == "token"
    await auth_service.revoke_api_token(session, TEST_ACTOR, api_token)
    assert await auth_service.principal_from_api_token(session, raw) is None
