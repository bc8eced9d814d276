"""The results-night SMS grammar: parser, replies, read-back and confirmation codes.

Pure module: no database, no network, no clock. The telephony handler (results/sms.py, written
later) stores the inbound message, calls `parse_sms`, applies the outcome and sends the reply
text this module builds.

## The grammar (case-insensitive; separators: spaces, commas or semicolons, any number of them)

    T<round> <station code> <PIN> V<émargements> B<blank> N<null> <votes 1> … <votes k> [E<euros>]

- `T1` (or `T 1`): the round number;
- the station code: digits only, checked by the validator passed in (the check digit belongs
  to polling/codes.py; this module does not import polling);
- the PIN: exactly `pin_length` digits (6 by default); never echoed in any reply;
- `V412`, `B3`, `N2` (also `V 412`, `V:412`, `V=412`): voters who signed (émargements), blank and
  null ballots. The letters make them unambiguous, so they may come in any order, before or
  after the candidate figures;
- the untagged numbers are the candidates' votes, exactly k of them, in ballot order;
- `E…`, optional and last: the contributions collected, in euros. Accepted: `E1250`, `E1250,50`,
  `E1250.50`, `E12,5` (= 12,50 €), `E1 250` and `E1 250,50` (groups of exactly three digits
  after a space), an optional trailing `€`, `EUR` or `EUROS`. Refused as ambiguous: `E1.250` and
  `E1,250` (thousands or decimals?). Because E is last, a comma after it is read as the decimal
  comma even when the rest of the message uses commas as separators.

Other messages: `OK <code>` (or `OK<code>`) confirms the read-back; `AIDE` (or `?`) asks for the
format and the ballot order.

## Replies

Every reply this module writes is French, fits the GSM-7 alphabet (accents such as é, è, à are
in it; ç, ê, «, », the narrow no-break space are folded by `to_gsm7`), so that a segment holds
160 characters instead of 70. Rejections say exactly what to fix, with the figures received.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from random import Random

from results.report import ReportContext, Severity, StationReport, check_report

__all__ = [
    "CONFIRMATION_ALPHABET",
    "CONFIRMATION_MINUTES",
    "ConfirmMessage",
    "HelpRequest",
    "ParsedSms",
    "Rejection",
    "RejectionCode",
    "ReportMessage",
    "format_report_sms",
    "help_text",
    "is_gsm7",
    "new_confirmation_code",
    "parse_sms",
    "readback_text",
    "sms_segments",
    "to_gsm7",
]

# ---------------------------------------------------------------------------------------------
# GSM-7 (3GPP TS 23.038): what fits in a 160-character SMS segment.

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"  # each costs two septets (escape + character)
_GSM7_BASIC_SET = frozenset(GSM7_BASIC)
_GSM7_SET = _GSM7_BASIC_SET | frozenset(GSM7_EXTENSION)

_FOLD = {
    "ç": "c", "â": "a", "ê": "e", "ë": "e", "î": "i", "ï": "i", "ô": "o", "û": "u", "ÿ": "y",
    "À": "A", "Â": "A", "È": "E", "Ê": "E", "Ë": "E", "Î": "I", "Ï": "I", "Ô": "O", "Ù": "U",
    "Û": "U", "Ÿ": "Y", "œ": "oe", "Œ": "OE", "«": '"', "»": '"', "“": '"', "”": '"', "„": '"',
    "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\t": " ", "°": "o",
}


def to_gsm7(text: str) -> str:
    """Fold a French text into the GSM-7 alphabet: 'reçus « 1 250 »' -> 'recus " 1 250 "'.

    Letters outside GSM-7 lose their accent (ç -> c, ê -> e); typographic quotes and spaces become
    plain ones; anything still outside the alphabet becomes '?'. Idempotent.
    """
    if _GSM7_SET.issuperset(text):  # the common case (every read-back), checked in C
        return text
    out: list[str] = []
    for char in text:
        if char in _GSM7_SET:
            out.append(char)
            continue
        folded = _FOLD.get(char)
        if folded is None:
            stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            folded = stripped if stripped and all(c in _GSM7_SET for c in stripped) else "?"
        out.append(folded)
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return _GSM7_SET.issuperset(text)


def sms_segments(text: str) -> int:
    """Number of SMS segments the text needs: GSM-7 160 / 153 per concatenated segment (extension
    characters count twice), otherwise UCS-2 70 / 67 (UTF-16 code units)."""
    if is_gsm7(text):
        septets = len(text) + (0 if _GSM7_BASIC_SET.issuperset(text) else sum(1 for char in text if char not in _GSM7_BASIC_SET))
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


# ---------------------------------------------------------------------------------------------
# Confirmation codes.

# 20 characters that cannot be mistaken for one another when read on a small screen and typed
# on a phone keypad: no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, U/V, and no G (read as 6).
# 20^4 = 160,000 codes.
CONFIRMATION_ALPHABET = "ACEFHJKMNPRTWXY34679"
CONFIRMATION_LENGTH = 4
CONFIRMATION_MINUTES = 30


def new_confirmation_code(rng: Random | None = None) -> str:
    """A fresh 4-character confirmation code. Input: an optional `random.Random` (tests pass a
    seeded one); by default the system's cryptographic source. Output: e.g. 'K7PX'."""
    chooser = rng.choice if rng is not None else secrets.choice
    return "".join(chooser(CONFIRMATION_ALPHABET) for _ in range(CONFIRMATION_LENGTH))


