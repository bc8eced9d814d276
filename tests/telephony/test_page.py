"""The telephony page: configuration, registered commands, received messages, SMS simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services import settings as settings_module
from services.auth.roles import Role
from services.settings import Mode, settings
from services.telephony.models import InboundSms
from services.telephony.registry import SmsContext
from services.telephony.testing import TwilioSimulator

HTML = {"accept": "text/html"}


@pytest.fixture
def production_mode(database_url: str) -> Iterator[None]:
    original = settings()
    settings_module._current[:] = [original.model_copy(update={"mode": Mode.PRODUCTION})]
    yield
    settings_module._current[:] = [original]


async def test_organiser_sees_configuration_commands_and_masked_messages(client, users, sms_command) -> None:  # noqa: ANN001
    async def noop(session: AsyncSession, sms: SmsContext) -> str:
        return "ok"

    sms_command("ZZP", noop, summary="ZZP <code> : commande de la page")
    await TwilioSimulator(client).sms("ZZP 1000190", from_number="+33612345678")
    await users.as_role(client, Role.ORGANISER)
    page = await client.get("/organisation/telephonie", headers=HTML)
    assert page.status_code == 200
    assert "http://testserver/twilio/sms" in page.text and "http://testserver/twilio/voice" in page.text
    assert "jeton de test documenté" in page.text
    assert "ZZP &lt;code&gt; : commande de la page" in page.text
    assert "+336******78" in page.text and "+33612345678" not in page.text
    assert "Essayer un SMS" in page.text


async def test_the_simulator_answers_through_the_dispatcher(client, users, session: AsyncSession) -> None:  # noqa: ANN001
    await users.as_role(client, Role.ORGANISER)
    response = await client.post(
        "/organisation/telephonie/essai", data={"numero": "06 11 22 33 44", "message": "aide"}, headers=HTML
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/organisation/telephonie?essai=SIM")
    stored = await session.get(InboundSms, location.split("=", 1)[1])
    assert stored is not None and stored.from_number == "+33611223344" and stored.outcome == "help"
    page = await client.get(location, headers=HTML)
    assert "Réponse :" in page.text and "Commandes" in page.text


async def test_the_simulator_refuses_a_bad_number_in_french(client, users, session: AsyncSession) -> None:  # noqa: ANN001
    await users.as_role(client, Role.ORGANISER)
    before = len((await session.scalars(select(InboundSms.message_sid))).all())
    response = await client.post(
        "/organisation/telephonie/essai", data={"numero": "12", "message": "aide"}, headers=HTML
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"], headers=HTML)
    assert "Numéro de téléphone invalide" in page.text
    assert len((await session.scalars(select(InboundSms.message_sid))).all()) == before


async def test_no_simulator_in_production(client, users, production_mode) -> None:  # noqa: ANN001
    await users.as_role(client, Role.ORGANISER)
    page = await client.get("/organisation/telephonie", headers=HTML)
    assert page.status_code == 200 and "Essayer un SMS" not in page.text
    refused = await client.post(
        "/organisation/telephonie/essai", data={"numero": "0611223344", "message": "aide"}, headers=HTML
    )
    assert refused.status_code == 403


async def test_who_may_see_the_page(client, users) -> None:  # noqa: ANN001
    assert (await client.get("/organisation/telephonie", headers=HTML)).status_code == 401
    await users.as_role(client, Role.AUTHORITY)
    page = await client.get("/organisation/telephonie", headers=HTML)
    assert page.status_code == 200 and "Essayer un SMS" not in page.text
    await users.as_role(client, Role.OBSERVER)
    assert (await client.get("/organisation/telephonie", headers=HTML)).status_code == 403
    await users.as_role(client, Role.PRESIDENT)
    assert (await client.get("/organisation/telephonie", headers=HTML)).status_code == 403
