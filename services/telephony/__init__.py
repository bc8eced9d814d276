"""The telephony gateway: Twilio SMS and voice webhooks, the command registry, outbound SMS.

Domain packages register here what the stations can do by SMS and by phone; see
docs/telephony.md for a complete example. The public API:

    from services.telephony import (
        sms_command, SmsContext, redact_words,              # SMS commands
        register_voice_flow, VoiceFlow, DigitsField, FieldsFrom, VoiceContext, EndCall, say_digits,
        normalise_phone, mask_phone, phone_actor,           # phone numbers
        sms_gateway, SmsGateway,                            # outbound SMS
    )
"""

from services.telephony.gateway import MemorySmsGateway, SmsGateway, sms_gateway
from services.telephony.phone import InvalidPhoneNumber, mask_phone, normalise_phone, phone_actor
from services.telephony.registry import SmsCommand, SmsContext, redact_words, sms_command, sms_commands
from services.telephony.voice import (
    DigitsField,
    EndCall,
    FieldsFrom,
    VoiceContext,
    VoiceFlow,
    register_voice_flow,
    say_digits,
    voice_flows,
)

__all__ = [
    "DigitsField",
    "EndCall",
    "FieldsFrom",
    "InvalidPhoneNumber",
    "MemorySmsGateway",
    "SmsCommand",
    "SmsContext",
    "SmsGateway",
    "VoiceContext",
    "VoiceFlow",
    "mask_phone",
    "normalise_phone",
    "phone_actor",
    "redact_words",
    "register_voice_flow",
    "say_digits",
    "sms_command",
    "sms_commands",
    "sms_gateway",
    "voice_flows",
]
