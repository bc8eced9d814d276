"""Shared helpers for the SMS grammar tests: a check-digit validator standing in for
polling/codes.py (Luhn, as a typical choice), valid station codes, and message builders."""

from __future__ import annotations

import random

from results.sms_grammar import ReportMessage


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def station_code_is_valid(code: str) -> bool:
    if not (code.isascii() and code.isdigit() and 5 <= len(code) <= 9):
        return False
    return luhn_check_digit(code[:-1]) == code[-1]


def station_code(body: str) -> str:
    return body + luhn_check_digit(body)


CODE = station_code("750561")  # a valid code used in the tables
PIN = "482913"
NAMES = ["Laurent", "Garnier", "Benali", "Moreau", "Lefèvre", "Girard"]


SEPARATORS = [" ", ",", ";", "  ", " ,", ", ", ";;", " ; ", "\n", ",,"]


def _case(rng: random.Random, text: str) -> str:
    return "".join(c.lower() if rng.random() < 0.5 else c for c in text)


def _euros(rng: random.Random, cents: int) -> str:
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", " ")
    whole = rng.choice([str(euros), grouped]) if euros >= 1000 else str(euros)
    if rest:
        decimals = f"{rest:02d}"
        if decimals.endswith("0") and rng.random() < 0.5:
            decimals = decimals[0]
        text = whole + rng.choice([",", "."]) + decimals
    else:
        text = whole + rng.choice(["", "", ",00", ".0"])
    prefix = rng.choice(["E", "E", "E:", "E=", "E "])
    return prefix + text + rng.choice(["", "", "€", " EUR", " euros"])


def variant_sms(rng: random.Random, message: ReportMessage) -> str:
    """The same report written another valid way: case, separators, tag forms and order, euros."""
    report = message.report
    tagged = []
    for letter, value in (("V", report.signatures), ("B", report.blank), ("N", report.null)):
        tagged.append(letter + rng.choice(["", "", ":", "=", " "]) + str(value).zfill(rng.choice([0, 0, 4])))
    untagged = [str(v) for v in report.votes]
    # tags keep their relative freedom: each is inserted anywhere among the candidate figures
    body = list(untagged)
    for tag in rng.sample(tagged, len(tagged)):
        body.insert(rng.randint(0, len(body)), tag)
    round_text = rng.choice([f"T{message.round_number}", f"T {message.round_number}", f"T:{message.round_number}"])
    tokens = [round_text, message.station_code, message.pin, *body]
    text = ""
    for index, token in enumerate(tokens):
        text += (rng.choice(SEPARATORS) if index else rng.choice(["", " ", ";"])) + _case(rng, token)
    if report.contributions_cents is not None:
        text += rng.choice([" ", ",", ";", " ; "]) + _case(rng, _euros(rng, report.contributions_cents))
    return text + rng.choice(["", " ", ";", ","]) if report.contributions_cents is None else text
