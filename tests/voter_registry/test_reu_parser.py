"""Property tests of the REU line parser: valid lines round-trip, anything else is rejected
with a French reason naming its column, and nothing ever raises."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.voter_registry.conftest import HEADER, line
from voter_registry.reu import (
    BIRTH_DATE,
    COLUMN_COUNT,
    COLUMNS,
    MAIN_LIST,
    MUNICIPAL_LIST,
    VOTER_COLUMNS,
    ParsedVoter,
    Rejection,
    check_header,
    parse_birth_date,
    parse_file_name,
    parse_line,
    split_line,
)

names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZÉÈÊÀÇÔÏ '-", min_size=1, max_size=40).filter(
    lambda s: any(ch.isalpha() for ch in s)
)
given_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàç -", max_size=40)


def parse(text: str, commune: str = "33063"):  # noqa: ANN201
    return parse_line(text, department_code="33", commune_code=commune, max_year=2026)


@given(
    birth_name=names,
    usage_name=st.one_of(st.just(""), names),
    given=given_names,
    sex=st.sampled_from(["M", "F", "m", "f"]),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)),
    unknown=st.sampled_from(["", "day", "both"]),
    list_type=st.sampled_from(["Liste principale", "Liste complémentaire municipale", "LISTE COMPLEMENTAIRE EUROPEENNE"]),
    bureau=st.text(alphabet="0123456789ABC", min_size=1, max_size=10),
    order=st.integers(min_value=0, max_value=99999),
)
@settings(max_examples=300)
def test_valid_lines_round_trip(birth_name, usage_name, given, sex, birth, unknown, list_type, bureau, order) -> None:  # noqa: ANN001
    day = 0 if unknown else birth.day
    month = 0 if unknown == "both" else birth.month
    text = line(
        birth_name=birth_name,
        usage_name=usage_name,
        given_names=given,
        sex=sex,
        birth_date=f"{day:02d}/{month:02d}/{birth.year}",
        list_type=list_type,
        bureau=bureau,
        order=str(order),
    )
    result = parse(text)
    assert isinstance(result, ParsedVoter), result
    row = dict(zip(VOTER_COLUMNS, result.record, strict=True))
    assert row["birth_name"] == " ".join(birth_name.split())
    assert (row["birth_year"], row["birth_month"], row["birth_day"]) == (birth.year, month, day)
    assert row["sex"] == sex.upper()
    assert row["bureau_code"] == bureau
    assert row["order_number"] == order
    assert row["department_code"] == "33" and row["commune_code"] == "33063"
    assert len(row["identity_hash"]) == 32
    assert result.bureau.code == bureau


@given(st.text(max_size=300))
@settings(max_examples=500)
def test_arbitrary_lines_never_raise(text: str) -> None:
    result = parse(text)
    assert isinstance(result, (ParsedVoter, Rejection))
    if isinstance(result, Rejection):
        assert result.reason and result.column in ("", *COLUMNS)


@given(st.integers(min_value=0, max_value=60).filter(lambda n: n != COLUMN_COUNT))
def test_wrong_column_count_is_rejected_with_the_count(count: int) -> None:
    result = parse(";".join(["x"] * count))
    assert isinstance(result, Rejection)
    assert f"{max(count, 1)} colonnes au lieu de 27" in result.reason


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"birth_date": "31/02/1980"}, "date de naissance", "n'existe pas"),
        ({"birth_date": "1980-02-12"}, "date de naissance", "illisible"),
        ({"birth_date": "12/13/1980"}, "date de naissance", "impossible"),
        ({"birth_date": "05/00/1980"}, "date de naissance", "impossible"),
        ({"birth_date": "12/04/2031"}, "date de naissance", "Année de naissance 2031"),
        ({"birth_name": "  "}, "nom de naissance", "manquant"),
        ({"birth_name": "X" * 250}, "nom de naissance", "trop long"),
        ({"sex": "X"}, "sexe", "M ou F"),
        ({"list_type": "Liste des amis"}, "libellé du type de liste", "inconnu"),
        ({"bureau": ""}, "code du bureau de vote", "manquant"),
        ({"order": "12a"}, "numéro d'ordre dans le bureau de vote", "nombre entier"),
        ({"commune": "33281"}, "code du l'ugle", "un fichier par commune"),
        ({"birth_commune_code": "BORDX"}, "code commune de naissance", "invalide"),
        ({"birth_name": '"MARTIN'}, "", "Guillemet"),
    ],
)
def test_rejection_reasons(changes: dict, column: str, words: str) -> None:
    result = parse(line(**changes))
    assert isinstance(result, Rejection)
    assert result.column == column
    assert words in result.reason


def test_reasons_never_quote_names() -> None:
    result = parse(line(birth_name="X" * 250))
    assert isinstance(result, Rejection) and "XXXX" not in result.reason


def test_unknown_date_parts_and_lists() -> None:
    result = parse(line(birth_date="00/00/1953", list_type="Liste complémentaire municipale"))
    assert isinstance(result, ParsedVoter)
    assert result.record[VOTER_COLUMNS.index("birth_month")] == 0
    assert result.lists == MUNICIPAL_LIST
    assert parse_birth_date("29/02/2000", 2026) == (2000, 2, 29)
    assert isinstance(parse_birth_date("29/02/2001", 2026), str)
    assert isinstance(parse(line()), ParsedVoter) and parse(line()).lists == MAIN_LIST


def test_quoted_fields_are_understood() -> None:
    fields = line().split(";")
    fields[3] = '"MARTIN; DIT LE GRAND"'
    result = parse(";".join(fields))
    assert isinstance(result, ParsedVoter)
    assert result.record[VOTER_COLUMNS.index("birth_name")] == "MARTIN; DIT LE GRAND"


def test_header_variants() -> None:
    assert check_header(split_line(HEADER)) is None
    assert check_header(split_line(HEADER.upper().replace("É", "E"))) is None
    assert check_header(split_line(HEADER.replace("code du l'ugle", "Code de l'UGLE"))) is None
    problem = check_header(["nom", "prenom", "date"])
    assert problem is not None and "27" in problem.message and "numéro d'ordre dans le bureau de vote" in problem.message
    wrong = split_line(HEADER.replace("sexe", "genre"))
    problem = check_header(wrong)
    assert problem is not None and "colonne 7" in problem.message and "« sexe »" in problem.message


def test_file_names() -> None:
    parsed = parse_file_name("ListesElecteursActifs-com2A004-01-09-2026-10h30.csv")
    assert parsed is not None and parsed.commune_code == "2A004"
    assert (parsed.extracted_at.day, parsed.extracted_at.hour, parsed.extracted_at.minute) == (1, 10, 30)
    assert parse_file_name("liste.csv") is None
    assert parse_file_name("ListesElecteursActifs-com33063-31-02-2026-10h00.csv") is None


def test_birth_date_column_index() -> None:
    assert COLUMNS[BIRTH_DATE] == "date de naissance"
