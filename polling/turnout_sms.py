"""The polling-day SMS grammar: station opening, turnout, help. Pure parser, no I/O.

A station president sends, from the phone registered for the station:

* ``OUV <code> <PIN>`` — the station is open, e.g. ``OUV 1234566 482913``;
* ``PART <code> <PIN> <heure> <votants>`` — turnout at an hour, e.g. ``PART 1234566 482913 12h 153``
  (the hour may be written ``12h``, ``12H``, ``12h30``, ``12:00``, ``12 h`` or just ``12``);
* ``AIDE`` — the list of commands.

Tolerated, because SMS are typed by tired volunteers on small keypads: any case, accents
(``AÏDE``), separators made of spaces, commas or semicolons in any number, a code or PIN typed in
groups (``123 45 66``, ``482-913``), digits of other scripts, punctuation after the keyword
(``OUV:``), the keyword glued to the code (``PART1234566``), and the long forms ``OUVERTURE``,
``PARTICIPATION``, ``HELP`` and ``?``.

`parse_message(text)` never raises. It returns an `Opening`, a `Turnout`, a `Help`, or an
`SmsError` whose French `message` says exactly what to fix, uses only the GSM 7-bit alphabet and
fits in one SMS (160 characters), so the reply is one cheap message that every phone displays.
The parser checks the SHAPE of the message (including the station code's check digit); whether
the station exists, the PIN is right, the sender is registered and the hour is plausible for the
station is the station service's business.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from polling import codes

EXAMPLE_CODE = "1234566"  # a well-formed code (valid check digit), used in every example
EXAMPLE_PIN = "482913"
EXAMPLE_OPENING = f"OUV {EXAMPLE_CODE} {EXAMPLE_PIN}"
EXAMPLE_TURNOUT = f"PART {EXAMPLE_CODE} {EXAMPLE_PIN} 12h 153"

HELP_REPLY = (
    f"OUV code PIN : ouverture du bureau. PART code PIN heure votants : participation, "
    f"ex. {EXAMPLE_TURNOUT}. Code et PIN : fiche du bureau."
)

MAX_VOTERS_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Opening:
    """``OUV``: the station announces it is open."""

    station_code: str  # canonical, check digit verified
    pin: str  # 6 ASCII digits, not yet compared with the station's PIN


@dataclass(frozen=True, slots=True)
class Turnout:
    """``PART``: the number of voters checked in at the station by a given time of day."""

    station_code: str
    pin: str
    hour: int  # 0–23, local time of the station
    minute: int  # 0–59
    voters: int  # ≥ 0


@dataclass(frozen=True, slots=True)
class Help:
    """``AIDE``: the sender wants the list of commands (reply `HELP_REPLY`)."""


@dataclass(frozen=True, slots=True)
class SmsError:
    """A refused message.

    code: stable machine word (see `ERROR_CODES`); message: the French reply to send back.
    """

    code: str
    message: str


Command = Opening | Turnout | Help
ParseResult = Opening | Turnout | Help | SmsError

ERROR_CODES = frozenset(
    {
        "empty",
        "unknown_command",
        "code_missing",
        "code_characters",
        "code_too_short",
        "code_too_long",
        "code_check_digit",
        "code_after_pin",
        "pin_missing",
        "pin_characters",
        "pin_too_short",
        "pin_too_long",
        "hour_missing",
        "hour_invalid",
        "hour_voters_joined",
        "voters_missing",
        "voters_invalid",
        "too_many",
        "internal_error",
    }
)

_KEYWORDS = {
    "OUV": "OUV",
    "OUVERTURE": "OUV",
    "OUVRIR": "OUV",
    "PART": "PART",
    "PARTICIPATION": "PART",
    "AIDE": "AIDE",
    "HELP": "AIDE",
    "?": "AIDE",
}
_GLUED_KEYWORD = re.compile(r"^(OUVERTURE|OUVRIR|OUV|PARTICIPATION|PART)([0-9].*)$")
_TOKEN_SEPARATORS = re.compile(r"[\s,;]+")
_KEYWORD_PUNCTUATION = ".:!-"
# [0-9], not \d: \d also matches digits of other scripts, which int() may not read.
_HOUR = re.compile(r"^([0-9]{1,2})(?:[H:]([0-9]{2})?)?$")
_HOUR_MARKED = re.compile(r"^[0-9]{1,2}[H:]")
_HOUR_VOTERS_JOINED = re.compile(r"^[0-9]{1,2}[H:][0-9]{3,}$")
_DETACHED_HOUR_MARK = re.compile(r"^[H:][0-9]{0,2}$")


def _plain(text: str) -> str:
    """Upper case ASCII-ish text: accents dropped, digits of any script made ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    out = []
    for character in decomposed:
        if unicodedata.combining(character):
            continue
        if not character.isascii():
            value = unicodedata.decimal(character, None)
            if value is not None:
                character = str(value)
        out.append(character)
    return "".join(out).upper()


