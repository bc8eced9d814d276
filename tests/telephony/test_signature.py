"""X-Twilio-Signature: real signatures computed by the SDK, over the configured public URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.request_validator import RequestValidator

from services import settings as settings_module
from services.auth.roles import Role
from services.settings import Mode, settings
from services.telephony.models import InboundSms, VoiceCall
from services.telephony.signature import TEST_AUTH_TOKEN, twilio_auth_token
from services.telephony.testing import TwilioSimulator, new_sid


async def stored_sms(session: AsyncSession, sid: str) -> int:
    return await session.scalar(select(func.count()).select_from(InboundSms).where(InboundSms.message_sid == sid)) or 0


@pytest.fixture
def override_settings(database_url: str) -> Iterator:
    """Replace some settings for one test (the process-wide settings are restored after)."""
    original = settings()

    def override(**changes: object) -> None:
        settings_module._current[:] = [original.model_copy(update=changes)]

    yield override
    settings_module._current[:] = [original]


async def test_valid_signature_is_accepted_and_stored(twilio: TwilioSimulator, session: AsyncSession) -> None:
    params = twilio.sms_params("AIDE")
    url = "http://testserver/twilio/sms"
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, params)
    response = await twilio.post("/twilio/sms", params, signature=signature)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Message>" in response.text
    assert await stored_sms(session, params["MessageSid"]) == 1


async def test_forged_signature_is_refused_and_nothing_stored(twilio: TwilioSimulator, session: AsyncSession) -> None:
    params = twilio.sms_params("AIDE")
    forged = RequestValidator("not-the-token").compute_signature("http://testserver/twilio/sms", params)
    response = await twilio.post("/twilio/sms", params, signature=forged)
    assert response.status_code == 403
    assert "<Message>" not in response.text
    assert response.json() == {
        "code": "invalid_twilio_signature",
        "message": "Requête refusée : signature Twilio absente ou invalide.",
    }
    assert await stored_sms(session, params["MessageSid"]) == 0


async def test_tampered_body_is_refused(twilio: TwilioSimulator, session: AsyncSession) -> None:
    params = twilio.sms_params("T1 1000190 123456 V300")
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature("http://testserver/twilio/sms", params)
    tampered = {**params, "Body": "T1 1000190 123456 V900"}
    response = await twilio.post("/twilio/sms", tampered, signature=signature)
    assert response.status_code == 403
    assert await stored_sms(session, params["MessageSid"]) == 0


async def test_missing_signature_is_refused(twilio: TwilioSimulator, session: AsyncSession) -> None:
    params = twilio.sms_params("AIDE")
    response = await twilio.client.post("/twilio/sms", data=params)
    assert response.status_code == 403
    assert await stored_sms(session, params["MessageSid"]) == 0


async def test_signature_over_another_url_is_refused(twilio: TwilioSimulator, session: AsyncSession) -> None:
    params = twilio.sms_params("AIDE")
    for wrong_url in (
        "http://testserver/twilio/voice",
        "https://testserver/twilio/sms",
        "http://evil.example/twilio/sms",
    ):
        response = await twilio.post("/twilio/sms", params, signed_url=wrong_url)
        assert response.status_code == 403, wrong_url
    assert await stored_sms(session, params["MessageSid"]) == 0


async def test_voice_webhooks_refuse_forged_signatures(twilio: TwilioSimulator, session: AsyncSession) -> None:
    call_sid = new_sid("CA")
    params = {"CallSid": call_sid, "From": "+33612345678", "To": "+33757000000"}
    for path in ("/twilio/voice", "/twilio/voice/step?n=1", "/twilio/voice/status"):
        response = await twilio.post(path, params, signature="AAAAforged=")
        assert response.status_code == 403, path
        assert "<Say" not in response.text
    assert await session.get(VoiceCall, call_sid) is None


async def test_signature_uses_the_public_url_not_the_request_url(
    twilio: TwilioSimulator, session: AsyncSession, override_settings
) -> None:
    """Behind a reverse proxy the app sees http://testserver/…; Twilio signed https://public/…"""
    override_settings(public_url="https://primaires.example.org")
    params = twilio.sms_params("AIDE")
    ok = await twilio.post("/twilio/sms", params, signed_url="https://primaires.example.org/twilio/sms")
    assert ok.status_code == 200
    refused = await twilio.post("/twilio/sms", twilio.sms_params("AIDE"), signed_url="http://testserver/twilio/sms")
    assert refused.status_code == 403


async def test_query_string_is_part_of_the_signed_url(twilio: TwilioSimulator) -> None:
    params = {"CallSid": new_sid("CA"), "From": "+33612345678", "To": "+33757000000", "Digits": "1"}
    refused = await twilio.post("/twilio/voice/step?n=1", params, signed_url="http://testserver/twilio/voice/step?n=2")
    assert refused.status_code == 403
    accepted = await twilio.post("/twilio/voice/step?n=1", params)
    assert accepted.status_code == 200


