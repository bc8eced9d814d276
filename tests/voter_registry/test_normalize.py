"""Property tests of the name normaliser: keys insensitive to case, accents, hyphens,
apostrophes, particles and spacing; identity stable under the same variations."""

from __future__ import annotations

import unicodedata

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from voter_registry.normalize import (
    PARTICLES,
    fold,
    given_names_key,
    given_query_words,
    identity_string,
    name_key,
    name_query_keys,
)

ABBREVIATIONS = {"st", "ste", "sts", "stes"}

# Words of real names: letters with or without French accents.
ACCENTED = {"a": "àâä", "e": "éèêë", "i": "îï", "o": "ôö", "u": "ùûü", "c": "ç", "y": "ÿ", "n": "ñ"}
# Not a particle, and not « ste » / « sts » / « stes », which the normaliser reads as the
# abbreviations of « sainte », « saints », « saintes » (as it must: « STE MARIE »).
base_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10).filter(
    lambda w: w not in PARTICLES and w not in ABBREVIATIONS
)
# Particle sequences of real names (« d' » and « l' » elide before a vowel: see `vowel_words`).
particle_lists = st.sampled_from(
    [[], [], ["de"], ["du"], ["des"], ["de", "la"], ["le"], ["la"], ["van", "der"], ["van"], ["von"], ["di"], ["da"], ["del"]]
)


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    """One way a commune's software or a volunteer may write `word`."""
    out = []
    for ch in word:
        if ch in ACCENTED and draw(st.booleans()):
            ch = draw(st.sampled_from(ACCENTED[ch]))
        out.append(ch.upper() if draw(st.booleans()) else ch)
    return "".join(out)


@st.composite
def written_name(draw: st.DrawFn, particles: list[str], words: list[str]) -> str:
    """A family name written with any separators between its parts (space, hyphen, apostrophe…)."""
    parts = [draw(spelled(p)) for p in particles] + [draw(spelled(w)) for w in words]
    text = parts[0]
    for part in parts[1:]:
        separator = draw(st.sampled_from([" ", "-", "'", "’", "  ", " - "]))
        text += separator + part
    return draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " "]))


@given(st.data(), particle_lists, st.lists(base_words, min_size=1, max_size=3))
@settings(max_examples=300)
def test_name_key_ignores_case_accents_and_separators(data: st.DataObject, particles: list[str], words: list[str]) -> None:
    first = data.draw(written_name(particles, words))
    second = data.draw(written_name(particles, words))
    assert name_key(first) == name_key(second)
    assert name_key(first).key == "".join(words)
    assert name_key(first).had_particles == bool(particles)
    assert name_key(first).key.isascii() and name_key(first).key.isalnum()


@given(st.data(), particle_lists, st.lists(base_words, min_size=1, max_size=3), st.integers(min_value=2, max_value=30))
@settings(max_examples=300)
def test_any_typed_prefix_finds_the_stored_name(
    data: st.DataObject, particles: list[str], words: list[str], cut: int
) -> None:
    """What staff type — the name with or without its particles, glued or not, any prefix of
    two letters or more — yields a query key under which the stored key is found.

    Typed particles must be followed by part of the name: one letter when typed apart
    (« de la f »), three when glued (« delafon »: fewer would peel off too many false forms)."""
    stored = name_key(data.draw(written_name(particles, words)))
    spaced, glued = " ".join(particles + words), "".join(particles + words)
    typed_full = data.draw(st.sampled_from([spaced, glued, " ".join(words), "-".join(words)]))
    typed = typed_full[: max(cut, 2)]
    particles_length = len("".join(particles))
    if typed_full == glued and particles:
        assume(len(typed) >= particles_length + 3)
    elif typed_full == spaced and particles:
        assume(len("".join(fold(typed))) >= particles_length + 1 and not all(w in PARTICLES for w in fold(typed)))
    assume(len("".join(fold(typed))) >= 2)
    keys = name_query_keys(typed)
    assert any(
        stored.key.startswith(key.prefix) and (stored.had_particles or not key.particles_required) for key in keys
    ), (typed, stored, keys)


@given(base_words)
def test_peeled_particles_never_match_names_without_particles(word: str) -> None:
    """« Durand » must not find « Rand »: forms peeled off a glued word require a name that
    started with particles, so a name without particles is only found by what was typed."""
    stored = name_key(word)  # no particles
    keys = name_query_keys("du" + word)
    assert not any(stored.key.startswith(key.prefix) and not key.particles_required for key in keys)
    assert any(key.prefix == word and key.particles_required for key in keys)


@given(st.lists(base_words, min_size=1, max_size=4, unique=True), st.randoms())
def test_given_names_order_does_not_matter(words: list[str], rng) -> None:  # noqa: ANN001
    stored = given_names_key(" ".join(words))
    shuffled = list(words)
    rng.shuffle(shuffled)
    for alternatives in given_query_words(" ".join(shuffled)):
        assert any(f" {word}" in stored for word in alternatives)


def test_hyphenated_given_names_are_found_glued_or_apart() -> None:
    stored = given_names_key("Jean-Pierre Marie")
    for typed in ("jean pierre", "pierre", "jeanpierre", "JEAN-PIERRE", "marie jean"):
        assert all(any(f" {word}" in stored for word in alternatives) for alternatives in given_query_words(typed)), typed


@given(st.text(max_size=60))
def test_fold_never_fails_and_gives_lowercase_words(text: str) -> None:
    words = fold(text)
    for word in words:
        assert word and " " not in word
        assert word == word.lower() or not word.isascii()


@given(st.text(alphabet=st.characters(codec="latin-1"), max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(" ".join(once)) == once


@given(st.data(), st.lists(base_words, min_size=1, max_size=2), st.lists(base_words, min_size=1, max_size=3))
@settings(max_examples=200)
def test_identity_is_stable_under_spelling(data: st.DataObject, family: list[str], given_words: list[str]) -> None:
    a = identity_string(data.draw(written_name([], family)), " ".join(data.draw(spelled(w)) for w in given_words), 1953, 4, 0, "c:33063")
    b = identity_string(" ".join(family).upper(), "  ".join(given_words), 1953, 4, 0, "c:33063")
    assert a == b
    assert identity_string(" ".join(family), " ".join(given_words), 1953, 4, 1, "c:33063") != a


def test_real_names() -> None:
    assert name_key("N’DIAYE") == name_key("n'diaye") == name_key("N DIAYE")
    assert name_key("de La Fontaine").key == name_key("DE LA FONTAINE").key == "fontaine"
    assert name_key("Lê").key == "le"  # a name made only of a particle-like word keeps it
    assert name_key("Œuvray").key == "oeuvray"
    assert name_key("Saint-Exupéry").key == name_key("St Exupery").key
    assert fold("Müller") == ["muller"]
    assert unicodedata.normalize("NFD", "é") != "é" and fold(unicodedata.normalize("NFD", "Hélène")) == ["helene"]


@given(st.sampled_from(["d", "l"]), st.text(alphabet="aeiouh", min_size=1, max_size=1), base_words, st.integers(4, 20))
def test_elided_particles(particle: str, vowel: str, rest: str, cut: int) -> None:
    """« D'Angelo » is found by « dangelo », « d'angelo » and « angelo »."""
    word = vowel + rest
    stored = name_key(f"{particle.upper()}'{word.upper()}")
    assert stored.key == word and stored.had_particles
    for typed in (f"{particle}{word}"[:cut], f"{particle}'{word}"[: cut + 1], word[:cut]):
        keys = name_query_keys(typed)
        assert any(stored.key.startswith(k.prefix) for k in keys), (typed, keys)
