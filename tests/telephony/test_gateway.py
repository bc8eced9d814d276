"""Outbound SMS: the gateway chosen by settings; Twilio's through the real SDK (no network)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse

from services import settings as settings_module
from services.settings import settings
from services.telephony.gateway import (
    ConsoleSmsGateway,
    MemorySmsGateway,
    SmsGateway,
    SmsNotSent,
    TwilioSmsGateway,
    sms_gateway,
)
from services.telephony.phone import InvalidPhoneNumber


@pytest.fixture
def gateway_setting(database_url: str) -> Iterator:
    original = settings()

    def choose(**changes: object) -> None:
        settings_module._current[:] = [original.model_copy(update=changes)]

    yield choose
    settings_module._current[:] = [original]


class RecordingTwilioHttp(HttpClient):
    """Stands in for Twilio's servers: records the SDK's request, answers like the Messages API."""

    def __init__(self, status: int = 201) -> None:
        super().__init__(logging.getLogger("test"), True, None)
        self.status = status
        self.requests: list[dict[str, Any]] = []

    async def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):  # noqa: ANN001, ANN201
        self.requests.append({"method": method, "url": url, "data": data, "auth": auth})
        if self.status >= 400:
            body = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": self.status}
        else:
            body = {
                "sid": "SM" + "a" * 32,
                "status": "queued",
                "to": data["To"],
                "from": data["From"],
                "body": data["Body"],
            }
        return TwilioResponse(self.status, json.dumps(body))


async def test_memory_gateway_keeps_normalised_fitted_messages() -> None:
    gateway = MemorySmsGateway()
    assert isinstance(gateway, SmsGateway)
    message_id = await gateway.send("06 12 34 56 78", "Rappel : le bureau doit être ouvert à 9 h.")
    assert message_id == "memory-1"
    assert gateway.to("+33612345678")[0].body == "Rappel : le bureau doit etre ouvert à 9 h."
    with pytest.raises(InvalidPhoneNumber):
        await gateway.send("12", "x")


async def test_console_gateway_logs_a_masked_number(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="primaires.telephony"):
        await ConsoleSmsGateway().send("+33612345678", "Bonjour")
    assert "+336******78" in caplog.text and "+33612345678" not in caplog.text


async def test_twilio_gateway_sends_through_the_sdk() -> None:
    http = RecordingTwilioHttp()
    gateway = TwilioSmsGateway("AC" + "1" * 32, "jeton", "+33757000000", http_client=http)
    sid = await gateway.send("0690 12 34 56", "Résultats attendus avant 20 h.")
    assert sid == "SM" + "a" * 32
    (request,) = http.requests
    assert request["method"] == "POST"
    assert request["url"] == f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
    assert request["data"]["To"] == "+590690123456" and request["data"]["From"] == "+33757000000"
    assert request["data"]["Body"] == "Résultats attendus avant 20 h."
    assert request["auth"] == ("AC" + "1" * 32, "jeton")


async def test_twilio_refusal_becomes_a_french_error() -> None:
    gateway = TwilioSmsGateway("AC" + "1" * 32, "jeton", "+33757000000", http_client=RecordingTwilioHttp(status=400))
    with pytest.raises(SmsNotSent) as refused:
        await gateway.send("+33612345678", "x")
    assert "n'a pas pu être envoyé" in refused.value.message and "+336******78" in refused.value.message


def test_gateway_is_chosen_by_settings(gateway_setting) -> None:  # noqa: ANN001
    gateway_setting(sms_gateway="memory")
    memory = sms_gateway()
    assert isinstance(memory, MemorySmsGateway) and sms_gateway() is memory
    gateway_setting(sms_gateway="console")
    assert isinstance(sms_gateway(), ConsoleSmsGateway)
    gateway_setting(
        sms_gateway="twilio",
        twilio_account_sid="AC" + "2" * 32,
        twilio_auth_token="t",
        twilio_from_number="+33757000000",
    )
    assert isinstance(sms_gateway(), TwilioSmsGateway)
    gateway_setting(sms_gateway="pigeon")
    with pytest.raises(ValueError, match="Passerelle SMS inconnue"):
        sms_gateway()
