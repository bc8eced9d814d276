"""The REU extract format (« Listes électeurs actifs »): columns, file names, lines → voters.

What a commune's electoral-list software exports and what parties receive: CSV, ``;``
separator, UTF-8, dates ``dd/mm/yyyy`` whose unknown parts are ``00``, one file per commune
named ``ListesElecteursActifs-com{INSEE}-{dd-mm-yyyy}-{HHhMM}.csv``, a header line and 27
columns (`COLUMNS`). There is no voter number; a person may be on the main list and on a
complementary list (EU citizens: municipal and European elections).

This module is pure (no I/O): `parse_line` turns one physical line into a `ParsedVoter` (the
row ready for COPY) or a `Rejection` whose reason, in French, is written for the organiser
who will fix the file. Lines are parsed one by one (a stray quote never swallows the next
lines) and reasons never quote a person's name.
"""

from __future__ import annotations

import calendar
import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256 as _openssl_sha256
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

try:  # CPython's own SHA-256 (3.11: _sha256, 3.12+: _sha2): the same digest as hashlib's
    # OpenSSL one, with a third of its cost per call on 40-byte inputs (no EVP context to set
    # up), which is what the import hashes once per line.
    from _sha256 import sha256
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha2 import sha256
    except ImportError:
        sha256 = _openssl_sha256

from voter_registry.normalize import (
    IDENTITY_VERSION,
    PARTICLES,
    birth_place_identity,
    fold,
    given_names_key_of_words,
)

COLUMNS = (
    "code du l'ugle",
    "libellé de l'ugle",
    "libellé du type de liste",
    "nom de naissance",
    "nom d'usage",
    "prénoms",
    "sexe",
    "date de naissance",
    "code commune de naissance",
    "libellé commune de naissance",
    "code département de naissance",
    "pays de naissance",
    "libellé nationalité",
    "numéro de voie",
    "libellé de voie",
    "complément 1",
    "complément 2",
    "lieu-dit",
    "code postal",
    "commune",
    "pays",
    "code du bureau de vote",
    "libellé du bureau de vote",
    "code circonscription législative du bureau de vote",
    "libellé canton du bureau de vote",
    "libellé circonscription métropolitaine du bureau de vote",
    "numéro d'ordre dans le bureau de vote",
)
COLUMN_COUNT = len(COLUMNS)
(
    UGLE_CODE, UGLE_LABEL, LIST_TYPE, BIRTH_NAME, USAGE_NAME, GIVEN_NAMES, SEX, BIRTH_DATE,
    BIRTH_COMMUNE_CODE, BIRTH_COMMUNE, BIRTH_DEPARTMENT, BIRTH_COUNTRY, NATIONALITY,
    STREET_NUMBER, STREET, COMPLEMENT_1, COMPLEMENT_2, LIEU_DIT, POSTAL_CODE, COMMUNE, COUNTRY,
    BUREAU_CODE, BUREAU_LABEL, CIRCONSCRIPTION_CODE, CANTON_LABEL, METRO_CIRCONSCRIPTION, ORDER_NUMBER,
) = range(COLUMN_COUNT)  # fmt: skip

# The lists of the REU, as a bit mask: a voter on several lists is one voter with several bits.
MAIN_LIST, MUNICIPAL_LIST, EUROPEAN_LIST = 1, 2, 4
LIST_LABELS = {
    MAIN_LIST: "Liste principale",
    MUNICIPAL_LIST: "Liste complémentaire municipale",
    EUROPEAN_LIST: "Liste complémentaire européenne",
}
_LIST_TYPES = {
    "liste principale": MAIN_LIST,
    "liste complémentaire municipale": MUNICIPAL_LIST,
    "liste complémentaire européenne": EUROPEAN_LIST,
    "lp": MAIN_LIST,
    "principale": MAIN_LIST,
    "liste complementaire municipale": MUNICIPAL_LIST,
    "lcm": MUNICIPAL_LIST,
    "complementaire municipale": MUNICIPAL_LIST,
    "liste complementaire europeenne": EUROPEAN_LIST,
    "lce": EUROPEAN_LIST,
    "complementaire europeenne": EUROPEAN_LIST,
}

