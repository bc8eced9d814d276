"""The SMS reply's TwiML is built as a string (`services.telephony.twiml.sms_reply_twiml`): it
must be, byte for byte, what the Twilio SDK's `MessagingResponse` builds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from services.telephony.sms_text import fit_sms
from services.telephony.twiml import sms_reply, sms_reply_twiml

# XML 1.0 characters (what a reply can hold once `fit_sms` has made it GSM-7), and the markup ones.
TEXTS = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200) | st.sampled_from(
    ["", "a & b", "<Message>", "x > y", "« OK K7PX »", "l'été \"dit\"", "\r\n\t"]
)


def sdk(text: str | None) -> str:
    response = MessagingResponse()
    if text is not None:
        response.message(text)
    return str(response)


@settings(max_examples=2000, deadline=None)
@given(TEXTS)
def test_string_twiml_is_the_sdk_twiml(text: str) -> None:
    assert sms_reply_twiml(text) == sdk(text)
    fitted = fit_sms(text) if text else None
    assert sms_reply(text).body.decode() == sdk(fitted)


def test_no_reply_is_an_empty_response() -> None:
    assert sms_reply_twiml(None) == sdk(None) == '<?xml version="1.0" encoding="UTF-8"?><Response />'


@settings(max_examples=2000, deadline=None)
@given(TEXTS, st.integers(min_value=1, max_value=4))
def test_a_fitted_reply_is_sent_as_it_is(text: str, segments: int) -> None:
    """The webhook sends `receive_sms`'s reply without fitting it again: fitting is idempotent."""
    fitted = fit_sms(text, segments)
    assert fit_sms(fitted) == fitted