async def test_a_signed_in_organiser_is_not_enough(twilio: TwilioSimulator, users, session: AsyncSession) -> None:
    await users.as_role(twilio.client, Role.ORGANISER)
    params = twilio.sms_params("AIDE")
    response = await twilio.client.post("/twilio/sms", data=params)
    assert response.status_code == 403
    assert await stored_sms(session, params["MessageSid"]) == 0


async def test_json_body_is_refused(twilio: TwilioSimulator) -> None:
    params = twilio.sms_params("AIDE")
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature("http://testserver/twilio/sms", params)
    response = await twilio.client.post("/twilio/sms", json=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


async def test_configured_token_replaces_the_test_token(twilio: TwilioSimulator, override_settings) -> None:
    override_settings(twilio_auth_token="jeton-de-production-0123456789")
    assert twilio_auth_token() == "jeton-de-production-0123456789"
    with_test_token = await twilio.post(
        "/twilio/sms",
        twilio.sms_params("AIDE"),
        signature=RequestValidator(TEST_AUTH_TOKEN).compute_signature("http://testserver/twilio/sms", {}),
    )
    assert with_test_token.status_code == 403
    params = twilio.sms_params("AIDE")
    signature = RequestValidator("jeton-de-production-0123456789").compute_signature(
        "http://testserver/twilio/sms", params
    )
    assert (await twilio.post("/twilio/sms", params, signature=signature)).status_code == 200


async def test_production_without_token_refuses_everything(twilio: TwilioSimulator, override_settings) -> None:
    override_settings(mode=Mode.PRODUCTION, twilio_auth_token="")
    assert twilio_auth_token() is None
    params = twilio.sms_params("AIDE")
    response = await twilio.post(
        "/twilio/sms",
        params,
        signature=RequestValidator(TEST_AUTH_TOKEN).compute_signature("http://testserver/twilio/sms", params),
    )
    assert response.status_code == 403


def test_every_twilio_route_is_guarded_by_the_signature_rule(app) -> None:  # noqa: ANN001
    from services.auth.dependencies import access_rules, iter_api_routes
    from services.telephony.signature import TwilioSigned

    twilio_routes = [(path, route) for path, route in iter_api_routes(app) if path.startswith("/twilio/")]
    assert {path for path, _ in twilio_routes} == {"/twilio/sms", "/twilio/voice", "/twilio/voice/step", "/twilio/voice/status"}
    for path, route in twilio_routes:
        rules = access_rules(route)
        assert len(rules) == 1 and isinstance(rules[0], TwilioSigned), path
        # Twilio calls anonymously (the signature decides); no signed-in role is admitted.
        assert not any(rules[0].allows_role(role) for role in Role), path
        assert rules[0].allows_role(None) is True


async def test_the_sms_webhook_is_answered_by_the_fast_path_and_refusals_by_the_route(
    twilio: TwilioSimulator, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On results night the SMS webhook skips FastAPI's per-request machinery and the session
    (`services.app.FastPaths`, driver fast path): a signed SMS is tried there first; a message
    that is not a fast command's common case (here AIDE) is handed over to the regular route,
    which answers it; a forged one is refused before anything is read (403), nothing stored."""
    import sys

    from services.telephony import api

    calls: list[str] = []
    original, original_driver = api.service.receive_sms, api.service.receive_sms_on_driver

    async def spied(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(sys._getframe(2).f_code.co_name)  # noqa: SLF001 - who called inbound_sms
        return await original(*args, **kwargs)

    async def spied_driver(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append("driver")
        try:
            return await original_driver(*args, **kwargs)
        except api.service.HandOver:
            calls.append("handed over")
            raise

    monkeypatch.setattr(api.service, "receive_sms", spied)
    monkeypatch.setattr(api.service, "receive_sms_on_driver", spied_driver)
    params = twilio.sms_params("AIDE")
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature("http://testserver/twilio/sms", params)
    response = await twilio.post("/twilio/sms", params, signature=signature)
    assert response.status_code == 200 and "<Message>" in response.text
    assert calls == ["driver", "handed over", "run_endpoint_function"]
    assert response.headers.get("x-content-type-options") == "nosniff"  # the outer middleware still applies

    calls.clear()
    forged_params = twilio.sms_params("AIDE")
    forged = RequestValidator("not-the-token").compute_signature("http://testserver/twilio/sms", forged_params)
    refused = await twilio.post("/twilio/sms", forged_params, signature=forged)
    assert refused.status_code == 403 and refused.json()["code"] == "invalid_twilio_signature"
    assert calls == []  # the signature is checked before anything is read or stored, on both paths
    assert await stored_sms(session, forged_params["MessageSid"]) == 0