# Columns of the `voter` table filled by COPY, in this order (the id comes from its sequence).
VOTER_COLUMNS = (
    "department_code",
    "commune_code",
    "bureau_code",
    "lists",
    "identity_hash",
    "birth_name",
    "usage_name",
    "given_names",
    "sex",
    "birth_year",
    "birth_month",
    "birth_day",
    "birth_commune_code",
    "birth_commune",
    "birth_department_code",
    "birth_country",
    "nationality",
    "address",
    "order_number",
    "birth_key",
    "usage_key",
    "given_key",
    "name_flags",
)
# `name_flags` bits: the birth / usage name started with particles (see normalize).
BIRTH_PARTICLES, USAGE_PARTICLES = 1, 2

MAX_NAME = 200
MAX_GIVEN_NAMES = 300
MAX_TEXT = 300
MAX_BUREAU_CODE = 10
MIN_BIRTH_YEAR = 1890
PARIS = ZoneInfo("Europe/Paris")

FILE_NAME = re.compile(
    r"ListesElecteursActifs-com(?P<code>[0-9][0-9AB][0-9]{3})-(?P<day>\d{2})-(?P<month>\d{2})-(?P<year>\d{4})"
    r"-(?P<hour>\d{2})h(?P<minute>\d{2})",
    re.IGNORECASE,
)
_DEPARTMENT_CODE = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|97[1-8]|98[4-9]|99)$")
_COMMUNE_CODE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")


# --- File names and headers ------------------------------------------------------------------


@dataclass(frozen=True)
class FileName:
    commune_code: str
    extracted_at: datetime


def parse_file_name(name: str) -> FileName | None:
    """Commune and extraction time from ``ListesElecteursActifs-com33063-01-09-2026-10h00.csv``."""
    match = FILE_NAME.search(name)
    if match is None:
        return None
    try:
        extracted = datetime(
            int(match["year"]), int(match["month"]), int(match["day"]), int(match["hour"]), int(match["minute"]), tzinfo=PARIS
        )
    except ValueError:
        return None
    return FileName(match["code"].upper(), extracted)


def file_name_for(commune_code: str, extracted_at: datetime) -> str:
    return f"ListesElecteursActifs-com{commune_code}-{extracted_at:%d-%m-%Y-%Hh%M}.csv"


_HEADER_FILLER = frozenset({"de", "du", "des", "d", "l", "la", "le"})


@lru_cache(maxsize=256)  # every file repeats the same 27 header cells
def _header_signature(cell: str) -> tuple[str, ...]:
    return tuple(word for word in fold(cell) if word not in _HEADER_FILLER)


_EXPECTED_HEADER = tuple(_header_signature(column) for column in COLUMNS)


class HeaderProblem(NamedTuple):
    message: str


def check_header(fields: list[str]) -> HeaderProblem | None:
    """None when `fields` is the REU header (tolerant of case, accents and « du/de l' »)."""
    expected = "; ".join(COLUMNS)
    if len(fields) != COLUMN_COUNT:
        return HeaderProblem(
            f"Ce fichier n'est pas un extrait des listes électorales au format REU : son en-tête compte "
            f"{len(fields)} colonnes au lieu de {COLUMN_COUNT}, séparées par « ; ». Colonnes attendues, "
            f"dans cet ordre : {expected}."
        )
    for position, (cell, signature) in enumerate(zip(fields, _EXPECTED_HEADER, strict=True), start=1):
        if _header_signature(cell.lstrip("\ufeff")) != signature:
            return HeaderProblem(
                f"Ce fichier n'est pas un extrait des listes électorales au format REU : la colonne {position} "
                f"s'intitule « {cell.strip()[:60]} » au lieu de « {COLUMNS[position - 1]} ». Colonnes attendues, "
                f"dans cet ordre : {expected}."
            )
    return None


def split_line(line: str) -> list[str] | None:
    """The fields of one physical line; None when a quote is left open on the line."""
    if '"' not in line:
        return line.split(";")
    try:
        rows = list(csv.reader([line], delimiter=";", quotechar='"', strict=True))
    except csv.Error:
        return None
    return rows[0] if rows else [""]


