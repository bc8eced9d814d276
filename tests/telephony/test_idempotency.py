"""Twilio redelivers webhooks: the same MessageSid is handled once and answered identically."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services import db
from services.telephony.models import InboundSms, VoiceCall, VoiceStep
from services.telephony.registry import SmsContext
from services.telephony.testing import TwilioSimulator, new_sid


async def test_a_redelivered_sms_gets_the_same_reply_and_is_handled_once(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    calls: list[str] = []

    async def count(session: AsyncSession, sms: SmsContext) -> str:
        calls.append(sms.sid)
        return f"Message {len(calls)} recu."

    sms_command("ZZL", count)
    sid = new_sid("SM")
    first = await twilio.sms("ZZL", sid=sid)
    second = await twilio.sms("ZZL", sid=sid)
    third = await twilio.sms("ZZL", sid=sid)
    assert first.text == second.text == third.text == "Message 1 recu."
    assert calls == [sid]
    assert await session.scalar(select(func.count()).select_from(InboundSms).where(InboundSms.message_sid == sid)) == 1
    other = await twilio.sms("ZZL")  # another message, same text: handled (content dedup is the domain's call)
    assert other.text == "Message 2 recu."


async def test_a_redelivered_refusal_gets_the_same_refusal(twilio: TwilioSimulator, sms_command) -> None:
    from services.errors import InvalidInput

    attempts: list[int] = []

    async def refuse(session: AsyncSession, sms: SmsContext) -> str:
        attempts.append(1)
        raise InvalidInput(f"Refus {len(attempts)}.")

    sms_command("ZZM", refuse)
    sid = new_sid("SM")
    assert (await twilio.sms("ZZM", sid=sid)).text == "Refus 1."
    assert (await twilio.sms("ZZM", sid=sid)).text == "Refus 1."
    assert len(attempts) == 1


@pytest.fixture
async def committing_client(app, database: db.Database) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    """A client on the application with its real sessions (each request commits for real),
    for the tests that need two transactions at once. They clean up what they commit."""
    app.dependency_overrides.clear()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_concurrent_deliveries_of_one_sms_are_handled_once(
    committing_client: httpx.AsyncClient, sms_command, database: db.Database
) -> None:
    started = asyncio.Event()
    calls: list[str] = []

    async def slow(session: AsyncSession, sms: SmsContext) -> str:
        calls.append(sms.sid)
        started.set()
        await asyncio.sleep(0.3)  # the second delivery arrives while the first is being handled
        return f"Traité {len(calls)} fois."

    sms_command("ZZN", slow)
    twilio = TwilioSimulator(committing_client)
    sid = new_sid("SM")
    try:
        first = asyncio.create_task(twilio.sms("ZZN", sid=sid))
        await started.wait()
        second, third = await asyncio.gather(twilio.sms("ZZN", sid=sid), twilio.sms("ZZN", sid=sid))
        first_reply = await first
        assert first_reply.text == second.text == third.text == "Traité 1 fois."
        assert calls == [sid]
        async with database.sessionmaker() as check:
            assert (
                await check.scalar(select(func.count()).select_from(InboundSms).where(InboundSms.message_sid == sid))
                == 1
            )
    finally:
        async with database.sessionmaker() as cleanup:
            await cleanup.execute(delete(InboundSms).where(InboundSms.message_sid == sid))
            await cleanup.commit()


async def test_simultaneous_first_deliveries_are_handled_once(
    committing_client: httpx.AsyncClient, sms_command, database: db.Database
) -> None:
    """Ten copies sent at the same instant: exactly one handling, ten identical replies."""
    calls: list[str] = []

    async def slow(session: AsyncSession, sms: SmsContext) -> str:
        calls.append(sms.sid)
        await asyncio.sleep(0.05)
        return "Une seule fois."

    sms_command("ZZO", slow)
    twilio = TwilioSimulator(committing_client)
    sid = new_sid("SM")
    try:
        replies = await asyncio.gather(*(twilio.sms("ZZO", sid=sid) for _ in range(10)))
        assert {reply.text for reply in replies} == {"Une seule fois."}
        assert calls == [sid]
    finally:
        async with database.sessionmaker() as cleanup:
            await cleanup.execute(delete(InboundSms).where(InboundSms.message_sid == sid))
            await cleanup.commit()


async def test_concurrent_deliveries_of_one_voice_step_are_answered_once(
    committing_client: httpx.AsyncClient, voice_flow, database: db.Database
) -> None:
    from services.telephony.voice import DigitsField, VoiceFlow

    validations: list[str] = []

    async def slow_check(session: AsyncSession, call, digits: str) -> str:  # noqa: ANN001
        validations.append(digits)
        await asyncio.sleep(0.2)
        return digits

    async def finish(session: AsyncSession, call) -> str:  # noqa: ANN001
        return "Merci."

    voice_flow(
        VoiceFlow(
            name="test-concurrent",
            greeting="Bonjour.",
            fields=(DigitsField("code", "Tapez le code.", min_digits=4, max_digits=4, validate=slow_check),),
            finish=finish,
        )
    )
    twilio = TwilioSimulator(committing_client)
    call = await twilio.call()
    try:
        path = twilio.path_of(call.last.action or "")
        params = call._params(Digits="1234")
        responses = await asyncio.gather(*(twilio.post(path, params) for _ in range(3)))
        assert len({response.text for response in responses}) == 1
        assert validations == ["1234"]
    finally:
        async with database.sessionmaker() as cleanup:
            await cleanup.execute(delete(VoiceStep).where(VoiceStep.call_sid == call.call_sid))
            await cleanup.execute(delete(VoiceCall).where(VoiceCall.call_sid == call.call_sid))
            await cleanup.commit()
