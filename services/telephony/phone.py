"""Phone numbers: E.164 normalisation and masking.

Staff phone numbers arrive in every shape (a CSV typed by a departmental commission:
« 06 12 34 56 78 », « 0033 6.12.34.56.78 », « +33 (0)6 12 34 56 78 »), while Twilio always
sends E.164 (``+33612345678``). Both sides go through `normalise_phone`, so that « is this
sender registered for the station? » is a plain string comparison.

The overseas departments share the French ten-digit numbering plan but have their own
country codes: a Guadeloupe mobile typed « 0690 12 34 56 » is ``+590690123456`` in E.164,
not ``+33690…`` (which does not exist). The demo election has department 971; getting this
wrong would make every Guadeloupe president an « unregistered number » on results night.

A phone number is personal data: logs and audit events show `mask_phone(number)`
(``+336******78``), never the number itself.
"""

from __future__ import annotations

import re

from services.errors import InvalidInput
from services.events import Actor

# French national prefixes (ten-digit plan, leading 0) that belong to an overseas country code.
# Source: ARCEP numbering plan (zones 0262/0263/0269/059x and the overseas mobile blocks).
OVERSEAS_PREFIXES: dict[str, str] = {
    "0590": "590",  # Guadeloupe, Saint-Martin, Saint-Barthélemy (fixed)
    "0690": "590",  # … (mobile)
    "0691": "590",
    "0594": "594",  # Guyane (fixed)
    "0694": "594",  # Guyane (mobile)
    "0596": "596",  # Martinique (fixed)
    "0696": "596",  # Martinique (mobile)
    "0697": "596",
    "0262": "262",  # La Réunion (fixed)
    "0263": "262",
    "0692": "262",  # La Réunion (mobile)
    "0693": "262",
    "0269": "262",  # Mayotte (fixed)
    "0639": "262",  # Mayotte (mobile)
}

_SEPARATORS = re.compile(r"[\s.\-/()\u00a0\u202f]")
_TRUNK_ZERO = re.compile(r"^(\+\d{1,3})\s*\(\s*0\s*\)")  # « +33 (0)6 … », « +44 (0)20 … »


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone_number"


def _french_national(national: str) -> str:
    """E.164 of a French ten-digit national number ("0" + 9 digits)."""
    country = OVERSEAS_PREFIXES.get(national[:4], "33")
    return f"+{country}{national[1:]}"


def normalise_phone(raw: str) -> str:
    """The E.164 form of a phone number, or `InvalidPhoneNumber` (French message).

    >>> normalise_phone("06 12 34 56 78")
    '+33612345678'
    >>> normalise_phone("0690 12 34 56")
    '+590690123456'
    >>> normalise_phone("+33 (0)6 12 34 56 78")
    '+33612345678'

    Accepted: French national numbers (10 digits starting with 0), international numbers
    with ``+`` or ``00``, and French numbers written ``33…`` without the ``+`` (spreadsheets
    drop it). Anything else is refused rather than guessed.
    """
    text = _TRUNK_ZERO.sub(r"\1", (raw or "").strip())
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit():
            raise _invalid(raw)
        if digits.startswith("33"):
            national = digits[2:]
            if national.startswith("0"):  # « +33 06… »: the trunk zero typed after the country code
                national = national[1:]
            if len(national) != 9 or national[0] == "0":
                raise _invalid(raw)
            # « +33 690… » is a Guadeloupe number written with the metropolitan code.
            return _french_national("0" + national)
        if not 7 <= len(digits) <= 15 or digits[0] == "0":
            raise _invalid(raw)
        return "+" + digits
    if not text.isdigit():
        raise _invalid(raw)
    if len(text) == 10 and text[0] == "0" and text[1] != "0":
        return _french_national(text)
    if len(text) == 11 and text.startswith("33") and text[2] != "0":
        return _french_national("0" + text[2:])
    raise _invalid(raw)


def _invalid(raw: str) -> InvalidPhoneNumber:
    shown = (raw or "").strip()[:24]
    if not shown:
        return InvalidPhoneNumber("Numéro de téléphone manquant.", code="missing_phone_number")
    return InvalidPhoneNumber(
        f"Numéro de téléphone invalide : « {shown} ». Écrivez un numéro français à 10 chiffres "
        "(06 12 34 56 78) ou un numéro international commençant par + (+33 6 12 34 56 78).",
        detail={"number": shown},
    )


def try_normalise_phone(raw: str) -> str:
    """E.164 when possible, else the input unchanged (short codes, alphanumeric senders)."""
    try:
        return normalise_phone(raw)
    except InvalidPhoneNumber:
        return (raw or "").strip()


def mask_phone(number: str) -> str:
    """The number as logs and audit events may show it: ``+33612345678`` → ``+336******78``.

    Keeps the country code (and the first digit of a French number: mobile or not) and the
    last two digits, enough for a commission to recognise « the president's mobile ending in
    78 » on a dashboard, not enough to call it.
    """
    value = (number or "").strip()
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def phone_actor(number: str, *, role: str, scope: str) -> Actor:
    """The audit actor of something done by SMS or phone: the masked number, the role, the station."""
    return Actor(id=f"phone:{mask_phone(number)}", role=role, scope=scope)