# --- Lines ---------------------------------------------------------------------------------------


class Rejection(NamedTuple):
    column: str  # the column's name, or "" for the whole line
    reason: str


class BureauInfo(NamedTuple):
    code: str
    label: str
    circonscription_code: str
    canton_label: str


class ParsedVoter(NamedTuple):
    commune_code: str
    bureau: BureauInfo
    lists: int
    identity_hash: bytes
    record: tuple  # the COPY record, in VOTER_COLUMNS order


def _clean(value: str) -> str:
    return " ".join(value.split()) if ("  " in value or "\t" in value or value[:1] == " " or value[-1:] == " ") else value


_MONTH_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def parse_birth_date(value: str, max_year: int) -> tuple[int, int, int] | str:
    """(year, month, day) with 0 for unknown parts, or the French reason it is refused."""
    text = value.strip()
    if len(text) != 10 or text[2] != "/" or text[5] != "/":
        return f"Date de naissance « {text[:20]} » illisible (attendu : jj/mm/aaaa, 00 pour une partie inconnue)."
    day_text, month_text, year_text = text[:2], text[3:5], text[6:]
    if not (day_text.isdigit() and month_text.isdigit() and year_text.isdigit() and text.isascii()):
        return f"Date de naissance « {text} » illisible (attendu : jj/mm/aaaa, 00 pour une partie inconnue)."
    day, month, year = int(day_text), int(month_text), int(year_text)
    if year < MIN_BIRTH_YEAR or year > max_year:
        return f"Année de naissance {year_text} impossible (attendu entre {MIN_BIRTH_YEAR} et {max_year})."
    if month > 12 or (month == 0 and day != 0):
        return f"Date de naissance « {text} » impossible (mois inconnu ou invalide)."
    if day > _MONTH_DAYS[month] or (month == 2 and day == 29 and not calendar.isleap(year)):
        return f"Date de naissance « {text} » impossible (ce jour n'existe pas)."
    return year, month, day


def format_birth_date(year: int, month: int, day: int) -> str:
    """« 12/04/1953 », « 00/00/1953 » as in the REU."""
    return f"{day:02d}/{month:02d}/{year:04d}"


def compact_address(fields: list[str]) -> str:
    """« 12 bis rue Victor Hugo, Bât. B, 33000 BORDEAUX » (the country only when not France)."""
    number, street, complement_1, complement_2, lieu_dit, postal_code, town, country = fields[STREET_NUMBER : COUNTRY + 1]
    if number and street and postal_code and town and not (complement_1 or complement_2 or lieu_dit) and (
        country == "FRANCE" or not country
    ):
        text = f"{number} {street}, {postal_code} {town}"  # the usual case, one f-string
    else:
        head = f"{number} {street}" if number and street else number or street
        tail = f"{postal_code} {town}" if postal_code and town else postal_code or town
        if country and country.strip().upper() == "FRANCE":
            country = ""
        text = ", ".join([part for part in (head, complement_1, complement_2, lieu_dit, tail, country) if part])
    if "  " in text or " ," in text or text[:1] == " " or text[-1:] == " " or "\t" in text:
        text = ", ".join(part for part in (" ".join(p.split()) for p in text.split(",")) if part)
    return text[:MAX_TEXT]


# Memoised pieces of a line. Names, given names, dates, places and labels repeat a great
# deal in a commune (Zipf), so most lines cost a few dictionary look-ups instead of Unicode
# folding; the caches are bounded (≈ 17 MB together per import process), like everything in
# the import. Measured on one import process's half of a 600,000-voter Gironde: given names
# 8,192 → 12,288 entries and birth places 4,096 → 8,192 miss 12,000 and 16,000 times less for
# 4.7 MB; doubling every cache would save ≈ 3 µs per line but cost 12 MB per process (the
# whole import, every process summed, peaks at ≈ 227 MB of its 300 MB ceiling since import8).


