"""`fold` (shared by the import and the search) sped up for the import: its output must stay
byte for byte that of the version before (kept here verbatim as the reference), on any text —
ASCII of every byte, accents, typographic punctuation, scripts without transliteration."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from voter_registry.normalize import _ABBREVIATIONS, _SEPARATORS, _SPECIAL_LETTERS, fold, given_names_key


def reference_fold(value: str, *, abbreviations: bool = True) -> list[str]:
    """`fold` as it was at commit 0c0aafd."""
    if not value.isascii():
        ascii_value = (
            unicodedata.normalize("NFKD", value.translate(_SPECIAL_LETTERS)).encode("ascii", "ignore").decode("ascii")
        )
        if not any(ch.isalnum() for ch in ascii_value) and any(ch.isalnum() for ch in value):
            return "".join(ch if ch.isalnum() else " " for ch in value.casefold()).split()
        value = ascii_value
    words = value.lower().translate(_SEPARATORS).split()
    if abbreviations and not _ABBREVIATIONS.keys().isdisjoint(words):
        words = [_ABBREVIATIONS.get(word, word) for word in words]
    return words


def reference_given_names_key(value: str) -> str:
    words = reference_fold(value)
    if not words:
        return " "
    if any(joiner in value for joiner in ("-", "'", "’", "‐", "ʼ", ".")):
        glued = ["".join(reference_fold(part)) for part in value.split() if len(reference_fold(part)) > 1]
        if glued:
            return " " + " ".join(words + glued) + " "
    return " " + " ".join(words) + " "


NAME_LIKE = st.lists(
    st.sampled_from(list("abcdeéèçœÆßABCDEÉÈÇ-' ’.\t\u00a0stSTe0123;") + ["St ", "STE ", "ste-"]), max_size=20
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(max_size=30), st.text(alphabet=st.characters(max_codepoint=127), max_size=30), NAME_LIKE), st.booleans())
def test_fold_is_unchanged(value: str, abbreviations: bool) -> None:
    assert fold(value, abbreviations=abbreviations) == reference_fold(value, abbreviations=abbreviations)


def test_fold_every_ascii_character() -> None:
    for code in range(128):
        value = f"Ab{chr(code)}cD {chr(code)}x"
        assert fold(value) == reference_fold(value)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.text(max_size=30), NAME_LIKE))
def test_given_names_key_is_unchanged(value: str) -> None:
    assert given_names_key(value) == reference_given_names_key(value)
