"""TwiML responses: SMS replies (<Message>) and voice answers (<Say>, <Gather>)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from services.telephony.sms_text import fit_sms
from services.telephony.voice import GOODBYE, LANGUAGE

TWIML_MEDIA_TYPE = "application/xml"
# Statuses kept as they are for Twilio: a refused signature, a wrong address or method. They are
# configuration errors, not a sender's mistake; everything else is answered 200 with a French
# reply, because Twilio shows any other status to nobody but its own error log.
KEPT_STATUSES = frozenset({401, 403, 404, 405})


def twiml_response(twiml: str, status_code: int = 200) -> Response:
    return Response(twiml, status_code=status_code, media_type=TWIML_MEDIA_TYPE)


def sms_reply(text: str) -> Response:
    response = MessagingResponse()
    if text:
        response.message(fit_sms(text))
    return twiml_response(str(response))


def voice_goodbye(text: str) -> str:
    response = VoiceResponse()
    response.say(text, language=LANGUAGE)
    response.say(GOODBYE, language=LANGUAGE)
    response.hangup()
    return str(response)


def error_response(request: Request, status: int, message: str) -> Response:
    """An error on a ``/twilio/`` route, as TwiML (used by the application's error handler)."""
    if status in KEPT_STATUSES:
        return twiml_response(str(MessagingResponse()), status_code=status)
    if "/twilio/voice" in request.url.path:
        return twiml_response(voice_goodbye(message))
    return sms_reply(message)
