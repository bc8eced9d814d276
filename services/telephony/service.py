"""Receiving SMS and voice webhooks: store each once, handle it once, answer the same way again.

Twilio redelivers a webhook when our answer is late, and a message can therefore arrive twice,
even twice at the same instant. Each message is claimed by inserting its row keyed by
MessageSid (``INSERT … ON CONFLICT DO NOTHING``) in the request's transaction, BEFORE it is
handled:

- the first delivery inserts the row, handles the message, stores the reply in the row, and
  commits both with whatever the handler changed;
- a later delivery finds the row and sends back the stored reply, without handling again;
- a concurrent delivery blocks on the row's unique index until the first one commits, then
  finds the row and sends back the stored reply (or, if the first one rolled back, claims
  the message itself). PostgreSQL's unique-index wait is what makes this exact, without any
  application lock.

Voice calls work the same way per (CallSid, step), with the call's row locked ``FOR UPDATE``
so that two webhooks of one call never interleave.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import utcnow
from services.settings import settings
from services.telephony import fastpath
from services.telephony.fastpath import PREVIOUS_REPLY_SQL, Claim, FastSms, fast_link
from services.telephony.models import InboundSms, VoiceCall, VoiceStep
from services.telephony.phone import mask_phone, try_normalise_phone
from services.telephony.registry import SmsCommandRegistry, SmsContext, sms_commands
from services.telephony.sms_text import fit_sms
from services.telephony.voice import Dialogue, VoiceFlowRegistry, initial_state, voice_flows

logger = logging.getLogger("primaires.telephony")

SMS_TABLE = InboundSms.__table__
# Built once: on the busiest night these run for every message (statement construction is a
# measurable share of the gateway's CPU, see bench/telephony_sms.py).
CLAIM_SMS = (
    pg_insert(SMS_TABLE)
    .values(
        message_sid=bindparam("sid"),
        from_number=bindparam("from_number"),
        to_number=bindparam("to_number"),
        body=bindparam("body"),
        keyword=bindparam("keyword"),
        received_at=bindparam("received_at"),
    )
    .on_conflict_do_nothing(index_elements=[SMS_TABLE.c.message_sid])
    .returning(SMS_TABLE.c.message_sid)
)
PREVIOUS_REPLY = select(SMS_TABLE.c.reply).where(SMS_TABLE.c.message_sid == bindparam("sid"))
STORE_REPLY = (
    update(SMS_TABLE)
    .where(SMS_TABLE.c.message_sid == bindparam("sid"))
    .values(reply=bindparam("reply"), outcome=bindparam("outcome"), handled_at=bindparam("handled_at"))
)
STILL_HANDLING = "Message déjà reçu, en cours de traitement : la réponse suit."
VOICE_STEP_PATH = "/twilio/voice/step"


# --- SMS ------------------------------------------------------------------------------------------


def clean_text(value: str, limit: int | None = None) -> str:
    """Text PostgreSQL can store: no NUL character, no lone surrogate (replaced by « ? »)."""
    cleaned = (value or "").encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return cleaned[:limit] if limit is not None else cleaned


async def receive_sms(
    session: AsyncSession,
    *,
    sid: str,
    from_number: str,
    to_number: str,
    body: str,
    registry: SmsCommandRegistry = sms_commands,
) -> str:
    """The reply to one inbound SMS (already authenticated): handled once per MessageSid."""
    sid, body = clean_text(sid, 64), clean_text(body)
    sender = try_normalise_phone(clean_text(from_number, 32))
    to_number = try_normalise_phone(clean_text(to_number, 32))
    resolution = registry.resolve(body)
    received_at = utcnow()
    command = resolution.command
    stored_body, keyword = registry.stored_text(body, resolution), resolution.keyword[:32]
    claim = Claim.NOT_TRIED
    if command is not None and command.fast is not None:
        # The command's common case on the raw connection (see `services.telephony.fastpath`).
        max_segments = command.max_segments
        async with fast_link(session) as link:
            result = await command.fast(
                session,
                link,
                FastSms(
                    sid, sender, to_number, body, received_at,
                    claim=(sid, sender[:32], to_number[:32], stored_body, keyword, received_at),
                    fit=lambda text: fit_sms(text, max_segments),
                ),
            )  # fmt: skip
            claim = result.claim
            if claim is Claim.ALREADY_RECEIVED:
                previous = result.reply or await link.connection.fetchval(PREVIOUS_REPLY_SQL, sid)
                logger.info("SMS %s déjà reçu (de %s) : réponse précédente renvoyée", sid, mask_phone(sender))
                return previous or fit_sms(STILL_HANDLING)
            if result.reply is not None:
                # DEBUG, not INFO: on results night a log line per message costs a write to the log
                # file for what the inbound store (and the access log) already keep.
                logger.debug("SMS %s de %s : %s → ok", sid, mask_phone(sender), resolution.keyword)
                return result.reply
            claim = link.declined(result)
        # Not the common case: the ordinary, guarded handler (the message claimed, or not yet).
    if claim is Claim.NOT_TRIED:
        claimed = await session.scalar(
            CLAIM_SMS,
            {
                "sid": sid,
                "from_number": sender[:32],
                "to_number": to_number[:32],
                "body": stored_body,
                "keyword": keyword,
                "received_at": received_at,
            },
        )
        if claimed is None:
            previous = await session.scalar(PREVIOUS_REPLY, {"sid": sid})
            logger.info("SMS %s déjà reçu (de %s) : réponse précédente renvoyée", sid, mask_phone(sender))
            return previous or fit_sms(STILL_HANDLING)
    context = SmsContext(
        sid=sid,
        from_number=sender,
        to_number=to_number,
        text=body,
        keyword=resolution.keyword,
        args=resolution.args,
        received_at=received_at,
        match=resolution.match,
    )
    reply = await registry.dispatch(session, context, resolution)
    await session.execute(
        STORE_REPLY, {"sid": sid, "reply": reply.text, "outcome": reply.outcome, "handled_at": utcnow()}
    )
    logger.info("SMS %s de %s : %s → %s", sid, mask_phone(sender), resolution.keyword or "-", reply.outcome)
    return reply.text


class HandOver(Exception):  # noqa: N818 - not an error: a hand-over
    """Raised by `receive_sms_on_driver` for a message it does not answer itself (not a fast
    command's common case, a refusal to word, a cache to fill): nothing was written, and the
    regular route takes the message over and answers it."""


async def receive_sms_on_driver(
    connection: Any,
    *,
    sid: str,
    from_number: str,
    to_number: str,
    body: str,
    registry: SmsCommandRegistry = sms_commands,
) -> str:
    """`receive_sms` for the common case of a fast command (a results report, its « OK »), with
    no session at all: on a bare asyncpg connection out of the pool, in autocommit (the webhook's
    driver fast path, `services.app.FastPaths`). The command's fast handler reads, then writes
    in ONE self-contained statement everything the message changes, its audit events and the
    message claimed with its reply. Anything else raises `HandOver` having written nothing."""
    sid, body = clean_text(sid, 64), clean_text(body)
    resolution = registry.resolve(body)
    command = resolution.command
    if command is None or command.fast is None:
        raise HandOver
    sender = try_normalise_phone(clean_text(from_number, 32))
    to_number = try_normalise_phone(clean_text(to_number, 32))
    received_at = utcnow()
    stored_body, keyword = registry.stored_text(body, resolution), resolution.keyword[:32]
    max_segments = command.max_segments
    result = await command.fast(
        None,
        fastpath.Link(connection, own=True, session=None),
        FastSms(
            sid, sender, to_number, body, received_at,
            claim=(sid, sender[:32], to_number[:32], stored_body, keyword, received_at),
            fit=lambda text: fit_sms(text, max_segments),
        ),
    )  # fmt: skip
    if result.claim is Claim.ALREADY_RECEIVED:
        previous = result.reply or await connection.fetchval(PREVIOUS_REPLY_SQL, sid)
        logger.info("SMS %s déjà reçu (de %s) : réponse précédente renvoyée", sid, mask_phone(sender))
        return previous or fit_sms(STILL_HANDLING)
    if result.reply is None:
        raise HandOver
    return result.reply


# --- Voice ---------------------------------------------------------------------------------------


def voice_step_url(step: int) -> str:
    """The public URL Twilio posts a <Gather>'s digits to (signed over, like every webhook)."""
    return f"{settings().public_url.rstrip('/')}{VOICE_STEP_PATH}?n={step}"


async def voice_call_turn(
    session: AsyncSession,
    *,
    call_sid: str,
    from_number: str,
    to_number: str,
    step: int,
    digits: str | None,
    registry: VoiceFlowRegistry = voice_flows,
) -> str:
    """The TwiML for one webhook of a call: step 0 is the call's arrival, then one per <Gather>."""
    call_sid, digits = clean_text(call_sid, 64), clean_text(digits or "", 64)
    from_number, to_number = clean_text(from_number, 32), clean_text(to_number, 32)
    now = utcnow()
    await session.execute(
        pg_insert(VoiceCall.__table__)
        .values(
            call_sid=call_sid,
            from_number=try_normalise_phone(from_number)[:32],
            to_number=try_normalise_phone(to_number)[:32],
            state=initial_state(),
            status="in_progress",
            started_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["call_sid"])
    )
    # Serialises the webhooks of one call (a redelivery waits here for the first delivery).
    call = await session.scalar(
        select(VoiceCall)
        .where(VoiceCall.call_sid == call_sid)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert call is not None
    previous = await session.scalar(
        select(VoiceStep.twiml).where(VoiceStep.call_sid == call_sid, VoiceStep.step == step)
    )
    if previous is not None:
        logger.info("Appel %s, étape %s déjà traitée : réponse précédente renvoyée", call_sid, step)
        return previous
    dialogue = Dialogue(
        session,
        registry,
        call_sid=call_sid,
        from_number=call.from_number,
        to_number=call.to_number,
        flow_name=call.flow,
        state=call.state,
    )
    expected = int(call.state.get("step", 0))
    if expected == 0:  # the call's arrival (or a step whose arrival webhook never came)
        turn = await dialogue.start()
    elif step != expected:  # not the prompt the caller is answering: say the current one again
        turn = await dialogue.repeat()
    else:
        turn = await dialogue.answer(digits or "")
    next_step = max(expected, step) + 1
    dialogue.state["step"] = next_step
    twiml = turn.twiml(voice_step_url(next_step))
    call.state = dialogue.state
    call.flow = dialogue.flow_name
    call.status = turn.status
    call.updated_at = utcnow()
    await session.execute(
        pg_insert(VoiceStep.__table__)
        .values(call_sid=call_sid, step=step, digits=dialogue.stored_digits, twiml=twiml, received_at=now)
        .on_conflict_do_nothing(index_elements=["call_sid", "step"])
    )
    logger.info("Appel %s de %s, étape %s : %s", call_sid, mask_phone(call.from_number), step, call.status)
    return twiml


# Twilio's final call statuses (https://www.twilio.com/docs/voice/api/call-resource#call-status-values).
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


async def voice_call_ended(session: AsyncSession, *, call_sid: str, twilio_status: str) -> None:
    """Twilio's status callback: a call still in progress on our side was hung up mid-dialogue.
    It becomes « abandoned » and its secret answers (the PIN) are forgotten."""
    if twilio_status not in FINAL_CALL_STATUSES:
        return
    call = await session.scalar(
        select(VoiceCall)
        .where(VoiceCall.call_sid == clean_text(call_sid, 64))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if call is None or call.status != "in_progress":
        return
    secret = set(call.state.get("secret", []))
    answers = {key: value for key, value in call.state.get("answers", {}).items() if key not in secret}
    call.state = {**call.state, "answers": answers, "phase": "done"}
    call.status = "abandoned"
    call.updated_at = utcnow()
    logger.info("Appel %s raccroché avant la fin (%s)", call.call_sid, twilio_status)


# --- Retention -------------------------------------------------------------------------------------


async def purge_before(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    """Delete the messages and calls received before `cutoff` (staff phone numbers are personal
    data, kept only as long as the election needs them). Returns the rows deleted per table."""
    steps = await session.execute(
        delete(VoiceStep).where(VoiceStep.call_sid.in_(select(VoiceCall.call_sid).where(VoiceCall.started_at < cutoff)))
    )
    calls = await session.execute(delete(VoiceCall).where(VoiceCall.started_at < cutoff))
    messages = await session.execute(delete(InboundSms).where(InboundSms.received_at < cutoff))
    return {
        "sms": messages.rowcount or 0,  # type: ignore[attr-defined]
        "appels": calls.rowcount or 0,  # type: ignore[attr-defined]
        "étapes": steps.rowcount or 0,  # type: ignore[attr-defined]
    }
