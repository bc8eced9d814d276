"""TwiML responses: SMS replies (<Message>) and voice answers (<Say>, <Gather>)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from twilio.twiml.voice_response import VoiceResponse

from services.telephony.sms_text import fit_sms
from services.telephony.voice import GOODBYE, LANGUAGE, speakable

TWIML_MEDIA_TYPE = "application/xml"
# Statuses kept as they are: a refused signature, a wrong address or method. They answer a forger
# or a misconfiguration, not a sender's mistake, and get the usual JSON error (for the operator
# reading Twilio's debugger). Everything else is answered 200 with a French TwiML reply, because
# Twilio shows any other status to nobody but its own error log.
KEPT_STATUSES = frozenset({401, 403, 404, 405})


def twiml_response(twiml: str, status_code: int = 200) -> Response:
    return Response(twiml, status_code=status_code, media_type=TWIML_MEDIA_TYPE)


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def _escape_text(text: str) -> str:
    # What ElementTree (hence the SDK's `MessagingResponse`) escapes in element text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if ("&" in text or "<" in text or ">" in text) else text


def sms_reply_twiml(text: str | None) -> str:
    """The TwiML of an SMS reply, byte for byte what the SDK's ``MessagingResponse`` gives (with
    ``.message(text)`` unless `text` is None; a test compares them), built as a string: on
    results night every message is answered, and the SDK's element tree costs more than the
    rest of the reply."""
    if text is None:
        return _XML_DECLARATION + "<Response />"
    if not text:
        return _XML_DECLARATION + "<Response><Message /></Response>"
    return f"{_XML_DECLARATION}<Response><Message>{_escape_text(text)}</Message></Response>"


def sms_reply(text: str) -> Response:
    return twiml_response(sms_reply_twiml(fit_sms(text) if text else None))


def voice_goodbye(text: str) -> str:
    response = VoiceResponse()
    response.say(speakable(text), language=LANGUAGE)
    response.say(GOODBYE, language=LANGUAGE)
    response.hangup()
    return str(response)


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """An error on a ``/twilio/`` route (used by the application's error handler)."""
    if status in KEPT_STATUSES:
        return JSONResponse({"code": code, "message": message}, status_code=status)
    if "/twilio/voice" in request.url.path:
        return twiml_response(voice_goodbye(message))
    return sms_reply(message)