@lru_cache(maxsize=16_384)
def _family_name(value: str) -> tuple[str, str, tuple[str, bool]]:
    """(cleaned text, folded words joined by spaces, (search key, started with particles)) of a birth or usage name."""
    cleaned = _clean(value)
    words = fold(cleaned)
    # `name_key_of_words` without its NameKey object (a cache miss is frequent: names are many).
    start, last = 0, len(words) - 1
    while start < last and words[start] in PARTICLES:
        start += 1
    return cleaned, " ".join(words), ("".join(words[start:]) if start else "".join(words), start > 0)


@lru_cache(maxsize=12_288)
def _given(value: str) -> tuple[str, str, str]:
    """(cleaned text, folded words joined by spaces, search key) of the given names."""
    cleaned = _clean(value)
    words = fold(cleaned)
    return cleaned, " ".join(words), given_names_key_of_words(cleaned, words)


# Birth dates: « dd/mm/ » and « yyyy » looked up apart in two small exact tables (every valid
# day-month, with its 00 forms, and every valid year), since whole dates are too many to
# cache (≈ 40,000). Anything else — spaces, other digits, impossible dates — goes through
# `parse_birth_date`, which says why it is refused.
_DAY_MONTHS = {f"{day:02d}/{month:02d}/": (month, day) for month in range(13) for day in range(_MONTH_DAYS[month] + 1) if month or not day}
# The same day-months, with the end of the identity's date text (« -04-00 »).
_DAY_MONTH_IDENTITY = {text: (month, day, f"-{month:02d}-{day:02d}") for text, (month, day) in _DAY_MONTHS.items()}
_years_until: tuple[int, dict[str, int]] = (0, {})


def _valid_years(max_year: int) -> dict[str, int]:
    global _years_until
    if _years_until[0] != max_year:
        _years_until = (max_year, {f"{year:04d}": year for year in range(MIN_BIRTH_YEAR, max_year + 1)})
    return _years_until[1]


def _birth_date_identity(value: str, max_year: int) -> tuple[int, int, int, str] | str:
    """`_birth_date` and the date as the identity writes it (« 1953-04-00 »): from the tables,
    the text is cut out of the value itself (a 4-digit year and 2-digit parts that the tables
    accepted are exactly what `f"{year:04d}-{month:02d}-{day:02d}"` writes)."""
    month_day = _DAY_MONTH_IDENTITY.get(value[:6])
    if month_day is not None and len(value) == 10:
        year_text = value[6:]
        year = _valid_years(max_year).get(year_text)
        if year is not None:
            month, day, tail = month_day
            if not (month == 2 and day == 29) or calendar.isleap(year):
                return year, month, day, year_text + tail
    date = parse_birth_date(value, max_year)
    if date.__class__ is str:
        return date  # type: ignore[return-value]
    year, month, day = date  # type: ignore[misc]
    return year, month, day, f"{year:04d}-{month:02d}-{day:02d}"


def _birth_date(value: str, max_year: int) -> tuple[int, int, int] | str:
    month_day = _DAY_MONTHS.get(value[:6])
    if month_day is not None and len(value) == 10:
        year = _valid_years(max_year).get(value[6:])
        if year is not None:
            month, day = month_day
            if not (month == 2 and day == 29) or calendar.isleap(year):
                return year, month, day
    return parse_birth_date(value, max_year)


@lru_cache(maxsize=8_192)
def _birth_place(commune_code: str, department: str, country: str, commune: str) -> tuple[str, str, str, str, str] | Rejection:
    """(commune code, department, cleaned country, cleaned commune, identity place) or the rejection."""
    code = commune_code.strip().upper()
    if code and not _COMMUNE_CODE.match(code):
        return Rejection(COLUMNS[BIRTH_COMMUNE_CODE], f"Code commune de naissance « {code[:10]} » invalide (5 caractères INSEE).")
    department = department.strip().upper()
    if department and not _DEPARTMENT_CODE.match(department):
        return Rejection(COLUMNS[BIRTH_DEPARTMENT], f"Code département de naissance « {department[:10]} » invalide.")
    country_clean = _clean(country)[:MAX_TEXT]
    commune_clean = _clean(commune)[:MAX_TEXT]
    return code, department, country_clean, commune_clean, birth_place_identity(code, department, country_clean, commune_clean)


