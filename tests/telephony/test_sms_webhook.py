"""Inbound SMS: dispatch to registered commands, AIDE, unknown commands, refusals, failures."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.models import Tablet
from services.errors import Forbidden, InvalidInput
from services.events import AuditEvent
from services.telephony.models import InboundSms
from services.telephony.registry import SmsContext, redact_words
from services.telephony.sms_text import capacity, gsm_length, is_gsm
from services.telephony.testing import TwilioSimulator
from tests.telephony.conftest import audited_write


async def tablets_labelled(session: AsyncSession, label: str) -> int:
    return await session.scalar(select(func.count()).select_from(Tablet).where(Tablet.label == label)) or 0


async def events_labelled(session: AsyncSession, label: str) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind == "test.telephony_write", AuditEvent.subjects["label"].astext == label)
        )
        or 0
    )


async def test_a_command_is_dispatched_case_and_accent_insensitively(twilio: TwilioSimulator, sms_command) -> None:
    seen: list[SmsContext] = []

    async def ouvrir(session: AsyncSession, sms: SmsContext) -> str:
        seen.append(sms)
        return f"Bureau {sms.args[0]} ouvert à {len(sms.args)} arguments."

    sms_command("ÉCHO", ouvrir, summary="ÉCHO <code> : test")
    for text in ("écho 1000190 123456", "ECHO,1000190;123456", "  Écho   1000190  123456  "):
        reply = await twilio.sms(text, from_number="06 12 34 56 78")
        assert reply.status_code == 200
        assert reply.text == "Bureau 1000190 ouvert à 2 arguments."
    assert [sms.keyword for sms in seen] == ["ECHO"] * 3
    assert all(sms.from_number == "+33612345678" for sms in seen)
    assert seen[0].masked_from == "+336******78"


async def test_pattern_commands_express_round_prefixes(twilio: TwilioSimulator, sms_command) -> None:
    async def report(session: AsyncSession, sms: SmsContext) -> str:
        assert sms.match is not None
        return f"Tour {sms.match.group('round')}, bureau {sms.args[0]}."

    sms_command("T<tour>", report, pattern=r"T(?P<round>[0-9]{1,2})", summary="T<tour> <code> … : résultats")
    assert (await twilio.sms("T1 1000190 V312")).text == "Tour 1, bureau 1000190."
    assert (await twilio.sms("t2;1000190;V312")).text == "Tour 2, bureau 1000190."
    unknown = await twilio.sms("TX 1000190")
    assert "Commande inconnue" in unknown.text and "T<tour>" in unknown.text


async def test_aide_lists_registered_commands_and_details_one(twilio: TwilioSimulator, sms_command) -> None:
    async def noop(session: AsyncSession, sms: SmsContext) -> str:
        return "ok"

    async def dynamic_help(session: AsyncSession, sms: SmsContext) -> str:
        return "ZZB <code> : ordre du bulletin 1. Laurent 2. Garnier"

    sms_command(
        "ZZA",
        noop,
        summary="ZZA <code> <PIN> : ouvrir",
        help="ZZA <code> <PIN> : ouvre le bureau. Ex : ZZA 1000190 123456",
    )
    sms_command("ZZB", noop, summary=dynamic_help)
    listing = await twilio.sms("aide")
    assert listing.text.startswith("Commandes")
    assert "ZZA <code> <PIN> : ouvrir" in listing.text
    assert "ordre du bulletin 1. Laurent" in listing.text
    assert "AIDE <commande>" in listing.text
    detail = await twilio.sms("Aïde zza")
    assert detail.text == "ZZA <code> <PIN> : ouvre le bureau. Ex : ZZA 1000190 123456"
    unknown = await twilio.sms("AIDE XYZ")
    assert "Commande inconnue" in unknown.text
    assert (await twilio.sms("?")).text == listing.text
    assert (await twilio.sms("? zza")).text == detail.text


async def test_glued_keywords_are_pattern_commands_parsing_the_whole_text(twilio: TwilioSimulator, sms_command) -> None:
    async def turnout(session: AsyncSession, sms: SmsContext) -> str:
        digits = "".join(char for char in sms.text if char.isdigit())
        return f"Participation : {digits}"

    sms_command("PART", turnout, pattern=r"PART(?:ICIPATION)?[0-9]*", summary="PART <code> <PIN> <heure> <votants>")
    assert (await twilio.sms("PART1234566 482913")).text == "Participation : 1234566482913"
    assert (await twilio.sms("participation 12")).text == "Participation : 12"
    assert (await twilio.sms("Part: 7")).text == "Participation : 7"


async def test_aide_falls_back_to_keywords_when_summaries_are_too_long(twilio: TwilioSimulator, sms_command) -> None:
    async def noop(session: AsyncSession, sms: SmsContext) -> str:
        return "ok"

    for index in range(8):
        sms_command(f"LONG{index}", noop, summary=f"LONG{index} " + "explication détaillée " * 6)
    listing = await twilio.sms("AIDE")
    assert "LONG0, LONG1" in listing.text and "AIDE suivi d'une commande" in listing.text
    assert gsm_length(listing.text) <= capacity(4)


async def test_unknown_and_empty_messages_get_a_french_listing(twilio: TwilioSimulator, sms_command) -> None:
    async def noop(session: AsyncSession, sms: SmsContext) -> str:
        return "ok"

    sms_command("ZZC", noop)
    unknown = await twilio.sms("BONJOUR je voudrais voter")
    assert unknown.text.startswith('Commande inconnue : "BONJOUR"')
    assert "ZZC" in unknown.text and "AIDE" in unknown.text
    empty = await twilio.sms("   ")
    assert empty.text.startswith("Message vide.")
    symbols = await twilio.sms("!!")
    assert "Commande inconnue" in symbols.text


async def test_a_refusal_is_the_reply_and_nothing_is_written(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    async def refuse_after_writing(session: AsyncSession, sms: SmsContext) -> str:
        await audited_write(session, "refus-" + sms.sid)
        raise InvalidInput("Code PIN incorrect : vérifiez les 6 chiffres de votre fiche.")

    sms_command("ZZD", refuse_after_writing)
    reply = await twilio.sms("ZZD 1000190 000000")
    assert reply.status_code == 200
    assert reply.text == "Code PIN incorrect : vérifiez les 6 chiffres de votre fiche."
    sid = (await session.scalars(select(InboundSms.message_sid).where(InboundSms.keyword == "ZZD"))).one()
    assert await tablets_labelled(session, "refus-" + sid) == 0
    assert await events_labelled(session, "refus-" + sid) == 0
    row = await session.get(InboundSms, sid)
    assert row is not None and row.outcome == "refused" and row.reply == reply.text


async def test_an_unexpected_error_rolls_back_and_answers_in_french(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    async def crash(session: AsyncSession, sms: SmsContext) -> str:
        await audited_write(session, "crash-" + sms.sid)
        raise ZeroDivisionError("bug")

    sms_command("ZZE", crash)
    reply = await twilio.sms("ZZE")
    assert reply.status_code == 200
    assert "rien n'a été enregistré" in reply.text
    row = (await session.scalars(select(InboundSms).where(InboundSms.keyword == "ZZE"))).one()
    assert row.outcome == "error"
    assert await tablets_labelled(session, "crash-" + row.message_sid) == 0
    assert await events_labelled(session, "crash-" + row.message_sid) == 0


async def test_a_write_without_audit_event_is_rolled_back(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    async def unaudited(session: AsyncSession, sms: SmsContext) -> str:
        session.add(Tablet(station_code="TEST", label="sans-audit-" + sms.sid))
        return "Fait."

    sms_command("ZZF", unaudited)
    reply = await twilio.sms("ZZF")
    assert "rien n'a été enregistré" in reply.text
    row = (await session.scalars(select(InboundSms).where(InboundSms.keyword == "ZZF"))).one()
    assert await tablets_labelled(session, "sans-audit-" + row.message_sid) == 0


async def test_a_successful_command_commits_its_audited_change(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    async def write(session: AsyncSession, sms: SmsContext) -> str:
        await audited_write(session, "ok-" + sms.sid)
        return "Enregistré."

    sms_command("ZZG", write)
    reply = await twilio.sms("ZZG")
    assert reply.text == "Enregistré."
    row = (await session.scalars(select(InboundSms).where(InboundSms.keyword == "ZZG"))).one()
    assert row.outcome == "ok"
    assert await tablets_labelled(session, "ok-" + row.message_sid) == 1
    assert await events_labelled(session, "ok-" + row.message_sid) == 1


async def test_after_rollback_keeps_what_must_survive_a_refusal(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    """A wrong PIN: the refusal rolls the handler back, but the failed attempt is kept."""

    async def wrong_pin(session: AsyncSession, sms: SmsContext) -> str:
        await audited_write(session, "avant-refus-" + sms.sid)

        async def count_failure(session: AsyncSession) -> None:
            await audited_write(session, "tentative-" + sms.sid)

        sms.after_rollback(count_failure)
        raise Forbidden("Code PIN incorrect.")

    sms_command("ZZH", wrong_pin)
    reply = await twilio.sms("ZZH 000000")
    assert reply.text == "Code PIN incorrect."
    sid = (await session.scalars(select(InboundSms.message_sid).where(InboundSms.keyword == "ZZH"))).one()
    assert await tablets_labelled(session, "avant-refus-" + sid) == 0
    assert await tablets_labelled(session, "tentative-" + sid) == 1
    assert await events_labelled(session, "tentative-" + sid) == 1


async def test_the_pin_is_masked_in_the_stored_body(
    twilio: TwilioSimulator, sms_command, session: AsyncSession
) -> None:
    async def noop(session: AsyncSession, sms: SmsContext) -> str:
        return "ok"

    sms_command("ZZI", noop, redact=redact_words(2))
    await twilio.sms("zzi 1000190 123456")
    row = (await session.scalars(select(InboundSms).where(InboundSms.keyword == "ZZI"))).one()
    assert row.body == "zzi 1000190 ******"
    assert "123456" not in row.body


async def test_long_replies_are_fitted_into_one_gsm_message(twilio: TwilioSimulator, sms_command) -> None:
    async def verbose(session: AsyncSession, sms: SmsContext) -> str:
        return "Réponse très longue « à lire » : " + "être français ça ôte " * 60

    sms_command("ZZJ", verbose)
    reply = await twilio.sms("ZZJ")
    assert len(reply.messages) == 1
    assert is_gsm(reply.text)
    assert gsm_length(reply.text) <= capacity(4)
    assert reply.text.endswith("...")
    assert reply.text.startswith('Réponse très longue "à lire" : etre francais ca ote')


async def test_a_handler_returning_nothing_gets_the_generic_reply(twilio: TwilioSimulator, sms_command) -> None:
    async def silent(session: AsyncSession, sms: SmsContext) -> str:
        return ""

    sms_command("ZZK", silent)
    assert "rien n'a été enregistré" in (await twilio.sms("ZZK")).text


async def test_a_message_without_sid_is_answered_and_not_stored(twilio: TwilioSimulator, session: AsyncSession) -> None:
    before = await session.scalar(select(func.count()).select_from(InboundSms))
    params = {"From": "+33612345678", "To": "+33757000000", "Body": "AIDE"}
    response = await twilio.post("/twilio/sms", params)
    assert response.status_code == 200 and "incomplet" in response.text
    assert await session.scalar(select(func.count()).select_from(InboundSms)) == before