def _shown(token: str, limit: int = 12) -> str:
    """What the sender typed, echoed safely: GSM-safe ASCII letters, digits and a few marks."""
    kept = "".join(character for character in token if character.isascii() and (character.isalnum() or character in ":-."))
    if not kept:
        return "?"
    return kept if len(kept) <= limit else kept[: limit - 3] + "..."


def _is_number(token: str) -> bool:
    return token.isascii() and token.isdigit()


def _digits(token: str) -> str:
    """A token with the separators people put inside codes (dashes, dots, slashes) removed."""
    return token.replace("-", "").replace(".", "").replace("/", "").replace("_", "")


def _take_fixed_digits(tokens: list[str], start: int, length: int) -> tuple[str, int]:
    """The field starting at tokens[start] and the index after it.

    A code or PIN typed in groups (« 123 45 66 ») is rebuilt when the groups are all digits and
    add up to exactly `length` digits; otherwise the field is the single token at `start`.
    """
    first = _digits(tokens[start])
    if _is_number(first) and len(first) < length:
        joined, index = first, start + 1
        while index < len(tokens) and len(joined) < length:
            piece = _digits(tokens[index])
            if not _is_number(piece):
                break
            joined += piece
            index += 1
        if len(joined) == length:
            return joined, index
    return first, start + 1


def _error(code: str, message: str) -> SmsError:
    return SmsError(code, message)


def _tokens(text: str) -> list[str]:
    tokens = [token for token in _TOKEN_SEPARATORS.split(_plain(text)) if token]
    if tokens:
        keyword = tokens[0].rstrip(_KEYWORD_PUNCTUATION) or tokens[0]
        glued = _GLUED_KEYWORD.match(keyword)
        if glued:
            tokens[0:1] = [glued.group(1), glued.group(2)]
        else:
            tokens[0] = keyword
    return tokens


def _code_and_pin(tokens: list[str], example: str) -> tuple[str, str, int] | SmsError:
    """Read the station code and PIN that follow the keyword; the index of what comes next."""
    if len(tokens) < 2:
        return _error("code_missing", f"Code de bureau manquant : écrivez par exemple {example}")
    code, index = _take_fixed_digits(tokens, 1, codes.CODE_LENGTH)
    problem = codes.station_code_problem(code)
    if problem is not None:
        if len(code) == codes.PIN_LENGTH and _is_number(code) and index < len(tokens):
            following = _digits(tokens[index])
            if codes.is_valid(following):
                return _error(
                    "code_after_pin",
                    f"Mettez le code du bureau ({codes.CODE_LENGTH} chiffres) avant le PIN "
                    f"({codes.PIN_LENGTH} chiffres) : {example}",
                )
        return _error(f"code_{problem.kind}", problem.message)
    if index >= len(tokens):
        return _error("pin_missing", f"Code PIN manquant : écrivez par exemple {example}")
    if _HOUR_MARKED.match(tokens[index]):  # « PART 1234566 12h 153 »: the PIN was left out
        return _error("pin_missing", f"Code PIN manquant : écrivez par exemple {example}")
    pin, index = _take_fixed_digits(tokens, index, codes.PIN_LENGTH)
    problem = codes.pin_problem(pin)
    if problem is not None:
        return _error(f"pin_{problem.kind}", problem.message)
    return code, pin, index


def _parse_opening(tokens: list[str]) -> ParseResult:
    read = _code_and_pin(tokens, EXAMPLE_OPENING)
    if isinstance(read, SmsError):
        return read
    code, pin, index = read
    if index < len(tokens):
        return _error(
            "too_many",
            f"Texte en trop après le PIN ({_shown(tokens[index])}) : écrivez seulement {EXAMPLE_OPENING}",
        )
    return Opening(code, pin)


def _attach_detached_hour_marks(tokens: list[str]) -> list[str]:
    """« 12 h 153 » → « 12H 153 »: a lone h (or h30, :00) belongs to the number before it."""
    out: list[str] = []
    for token in tokens:
        if out and _DETACHED_HOUR_MARK.match(token) and _is_number(out[-1]) and len(out[-1]) <= 2:
            out[-1] += token
        else:
            out.append(token)
    return out


