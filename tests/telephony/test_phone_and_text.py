"""Phone numbers (E.164, masking) and SMS text fitting: table-driven and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.telephony.phone import InvalidPhoneNumber, mask_phone, normalise_phone, phone_actor
from services.telephony.sms_text import capacity, fit_sms, gsm_length, is_gsm, segments, to_gsm

NUMBERS = [
    ("06 12 34 56 78", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("0612345678", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("+330612345678", "+33612345678"),
    ("0033612345678", "+33612345678"),
    ("33612345678", "+33612345678"),
    ("01 23 45 67 89", "+33123456789"),
    ("07 00 00 00 01", "+33700000001"),
    ("0690 12 34 56", "+590690123456"),  # Guadeloupe mobile
    ("0590 12 34 56", "+590590123456"),
    ("0694 12 34 56", "+594694123456"),  # Guyane
    ("0696 12 34 56", "+596696123456"),  # Martinique
    ("0692 12 34 56", "+262692123456"),  # La Réunion
    ("0639 12 34 56", "+262639123456"),  # Mayotte
    ("+33 6 90 12 34 56", "+590690123456"),  # a Guadeloupe number written with +33
    ("+590 690 12 34 56", "+590690123456"),
    ("+689 87 12 34 56", "+68987123456"),  # Polynésie française
    ("+44 (0)20 7946 0958", "+442079460958"),
    ("+1 415 555 0100", "+14155550100"),
    ("\u00a006\u00a012 34 56 78 ", "+33612345678"),
]


@pytest.mark.parametrize(("raw", "e164"), NUMBERS)
def test_normalise_phone(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "612345678",
        "06 12 34 56",
        "06 12 34 56 78 9",
        "+33 12",
        "abc",
        "+0612345678",
        "0012",
        "00 00 00 00 00",
        "+33 6 12 34 56 7a",
    ],
)
def test_invalid_numbers_are_refused_in_french(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalise_phone(raw)
    assert "Numéro de téléphone" in refused.value.message


@given(st.text(max_size=30))
def test_normalise_never_crashes_and_is_idempotent(raw: str) -> None:
    try:
        e164 = normalise_phone(raw)
    except InvalidPhoneNumber:
        return
    assert e164.startswith("+") and e164[1:].isdigit() and 8 <= len(e164) <= 16
    assert normalise_phone(e164) == e164


@given(st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True))
def test_every_french_national_number_normalises(raw: str) -> None:
    e164 = normalise_phone(raw)
    assert e164.endswith(raw[1:])
    assert mask_phone(e164).endswith(raw[-2:]) and raw[3:8] not in mask_phone(e164)


def test_mask_and_actor() -> None:
    assert mask_phone("+33612345678") == "+336******78"
    assert mask_phone("+590690123456") == "+590*******56"
    assert mask_phone("12345") == "*****"
    actor = phone_actor("+33612345678", role="president", scope="1000190")
    assert actor.id == "phone:+336******78" and actor.scope == "1000190"


# --- SMS text ---------------------------------------------------------------------------------------


def test_french_letters_outside_gsm_are_transliterated() -> None:
    assert (
        to_gsm("Fenêtre, garçon, cœur, « guillemets », l’apostrophe…")
        == 'Fenetre, garcon, coeur, "guillemets", l\'apostrophe...'
    )
    assert to_gsm("é è à ù É Ç") == "é è à ù É Ç"  # these are GSM-7
    assert to_gsm("n° 3 🙂") == "no 3 ?"


def test_segments() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("ê" * 70) == 1 and segments("ê" * 71) == 2  # UCS-2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension characters count twice


def test_fit_sms_cuts_at_a_word() -> None:
    text = "mot " * 200
    fitted = fit_sms(text, max_segments=2)
    assert gsm_length(fitted) <= capacity(2) and fitted.endswith("mot...")
    assert fit_sms("court") == "court"


@given(st.text(max_size=2000), st.integers(min_value=1, max_value=6))
def test_fit_sms_always_gives_one_gsm_message_within_budget(text: str, max_segments: int) -> None:
    fitted = fit_sms(text, max_segments)
    assert is_gsm(fitted)
    assert gsm_length(fitted) <= capacity(max_segments)
    assert segments(fitted) <= max_segments
    assert all(char >= " " or char in "\n\r" for char in fitted)  # TwiML is XML: no control characters
