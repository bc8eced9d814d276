"""Fitting a French reply into an SMS.

An SMS carries 160 characters of the GSM-7 alphabet, or only 70 as soon as one character is
outside it (the whole message then switches to UCS-2). GSM-7 has é è à ù ì ò É Ç but not
ê â î ô û ë ï ç œ, nor typographic quotes and apostrophes. A concatenated message carries
153 (GSM-7) or 67 (UCS-2) characters per segment, and each segment is billed.

How replies are fitted (`fit_sms`):

1. The few French letters and typographic signs outside GSM-7 are transliterated (ê → e,
   ç → c, œ → oe, « » → ", ’ → ', … → ...); é, è, à, ù stay. A French reader reads
   « Verifiez votre numero de bureau » without trouble, and a reply then costs half as
   many segments. Anything else outside GSM-7 (an emoji echoed back) becomes « ? ».
2. A reply is ONE message of at most `max_segments` concatenated segments (default 4:
   612 characters). Phones reassemble the segments of one message in order, whereas several
   separate messages can arrive in any order — a read-back of figures must not.
3. A longer reply is cut at the last word boundary that fits and ends with « ... ».
   Commands keep their replies well under the limit (the AIDE listing falls back to the bare
   list of keywords when the summaries do not fit), so a cut is a last resort, never silent
   truncation of figures in a normal reply.
"""

from __future__ import annotations

import unicodedata

# GSM 03.38 default alphabet (without ESC) and its extension table (each costs 2 characters).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# (The form feed of the extension table is left out: XML, hence TwiML, cannot carry it.)
GSM_EXTENDED = frozenset("^{}\\[~]|€")

SINGLE_SEGMENT = 160
PER_SEGMENT = 153  # in a concatenated message (7 characters go to the reassembly header)
DEFAULT_MAX_SEGMENTS = 4
ELLIPSIS = "..."

# French (and common) characters outside GSM-7 and their readable replacements.
TRANSLITERATION = {
    "â": "a",
    "ê": "e",
    "î": "i",
    "ô": "o",
    "û": "u",
    "ë": "e",
    "ï": "i",
    "ÿ": "y",
    "ç": "c",
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "À": "A",
    "Â": "A",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "Î": "I",
    "Ï": "I",
    "Ô": "O",
    "Ù": "U",
    "Û": "U",
    "Ÿ": "Y",
    "Á": "A",
    "Í": "I",
    "Ó": "O",
    "Ú": "U",
    "œ": "oe",
    "Œ": "OE",
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "„": '"',
    "‘": "'",
    "’": "'",
    "‚": "'",
    "′": "'",
    "…": "...",
    "–": "-",
    "—": "-",
    "‑": "-",
    "−": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\t": " ",
    "•": "-",
    "·": ".",
    "°": "o",  # « n° » → « no »
}


def _gsm_char(char: str) -> str:
    if (char < " " and char not in "\n\r") or char == "\x7f":
        return " "  # control characters: invisible on a phone, and not allowed in XML
    if char in GSM_BASIC:
        return char
    if char in TRANSLITERATION:
        return TRANSLITERATION[char]
    if char in GSM_EXTENDED:
        return char
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if decomposed and all(c in GSM_BASIC for c in decomposed):
        return decomposed
    return "?"


class _GsmTable(dict):
    """`str.translate` table: code point → its GSM-7 rewriting, computed once per character
    (every reply goes through `to_gsm`: a per-character Python loop was a measurable share of
    the CPU of a results SMS, see bench/results_sms_burst.py)."""

    def __missing__(self, code_point: int) -> str:
        rewritten = _gsm_char(chr(code_point))
        if len(self) < 4096:  # bounded: a flood of exotic characters cannot grow it without end
            self[code_point] = rewritten
        return rewritten


_GSM_TABLE = _GsmTable()
_GSM_ALL = GSM_BASIC | GSM_EXTENDED


def to_gsm(text: str) -> str:
    """`text` rewritten in the GSM-7 alphabet (see the module docstring)."""
    # Quotes of the « guillemets » kind are typed with inner spaces: « OUV » → "OUV".
    text = text.replace("« ", "«").replace("\u00ab\u00a0", "«").replace(" »", "»").replace("\u00a0\u00bb", "»")
    return text.translate(_GSM_TABLE)


def gsm_length(text: str) -> int:
    """Septets used by a GSM-7 text (extension characters count twice)."""
    return len(text) + sum(text.count(char) for char in GSM_EXTENDED)


def is_gsm(text: str) -> bool:
    return _GSM_ALL.issuperset(text)


def segments(text: str) -> int:
    """How many SMS segments `text` is billed as (GSM-7 or UCS-2)."""
    if is_gsm(text):
        length, single, per = gsm_length(text), SINGLE_SEGMENT, PER_SEGMENT
    else:
        length, single, per = len(text.encode("utf-16-le")) // 2, 70, 67
    if length <= single:
        return 1
    return -(-length // per)


def capacity(max_segments: int) -> int:
    return SINGLE_SEGMENT if max_segments <= 1 else PER_SEGMENT * max_segments


def fit_sms(text: str, max_segments: int = DEFAULT_MAX_SEGMENTS) -> str:
    """`text` as one GSM-7 message of at most `max_segments` segments, cut at a word if needed."""
    gsm = to_gsm(text).strip()
    limit = capacity(max_segments)
    if gsm_length(gsm) <= limit:
        return gsm
    budget = limit - len(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for char in gsm:
        cost = 2 if char in GSM_EXTENDED else 1
        if used + cost > budget:
            break
        kept.append(char)
        used += cost
    cut = "".join(kept)
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary > budget // 2:
        cut = cut[:boundary]
    return cut.rstrip(" ,;:\n") + ELLIPSIS
