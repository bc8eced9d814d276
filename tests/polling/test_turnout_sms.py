"""The polling-day SMS grammar: tables of real-looking messages, then properties over 100,000+
generated ones (no exception ever, every refusal a one-SMS French message, round trips)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polling import codes
from polling.turnout_sms import (
    ERROR_CODES,
    EXAMPLE_CODE,
    EXAMPLE_OPENING,
    EXAMPLE_PIN,
    EXAMPLE_TURNOUT,
    HELP_REPLY,
    Help,
    Opening,
    SmsError,
    Turnout,
    first_word,
    format_opening,
    format_turnout,
    parse_message,
)

# GSM 03.38 basic alphabet: a reply made only of these costs one SMS per 160 characters and
# displays on every phone; a single « ê » or « « » would switch it to UCS-2 (70 characters).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
FRENCH_WORDS = ("écrivez", "envoyez", "vérifiez", "manquant", "Séparez", "Mettez", "Texte en trop", "chiffres", "Heure", "Commande")
CODE = codes.generate(1_234)
OTHER_CODE = codes.generate(98_765)
PIN = "482913"


def assert_good_refusal(result: object) -> None:
    """A refusal: a known code and a French message that fits in one GSM-7 SMS."""
    assert isinstance(result, SmsError), result
    assert result.code in ERROR_CODES and result.code != "internal_error", result
    message = result.message
    assert 20 <= len(message) <= 160, message
    assert set(message) <= GSM7_BASIC, [c for c in message if c not in GSM7_BASIC]
    assert message[0].isupper()
    assert any(word in message for word in FRENCH_WORDS), message
    assert "Traceback" not in message and "Error" not in message


def test_examples_are_themselves_valid_messages() -> None:
    assert codes.is_valid(EXAMPLE_CODE)
    assert not codes.is_trivial_pin(EXAMPLE_PIN)
    assert parse_message(EXAMPLE_OPENING) == Opening(EXAMPLE_CODE, EXAMPLE_PIN)
    assert parse_message(EXAMPLE_TURNOUT) == Turnout(EXAMPLE_CODE, EXAMPLE_PIN, 12, 0, 153)


def test_help_reply_fits_one_sms() -> None:
    assert len(HELP_REPLY) <= 160 and set(HELP_REPLY) <= GSM7_BASIC
    assert "OUV" in HELP_REPLY and "PART" in HELP_REPLY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"OUV {CODE} {PIN}", Opening(CODE, PIN)),
        (f"ouv {CODE} {PIN}", Opening(CODE, PIN)),
        (f"  Ouv ;{CODE},, {PIN}  \n", Opening(CODE, PIN)),
        (f"OUV: {CODE} {PIN}", Opening(CODE, PIN)),
        (f"OUVERTURE {CODE} {PIN}", Opening(CODE, PIN)),
        (f"OUV{CODE} {PIN}", Opening(CODE, PIN)),
        (f"OUV {CODE[:3]} {CODE[3:5]} {CODE[5:]} {PIN[:3]} {PIN[3:]}", Opening(CODE, PIN)),
        (f"OUV {CODE[:3]}-{CODE[3:]} {PIN[:3]}-{PIN[3:]}", Opening(CODE, PIN)),
        (f"ÔUV {CODE} {PIN}", Opening(CODE, PIN)),
        (f"PART {CODE} {PIN} 12h 153", Turnout(CODE, PIN, 12, 0, 153)),
        (f"part {CODE} {PIN} 12H 153", Turnout(CODE, PIN, 12, 0, 153)),
        (f"PART {CODE} {PIN} 12:00 153", Turnout(CODE, PIN, 12, 0, 153)),
        (f"PART {CODE} {PIN} 12 153", Turnout(CODE, PIN, 12, 0, 153)),
        (f"PART {CODE} {PIN} 12 h 153", Turnout(CODE, PIN, 12, 0, 153)),
        (f"PART {CODE} {PIN} 12h30 153", Turnout(CODE, PIN, 12, 30, 153)),
        (f"PART {CODE} {PIN} 9h 0", Turnout(CODE, PIN, 9, 0, 0)),
        (f"PART {CODE} {PIN} 09:05 0012", Turnout(CODE, PIN, 9, 5, 12)),
        (f"PART;{CODE};{PIN};17h;1204", Turnout(CODE, PIN, 17, 0, 1204)),
        (f"Participation {CODE} {PIN} 17h 1204", Turnout(CODE, PIN, 17, 0, 1204)),
        (f"PART\u00a0{CODE}\u00a0{PIN}\u00a012h\u00a0153", Turnout(CODE, PIN, 12, 0, 153)),
        ("PART " + "".join(chr(0xFF10 + int(d)) for d in CODE) + f" {PIN} 12h 153", Turnout(CODE, PIN, 12, 0, 153)),
        ("AIDE", Help()),
        ("aide", Help()),
        ("Aïde", Help()),
        ("aide svp", Help()),
        ("HELP", Help()),
        ("?", Help()),
    ],
)
def test_well_formed_messages(text: str, expected: object) -> None:
    assert parse_message(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "empty", "Message vide : envoyez AIDE pour la liste des commandes."),
        (" ,; ", "empty", "Message vide : envoyez AIDE pour la liste des commandes."),
        ("bonjour", "unknown_command", f"Commande BONJOUR inconnue : envoyez OUV, PART ou AIDE, par exemple {EXAMPLE_TURNOUT}"),
        ("OUV", "code_missing", f"Code de bureau manquant : écrivez par exemple {EXAMPLE_OPENING}"),
        ("PART", "code_missing", f"Code de bureau manquant : écrivez par exemple {EXAMPLE_TURNOUT}"),
        (f"OUV {CODE}", "pin_missing", f"Code PIN manquant : écrivez par exemple {EXAMPLE_OPENING}"),
        (f"PART {CODE} 12h 153", "pin_missing", f"Code PIN manquant : écrivez par exemple {EXAMPLE_TURNOUT}"),
        ("OUV 123456 482913", "code_too_short", "Code de bureau 123456 incomplet : il a 7 chiffres."),
        (
            "PART 1234567 482913 12h 153",
            "code_check_digit",
            "Code de bureau 1234567 erroné : un chiffre est faux, vérifiez les 7 chiffres sur la fiche du bureau.",
        ),
        ("OUV 12345678 482913", "code_too_long", "Code de bureau 12345678 trop long : il a 7 chiffres."),
        ("OUV 12E4566 482913", "code_characters", "Code de bureau 12E4566 invalide : il ne contient que des chiffres."),
        (
            f"OUV {PIN} {CODE}",
            "code_after_pin",
            f"Mettez le code du bureau (7 chiffres) avant le PIN (6 chiffres) : {EXAMPLE_OPENING}",
        ),
        (f"OUV {CODE} 48291", "pin_too_short", "Code PIN de 5 chiffres : il en a 6, voir la fiche du bureau."),
        (f"OUV {CODE} 4829134", "pin_too_long", "Code PIN trop long : il a 6 chiffres, voir la fiche du bureau."),
        (f"OUV {CODE} 48291X", "pin_characters", "Code PIN invalide : il ne contient que des chiffres (6)."),
        (f"OUV {CODE} {PIN} merci", "too_many", f"Texte en trop après le PIN (MERCI) : écrivez seulement {EXAMPLE_OPENING}"),
        (f"PART {CODE} {PIN}", "hour_missing", f"Heure manquante : écrivez par exemple {EXAMPLE_TURNOUT}"),
        (f"PART {CODE} {PIN} 153", "hour_missing", f"Heure manquante : écrivez par exemple {EXAMPLE_TURNOUT}"),
        (f"PART {CODE} {PIN} 12h", "voters_missing", f"Nombre de votants manquant : écrivez par exemple {EXAMPLE_TURNOUT}"),
        (f"PART {CODE} {PIN} 12:00", "voters_missing", f"Nombre de votants manquant : écrivez par exemple {EXAMPLE_TURNOUT}"),
        (
            f"PART {CODE} {PIN} 12h153",
            "hour_voters_joined",
            f"Séparez l'heure et le nombre de votants par un espace : {EXAMPLE_TURNOUT}",
        ),
        (
            f"PART {CODE} {PIN} 25h 153",
            "hour_invalid",
            "Heure 25h impossible : écrivez une heure de 0h à 23h59, par exemple 12h ou 12h30.",
        ),
        (
            f"PART {CODE} {PIN} 12h75 153",
            "hour_invalid",
            "Heure 12h75 impossible : écrivez une heure de 0h à 23h59, par exemple 12h ou 12h30.",
        ),
        (
            f"PART {CODE} {PIN} midi 153",
            "hour_invalid",
            f"Heure MIDI illisible : écrivez par exemple 12h ou 12:00, comme {EXAMPLE_TURNOUT}",
        ),
        (
            f"PART {CODE} {PIN} 12h 15x",
            "voters_invalid",
            f"Nombre de votants 15X illisible : écrivez seulement des chiffres, comme {EXAMPLE_TURNOUT}",
        ),
        (
            f"PART {CODE} {PIN} 12h 1234567",
            "voters_invalid",
            f"Nombre de votants 1234567 trop grand : vérifiez-le, comme {EXAMPLE_TURNOUT}",
        ),
        (
            f"PART {CODE} {PIN} 12h 1 234",
            "too_many",
            f"Texte en trop (234) : écrivez le nombre de votants sans espace, comme {EXAMPLE_TURNOUT}",
        ),
    ],
)
def test_refusals_say_exactly_what_to_fix(text: str, code: str, message: str) -> None:
    result = parse_message(text)
    assert result == SmsError(code, message)
    assert_good_refusal(result)


@pytest.mark.parametrize("value", [None, 12, b"OUV 1234566 482913", ["OUV"]])
def test_non_text_is_refused_not_raised(value: object) -> None:
    assert_good_refusal(parse_message(value))


@pytest.mark.parametrize(
    ("text", "word"),
    [("aïde", "AIDE"), ("Part: 1", "PART"), ("ouverture 1", "OUV"), ("RES 1", "RES"), ("", ""), ("PART1234566", "PART")],
)
def test_first_word_for_dispatch(text: str, word: str) -> None:
    assert first_word(text) == word


def test_format_round_trip_examples() -> None:
    opening = Opening(CODE, PIN)
    turnout = Turnout(CODE, PIN, 9, 30, 0)
    assert format_opening(opening) == f"OUV {CODE} {PIN}"
    assert format_turnout(turnout) == f"PART {CODE} {PIN} 9h30 0"
    assert parse_message(format_opening(opening)) == opening
    assert parse_message(format_turnout(turnout)) == turnout


# --- Properties --------------------------------------------------------------------------------------
#
# Two kinds of property tests. Structured ones draw every part of a message from Hypothesis
# strategies (best shrinking, but ≈ 1 ms of engine time per example). Batched ones draw a seeded
# `random.Random` from Hypothesis and build BATCH messages from it per example (a failure reports
# the message, and Hypothesis reports the seed to replay it), so that the run covers well over
# 100,000 generated messages in a few seconds:
#   structured: 3,000 + 2,000 + 1,000 × 2 + 1,000 = 8,000 messages
#   batched:    (300 + 500 + 300 + 500 + 400) examples × 50 = 100,000 messages

import random  # noqa: E402

BATCH = 50
FAST = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "database": None}

NOISE_TOKENS = [
    "OUV", "ouv", "PART", "part", "AIDE", "Aïde", "ÔUV", "RES", "?", "h", "H", ":", "12h", "12:00", "25h",
    "12h75", "12h153", "0", "153", "00012", "9999999", CODE, OTHER_CODE, PIN, "1234567", "123456", "12345678",
    "482", "913", "-", ".", "é", "€", "🙂", "\u00a0", "\u200b", "١٢٣", "１２３", "²", "ǅ", "ß", "ﬁ", "\x00", "{", "^",
]
NOISE_SEPARATORS = [" ", "  ", ",", ";", " , ", "\n", "\t", "", ";;"]
CHARACTER_POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789" * 3,
    " ,;:.-hH\t\n\u00a0\u202f",
    "éèêëàâäîïôöùûüçÉÈÀÇœŒ«»€{}[]^~|\\",
    "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９²³¹①",
]


def random_text(rng: random.Random) -> str:
    """Any text: mostly from pools that matter to the grammar, sometimes any code point."""
    out = []
    for _ in range(rng.randrange(0, 60)):
        if rng.random() < 0.1:
            point = rng.randrange(1, 0x10FFFF)
            out.append(chr(point) if not 0xD800 <= point <= 0xDFFF else "?")
        else:
            out.append(rng.choice(rng.choice(CHARACTER_POOLS)))
    return "".join(out)


def noise_message(rng: random.Random) -> str:
    return "".join(rng.choice(NOISE_TOKENS) + rng.choice(NOISE_SEPARATORS) for _ in range(rng.randrange(0, 9)))


def random_keyword(rng: random.Random, short: str, long: str) -> str:
    word = rng.choice([short, short, long])
    return "".join(c.lower() if rng.random() < 0.5 else c for c in word) + rng.choice(["", "", ":", "."])


def grouped(rng: random.Random, digits: str) -> str:
    """Digits as people type them: whole, or in two or three groups cut by spaces, dashes or dots."""
    cuts = sorted(rng.sample(range(1, len(digits)), rng.choice([0, 0, 1, 2])))
    glue = rng.choice([" ", "-", "."])
    pieces, last = [], 0
    for cut in cuts + [len(digits)]:
        pieces.append(digits[last:cut])
        last = cut
    return glue.join(pieces)


SEPARATORS_OK = [" ", "  ", ",", ";", " ; ", ", ", "\u00a0", "\t"]


def random_opening(rng: random.Random) -> tuple[str, Opening]:
    command = Opening(codes.generate(rng.randint(1, codes.MAX_SEQUENCE)), f"{rng.randrange(10**6):06d}")
    separator = rng.choice(SEPARATORS_OK)
    body = separator.join(
        [random_keyword(rng, "OUV", "OUVERTURE"), grouped(rng, command.station_code), grouped(rng, command.pin)]
    )
    return rng.choice(["", " ", "\n"]) + body + rng.choice(["", " ", ";"]), command


def random_turnout(rng: random.Random) -> tuple[str, Turnout]:
    hour = rng.randrange(24)
    minute = rng.choice([0, 0, 0, 15, 30, 45, rng.randrange(60)])
    voters = rng.choice([rng.randrange(1_000), rng.randrange(10**6)])
    command = Turnout(codes.generate(rng.randint(1, codes.MAX_SEQUENCE)), f"{rng.randrange(10**6):06d}", hour, minute, voters)
    styles = [f"{hour}:{minute:02d}", f"{hour:02d}h{minute:02d}", f"{hour}H{minute:02d}"]
    if minute == 0:
        styles += [f"{hour}h", f"{hour}H", f"{hour}", f"{hour} h", f"{hour:02d}:00"]
    separator = rng.choice(SEPARATORS_OK)
    body = separator.join(
        [
            random_keyword(rng, "PART", "PARTICIPATION"),
            grouped(rng, command.station_code),
            grouped(rng, command.pin),
            rng.choice(styles),
            rng.choice([str(voters), f"{voters:04d}"]),
        ]
    )
    return rng.choice(["", " "]) + body + rng.choice(["", " ", ","]), command


def mistyped(rng: random.Random, code: str) -> str:
    """The code with one wrong digit, or two different adjacent digits swapped."""
    while True:
        position = rng.randrange(codes.CODE_LENGTH)
        if rng.random() < 0.5:
            return code[:position] + str((int(code[position]) + rng.randint(1, 9)) % 10) + code[position + 1 :]
        position = min(position, codes.CODE_LENGTH - 2)
        if code[position] != code[position + 1]:
            return code[:position] + code[position + 1] + code[position] + code[position + 2 :]


def check_answer(text: str) -> None:
    """The properties every message must satisfy, whatever it is."""
    result = parse_message(text)
    if isinstance(result, SmsError):
        assert_good_refusal(result)
        return
    assert isinstance(result, Opening | Turnout | Help), (text, result)
    if isinstance(result, Opening | Turnout):
        # Anything accepted carries a valid code and a well-formed PIN: never a wrong station.
        assert codes.is_valid(result.station_code), (text, result)
        assert codes.normalise_pin(result.pin) == result.pin, (text, result)
    if isinstance(result, Turnout):
        assert 0 <= result.hour <= 23 and 0 <= result.minute <= 59 and result.voters >= 0, (text, result)


# Structured: Hypothesis builds (and shrinks) each message.


@settings(max_examples=3_000, **FAST)
@given(st.text(max_size=80))
def test_any_text_gets_an_answer(text: str) -> None:
    check_answer(text)


@settings(max_examples=2_000, **FAST)
@given(st.lists(st.tuples(st.sampled_from(NOISE_TOKENS) | st.text(max_size=5), st.sampled_from(NOISE_SEPARATORS)), max_size=8))
def test_grammar_shaped_noise_gets_an_answer(parts: list[tuple[str, str]]) -> None:
    check_answer("".join(token + separator for token, separator in parts))


@settings(max_examples=1_000, **FAST)
@given(
    st.integers(1, codes.MAX_SEQUENCE),
    st.integers(0, 999_999),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 999_999),
)
def test_turnout_round_trip_structured(sequence: int, pin: int, hour: int, minute: int, voters: int) -> None:
    command = Turnout(codes.generate(sequence), f"{pin:06d}", hour, minute, voters)
    assert parse_message(format_turnout(command)) == command
    assert parse_message(f"part;{command.station_code},{command.pin} {hour}:{minute:02d};;{voters}") == command


@settings(max_examples=1_000, **FAST)
@given(st.integers(1, codes.MAX_SEQUENCE), st.integers(0, 999_999), st.integers(0, 6), st.integers(1, 9))
def test_a_mistyped_code_is_refused_structured(sequence: int, pin: int, position: int, shift: int) -> None:
    code = codes.generate(sequence)
    typo = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    result = parse_message(f"OUV {typo} {pin:06d}")
    assert isinstance(result, SmsError) and result.code == "code_check_digit", (code, typo, result)


# Batched: Hypothesis draws the seed, each example checks BATCH messages.

SEEDS = st.randoms(use_true_random=True)


@settings(max_examples=300, **FAST)
@given(SEEDS)
def test_random_text_batches_get_an_answer(rng: random.Random) -> None:
    for _ in range(BATCH):
        check_answer(random_text(rng))


@settings(max_examples=500, **FAST)
@given(SEEDS)
def test_noise_batches_get_an_answer(rng: random.Random) -> None:
    for _ in range(BATCH):
        check_answer(noise_message(rng))


@settings(max_examples=300, **FAST)
@given(SEEDS)
def test_opening_round_trip(rng: random.Random) -> None:
    for _ in range(BATCH):
        text, command = random_opening(rng)
        assert parse_message(text) == command, text
        assert parse_message(format_opening(command)) == command


@settings(max_examples=500, **FAST)
@given(SEEDS)
def test_turnout_round_trip(rng: random.Random) -> None:
    for _ in range(BATCH):
        text, command = random_turnout(rng)
        assert parse_message(text) == command, text
        assert parse_message(format_turnout(command)) == command


@settings(max_examples=400, **FAST)
@given(SEEDS)
def test_a_mistyped_code_is_refused_never_another_station(rng: random.Random) -> None:
    for _ in range(BATCH):
        text, command = random_turnout(rng)
        typo = mistyped(rng, command.station_code)
        wrong = Turnout(typo, command.pin, command.hour, command.minute, command.voters)
        for message in (format_turnout(wrong), text.replace(grouped_digits(text, command.station_code), typo, 1)):
            result = parse_message(message)
            assert isinstance(result, SmsError) and result.code == "code_check_digit", (message, result)
            assert_good_refusal(result)


def grouped_digits(text: str, code: str) -> str:
    """The substring of `text` where `code` was typed (possibly cut in groups)."""
    start = text.index(code[0])
    end = start
    seen = 0
    while seen < len(code):
        if text[end].isdigit():
            seen += 1
        end += 1
    return text[start:end]
