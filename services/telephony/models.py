"""The telephony gateway's operational store: inbound SMS and voice calls, each kept once.

These tables are not election state (`__audit_exempt__`): they make webhooks idempotent
(Twilio redelivers a webhook when our answer is slow) and let the staff on duty see what
was received and answered. Whatever a command changes in election state is recorded by the
domain service that changes it, with its audit event, as everywhere else.

They hold staff phone numbers (personal data): bodies are stored after the command's
redactor has masked PINs, and the tables are meant to be purged after the election
(`services.telephony.service.purge_before`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow


class InboundSms(Base):
    """One SMS received by the webhook, keyed by Twilio's MessageSid, with the reply sent."""

    __tablename__ = "telephony_inbound_sms"
    __audit_exempt__ = True
    __table_args__ = (Index("ix_telephony_inbound_sms_from_number_received_at", "from_number", "received_at"),)

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32), default="")
    # The text as received, with the PIN masked by the command's redactor.
    body: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str] = mapped_column(String(32), default="")
    # ok | refused | error | unknown | help | empty (None while being handled)
    outcome: Mapped[str | None] = mapped_column(String(12))
    reply: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handled_at: Mapped[datetime | None]


class VoiceCall(Base):
    """One phone call to the voice server, keyed by Twilio's CallSid, and its dialogue state."""

    __tablename__ = "telephony_voice_call"
    __audit_exempt__ = True

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32), default="")
    flow: Mapped[str | None] = mapped_column(String(40))
    # The dialogue's state (phase, answers so far, counters): see services.telephony.voice.
    state: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # in_progress | completed | abandoned | failed
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoiceStep(Base):
    """One webhook of a call (its entry, then each <Gather> answer), keyed by (CallSid, step).

    A redelivered step gets back the TwiML stored here instead of being played again.
    """

    __tablename__ = "telephony_voice_step"
    __audit_exempt__ = True

    call_sid: Mapped[str] = mapped_column(ForeignKey("telephony_voice_call.call_sid"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The keys pressed (masked for secret fields such as the PIN).
    digits: Mapped[str] = mapped_column(String(64), default="")
    twiml: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
