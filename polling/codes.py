"""Station codes and PINs: digits only, typeable on any phone keypad, checked before use.

Pure module (no database, no I/O). The station service allocates a sequence number per station
and stores `generate(sequence)`; every channel (tablet pairing, SMS, voice server, paper report)
accepts what a volunteer types only after `normalise()` has recognised it as a well-formed code.

Station code layout — 7 digits, e.g. ``3718284``:

* digits 1–6: the station's *allocation number*, 100000–999999. It is derived from the
  station's sequence number (1, 2, 3… in the order the stations are created) by a fixed public
  affine permutation, so that consecutive stations do not get neighbouring codes: the 15,000 or
  so real codes are spread evenly over 900,000 possible numbers, and a code typed with two or
  more wrong digits lands on a real station only about once in 600 tries (and the PIN must still
  match). The permutation is not a secret and protects nothing; it only spreads the codes.
* the first digit is never 0, so that spreadsheet software (CSV import of staff lists) cannot
  silently drop a leading zero;
* digit 7: a Damm check digit. Damm's quasigroup detects EVERY single-digit error and EVERY
  transposition of two adjacent digits (proved by the tests, both on the table itself and by
  brute force over real codes), so the usual typing mistakes are rejected instead of reaching
  another station.

Why no department prefix: department codes are not all digits (``2A``, ``2B``) nor of one
length (``33``, ``971``), and a station's department is printed next to its code on every
sheet anyway. A uniform layout also keeps every code the same length on the keypad and in the
voice server (« tapez les 7 chiffres du code du bureau »).

PINs: 6 random digits from `secrets`, never a trivial pattern (000000, 123456, 121212…) and
never a piece of the station's own code.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# --- Damm check digit ---------------------------------------------------------------------------

# The order-10 weakly totally anti-symmetric quasigroup of H. Michael Damm (2004), as published.
# Row = interim digit, column = next digit.
DAMM_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def _damm_interim(digits: str) -> int:
    interim = 0
    for character in digits:
        interim = DAMM_TABLE[interim][ord(character) - 48]
    return interim


def damm_check_digit(digits: str) -> str:
    """The Damm check digit of a string of ASCII digits ('572' → '4')."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"only ASCII digits have a check digit: {digits!r}")
    return str(_damm_interim(digits))


def damm_is_valid(digits: str) -> bool:
    """True when a string of ASCII digits ends with its correct Damm check digit."""
    return len(digits) >= 2 and digits.isascii() and digits.isdigit() and _damm_interim(digits) == 0


# --- Station codes ------------------------------------------------------------------------------

CODE_LENGTH = 7
FIRST_NUMBER = 100_000
NUMBER_SPAN = 900_000  # allocation numbers 100000…999999
MAX_SEQUENCE = NUMBER_SPAN
# Affine permutation of the allocation space: number = FIRST + (sequence·A + B) mod SPAN.
# A is prime to 900,000 = 2⁵·3²·5⁵ (neither even, nor a multiple of 3 or 5), so it is a bijection.
_SPREAD_MULTIPLIER = 370_373
_SPREAD_OFFSET = 271_828
_SPREAD_INVERSE = pow(_SPREAD_MULTIPLIER, -1, NUMBER_SPAN)

# What people put between digit groups when they copy a code: spaces (including the no-break
# spaces of word processors), dashes of every kind, dots, slashes, underscores.
_SEPARATORS = frozenset(" \t\r\n\u00a0\u202f\u2007-‐‑‒–—−._/")


def generate(sequence: int) -> str:
    """The station code of the station allocated with `sequence` (1 ≤ sequence ≤ 900,000).

    Deterministic and injective: two sequence numbers never give the same code.
    `sequence_of(generate(n)) == n`.
    """
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"station sequence must be an integer from 1 to {MAX_SEQUENCE}: {sequence!r}")
    number = FIRST_NUMBER + ((sequence - 1) * _SPREAD_MULTIPLIER + _SPREAD_OFFSET) % NUMBER_SPAN
    body = str(number)
    return body + damm_check_digit(body)


def sequence_of(code: str) -> int:
    """The sequence number a valid station code was generated from (inverse of `generate`)."""
    if not is_valid(code):
        raise ValueError(f"not a valid station code: {code!r}")
    number = int(code[:-1]) - FIRST_NUMBER
    return (number - _SPREAD_OFFSET) * _SPREAD_INVERSE % NUMBER_SPAN + 1


def is_valid(code: str) -> bool:
    """True for a station code in canonical form: 7 ASCII digits, first not 0, check digit right."""
    return (
        isinstance(code, str)
        and len(code) == CODE_LENGTH
        and code[0] != "0"
        and damm_is_valid(code)
    )


def _ascii_digits(text: str) -> str:
    """Digits of any script (full-width, Arabic-Indic…) as ASCII; other characters unchanged."""
    out = []
    for character in text:
        if character.isascii():
            out.append(character)
            continue
        value = unicodedata.decimal(character, None)
        out.append(str(value) if value is not None else character)
    return "".join(out)


def _strip_separators(text: str) -> str:
    return "".join(character for character in _ascii_digits(text) if character not in _SEPARATORS)


