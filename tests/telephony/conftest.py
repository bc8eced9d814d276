"""Fixtures of the telephony tests: a Twilio simulator and test-only commands and flows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.models import Tablet
from services.events import Actor, Event, record
from services.telephony.registry import SmsCommand, sms_commands
from services.telephony.testing import TwilioSimulator
from services.telephony.voice import VoiceFlow, voice_flows

TEST_ACTOR = Actor(id="system:test-telephony", role="organiser")


class TelephonyTestWrite(Event):
    """A test-only audited change (a command that writes election state)."""

    kind: ClassVar[str] = "test.telephony_write"
    subject_fields: ClassVar[tuple[str, ...]] = ("label",)
    label: str


async def audited_write(session: AsyncSession, label: str) -> None:
    """Write a row to an audited table, with its event, as a real command would."""
    session.add(Tablet(station_code="TEST", label=label))
    record(session, TelephonyTestWrite(actor=TEST_ACTOR, label=label))
    await session.flush()


@pytest.fixture
def twilio(client: httpx.AsyncClient) -> TwilioSimulator:
    return TwilioSimulator(client)


@pytest.fixture
def sms_command() -> Iterator[Callable[..., SmsCommand]]:
    """Registers test-only SMS commands into the application's registry, removed afterwards."""
    registered: list[str] = []
    # A domain package's real command with the same keyword (polling's PART…) steps aside meanwhile.
    displaced: list[SmsCommand] = []

    def register(keyword: str, handler: Any, **options: Any) -> SmsCommand:
        options.setdefault("summary", f"{keyword} : commande de test")
        candidate = SmsCommand(keyword=keyword, handler=handler, **options)
        displaced.extend(c for c in sms_commands.commands() if c.key == candidate.key and c.handler is not handler)
        sms_commands.unregister(keyword)
        command = sms_commands.register(candidate)
        registered.append(keyword)
        return command

    yield register
    for keyword in registered:
        sms_commands.unregister(keyword)
    for command in displaced:
        sms_commands.register(command)


@pytest.fixture
def voice_flow() -> Iterator[Callable[[VoiceFlow], VoiceFlow]]:
    """Registers test-only voice flows, removed afterwards (and hides any other flow meanwhile)."""
    saved = voice_flows.flows()
    for flow in saved:
        voice_flows.unregister(flow.name)
    registered: list[str] = []

    def register(flow: VoiceFlow) -> VoiceFlow:
        voice_flows.register(flow)
        registered.append(flow.name)
        return flow

    yield register
    for name in registered:
        voice_flows.unregister(name)
    for flow in saved:
        voice_flows.register(flow)