@lru_cache(maxsize=1_024)
def _list_type(value: str) -> int | None:
    return _LIST_TYPES.get(value.lower().strip()) or _LIST_TYPES.get(" ".join(fold(value)))


@lru_cache(maxsize=4_096)
def _bureau(code: str, label: str, circonscription: str, canton: str) -> BureauInfo:
    return BureauInfo(code, _clean(label)[:MAX_TEXT], circonscription.strip()[:20], _clean(canton)[:MAX_TEXT])


@lru_cache(maxsize=1_024)
def _short_text(value: str) -> str:
    return _clean(value)[:MAX_TEXT]


def parse_fields(fields: list[str], department_code: str, commune_code: str, max_year: int) -> tuple | Rejection:
    """Validate one line's fields and build its COPY record (`VOTER_COLUMNS`), or say why the
    line is refused. The hot path of the import: a plain tuple, no object per line, and the
    fields unpacked once into local names (cheaper than indexing the list for each)."""
    if len(fields) != COLUMN_COUNT:
        return Rejection("", f"La ligne compte {len(fields)} colonnes au lieu de {COLUMN_COUNT} (séparateur « ; »).")
    (
        ugle, _ugle_label, list_type, birth_text, usage_text, given_text, sex, birth_date_text,
        birth_commune_code_text, birth_commune_text, birth_department_text, birth_country_text, nationality_text,
        _street_number, _street, _complement_1, _complement_2, _lieu_dit, _postal_code, _town, _country,
        bureau_text, _bureau_label, _circonscription, _canton, _metro, order_text,
    ) = fields  # fmt: skip
    if ugle != commune_code:
        ugle = ugle.strip().upper()
        if not ugle:
            return Rejection(COLUMNS[UGLE_CODE], "Code de la commune (UGLE) manquant.")
        if ugle != commune_code:
            return Rejection(
                COLUMNS[UGLE_CODE],
                f"Ligne de la commune {ugle[:10]} dans le fichier de la commune {commune_code} : un fichier par commune.",
            )
    lists = _list_type(list_type)
    if lists is None:
        return Rejection(
            COLUMNS[LIST_TYPE],
            f"Type de liste « {list_type.strip()[:60]} » inconnu (attendu : Liste principale, "
            "Liste complémentaire municipale ou Liste complémentaire européenne).",
        )
    birth_name, birth_words, birth = _family_name(birth_text)
    if not birth_name:
        return Rejection(COLUMNS[BIRTH_NAME], "Nom de naissance manquant.")
    if len(birth_name) > MAX_NAME:
        return Rejection(COLUMNS[BIRTH_NAME], f"Nom de naissance trop long ({len(birth_name)} caractères, {MAX_NAME} au plus).")
    birth_key, birth_particles = birth
    if not birth_key:
        return Rejection(COLUMNS[BIRTH_NAME], "Nom de naissance sans aucune lettre.")
    usage_name, usage_key, usage_particles = "", "", False
    if usage_text:
        usage_name, _words, usage = _family_name(usage_text)
        if len(usage_name) > MAX_NAME:
            return Rejection(COLUMNS[USAGE_NAME], f"Nom d'usage trop long ({len(usage_name)} caractères, {MAX_NAME} au plus).")
        if usage == birth:
            usage_name = ""  # the same name written twice is no usage name
        else:
            usage_key, usage_particles = usage
    given_names, given_folded, given_key = _given(given_text)
    if len(given_names) > MAX_GIVEN_NAMES:
        return Rejection(COLUMNS[GIVEN_NAMES], f"Prénoms trop longs ({len(given_names)} caractères, {MAX_GIVEN_NAMES} au plus).")
    if sex != "M" and sex != "F":
        sex = sex.strip().upper()
        if sex not in ("M", "F"):
            return Rejection(COLUMNS[SEX], f"Sexe « {fields[SEX].strip()[:10]} » non reconnu (attendu : M ou F).")
    date = _birth_date_identity(birth_date_text, max_year)
    if date.__class__ is str:
        return Rejection(COLUMNS[BIRTH_DATE], date)
    year, month, day, date_identity = date
    place = _birth_place(birth_commune_code_text, birth_department_text, birth_country_text, birth_commune_text)
    if place.__class__ is Rejection:
        return place
    birth_commune_code, birth_department, birth_country, birth_commune, place_identity = place
    bureau_code = bureau_text.strip()
    if not bureau_code:
        return Rejection(COLUMNS[BUREAU_CODE], "Code du bureau de vote manquant.")
    if len(bureau_code) > MAX_BUREAU_CODE:
        return Rejection(COLUMNS[BUREAU_CODE], f"Code du bureau de vote trop long ({MAX_BUREAU_CODE} caractères au plus).")
    if order_text and not (order_text.isascii() and order_text.isdigit() and len(order_text) <= 9):
        order_text = order_text.strip()
        if order_text and not (order_text.isascii() and order_text.isdigit() and len(order_text) <= 9):
            return Rejection(COLUMNS[ORDER_NUMBER], f"Numéro d'ordre « {order_text[:12]} » invalide (nombre entier attendu).")
    identity = sha256(
        f"{IDENTITY_VERSION}|{birth_words}|{given_folded}|{date_identity}|{place_identity}".encode()
    ).digest()
    # `compact_address`'s usual case written out on the fields already unpacked (no slice
    # nor call per line); anything else goes through it.
    if (
        _street_number and _street and _postal_code and _town and not (_complement_1 or _complement_2 or _lieu_dit)
        and (_country == "FRANCE" or not _country)
    ):  # fmt: skip
        address = f"{_street_number} {_street}, {_postal_code} {_town}"
        if "  " in address or " ," in address or address[:1] == " " or address[-1:] == " " or "\t" in address:
            address = compact_address(fields)
        elif len(address) > MAX_TEXT:
            address = address[:MAX_TEXT]
    else:
        address = compact_address(fields)
    return (
        department_code,
        commune_code,
        bureau_code,
        lists,
        identity,
        birth_name,
        usage_name,
        given_names,
        sex,
        year,
        month,
        day,
        birth_commune_code,
        birth_commune,
        birth_department,
        birth_country,
        _short_text(nationality_text),
        address,
        int(order_text) if order_text else 0,
        birth_key,
        usage_key,
        given_key,
        (BIRTH_PARTICLES if birth_particles else 0) | (USAGE_PARTICLES if usage_particles else 0),
    )