def _shown(text: str, limit: int = 12) -> str:
    """A short, printable echo of what the user typed, safe to put in a reply."""
    kept = "".join(character for character in text if character.isascii() and (character.isalnum() or character in "-."))
    if not kept:
        return "?"
    return kept if len(kept) <= limit else kept[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class CodeProblem:
    """Why a typed station code or PIN was refused.

    kind: stable machine word — ``missing``, ``characters``, ``too_short``, ``too_long``,
    ``check_digit`` (a wrong digit, a swap, or a leading 0).
    message: the French sentence to show or send back, saying what to fix.
    """

    kind: str
    message: str


def station_code_problem(text: str) -> CodeProblem | None:
    """None when `text` is a station code (separators allowed), else why not, in French.

    E.g. « Code de bureau 1234568 erroné : un chiffre est faux, vérifiez les 7 chiffres sur la
    fiche du bureau. » The messages use only the GSM 7-bit alphabet and fit in one SMS.
    """
    compact = _strip_separators(text if isinstance(text, str) else "")
    if not compact:
        return CodeProblem("missing", f"Code de bureau manquant : il a {CODE_LENGTH} chiffres, voir la fiche du bureau.")
    if not (compact.isascii() and compact.isdigit()):
        return CodeProblem(
            "characters", f"Code de bureau {_shown(compact)} invalide : il ne contient que des chiffres."
        )
    if len(compact) < CODE_LENGTH:
        return CodeProblem("too_short", f"Code de bureau {compact} incomplet : il a {CODE_LENGTH} chiffres.")
    if len(compact) > CODE_LENGTH:
        return CodeProblem("too_long", f"Code de bureau {_shown(compact)} trop long : il a {CODE_LENGTH} chiffres.")
    if compact[0] == "0" or not damm_is_valid(compact):
        return CodeProblem(
            "check_digit",
            f"Code de bureau {compact} erroné : un chiffre est faux, "
            f"vérifiez les {CODE_LENGTH} chiffres sur la fiche du bureau.",
        )
    return None


def normalise(text: str) -> str | None:
    """The canonical station code in what a user typed (« 371 8284 », « 371-82-84 »), or None.

    None means the input is not a valid code; `station_code_problem` says why, in French.
    """
    if not isinstance(text, str):
        return None
    compact = _strip_separators(text)
    return compact if is_valid(compact) else None


def display(code: str) -> str:
    """A valid code grouped for reading aloud and printing: '371 82 84'."""
    if not is_valid(code):
        raise ValueError(f"not a valid station code: {code!r}")
    return f"{code[:3]} {code[3:5]} {code[5:]}"


# --- PINs ---------------------------------------------------------------------------------------

PIN_LENGTH = 6


def _is_step_sequence(digits: str) -> bool:
    """012345, 456789, 890123 (wrapping), 987654…: each digit one more (or one less) than the last."""
    steps = {(int(b) - int(a)) % 10 for a, b in zip(digits, digits[1:])}
    return steps in ({1}, {9})


def is_trivial_pin(pin: str) -> bool:
    """True for a PIN that someone could guess or that looks like a placeholder.

    Refused: fewer than three distinct digits (000000, 111112, 121212, 112211), runs of
    consecutive digits up or down (123456, 987654, 890123), and repeated blocks (123123, 147147).
    """
    if len(set(pin)) < 3:
        return True
    if _is_step_sequence(pin):
        return True
    half = len(pin) // 2
    if len(pin) % 2 == 0 and pin[:half] == pin[half:]:
        return True
    third = len(pin) // 3
    return len(pin) % 3 == 0 and pin == pin[:third] * 3


def generate_pin(avoid: Iterable[str] = ()) -> str:
    """A fresh 6-digit PIN from the OS's secure generator, never trivial.

    `avoid`: strings the PIN must not appear in (typically the station's own code, so that the
    PIN is not simply copied from it) nor equal to (PINs already given to the same station).
    """
    avoided = [text for text in avoid if text]
    while True:
        pin = f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"
        if is_trivial_pin(pin):
            continue
        if any(pin in text for text in avoided):
            continue
        return pin


def normalise_pin(text: str) -> str | None:
    """The 6 ASCII digits of a PIN as typed (spaces and dashes allowed), or None."""
    if not isinstance(text, str):
        return None
    compact = _strip_separators(text)
    if len(compact) == PIN_LENGTH and compact.isascii() and compact.isdigit():
        return compact
    return None


def pin_problem(text: str) -> CodeProblem | None:
    """None when `text` has the shape of a PIN, else why not, in French.

    Never echoes the digits (a reply may be read over someone's shoulder) and, of course, never
    says whether the PIN is the right one: that is the station service's business.
    """
    compact = _strip_separators(text if isinstance(text, str) else "")
    if not compact:
        return CodeProblem("missing", f"Code PIN manquant : il a {PIN_LENGTH} chiffres, voir la fiche du bureau.")
    if not (compact.isascii() and compact.isdigit()):
        return CodeProblem("characters", f"Code PIN invalide : il ne contient que des chiffres ({PIN_LENGTH}).")
    if len(compact) < PIN_LENGTH:
        return CodeProblem(
            "too_short", f"Code PIN de {len(compact)} chiffres : il en a {PIN_LENGTH}, voir la fiche du bureau."
        )
    if len(compact) > PIN_LENGTH:
        return CodeProblem(
            "too_long", f"Code PIN trop long : il a {PIN_LENGTH} chiffres, voir la fiche du bureau."
        )
    return None


def pins_match(expected: str, given: str) -> bool:
    """Constant-time comparison of a stored PIN with what was typed (after normalisation)."""
    typed = normalise_pin(given)
    if typed is None or not isinstance(expected, str):
        return False
    return hmac.compare_digest(expected.encode(), typed.encode())
