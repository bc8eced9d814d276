"""Reading RNE and party files: every release's layout, detected encodings and separators, line-numbered
errors, and a property test over names full of separators, quotes and accents."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sponsorship import synthetic
from services.sponsorship.rne_formats import RELEASES, RneKind
from services.sponsorship.roster_files import (
    CommuneRef,
    FileError,
    decode,
    detect_separator,
    parse_party_file,
    parse_rne,
    person_key,
)
from services.sponsorship.rules import Category

TERRITORY = synthetic.load_territory_files()
DEPARTMENTS = set(TERRITORY.departments)
COMMUNES = {code: CommuneRef(name, department, population) for code, name, department, population in TERRITORY.communes}
SMALL = synthetic.generate_roster(7, territory=TERRITORY, mayor_min_population=20_000, scale=0.05, national_council=30, members=40)


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("kind", list(RneKind))
def test_every_release_reads_back_exactly(release: str, kind: RneKind) -> None:
    officials = SMALL.rne[kind]
    data = synthetic.rne_file_bytes(officials, kind, release=release, territory=TERRITORY)
    parsed = parse_rne(data, departments=DEPARTMENTS, communes=COMMUNES)
    fmt = RELEASES[release][kind]
    assert parsed.kind == kind  # detected from the columns alone
    assert parsed.separator == fmt.separator
    assert parsed.encoding == {"utf-8": "utf-8", "cp1252": "windows-1252"}[fmt.encoding]
    assert parsed.errors == []
    assert [(r.family_name, r.given_name, r.birth_date, r.department_code) for r in parsed.records] == [
        (o.family_name, o.given_name, o.birth_date, o.department_code) for o in officials
    ]
    if kind == RneKind.MAYORS:
        # Mayors carry their commune's population from the territory reference.
        assert all(r.population == COMMUNES[r.commune_code].population for r in parsed.records)  # type: ignore[index]
        assert all(r.population and r.population > 20_000 for r in parsed.records)


def test_the_nuance_columns_are_ignored() -> None:
    """Membership comes from the party's files, never from the RNE's political labels."""
    data = synthetic.rne_file_bytes(SMALL.rne[RneKind.DEPARTMENTAL], RneKind.DEPARTMENTAL, release="2023-06", territory=TERRITORY)
    assert b"code_nuance_mandat" in data.splitlines()[0]
    parsed = parse_rne(data, departments=DEPARTMENTS, communes=COMMUNES)
    assert not hasattr(parsed.records[0], "nuance")
    assert all(r.member_number is None for r in parsed.records)


MAYOR_HEADER = RELEASES["2024-07"][RneKind.MAYORS].header


def mayors_file(rows: list[list[str]], *, separator: str = ";", header: tuple[str, ...] = MAYOR_HEADER) -> bytes:
    output = io.StringIO(newline="")
    writer = csv.writer(output, delimiter=separator, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return output.getvalue().encode("utf-8")


def mayor_row(family: str = "MARTIN", given: str = "Alice", birth: str = "1970-04-02", commune: str = "33063", department: str = "33") -> list[str]:
    return [department, "Gironde", "", "", commune, "Bordeaux", family, given, "F", birth, "38", "Cadre", "2020-07-03", "2020-07-03"]


def test_malformed_lines_are_reported_with_their_numbers_and_the_rest_imported() -> None:
    rows = [
        mayor_row(),  # line 2
        mayor_row("DURAND", birth="31/02/1970"),  # 3: impossible date
        mayor_row("PETIT")[:-2],  # 4: two fields missing
        mayor_row("", "Jean"),  # 5: no name
        mayor_row("ROUX", commune="33999"),  # 6: unknown commune
        mayor_row("BLANC", commune="75056", department="33"),  # 7: Paris is not in Gironde
        mayor_row("MARTIN", "Alice"),  # 8: same person as line 2
        mayor_row("NOËL", "Chloé", "02/04/1970", "2A004", "2A"),  # 9: fine, dd/mm/yyyy
    ]
    parsed = parse_rne(mayors_file(rows), departments=DEPARTMENTS, communes=COMMUNES)
    assert [(r.line, r.family_name) for r in parsed.records] == [(2, "MARTIN"), (9, "NOËL")]
    assert [(e.line, e.message) for e in parsed.errors] == [
        (3, "date de naissance illisible « 31/02/1970 » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)"),
        (4, "12 champs au lieu de 14 (séparateur « point-virgule »)"),
        (5, "nom manquant"),
        (6, "commune inconnue « 33999 » (code INSEE attendu)"),
        (7, "la commune 75056 n'est pas dans le département 33"),
        (8, "MARTIN Alice figure déjà ligne 2"),
    ]
    assert parsed.data_lines == 8
    assert parsed.records[1].population == COMMUNES["2A004"].population


def test_line_numbers_count_physical_lines_of_quoted_fields() -> None:
    rows = [mayor_row("DE LA\nTOUR", "Anne"), mayor_row("X", birth="bad")]
    parsed = parse_rne(mayors_file(rows), departments=DEPARTMENTS, communes=COMMUNES)
    assert [e.line for e in parsed.errors] == [4]  # the first record spans lines 2-3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ZA", "971"), ("ZD", "974"), ("1", "01"), ("001", "01"), ("2a", "2A"), ("ZZ", None), ("99", None)],
)
def test_department_codes_of_every_era(raw: str, expected: str | None) -> None:
    header = RELEASES["2024-07"][RneKind.SENATORS].header
    row = [raw, "", "", "", "DUPONT", "Marc", "M", "1960-01-01", "", "", "2023-10-01"]
    parsed = parse_rne(mayors_file([row], header=header), departments=DEPARTMENTS, communes=COMMUNES)
    assert parsed.errors == []
    assert parsed.records[0].department_code == expected


def test_short_commune_numbers_are_completed_with_the_department() -> None:
    parsed = parse_rne(mayors_file([mayor_row(commune="004", department="2A")]), departments=DEPARTMENTS, communes=COMMUNES)
    assert parsed.records[0].commune_code == "2A004"


def test_header_spellings_are_matched_by_name() -> None:
    header = tuple(
        column.replace("'", "\u2019").replace("Code sexe", "Code sexe ").replace("Date de naissance", "Date de naissancee")
        for column in MAYOR_HEADER
    )
    parsed = parse_rne(mayors_file([mayor_row()], header=header), departments=DEPARTMENTS, communes=COMMUNES)
    assert parsed.errors == [] and parsed.records[0].birth_date == date(1970, 4, 2)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Code du département;Libellé du département;Code de la commune;Libellé de la commune;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Libellé de la fonction", "non reconnu"),
        ("Code de la circonscription consulaire;Libellé de la circonscription consulaire;Nom de l’élu;Prénom de l’élu;Code sexe;Date de naissance", "non reconnu"),
        ("Nom de l'élu\tPrénom de l'élu\tCode sexe\tDate de naissance\tCode profession\tLibellé de la profession", "non reconnu"),
        ("nom,prenom", "non reconnu"),
    ],
)
def test_files_that_are_not_sponsor_lists_are_refused(header: str, message: str) -> None:
    with pytest.raises(FileError, match=message):
        parse_rne((header + "\n").encode(), departments=DEPARTMENTS, communes=COMMUNES)


def test_a_given_kind_with_missing_columns_is_refused_in_french() -> None:
    header = "Nom de l'élu;Prénom de l'élu;Date de naissance"
    with pytest.raises(FileError, match="Colonnes manquantes pour un fichier RNE des maires : Code de la commune"):
        parse_rne((header + "\nA;B;1970-01-01\n").encode(), departments=DEPARTMENTS, communes=COMMUNES, kind=RneKind.MAYORS)


@pytest.mark.parametrize(("data", "message"), [(b"", "vide"), (b"   \n", "vide"), (b"nom prenom\nx y\n", "Séparateur introuvable")])
def test_unreadable_files(data: bytes, message: str) -> None:
    with pytest.raises(FileError, match=message):
        parse_rne(data, departments=DEPARTMENTS, communes=COMMUNES)


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        ("Élu;Prénom".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "Élu;Prénom".encode(), "utf-8-sig"),
        ("Élu;Prénom".encode("cp1252"), "windows-1252"),
        ("Élu;Prénom".encode("utf-16"), "utf-16"),
        ("Nom de l\u2019élu".encode("cp1252"), "windows-1252"),
    ],
)
def test_encodings_are_detected(encoded: bytes, encoding: str) -> None:
    text, detected = decode(encoded)
    assert detected == encoding
    assert text.startswith(("Élu;Prénom", "Nom de l\u2019élu"))


@pytest.mark.parametrize(("line", "separator"), [("a;b;c", ";"), ("a\tb\tc", "\t"), ("a,b,c", ","), ("a|b|c", "|"), ("a;b,c;d", ";")])
def test_separators_are_detected(line: str, separator: str) -> None:
    assert detect_separator(line) == separator


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Le Pen", "Marine", date(1968, 8, 5)), ("LE-PEN", "MARINE", date(1968, 8, 5))),
        (("Lefèvre", "Jean-Pierre Marie", date(1950, 1, 1)), ("LEFEVRE", "Jean-Pierre", date(1950, 1, 1))),
        (("N'Diaye", "Aïssa", date(1980, 2, 2)), ("NDIAYE", "AISSA", date(1980, 2, 2))),
    ],
)
def test_person_key_ignores_spelling_noise(a: tuple, b: tuple) -> None:
    assert person_key(*a) == person_key(*b)


def test_person_key_tells_people_apart() -> None:
    assert person_key("Martin", "Alice", date(1970, 1, 1)) != person_key("Martin", "Alice", date(1970, 1, 2))
    assert person_key("Martin", "Alice", date(1970, 1, 1)) != person_key("Martin", "Alix", date(1970, 1, 1))


# --- Party files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(Category))
def test_party_files_read_back(category: Category) -> None:
    officials = SMALL.party.get(category, [])
    if not officials:
        pytest.skip("catégorie vide dans ce petit répertoire")
    parsed = parse_party_file(synthetic.party_file_bytes(officials, category), category=category, departments=DEPARTMENTS)
    assert parsed.errors == []
    assert [(r.family_name, r.birth_date, r.member_number) for r in parsed.records] == [
        (o.family_name, o.birth_date, o.member_number) for o in officials
    ]


def test_party_file_needs_departments_for_party_offices() -> None:
    data = "Nom;Prénom;Date de naissance\nMARTIN;Alice;02/04/1970\n".encode()
    with pytest.raises(FileError, match="Colonnes manquantes dans le fichier du parti .* département"):
        parse_party_file(data, category=Category.NATIONAL_COUNCIL, departments=DEPARTMENTS)
    parsed = parse_party_file(data, category=Category.MAYOR, departments=DEPARTMENTS)
    assert len(parsed.records) == 1


def test_party_file_line_errors() -> None:
    data = "nom,prénom,né le,fédération,n° adhérent\nMARTIN,Alice,02/04/1970,33,123\nDURAND,,01/01/1960,33,\nPETIT,Paul,1960,33,\nROUX,Rémi,01/01/1960,2C,\n".encode()
    parsed = parse_party_file(data, category=Category.MEMBER, departments=DEPARTMENTS)
    assert [(r.family_name, r.department_code, r.member_number) for r in parsed.records] == [("MARTIN", "33", "123")]
    assert [(e.line, e.message) for e in parsed.errors] == [
        (3, "prénom manquant"),
        (4, "date de naissance illisible « 1960 » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)"),
        (5, "département inconnu « 2C »"),
    ]


# --- Property: any name survives any separator and encoding --------------------------------------------------

name_alphabet = st.characters(
    codec="cp1252", categories=("L", "Zs", "Pd", "Po"), include_characters="'\u2019;,\t|\"-", exclude_characters="\x00\r\n"
)
names = st.text(name_alphabet, min_size=1, max_size=40).map(lambda s: " ".join(s.split())).filter(lambda s: any(c.isalpha() for c in s))


def _key_of(person: tuple[str, str, date]) -> str:
    return person_key(*person)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(names, names, st.dates(date(1920, 1, 1), date(2005, 12, 31))), min_size=1, max_size=12, unique_by=_key_of),
    st.sampled_from([";", "\t", ",", "|"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    st.sampled_from(["%d/%m/%Y", "%Y-%m-%d"]),
)
def test_any_name_round_trips(people: list[tuple[str, str, date]], separator: str, encoding: str, date_format: str) -> None:
    header = tuple(column for column in RELEASES["2024-07"][RneKind.DEPUTIES].header)
    output = io.StringIO(newline="")
    writer = csv.writer(output, delimiter=separator, lineterminator="\n")
    writer.writerow(header)
    for family, given_name, birth in people:
        writer.writerow(["33", "Gironde", "", "", "01", "1re", family, given_name, "F", birth.strftime(date_format), "", "", "2024-07-07"])
    parsed = parse_rne(output.getvalue().encode(encoding), departments=DEPARTMENTS, communes=COMMUNES)
    assert parsed.errors == []
    assert parsed.kind == RneKind.DEPUTIES
    assert [(r.family_name, r.given_name, r.birth_date) for r in parsed.records] == people