# ---------------------------------------------------------------------------------------------
# Parse results.


@dataclass(frozen=True, slots=True)
class ReportMessage:
    """A well-formed results SMS. The PIN is kept out of `repr` (logs)."""

    round_number: int
    station_code: str
    pin: str = field(repr=False)
    report: StationReport


@dataclass(frozen=True, slots=True)
class ConfirmMessage:
    code: str


@dataclass(frozen=True, slots=True)
class HelpRequest:
    pass


class RejectionCode(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    UNKNOWN_COMMAND = "unknown_command"
    MISSING_ROUND = "missing_round"
    BAD_ROUND = "bad_round"
    WRONG_ROUND = "wrong_round"
    MISSING_STATION_CODE = "missing_station_code"
    BAD_STATION_CODE = "bad_station_code"
    INVALID_STATION_CODE = "invalid_station_code"
    MISSING_PIN = "missing_pin"
    BAD_PIN = "bad_pin"
    MISSING_FIELD = "missing_field"
    DUPLICATE_FIELD = "duplicate_field"
    BAD_NUMBER = "bad_number"
    UNKNOWN_WORD = "unknown_word"
    WRONG_CANDIDATE_COUNT = "wrong_candidate_count"
    BAD_AMOUNT = "bad_amount"
    BALLOTS_ABOVE_SIGNATURES = "ballots_above_signatures"
    MISSING_CONFIRMATION_CODE = "missing_confirmation_code"
    BAD_CONFIRMATION_CODE = "bad_confirmation_code"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that cannot be used as sent; `reply` is the French SMS that says what to fix
    (GSM-7, at most 3 segments). `codes` lists every problem found, the first is `code`."""

    codes: tuple[RejectionCode, ...]
    reply: str

    @property
    def code(self) -> RejectionCode:
        return self.codes[0]


ParsedSms = ReportMessage | ConfirmMessage | HelpRequest | Rejection

MAX_MESSAGE_CHARS = 1600  # Twilio's limit for an inbound body
MAX_FIGURE_DIGITS = 6  # a station has at most a few thousand voters; 7+ digits is a typo
MAX_EURO_DIGITS = 7
MAX_REPLY_SEGMENTS = 3
_SEPARATOR_CHARS = " ,;\t\r\n"
_SPLIT = re.compile(r"([ ,;\t\r\n]+)")
_DIGITS = re.compile(r"[0-9]+")
_TAGGED = re.compile(r"([VBN])[:=]?(.*)")
# A tagged figure: the letter alone (the number follows), or the letter then something that
# starts like a number ('V412', 'V:412', 'V-3', 'V4O2' with a letter O typed for a zero).
_TAGGED_FIGURE = re.compile(r"([VBN])[:=]?(|-?[0-9][0-9A-Z.,-]*|[0-9O]+)")
_FIELD_NAMES = {
    "V": ("le nombre d'émargements", "V412"),
    "B": ("le nombre de bulletins blancs", "B3 (B0 s'il n'y en a pas)"),
    "N": ("le nombre de bulletins nuls", "N2 (N0 s'il n'y en a pas)"),
}
_FORMAT_HINT = "Envoyez AIDE pour le format."


def _echo(token: str, limit: int = 12) -> str:
    """A token quoted back to the sender, short and GSM-7.

    Double quotes inside the token become single ones, so the echo has exactly two and
    the sender (and anyone reading the log) sees where the quoted text ends."""
    token = to_gsm7(token).replace('"', "'")
    return '"' + (token if len(token) <= limit else token[: limit - 1] + ".") + '"'


def _reply(problems: Sequence[str], closing: str = "") -> str:
    """Join problems (each a sentence) and a closing hint, within MAX_REPLY_SEGMENTS."""
    chosen: list[str] = []
    for problem in problems:
        candidate = " ".join([*chosen, problem])
        if chosen and sms_segments(to_gsm7(candidate)) > MAX_REPLY_SEGMENTS - 1:
            remaining = len(problems) - len(chosen)
            chosen.append(f"(et {remaining} autre{'s' if remaining > 1 else ''} erreur{'s' if remaining > 1 else ''})")
            break
        chosen.append(problem)
    text = " ".join(chosen)
    if closing and sms_segments(to_gsm7(f"{text} {closing}")) <= MAX_REPLY_SEGMENTS:
        text = f"{text} {closing}"
    return to_gsm7(text)


def _reject(codes: Sequence[RejectionCode], problems: Sequence[str], closing: str = _FORMAT_HINT) -> Rejection:
    return Rejection(tuple(codes), _reply(problems, closing))


def _read_number(text: str) -> int | None:
    if _DIGITS.fullmatch(text) and len(text) <= MAX_FIGURE_DIGITS:
        return int(text)
    return None


def _number_problem(label: str, raw: str) -> str:
    """Why `raw` is not a usable figure, in French."""
    if raw.startswith("-") and _DIGITS.fullmatch(raw[1:]):
        return f"{label} : nombre négatif impossible ({_echo(raw)}), écrivez un nombre positif ou 0."
    if _DIGITS.fullmatch(raw):
        return f"{label} : nombre trop grand ({_echo(raw)}), {MAX_FIGURE_DIGITS} chiffres au plus."
    return f"{label} : {_echo(raw)} n'est pas un nombre, écrivez seulement des chiffres (0 et non la lettre O)."


def _parse_amount(raw: str) -> tuple[int | None, str | None]:
    """Euros after E -> (cents, None) or (None, French problem)."""
    text = raw.strip(_SEPARATOR_CHARS)
    for suffix in ("EUROS", "EURO", "EUR", "€"):
        if text.endswith(suffix):
            text = text[: -len(suffix)].rstrip(_SEPARATOR_CHARS)
            break
    example = "par exemple E612 ou E612,50"
    if not text:
        return None, f"E sans montant : indiquez les euros collectés, {example}, ou retirez E."
    # Canonical separators: a run containing a comma is a decimal comma; a run of spaces is a
    # thousands separator; a semicolon cannot be part of an amount.
    if ";" in text:
        return None, f"Le montant E doit être le dernier élément du message, {example}."
    canonical = re.sub(r"[ \t\r\n]*,[ ,\t\r\n]*", ",", text)
    canonical = re.sub(r"[ \t\r\n]+", " ", canonical)
    match = re.fullmatch(r"([0-9]{1,3}(?: [0-9]{3})+|[0-9]+)(?:[,.]([0-9]{1,2}))?", canonical)
    if match:
        whole = match.group(1).replace(" ", "")
        if len(whole.lstrip("0")) > MAX_EURO_DIGITS:
            return None, f"Montant E trop grand ({_echo(canonical)} euros) : vérifiez-le, {example}."
        decimals = (match.group(2) or "").ljust(2, "0")
        return int(whole) * 100 + int(decimals), None
    if re.fullmatch(r"[0-9]{1,3}[.,][0-9]{3}", canonical):
        value = canonical.replace(",", "").replace(".", "")
        return None, (
            f"Montant E ambigu ({_echo(canonical)}) : écrivez E{int(value)} pour {int(value)} euros, "
            f"ou E{canonical[:-1].replace('.', ',')} pour des centimes."
        )
    if re.fullmatch(r"[0-9 ,.]+", canonical) and " " in canonical:
        return None, (
            f"Montant E illisible ({_echo(canonical)}) : E doit être le dernier élément, "
            f"écrit sans espace ou par groupes de 3 chiffres, {example}."
        )
    return None, f"Montant E illisible ({_echo(canonical)}) : écrivez des chiffres, {example}."


def _parse_confirmation(tokens: list[str]) -> ParsedSms:
    head = tokens[0]
    rest = tokens[1:]
    attached = head[2:].lstrip(":=")
    code = attached if attached else (rest[0] if len(rest) == 1 else None)
    example = "par exemple OK K7PX"
    if not attached and not rest:
        return _reject(
            [RejectionCode.MISSING_CONFIRMATION_CODE],
            [f"Code de confirmation manquant : répondez OK suivi des 4 caractères reçus, {example}."],
            "",
        )
    if (attached and rest) or code is None:
        return _reject(
            [RejectionCode.BAD_CONFIRMATION_CODE],
            [f"Après OK, écrivez seulement le code de 4 caractères reçu, {example}."],
            "",
        )
    if len(code) != CONFIRMATION_LENGTH or any(char not in CONFIRMATION_ALPHABET for char in code):
        return _reject(
            [RejectionCode.BAD_CONFIRMATION_CODE],
            [f"Code de confirmation {_echo(code)} incorrect : recopiez les 4 caractères reçus, {example}."],
            "",
        )
    return ConfirmMessage(code)


def parse_sms(
    text: object,
    *,
    candidate_count: int,
    station_code_is_valid: Callable[[str], bool],
    pin_length: int = 6,
    expected_round: int | None = None,
) -> ParsedSms:
    """Parse one inbound SMS body.

    Input: the body as received; the number of candidates on the ballot (k); a validator for
    station codes (digits with a check digit, from polling; a validator that raises counts as a
    no); the PIN length; the round open for results (None: any round, the caller checks).
    Output: a `ReportMessage`, a `ConfirmMessage`, a `HelpRequest`, or a `Rejection` whose reply
    says what to fix. Never raises, whatever the input.
    """
    if not isinstance(text, str) or not text.strip(_SEPARATOR_CHARS + "\u00a0\u202f"):
        return _reject([RejectionCode.EMPTY], ["Message vide."])
    if len(text) > MAX_MESSAGE_CHARS:
        return _reject([RejectionCode.TOO_LONG], [f"Message trop long ({len(text)} caractères)."])
    normalized = unicodedata.normalize("NFKC", text).upper().strip(_SEPARATOR_CHARS)
    if not normalized:
        return _reject([RejectionCode.EMPTY], ["Message vide."])
    parts = _SPLIT.split(normalized)
    tokens, separators = parts[0::2], [""] + parts[1::2]
    head = tokens[0]

    if head in ("AIDE", "?", "HELP") or head.startswith("AIDE"):
        return HelpRequest()
    if head.startswith("OK"):
        return _parse_confirmation(tokens)

    round_match = re.fullmatch(r"T[:=]?([0-9]*)", head)
    if round_match is None:
        if _DIGITS.fullmatch(head):
            return _reject(
                [RejectionCode.MISSING_ROUND],
                ["Commencez par T et le numéro du tour, par exemple T1, puis le code du bureau et le PIN."],
            )
        return _reject(
            [RejectionCode.UNKNOWN_COMMAND],
            [
                f"Message {_echo(head)} non compris. Résultats : T1 code PIN V.. B.. N.. puis les voix. "
                "Confirmation : OK suivi du code reçu."
            ],
        )
    position = 1
    round_text = round_match.group(1)
    if not round_text:
        if len(tokens) > 1 and _DIGITS.fullmatch(tokens[1]) and len(tokens[1]) <= 2:
            round_text, position = tokens[1], 2
        else:
            return _reject([RejectionCode.MISSING_ROUND], ["Numéro de tour manquant après T : écrivez T1 ou T2."])
    if len(round_text) > 2 or int(round_text) == 0:
        return _reject([RejectionCode.BAD_ROUND], [f"Tour {_echo('T' + round_text)} impossible : écrivez T1 ou T2."])
    round_number = int(round_text)
    if expected_round is not None and round_number != expected_round:
        return _reject(
            [RejectionCode.WRONG_ROUND],
            [
                f"Ce message est pour le tour {round_number} (T{round_number}), or les résultats attendus "
                f"sont ceux du tour {expected_round} : commencez par T{expected_round}."
            ],
        )

    if position >= len(tokens):
        return _reject(
            [RejectionCode.MISSING_STATION_CODE],
            [f"Code du bureau manquant après T{round_number} : il figure sur votre fiche."],
        )
    station_code = tokens[position]
    if not _DIGITS.fullmatch(station_code):
        return _reject(
            [RejectionCode.BAD_STATION_CODE],
            [
                f"Code du bureau attendu après T{round_number} (chiffres seulement), reçu {_echo(station_code)} : "
                "recopiez-le depuis votre fiche."
            ],
        )
    try:
        station_ok = bool(station_code_is_valid(station_code))
    except Exception:  # a validator that cannot decide says no: the sender retypes the code
        station_ok = False
    if not station_ok:
        return _reject(
            [RejectionCode.INVALID_STATION_CODE],
            [
                f"Code du bureau {_echo(station_code, 16)} invalide (chiffre de contrôle faux) : "
                "recopiez-le depuis votre fiche."
            ],
        )
    position += 1
    if position >= len(tokens):
        return _reject(
            [RejectionCode.MISSING_PIN],
            [f"PIN manquant : après le code du bureau, écrivez votre PIN de {pin_length} chiffres, puis les résultats."],
        )
    pin = tokens[position]
    if not (_DIGITS.fullmatch(pin) and len(pin) == pin_length):
        code = RejectionCode.MISSING_PIN if _TAGGED.fullmatch(pin) else RejectionCode.BAD_PIN
        return _reject(
            [code],
            [f"PIN incorrect : après le code du bureau, écrivez votre PIN de {pin_length} chiffres (sur votre fiche)."],
        )
    position += 1
    return _parse_figures(tokens[position:], separators[position:], round_number, station_code, pin, candidate_count)


def _parse_figures(
    tokens: list[str],
    separators: list[str],
    round_number: int,
    station_code: str,
    pin: str,
    candidate_count: int,
) -> ParsedSms:
    codes: list[RejectionCode] = []
    problems: list[str] = []
    tagged: dict[str, int] = {}
    attempted: set[str] = set()  # letters present, even with an unreadable figure
    candidates: list[int] = []
    contributions: int | None = None
    amount_problem: str | None

    # E is the last element: everything from it on is the amount, separators included (a comma
    # there is a decimal comma).
    e_index = next(
        (
            i
            for i, token in enumerate(tokens)
            if token.startswith("E") and (len(token) == 1 or token[1] in ":=€0123456789")
        ),
        None,
    )
    body = tokens if e_index is None else tokens[:e_index]
    if e_index is not None:
        raw_amount = tokens[e_index][1:].lstrip(":=") + "".join(
            separators[i] + tokens[i] for i in range(e_index + 1, len(tokens))
        )
        contributions, amount_problem = _parse_amount(raw_amount)
    else:
        amount_problem = None

    index = 0
    while index < len(body):
        token = body[index]
        index += 1
        match = _TAGGED_FIGURE.fullmatch(token)
        if match:
            letter, raw = match.group(1), match.group(2)
            attempted.add(letter)
            if not raw and index < len(body) and (_DIGITS.fullmatch(body[index]) or body[index].startswith("-")):
                raw = body[index]
                index += 1
            label = f"{letter} ({_FIELD_NAMES[letter][0]})"
            if not raw:
                codes.append(RejectionCode.BAD_NUMBER)
                problems.append(f"{letter} sans nombre : indiquez {_FIELD_NAMES[letter][0]}, par exemple {_FIELD_NAMES[letter][1]}.")
                continue
            value = _read_number(raw)
            if value is None:
                codes.append(RejectionCode.BAD_NUMBER)
                problems.append(_number_problem(label, raw))
                continue
            if letter in tagged:
                codes.append(RejectionCode.DUPLICATE_FIELD)
                problems.append(f"{letter} donné deux fois ({letter}{tagged[letter]} et {letter}{value}) : gardez-en un seul.")
                continue
            tagged[letter] = value
            continue
        if _DIGITS.fullmatch(token) or (token.startswith("-") and _DIGITS.fullmatch(token[1:])):
            value = _read_number(token)
            if value is None:
                codes.append(RejectionCode.BAD_NUMBER)
                problems.append(_number_problem(f"Voix du candidat n° {len(candidates) + 1}", token))
                candidates.append(-1)
                continue
            candidates.append(value)
            continue
        if any(char.isdigit() for char in token) and token[0].isdigit():
            codes.append(RejectionCode.BAD_NUMBER)
            problems.append(_number_problem(f"Voix du candidat n° {len(candidates) + 1}", token))
            candidates.append(-1)
            continue
        codes.append(RejectionCode.UNKNOWN_WORD)
        problems.append(
            f"{_echo(token)} non compris : seuls V, B, N, les voix des candidats et E sont attendus après le PIN."
        )

    for letter in "VBN":
        if letter not in attempted:
            meaning, example = _FIELD_NAMES[letter]
            codes.append(RejectionCode.MISSING_FIELD)
            problems.append(f"{letter} manquant : indiquez {meaning}, par exemple {example}.")
    if len(candidates) != candidate_count:
        shown = " ".join("?" if value < 0 else str(value) for value in candidates[:12])
        shown += " ..." if len(candidates) > 12 else ""
        received = f"{len(candidates)} reçu{'s' if len(candidates) > 1 else ''}"
        codes.append(RejectionCode.WRONG_CANDIDATE_COUNT)
        problems.append(
            f"{candidate_count} chiffre{'s' if candidate_count > 1 else ''} de candidats attendus, {received}"
            + (f" : {shown}." if candidates else ".")
            + " Donnez les voix de chaque candidat dans l'ordre du bulletin, 0 si aucune."
        )
    if amount_problem:
        codes.append(RejectionCode.BAD_AMOUNT)
        problems.append(amount_problem)
    if problems:
        return _reject(codes, problems, "Renvoyez tout le message corrigé.")

    report = StationReport(tagged["V"], tagged["B"], tagged["N"], tuple(candidates), contributions)
    errors = [f for f in check_report(report, ReportContext(candidate_count)).findings if f.severity is Severity.ERROR]
    if errors:
        return _reject(
            [RejectionCode.BALLOTS_ABOVE_SIGNATURES],
            [
                f"B{report.blank} + N{report.null} + voix des candidats {report.valid_votes} = {report.ballots} "
                f"bulletins, plus que V{report.signatures} émargements ({report.ballots - report.signatures} de trop) : "
                "recomptez et renvoyez tout le message."
            ],
            "",
        )
    return ReportMessage(round_number, station_code, pin, report)


# ---------------------------------------------------------------------------------------------
# Messages this module writes.


def _euros_text(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros},{rest:02d}" if rest else str(euros)


def format_report_sms(message: ReportMessage) -> str:
    """The canonical SMS for a report: 'T1 7505612 123456 V412 B3 N2 120 98 77 E612,50'.
    `parse_sms(format_report_sms(m), …) == m` for every well-formed message."""
    report = message.report
    parts = [f"T{message.round_number}", message.station_code, message.pin]
    parts += [f"V{report.signatures}", f"B{report.blank}", f"N{report.null}", *map(str, report.votes)]
    if report.contributions_cents is not None:
        parts.append("E" + _euros_text(report.contributions_cents))
    return " ".join(parts)


# Name widths tried for the read-back: one segment only while names stay readable (7
# characters), then two segments, cutting further if needed.
READBACK_ONE_SEGMENT_WIDTHS = (None, 16, 12, 10, 8, 7)
READBACK_TWO_SEGMENT_WIDTHS = (None, 16, 12, 10, 8, 7, 6, 5, 4)


def _labels(names: Sequence[str], width: int | None) -> list[str] | None:
    """Candidate labels cut to `width` characters ('.' marks a cut); None if two collide."""
    labels = []
    for name in names:
        name = " ".join(to_gsm7(name).split())
        if width is not None and len(name) > width:
            name = name[: width - 1].rstrip(" -'") + "."
        labels.append(name)
    return labels if len(set(labels)) == len(labels) else None


def readback_text(message: ReportMessage, candidate_names: Sequence[str], confirmation_code: str) -> str:
    """The read-back SMS: the figures with the candidates' names and the confirmation code.

    Input: the parsed report, the candidates' names in ballot order (family names are the best
    fit), the code to confirm with. Output: GSM-7 text such as
    'T1 bureau 7505612 : V412 B3 N2. Laurent 120, Garnier 98, … Collecte 612,50€. Exact ?
    Repondez OK K7PX (30 min).'

    Kept short: names are folded to GSM-7 (so a segment holds 160 characters, not 70) and cut
    (16, 12, 10, 8, 7 characters, always distinguishable from each other) until the text fits one
    segment; if no readable cut fits one, the longest cut (down to 4) that fits two; as a last
    resort the names become ballot numbers (C1, C2 …).
    """
    report = message.report
    head = f"T{message.round_number} bureau {message.station_code} : V{report.signatures} B{report.blank} N{report.null}."
    tail = f"Exact ? Répondez OK {confirmation_code} ({CONFIRMATION_MINUTES} min)."
    money = "" if report.contributions_cents is None else f" Collecte {_euros_text(report.contributions_cents)}€."
    if len(candidate_names) != len(report.votes):
        raise ValueError("one name per candidate figure is required")

    def build(labels: Sequence[str]) -> str:
        figures = ", ".join(f"{label} {votes}" for label, votes in zip(labels, report.votes, strict=True))
        return to_gsm7(f"{head} {figures}.{money} {tail}")

    for segments, widths in ((1, READBACK_ONE_SEGMENT_WIDTHS), (2, READBACK_TWO_SEGMENT_WIDTHS)):
        for width in widths:
            labels = _labels(candidate_names, width)
            if labels is not None and sms_segments(text := build(labels)) <= segments:
                return text
    return build([f"C{position}" for position in range(1, len(report.votes) + 1)])


def help_text(candidate_names: Sequence[str], *, round_number: int, pin_length: int = 6) -> str:
    """The reply to AIDE: the format, the ballot order and an example (GSM-7, 2 to 3 segments
    for 6 candidates)."""
    k = len(candidate_names)
    example_votes = " ".join(str(max(0, 400 // max(k, 1) - i)) for i in range(k))
    names = ", ".join(" ".join(name.split()) for name in candidate_names)
    text = (
        f"Résultats : T{round_number} <code bureau> <PIN> V<émargements> B<blancs> N<nuls> puis les voix des "
        f"{k} candidats dans l'ordre : {names} ; puis E<euros collectés> si besoin (E1250 ou E1250,50). "
        f"Ex : T{round_number} 1234567 {'1' * pin_length} V412 B3 N2 {example_votes} E612,50. "
        "Séparez par des espaces. Puis confirmez par OK et le code reçu."
    )
    return to_gsm7(text)
