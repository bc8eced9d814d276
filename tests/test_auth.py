"""Sign-in, throttling, CSRF, sessions, API tokens and tablet pairing, as users meet them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from services.auth import service as auth_service
from services.auth.models import PairingCode, WebSession
from services.auth.roles import Role
from services.db import utcnow
from services.errors import InvalidInput
from services.events import AuditEvent
from tests.conftest import TEST_ACTOR, TEST_PASSWORD, csrf_token

HTML = {"accept": "text/html"}


async def _login(client, username: str, password: str, **extra: str):  # noqa: ANN001, ANN202
    data = {"username": username, "password": password, "csrf_token": csrf_token(), **extra}
    return await client.post("/connexion", data=data, headers=HTML)


async def test_sign_in_opens_a_session_and_lands_on_the_role_home(client, users, session) -> None:  # noqa: ANN001
    account = await users.create(Role.ORGANISER, username="alice")
    response = await _login(client, "Alice", TEST_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/organisation"
    set_cookie = response.headers["set-cookie"]
    assert "primaires_session=" in set_cookie and "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie
    me = await client.get("/api/v1/me")
    assert me.json()["account_id"] == account.id
    kinds = await session.scalars(select(AuditEvent.kind).where(AuditEvent.actor == f"account:{account.id}"))
    assert "account.signed_in" in list(kinds)


async def test_wrong_password_is_refused_in_french_and_opens_nothing(client, users, session) -> None:  # noqa: ANN001
    await users.create(Role.ORGANISER, username="bob")
    sessions_before = await session.scalar(select(func.count()).select_from(WebSession))
    response = await _login(client, "bob", "pas le bon mot de passe")
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in response.text
    assert "primaires_session" not in response.headers.get("set-cookie", "")
    assert await session.scalar(select(func.count()).select_from(WebSession)) == sessions_before


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client) -> None:  # noqa: ANN001
    response = await _login(client, "personne", "n'importe quoi")
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in response.text


async def test_sign_in_is_throttled_after_five_failures(client, users) -> None:  # noqa: ANN001
    await users.create(Role.ORGANISER, username="carol")
    for _ in range(5):
        assert (await _login(client, "carol", "mauvais")).status_code == 401
    throttled = await _login(client, "carol", TEST_PASSWORD)
    assert throttled.status_code == 429
    assert "Trop de tentatives" in throttled.text


async def test_a_forged_csrf_token_is_refused_and_changes_nothing(client, users, count_writes) -> None:  # noqa: ANN001
    await users.as_role(client, Role.ORGANISER)
    before = await count_writes()
    response = await client.post(
        "/organisation/candidats",
        data={"given_name": "Eve", "family_name": "Faussaire", "csrf_token": "forge"},
        headers={**HTML, "x-csrf-token": ""},
    )
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.text
    assert await count_writes() == before


async def test_csrf_token_of_another_session_is_refused(client, users) -> None:  # noqa: ANN001
    await users.as_role(client, Role.ORGANISER)
    response = await client.post(
        "/organisation/candidats",
        data={"given_name": "Eve", "family_name": "Faussaire"},
        headers={**HTML, "x-csrf-token": csrf_token("une-autre-session")},
    )
    assert response.status_code == 403


async def test_sign_out_revokes_the_session(client, users) -> None:  # noqa: ANN001
    await users.as_role(client, Role.AUTHORITY)
    assert (await client.get("/api/v1/me")).status_code == 200
    response = await client.post("/deconnexion", headers=HTML)
    assert response.status_code == 303
    # The browser may still hold the old cookie: the server no longer honours it.
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_deactivated_account_cannot_sign_in_or_keep_its_session(client, users, session) -> None:  # noqa: ANN001
    target = await users.create(Role.OBSERVER, username="dave")
    await users.sign_in(client, target)
    assert (await client.get("/api/v1/me")).status_code == 200
    await auth_service.update_account(session, TEST_ACTOR, target, active=False)
    await session.commit()
    assert (await client.get("/api/v1/me")).status_code == 401
    client.cookies.pop("primaires_session")
    client.headers.pop("x-csrf-token")
    assert (await _login(client, "dave", TEST_PASSWORD)).status_code == 401


async def test_open_redirect_after_sign_in_is_refused(client, users) -> None:  # noqa: ANN001
    await users.create(Role.ORGANISER, username="erin")
    response = await _login(client, "erin", TEST_PASSWORD, suivant="//evil.example/")
    assert response.headers["location"] == "/organisation"


async def test_weak_password_and_bad_scope_are_refused(session) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match="au moins 10 caractères"):
        await auth_service.create_account(
            session, TEST_ACTOR, auth_service.AccountSpec("frank", "Frank", "court", Role.ORGANISER)
        )
    with pytest.raises(InvalidInput, match="doit avoir un département"):
        await auth_service.create_account(
            session, TEST_ACTOR, auth_service.AccountSpec("gina", "Gina", TEST_PASSWORD, Role.COMMISSION)
        )
    with pytest.raises(InvalidInput, match="Département inconnu"):
        await auth_service.create_account(
            session,
            TEST_ACTOR,
            auth_service.AccountSpec("hugo", "Hugo", TEST_PASSWORD, Role.COMMISSION, department_code="99"),
        )


async def test_api_tokens_authenticate_scripts_until_revoked(client, users) -> None:  # noqa: ANN001
    account = await users.create(Role.ORGANISER)
    raw = await users.api_token(account)
    headers = {"authorization": f"Bearer {raw}"}
    created = await client.post(
        "/api/v1/elections", json={"slug": "script-2027", "name": "Élection scriptée"}, headers=headers
    )
    assert created.status_code == 201, created.text
    tokens = (await client.get("/api/v1/tokens", headers=headers)).json()
    assert (await client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=headers)).status_code == 204
    refused = await client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"


async def test_tablet_pairing_code_works_once(client, session) -> None:  # noqa: ANN001
    _pairing, code = await auth_service.issue_pairing_code(session, TEST_ACTOR, "100019")
    await session.commit()
    form = {"code": code.lower().replace("-", " "), "label": "Tablette 1", "csrf_token": csrf_token()}
    paired = await client.post("/tablette/appairer", data=form, headers=HTML)
    assert paired.status_code == 303
    me = await client.get("/api/v1/me")
    assert me.json()["role"] == "tablet" and me.json()["station_code"] == "100019"
    client.cookies.pop("primaires_session")
    again = await client.post("/tablette/appairer", data=form, headers=HTML)
    assert again.status_code == 400
    assert "déjà été utilisé" in again.text


async def test_expired_or_unknown_pairing_code_is_refused(client, session) -> None:  # noqa: ANN001
    pairing, code = await auth_service.issue_pairing_code(session, TEST_ACTOR, "100019")
    await session.execute(update(PairingCode).where(PairingCode.id == pairing.id).values(expires_at=utcnow() - timedelta(minutes=1)))
    await session.commit()
    expired = await client.post("/tablette/appairer", data={"code": code, "csrf_token": csrf_token()}, headers=HTML)
    assert expired.status_code == 400 and "expiré" in expired.text
    unknown = await client.post("/tablette/appairer", data={"code": "ZZZZ-ZZZZ", "csrf_token": csrf_token()}, headers=HTML)
    assert unknown.status_code == 400 and "inconnu" in unknown.text


async def test_password_change_closes_sessions(client, users) -> None:  # noqa: ANN001
    account = await users.create(Role.AUTHORITY)
    await users.sign_in(client, account)
    response = await client.post(
        "/compte/mot-de-passe", data={"current": TEST_PASSWORD, "new": "un-nouveau-mot-de-passe"}, headers=HTML
    )
    assert response.status_code == 303 and response.headers["location"] == "/connexion"
    assert (await client.get("/api/v1/me")).status_code == 401
