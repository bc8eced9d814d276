"""Health check, and French errors instead of stack traces."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.settings import Mode, Settings


async def test_healthz_reports_the_database(client) -> None:  # noqa: ANN001
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": "0.1.0"}


async def test_unknown_page_is_a_french_404(client) -> None:  # noqa: ANN001
    page = await client.get("/nulle-part", headers={"accept": "text/html"})
    assert page.status_code == 404 and "Page introuvable" in page.text and "<html lang=\"fr\">" in page.text
    api = await client.get("/api/v1/nulle-part")
    assert api.status_code == 404 and api.json() == {"code": "not_found", "message": "Page introuvable. Vérifiez l'adresse."}


async def test_wrong_method_is_explained(client) -> None:  # noqa: ANN001
    response = await client.delete("/healthz", headers={"accept": "application/json"})
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


async def test_malformed_json_is_a_french_422(client, users) -> None:  # noqa: ANN001
    from services.auth.roles import Role

    await users.as_role(client, Role.ORGANISER)
    response = await client.post("/api/v1/elections", content=b"{pas du json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input" and "JSON invalide" in response.json()["message"]


async def test_pages_send_security_headers(client) -> None:  # noqa: ANN001
    response = await client.get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_api_documentation_is_served_without_a_cdn(client) -> None:  # noqa: ANN001
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui-bundle.js" in docs.text
    assert (await client.get("/static/vendor/swagger-ui-bundle.js")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/elections" in schema["paths"]


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValidationError, match="PRIMAIRES_SECRET_KEY"):
        Settings(mode=Mode.PRODUCTION, database_url="postgresql://x/y")
    with pytest.raises(ValidationError, match="TWILIO_AUTH_TOKEN"):
        Settings(mode=Mode.PRODUCTION, secret_key="s" * 40, sms_gateway="twilio")
    assert Settings(mode=Mode.DEMO).secret_key  # demo and tests may use the default
    assert Settings(mode=Mode.PRODUCTION, secret_key="s" * 40).mode == Mode.PRODUCTION


async def test_a_database_restart_answers_503_asking_to_resend_not_an_internal_error() -> None:
    # What a request in flight meets when PostgreSQL restarts (found by `primaires rehearse
    # --faults pg-restart`): its pooled connection is dead. Nothing was committed; the volunteer
    # or the tablet must be told to resend, not that the software is broken.
    from sqlalchemy.exc import DBAPIError
    from starlette.requests import Request

    from services.app import _database_error

    scope = {"type": "http", "method": "POST", "path": "/api/v1/polling/checkins", "headers": [(b"accept", b"application/json")],
             "query_string": b"", "app": None}  # fmt: skip
    lost = DBAPIError("SELECT 1", {}, ConnectionResetError("connection lost"), connection_invalidated=True)
    response = await _database_error(Request(scope), lost)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    body = json.loads(response.body)
    assert body["code"] == "database_unavailable" and "rien n'a été enregistré" in body["message"]
    bug = await _database_error(Request(scope), DBAPIError("SELECT 1/0", {}, ZeroDivisionError()))
    assert bug.status_code == 500 and json.loads(bug.body)["code"] == "internal_error"