def bureau_of(fields: list[str]) -> BureauInfo:
    """The polling place a valid line names (label, legislative constituency, canton)."""
    return _bureau(fields[BUREAU_CODE].strip(), fields[BUREAU_LABEL], fields[CIRCONSCRIPTION_CODE], fields[CANTON_LABEL])


def fields_of(line: str) -> list[str] | Rejection:
    """The fields of one physical line, or why it cannot even be split."""
    if "\x00" in line:
        return Rejection("", "La ligne contient un caractère nul (fichier binaire ou corrompu).")
    fields = split_line(line)
    if fields is None:
        return Rejection("", "Guillemet ouvert et jamais fermé sur la ligne.")
    return fields


def parse_line(line: str, *, department_code: str, commune_code: str, max_year: int) -> ParsedVoter | Rejection:
    """One line → the voter it describes, or the reason it is refused (tests, small callers)."""
    fields = fields_of(line)
    if isinstance(fields, Rejection):
        return fields
    record = parse_fields(fields, department_code, commune_code, max_year)
    if isinstance(record, Rejection):
        return record
    return ParsedVoter(commune_code, bureau_of(fields), record[3], record[4], record)


def decode_line(raw: bytes) -> tuple[str, bool]:
    """(text, was_windows_1252): UTF-8 first; a line that is not UTF-8 is read as Windows-1252.

    Decoding line by line keeps a mostly-UTF-8 file with a few Windows lines readable instead
    of garbling the whole file; the importer warns about the Windows lines.
    """
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), True
