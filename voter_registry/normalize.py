"""Name normalisation: the keys the registry is searched by, and the voter's stable identity.

PostgreSQL here has no `unaccent` nor `pg_trgm` (the embedded server ships no contrib), so
names are folded in Python, once, at import time, into plain ASCII key columns indexed with
byte-order ("C") b-trees, on which a prefix search is a simple range scan.

Folding (`fold`) makes a name insensitive to case, accents, ligatures, apostrophes, hyphens
and spacing: « N’DIAYE », « n'Diaye » and « N DIAYE » all fold to ``["n", "diaye"]``.

Particles (« de », « du », « de la », « Le », « van der »…) are the hard part, because people
write them every way: « de La Fontaine », « DELAFONTAINE », « La Fontaine », « Fontaine ». The
stored key drops the *leading* particles and glues the rest (« de la Fontaine » → ``fontaine``,
« Giscard d'Estaing » → ``giscarddestaing``: only leading particles are dropped), and
remembers that there were some. A query is expanded into a few keys (`name_query_keys`): the
same stripped form, the fully glued form, and the forms obtained by peeling particles off the
front of a glued word (« delafontaine » → ``lafontaine``, ``fontaine``); those peeled forms
only match names that really had leading particles, so « Durand » never finds « Rand ».
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Leading particles of French and neighbouring naming traditions. A name made only of
# particles (« Le », the Vietnamese « Lê », « Van ») keeps its last word.
PARTICLES = frozenset(
    {
        "d", "l", "de", "du", "des", "la", "le", "les",
        "van", "von", "der", "den", "vom", "zu", "ten", "ter",
        "di", "da", "do", "dos", "das", "del", "della", "dei", "degli", "delle", "dal", "dalla",
    }
)  # fmt: skip
# Particles that may appear glued to the name in a query (« Delafontaine », « Dangelo »),
# longest first so that « della » is tried before « del » and « de ».
_GLUED_PARTICLES = tuple(sorted((p for p in PARTICLES if len(p) > 1), key=len, reverse=True))
_VOWELS = frozenset("aeiouyh")
# Abbreviations that people and communes' software write either way.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}

# Letters that NFKD does not decompose into a base letter plus accents.
_SPECIAL_LETTERS = str.maketrans(
    {
        "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O",
        "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "ı": "i", "þ": "th", "Þ": "TH",
        # Typographic apostrophes, hyphens, dashes and quotes separate words like their ASCII forms.
        **{ch: " " for ch in "’‘‚‛′ʼʻ´‐‑‒–—―−·«»„“”…"},
    }
)  # fmt: skip
# Every ASCII character that is not a letter or a digit separates words.
_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


# The same as `value.lower().translate(_SEPARATORS)` for an ASCII `value`, as a byte table:
# `bytes.translate` is one C loop, where `str.translate` looks every character up in a dict
# (the import folds every name it has not met yet: ≈ 3 times faster).
_ASCII_FOLD = bytes(
    code + 32 if 65 <= code <= 90 else code if chr(code).isalnum() else 32 for code in range(128)
) + bytes(range(128, 256))


def fold(value: str, *, abbreviations: bool = True) -> list[str]:
    """The words of `value`, lower-case ASCII, without accents nor punctuation.

    >>> fold("  Hélène-Marie d’ARC ")
    ['helene', 'marie', 'd', 'arc']
    """
    if not value.isascii():
        ascii_value = (
            unicodedata.normalize("NFKD", value.translate(_SPECIAL_LETTERS)).encode("ascii", "ignore").decode("ascii")
        )
        if not any(ch.isalnum() for ch in ascii_value) and any(ch.isalnum() for ch in value):
            # A name in a script with no ASCII transliteration: keep its letters, case-folded.
            return "".join(ch if ch.isalnum() else " " for ch in value.casefold()).split()
        value = ascii_value
    # ASCII from here: letters lower-cased, digits kept, every other character a separator.
    words = value.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split()
    if abbreviations and not _ABBREVIATIONS.keys().isdisjoint(words):
        words = [_ABBREVIATIONS.get(word, word) for word in words]
    return words


def folded(value: str) -> str:
    """`fold` joined by single spaces: a readable, comparable form of a label."""
    return " ".join(fold(value))


@dataclass(frozen=True)
class NameKey:
    key: str  # leading particles dropped, remaining words glued
    had_particles: bool  # the name started with particles (« de la Fontaine »)


def name_key(value: str) -> NameKey:
    """The stored search key of a family name (birth or usage name).

    >>> name_key("de La Fontaine")
    NameKey(key='fontaine', had_particles=True)
    >>> name_key("Giscard d'Estaing")
    NameKey(key='giscarddestaing', had_particles=False)
    >>> name_key("Lê")
    NameKey(key='le', had_particles=False)
    """
    return name_key_of_words(fold(value))


def name_key_of_words(words: list[str] | tuple[str, ...]) -> NameKey:
    """`name_key` of already folded words."""
    start = 0
    while start < len(words) - 1 and words[start] in PARTICLES:
        start += 1
    return NameKey("".join(words[start:]), start > 0)


@dataclass(frozen=True)
class QueryKey:
    prefix: str
    particles_required: bool  # only names that started with particles may match this form


def _peel(glued: str, depth: int = 0) -> set[str]:
    """Forms of a glued word with leading particles peeled off: 'delafontaine' → {'lafontaine', 'fontaine'}."""
    if depth >= 3:
        return set()
    found: set[str] = set()
    for particle in _GLUED_PARTICLES:
        rest = glued[len(particle) :]
        if glued.startswith(particle) and len(rest) >= 3:
            found.add(rest)
            found |= _peel(rest, depth + 1)
    # Elided « d' » and « l' » before a vowel or an h: 'dangelo' → 'angelo'.
    if len(glued) >= 4 and glued[0] in "dl" and glued[1] in _VOWELS:
        found.add(glued[1:])
        found |= _peel(glued[1:], depth + 1)
    return found


@lru_cache(maxsize=4096)
def name_query_keys(value: str) -> tuple[QueryKey, ...]:
    """The key prefixes a typed family name is searched under (see the module's docstring).

    >>> [k.prefix for k in name_query_keys("de la Font")]
    ['font', 'delafont']
    >>> [(k.prefix, k.particles_required) for k in name_query_keys("Delafont")][:3]
    [('delafont', False), ('elafont', True), ('lafont', True)]
    """
    keys: dict[str, QueryKey] = {}
    expanded, raw = fold(value), fold(value, abbreviations=False)
    # « st » may be « Saint » abbreviated or the beginning of « Stark » being typed: try both.
    for words in (expanded, raw) if raw != expanded else (expanded,):
        if not words:
            continue
        stripped = name_key_of_words(words)
        glued = "".join(words)
        for form in (stripped.key, glued):
            if form not in keys:
                keys[form] = QueryKey(form, False)
        # A single typed word may hide glued particles (« Delafontaine »); typed apart, they
        # were already handled by the stripped and glued forms.
        if len(words) == 1:
            for form in sorted(_peel(glued), key=lambda f: (-len(f), f)):
                if form not in keys:
                    keys[form] = QueryKey(form, True)
    # Keep a form only if it is not already covered by a shorter prefix with looser conditions.
    result = []
    for key in keys.values():
        covered = any(
            other is not key and key.prefix.startswith(other.prefix) and (not other.particles_required or key.particles_required)
            for other in keys.values()
        )
        if not covered:
            result.append(key)
    return tuple(result)


def given_names_key(value: str) -> str:
    """The stored key of the given names: every word, space-delimited, order kept.

    Hyphenated given names also appear glued, so that « Jean-Pierre » is found by
    « jean pierre », « pierre » and « jeanpierre »; the search tests every query word against
    every word of this key, which makes it insensitive to the order of the given names.

    >>> given_names_key("Jean-Pierre Marie")
    ' jean pierre marie jeanpierre '
    """
    return given_names_key_of_words(value, fold(value))


_JOINERS = ("-", "'", "’", "‐", "ʼ", ".")


def given_names_key_of_words(value: str, words: list[str]) -> str:
    """`given_names_key` when `words` = fold(value) is already known."""
    if not words:
        return " "
    if any(joiner in value for joiner in _JOINERS):
        glued = []
        for part in value.split():
            part_words = fold(part)
            if len(part_words) > 1:
                glued.append("".join(part_words))
        if glued:
            return " " + " ".join(words + glued) + " "
    return " " + " ".join(words) + " "


def given_query_words(value: str) -> tuple[tuple[str, ...], ...]:
    """The words of typed given names, each searched as a prefix of some given name, with its
    alternatives.

    The stored key has the abbreviations expanded (« Ste-Marie » → ``sainte marie``), but a
    volunteer typing « St » or « Sté » may be starting « Stéphane » or « Steven »: such a word
    is searched as typed OR expanded, the typed form first.

    >>> given_query_words("Sté Jean")
    (('ste', 'sainte'), ('jean',))
    >>> given_query_words("Saint")
    (('saint',),)
    """
    raw = fold(value, abbreviations=False)
    words = [(word,) if word not in _ABBREVIATIONS else (word, _ABBREVIATIONS[word]) for word in raw]
    return tuple(dict.fromkeys(words))


# --- The voter's stable identity ------------------------------------------------------------
#
# The REU has no national voter number. A voter's identity is what does not change from one
# extract of the lists to the next for the same person: birth name, given names (in their
# official order), birth date (with its unknown parts) and birth place (the INSEE code of the
# birth commune, or the country for someone born abroad). Usage name, address, polling place
# and list are NOT part of it: they change with marriage and moves.
#
# The polling package derives the one-vote-per-round token from it (an HMAC with a
# per-election secret), so re-importing a newer extract never lets an unchanged person vote
# twice. Known limits, stated honestly: a commune merger that changes the birth commune's
# code in the REU changes the identity; two people with identical names, given names, birth
# date and birth place in the same commune are one voter (they are merged at import).

IDENTITY_VERSION = "v1"


def birth_place_identity(birth_commune_code: str, birth_department_code: str, birth_country: str, birth_commune: str) -> str:
    code = birth_commune_code.strip().upper()
    abroad = birth_department_code.strip() == "99" or code.startswith("99")
    if code and not abroad:
        return "c:" + code
    return "p:" + (folded(birth_country) or folded(birth_commune))


def identity_string(
    birth_name: str,
    given_names: str,
    birth_year: int,
    birth_month: int,
    birth_day: int,
    birth_place: str,
) -> str:
    """The canonical text of a voter's identity (`birth_place` from `birth_place_identity`).

    >>> identity_string("DE LA FONTAINE", "Jean-Pierre  Marie", 1953, 4, 0, "c:33063")
    'v1|de la fontaine|jean pierre marie|1953-04-00|c:33063'
    """
    return identity_string_of_words(fold(birth_name), fold(given_names), birth_year, birth_month, birth_day, birth_place)


def identity_string_of_words(
    birth_words: list[str], given_words: list[str], birth_year: int, birth_month: int, birth_day: int, birth_place: str
) -> str:
    """`identity_string` from already folded birth-name and given-name words."""
    return (
        f"{IDENTITY_VERSION}|{' '.join(birth_words)}|{' '.join(given_words)}|"
        f"{birth_year:04d}-{birth_month:02d}-{birth_day:02d}|{birth_place}"
    )


def identity_digest(identity: str) -> bytes:
    """32 bytes (SHA-256) of the canonical identity: what is stored and handed to polling."""
    return hashlib.sha256(identity.encode("utf-8")).digest()
