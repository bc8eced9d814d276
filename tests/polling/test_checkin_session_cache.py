"""The check-in's per-process cache of sessions (the principal a session cookie was read as,
with the code of its station) is never used once a session, an account or a tablet changed:
row 2 of `polling_context_epoch` changes with every UPDATE, DELETE or TRUNCATE of those tables
(triggers of migration polling 0005), and the check-in's read compares it; an expired session
is read again; the route's access rule (CSRF included) is applied at every request."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import func, select, text

from polling import checkin
from polling.models import SESSION_TABLES, Checkin
from services import db
from services.auth import service as auth_service
from services.auth.models import Tablet
from services.events import AuditEvent
from services.web import SESSION_COOKIE
from tests.polling.conftest import ORGANISER, World, first_tablet_checkin
from tests.statements import counted_statements

BODY = {"contribution_cents": 200, "payment": "cash", "charter_signed": True}


async def _epoch(session, row: int) -> int:  # noqa: ANN001
    return await session.scalar(text("SELECT epoch FROM polling_context_epoch WHERE id = :row"), {"row": row})


async def test_every_session_table_changes_the_session_epoch_and_only_it(session, world: World) -> None:  # noqa: ANN001
    seen, context = {await _epoch(session, 2)}, await _epoch(session, 1)
    columns = {"web_session": "revoked_at", "account": "active", "tablet": "revoked_at"}
    for table in SESSION_TABLES:
        column = columns[table]
        for statement in (f"UPDATE {table} SET {column} = {column} WHERE false", f"DELETE FROM {table} WHERE false"):
            await session.execute(text(statement))  # a statement trigger fires even for no row
            epoch = await _epoch(session, 2)
            assert epoch not in seen, statement
            seen.add(epoch)
    assert await _epoch(session, 1) == context  # the stations' cached contexts stay valid


async def test_a_cached_session_is_not_used_once_its_tablet_is_revoked(client, users, session, world: World, count_writes) -> None:  # noqa: ANN001
    principal, lefevre = await first_tablet_checkin(client, users, session, world)
    assert client.cookies.get(SESSION_COOKIE) in checkin._SESSIONS  # noqa: SLF001 - the cache was filled
    tablet = await session.get(Tablet, principal.tablet_id)
    await auth_service.revoke_tablet(session, ORGANISER, tablet)
    await session.commit()
    before = await count_writes()
    events = await session.scalar(select(func.count()).select_from(AuditEvent))
    refused = await client.post("/api/v1/polling/checkins", json={"ref": lefevre, **BODY})
    assert refused.status_code == 401, refused.text
    assert await count_writes() == before
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 1
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert client.cookies.get(SESSION_COOKIE) not in checkin._SESSIONS  # noqa: SLF001 - dropped


async def test_a_signed_out_session_is_refused_at_once(client, users, session, world: World, count_writes) -> None:  # noqa: ANN001
    _, lefevre = await first_tablet_checkin(client, users, session, world)
    await session.execute(text("UPDATE web_session SET revoked_at = now()"))  # as a sign-out does, for every session
    await session.commit()
    before = await count_writes()
    refused = await client.post("/api/v1/polling/checkins", json={"ref": lefevre, **BODY})
    assert refused.status_code == 401, refused.text
    assert await count_writes() == before


async def test_an_expired_cached_session_is_read_again(client, users, session, world: World) -> None:  # noqa: ANN001
    _, lefevre = await first_tablet_checkin(client, users, session, world)
    token = client.cookies.get(SESSION_COOKIE)
    cached = checkin._SESSIONS[token]  # noqa: SLF001
    checkin._SESSIONS[token] = dataclasses.replace(cached, expires_at=db.utcnow() - timedelta(seconds=1))  # noqa: SLF001
    async with counted_statements(session) as statements:
        response = await client.post("/api/v1/polling/checkins", json={"ref": lefevre, **BODY})
    assert response.status_code == 201, response.text  # the session itself has not expired: read again, kept again
    assert len(statements) == 3 and statements[1].lstrip().startswith("SELECT web_session."), statements
    assert checkin._SESSIONS[token].expires_at == cached.expires_at  # noqa: SLF001


async def test_the_csrf_rule_is_applied_to_a_cached_session(client, users, session, world: World, count_writes) -> None:  # noqa: ANN001
    _, lefevre = await first_tablet_checkin(client, users, session, world)
    assert client.cookies.get(SESSION_COOKIE) in checkin._SESSIONS  # noqa: SLF001
    before = await count_writes()
    refused = await client.post("/api/v1/polling/checkins", json={"ref": lefevre, **BODY}, headers={"x-csrf-token": "faux"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed", refused.text
    assert await count_writes() == before