def _parse_hour(token: str) -> tuple[int, int] | SmsError:
    if _HOUR_VOTERS_JOINED.match(token):
        return _error(
            "hour_voters_joined",
            f"Séparez l'heure et le nombre de votants par un espace : {EXAMPLE_TURNOUT}",
        )
    match = _HOUR.match(token)
    if match is None:
        return _error(
            "hour_invalid",
            f"Heure {_shown(token).replace('H', 'h')} illisible : écrivez par exemple 12h ou 12:00, comme {EXAMPLE_TURNOUT}",
        )
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return _error(
            "hour_invalid",
            f"Heure {_shown(token).replace('H', 'h')} impossible : écrivez une heure de 0h à 23h59, par exemple 12h ou 12h30.",
        )
    return hour, minute


def _parse_turnout(tokens: list[str]) -> ParseResult:
    read = _code_and_pin(tokens, EXAMPLE_TURNOUT)
    if isinstance(read, SmsError):
        return read
    code, pin, index = read
    rest = _attach_detached_hour_marks(tokens[index:])
    if not rest:
        return _error("hour_missing", f"Heure manquante : écrivez par exemple {EXAMPLE_TURNOUT}")
    if len(rest) == 1:
        only = rest[0]
        if _HOUR_VOTERS_JOINED.match(only):
            return _parse_hour(only)  # the « joined » advice
        if _HOUR_MARKED.match(only):
            return _error(
                "voters_missing", f"Nombre de votants manquant : écrivez par exemple {EXAMPLE_TURNOUT}"
            )
        return _error("hour_missing", f"Heure manquante : écrivez par exemple {EXAMPLE_TURNOUT}")
    hour = _parse_hour(rest[0])
    if isinstance(hour, SmsError):
        return hour
    voters = rest[1]
    if not _is_number(voters):
        return _error(
            "voters_invalid",
            f"Nombre de votants {_shown(voters)} illisible : écrivez seulement des chiffres, "
            f"comme {EXAMPLE_TURNOUT}",
        )
    if len(voters.lstrip("0")) > MAX_VOTERS_DIGITS:
        return _error(
            "voters_invalid",
            f"Nombre de votants {_shown(voters)} trop grand : vérifiez-le, comme {EXAMPLE_TURNOUT}",
        )
    if len(rest) > 2:
        return _error(
            "too_many",
            f"Texte en trop ({_shown(rest[2])}) : écrivez le nombre de votants sans espace, "
            f"comme {EXAMPLE_TURNOUT}",
        )
    return Turnout(code, pin, hour[0], hour[1], int(voters))


def _parse(text: object) -> ParseResult:
    if not isinstance(text, str):
        return _error("empty", "Message vide : envoyez AIDE pour la liste des commandes.")
    tokens = _tokens(text)
    if not tokens:
        return _error("empty", "Message vide : envoyez AIDE pour la liste des commandes.")
    keyword = _KEYWORDS.get(tokens[0])
    if keyword == "AIDE":
        return Help()
    if keyword == "OUV":
        return _parse_opening(tokens)
    if keyword == "PART":
        return _parse_turnout(tokens)
    return _error(
        "unknown_command",
        f"Commande {_shown(tokens[0])} inconnue : envoyez OUV, PART ou AIDE, par exemple {EXAMPLE_TURNOUT}",
    )


def parse_message(text: object) -> ParseResult:
    """Parse one inbound SMS. Never raises; see the module docstring for the grammar.

    Input: the raw message body (anything; non-strings are refused with a French message).
    Output: `Opening`, `Turnout`, `Help`, or `SmsError(code, message)`.
    """
    try:
        return _parse(text)
    except Exception:  # noqa: BLE001 — a volunteer's SMS must always get an answer.
        # Never reached by the property tests (they assert no « internal_error »); a last guard.
        return _error("internal_error", f"Message non compris : envoyez AIDE, ou par exemple {EXAMPLE_TURNOUT}")


def first_word(text: str) -> str:
    """The command word of a message, normalised (« aïde » → « AIDE », « Part: » → « PART »).

    For the telephony gateway's dispatch: the words this module handles are `KEYWORDS`.
    """
    tokens = _tokens(text) if isinstance(text, str) else []
    return _KEYWORDS.get(tokens[0], tokens[0]) if tokens else ""


KEYWORDS = frozenset({"OUV", "PART", "AIDE"})


def format_opening(command: Opening) -> str:
    """The canonical text of an opening: ``OUV 1234566 482913``."""
    return f"OUV {command.station_code} {command.pin}"


def format_turnout(command: Turnout) -> str:
    """The canonical text of a turnout report: ``PART 1234566 482913 12h 153`` (``12h30`` with minutes)."""
    minutes = f"{command.minute:02d}" if command.minute else ""
    return f"PART {command.station_code} {command.pin} {command.hour}h{minutes} {command.voters}"
