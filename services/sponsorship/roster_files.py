"""Reading the officials' files: the State's register (RNE) and the party's own files. Pure: bytes in,
records and line-numbered errors out; the service decides what to store.

What varies between RNE releases and is detected here, never assumed:
- the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252);
- the separator (tab, semicolon, comma or pipe: the one the header line uses most);
- the header spelling (« Nom de l’élu », « Nom de l'élu », « nom_elu »; a stray space in
  « Code sexe »; the typo « Date de naissancee »): headers are matched by a normalised name;
- the date format (dd/mm/yyyy or yyyy-mm-dd);
- which mandate the file lists (mayors, deputies…): from its header columns, or as given.

The RNE's « nuance » columns are read past on purpose: party membership comes only from the
party's own files, never from the State's political labelling.

A malformed line never stops the import: it is reported with its line number (the header is
line 1) and the reason, in French, and the other lines are read.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import Category

SEPARATORS = (";", "\t", ",", "|")
SEPARATOR_LABELS = {";": "point-virgule", "\t": "tabulation", ",": "virgule", "|": "barre verticale"}
MAX_ERRORS_KEPT = 1000

# Old RNE and Interior-ministry files write overseas departments with letters.
LETTER_DEPARTMENTS = {
    "ZA": "971", "ZB": "972", "ZC": "973", "ZD": "974", "ZM": "976",
    "ZS": "975", "ZW": "986", "ZP": "987", "ZN": "988",
}  # fmt: skip
# French people abroad: deputies and senators "des Français établis hors de France".
ABROAD_CODES = frozenset({"ZZ", "99", "099"})


class FileError(ValueError):
    """The file as a whole cannot be read (French message)."""


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"ligne {self.line} : {self.message}"


@dataclass(frozen=True)
class CommuneRef:
    name: str
    department_code: str
    population: int


@dataclass(frozen=True)
class OfficialRecord:
    """One official read from a file (RNE or party)."""

    line: int
    family_name: str
    given_name: str
    birth_date: date
    sex: str | None = None
    department_code: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None
    population: int | None = None
    member_number: str | None = None

    @property
    def person_key(self) -> str:
        return person_key(self.family_name, self.given_name, self.birth_date)


@dataclass
class ParsedFile:
    encoding: str
    separator: str
    header: list[str]
    records: list[OfficialRecord] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    data_lines: int = 0
    kind: RneKind | None = None

    @property
    def separator_label(self) -> str:
        return SEPARATOR_LABELS.get(self.separator, repr(self.separator))

    def error(self, line: int, message: str) -> None:
        self.errors.append(LineError(line, message))


# --- Names and keys ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalise_header(name: str) -> str:
    """« Nom de l’élu » → "nom_de_l_elu"; « Code sexe  » → "code_sexe"."""
    text = strip_accents(name.replace("\ufeff", "")).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _key_part(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", strip_accents(text).upper().replace("Œ", "OE").replace("Æ", "AE"))


def person_key(family_name: str, given_name: str, birth_date: date) -> str:
    """The key that recognises one person across files: family name, FIRST given name and birth date,
    without accents, case, spaces, hyphens or apostrophes (« Le Pen » = « LE-PEN », « Jean-Pierre
    Marie » = « JEAN PIERRE » → first given name "JEANPIERRE")."""
    first_given = re.split(r"[\s,]+", given_name.strip(), maxsplit=1)[0] if given_name.strip() else ""
    return f"{_key_part(family_name)}|{_key_part(first_given)}|{birth_date.isoformat()}"


def clean_name(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- Decoding ------------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) — UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte.
        return data.decode("latin-1"), "iso-8859-1"


def detect_separator(header_line: str) -> str:
    counts = {separator: header_line.count(separator) for separator in SEPARATORS}
    best = max(SEPARATORS, key=lambda separator: counts[separator])  # ties: the order of SEPARATORS
    if counts[best] == 0:
        raise FileError(
            "Séparateur introuvable dans la ligne d'en-tête : le fichier doit être un CSV "
            "(séparé par des points-virgules, des tabulations ou des virgules)."
        )
    return best


def _rows(data: bytes) -> tuple[str, str, list[str], list[tuple[int, list[str]]]]:
    if not data.strip():
        raise FileError("Le fichier est vide.")
    text, encoding = decode(data)
    first_line = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    separator = detect_separator(first_line)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=separator)
    try:
        header = next(reader)
    except StopIteration:
        raise FileError("Le fichier est vide.") from None
    rows: list[tuple[int, list[str]]] = []
    previous_end = reader.line_num
    try:
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows.append((start, row))
    except csv.Error as error:
        raise FileError(f"CSV illisible vers la ligne {reader.line_num} : {error}.") from None
    return encoding, separator, header, rows


# --- Fields -------------------------------------------------------------------------------------------------

# Normalised header → canonical field. Every spelling met in the releases (see rne_formats).
RNE_ALIASES = {
    "code_du_departement": "department_code",
    "code_departement": "department_code",
    "code_du_departement_maire": "department_code",
    "code_de_la_collectivite_a_statut_particulier": "collectivity_code",
    "code_collectivite_statut_particulier": "collectivity_code",
    "code_de_la_commune": "commune_code",
    "code_commune": "commune_code",
    "code_insee_de_la_commune": "commune_code",
    "libelle_de_la_commune": "commune_name",
    "libelle_commune": "commune_name",
    "code_du_canton": "canton_code",
    "code_canton": "canton_code",
    "code_de_la_region": "region_code",
    "code_region": "region_code",
    "code_de_la_section_departementale": "section_code",
    "code_section_departementale": "section_code",
    "code_de_la_circonscription_legislative": "constituency_code",
    "code_circonscription_legislative": "constituency_code",
    "nom_de_l_elu": "family_name",
    "nom_elu": "family_name",
    "prenom_de_l_elu": "given_name",
    "prenom_elu": "given_name",
    "code_sexe": "sex",
    "sexe_elu": "sex",
    "date_de_naissance": "birth_date",
    "date_de_naissancee": "birth_date",
    "date_naissance_elu": "birth_date",
    "libelle_de_la_fonction": "function",
    "libelle_fonction": "function",
    "libelle_de_fonction": "function",
    "code_profession": "profession_code",
    "code_de_la_circonscription_consulaire": "consular_code",
    "code_circonscription_consulaire": "consular_code",
    "code_de_la_circonscription_afe": "consular_code",
    "libelle_du_secteur": "sector",
    "code_de_la_circonscription_metropolitaine": "metropolitan_code",
    "code_circonscription_metropolitaine": "metropolitan_code",
}

PARTY_ALIASES = {
    "nom": "family_name",
    "nom_de_famille": "family_name",
    "nom_de_naissance": "family_name",
    "nom_d_usage": "usage_name",
    "nom_de_l_elu": "family_name",
    "prenom": "given_name",
    "prenoms": "given_name",
    "prenom_de_l_elu": "given_name",
    "date_de_naissance": "birth_date",
    "naissance": "birth_date",
    "ne_le": "birth_date",
    "nee_le": "birth_date",
    "ne_e_le": "birth_date",
    "departement": "department_code",
    "code_departement": "department_code",
    "code_du_departement": "department_code",
    "dept": "department_code",
    "federation": "department_code",
    "commune": "commune_code",
    "code_commune": "commune_code",
    "code_insee": "commune_code",
    "code_de_la_commune": "commune_code",
    "numero_adherent": "member_number",
    "numero_d_adherent": "member_number",
    "n_adherent": "member_number",
    "no_adherent": "member_number",
    "adherent": "member_number",
}


def _map_header(header: list[str], aliases: Mapping[str, str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        canonical = aliases.get(normalise_header(name))
        if canonical and canonical not in columns:
            columns[canonical] = index
    return columns


def detect_kind(columns: Collection[str], filename: str = "") -> RneKind | None:
    """Which mandate the file lists, from its columns (the file name only breaks no tie)."""
    if {"profession_code", "consular_code", "sector", "metropolitan_code"} & set(columns):
        return None  # community assemblies, consular councillors, "CAC"…: not sponsors here
    if "commune_code" in columns:
        # The municipal councillors' file also has a commune and a function column.
        return RneKind.MAYORS if "function" not in columns else None
    if "canton_code" in columns:
        return RneKind.DEPARTMENTAL
    if "section_code" in columns:
        return RneKind.REGIONAL
    if "constituency_code" in columns:
        return RneKind.DEPUTIES
    if "department_code" in columns:
        return RneKind.SENATORS
    if "region_code" in columns:
        return None
    if {"family_name", "given_name", "birth_date"} <= set(columns):
        return RneKind.MEPS
    return None


REQUIRED_COLUMNS = {
    RneKind.MAYORS: ("family_name", "given_name", "birth_date", "commune_code"),
    RneKind.DEPUTIES: ("family_name", "given_name", "birth_date", "department_code"),
    RneKind.SENATORS: ("family_name", "given_name", "birth_date", "department_code"),
    RneKind.MEPS: ("family_name", "given_name", "birth_date"),
    RneKind.REGIONAL: ("family_name", "given_name", "birth_date", "section_code"),
    RneKind.DEPARTMENTAL: ("family_name", "given_name", "birth_date", "department_code"),
}
COLUMN_LABELS = {
    "family_name": "Nom de l'élu",
    "given_name": "Prénom de l'élu",
    "birth_date": "Date de naissance",
    "commune_code": "Code de la commune",
    "department_code": "Code du département",
    "section_code": "Code de la section départementale",
}


_DMY = re.compile(r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})$")
_YMD = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")


def parse_date(text: str) -> date:
    """dd/mm/yyyy or yyyy-mm-dd (ValueError with a French message otherwise)."""
    value = text.strip()
    match = _DMY.match(value) or _YMD.match(value)
    if match:
        try:
            parsed = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.year < 1900:
                raise ValueError(f"date de naissance invraisemblable « {value} »")
            return parsed
    raise ValueError(f"date de naissance illisible « {value} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)")


def normalise_department(raw: str, departments: Collection[str]) -> str | None:
    """A department code as the territory reference writes it; None for "abroad"; ValueError if unknown."""
    code = raw.strip().upper()
    if not code or code in ABROAD_CODES:
        return None
    code = LETTER_DEPARTMENTS.get(code, code)
    if code.isdigit() and len(code) == 1:
        code = code.zfill(2)
    if code.isdigit() and len(code) == 3 and code.startswith("0"):
        code = code[1:]  # "001" → "01" (some exports pad to three)
    if code not in departments:
        raise ValueError(f"département inconnu « {raw.strip()} »")
    return code


def normalise_commune(raw: str, department_code: str | None) -> str:
    code = raw.strip().upper()
    if len(code) < 5 and department_code and code.isdigit():
        # Some releases give the commune number within its department ("004" in 2A → "2A004").
        width = 5 - len(department_code)
        code = department_code + code.zfill(width)[-width:]
    return code


# --- RNE -----------------------------------------------------------------------------------------------


def sniff_kind(data: bytes, filename: str = "") -> RneKind | None:
    """The kind of an RNE file from its header line alone (None if unknown or unreadable)."""
    try:
        text, _encoding = decode(data[:8192])
    except UnicodeDecodeError:
        return None
    first_line = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    try:
        separator = detect_separator(first_line)
    except FileError:
        return None
    header = next(csv.reader([first_line], delimiter=separator), [])
    return detect_kind(_map_header(header, RNE_ALIASES), filename)


def parse_rne(
    data: bytes,
    *,
    departments: Collection[str],
    communes: Mapping[str, CommuneRef],
    kind: RneKind | None = None,
    filename: str = "",
) -> ParsedFile:
    """Read one RNE file. Raises FileError when the file as a whole is unusable."""
    encoding, separator, header, rows = _rows(data)
    columns = _map_header(header, RNE_ALIASES)
    detected = detect_kind(columns, filename)
    if kind is None:
        if detected is None:
            raise FileError(
                "Type de fichier RNE non reconnu d'après ses colonnes : seuls les fichiers des maires, députés, "
                "sénateurs, représentants au Parlement européen, conseillers régionaux et départementaux "
                "servent au parrainage. Précisez le type si le fichier en est un."
            )
        kind = detected
    missing = [COLUMN_LABELS.get(column, column) for column in REQUIRED_COLUMNS[kind] if column not in columns]
    if missing:
        raise FileError(
            f"Colonnes manquantes pour un fichier RNE des {kind.label} : {', '.join(missing)}. "
            f"En-tête lu (séparateur « {SEPARATOR_LABELS[separator]} ») : {' | '.join(header)[:300]}"
        )
    result = ParsedFile(encoding=encoding, separator=separator, header=header, kind=kind)
    width = len(header)
    seen: dict[str, int] = {}
    for line, row in rows:
        result.data_lines += 1
        if len(row) != width:
            result.error(line, f"{len(row)} champs au lieu de {width} (séparateur « {SEPARATOR_LABELS[separator]} »)")
            continue
        try:
            record = _rne_record(kind, line, row, columns, departments, communes)
        except ValueError as error:
            result.error(line, str(error))
            continue
        key = record.person_key
        if key in seen:
            result.error(line, f"{record.family_name} {record.given_name} figure déjà ligne {seen[key]}")
            continue
        seen[key] = line
        result.records.append(record)
    return result


def _cell(row: list[str], columns: Mapping[str, int], name: str) -> str:
    index = columns.get(name)
    return row[index].strip() if index is not None else ""


def _identity(row: list[str], columns: Mapping[str, int]) -> tuple[str, str, date]:
    family = clean_name(_cell(row, columns, "family_name"))
    given = clean_name(_cell(row, columns, "given_name"))
    if not family:
        raise ValueError("nom manquant")
    if not given:
        raise ValueError("prénom manquant")
    raw_date = _cell(row, columns, "birth_date")
    if not raw_date:
        raise ValueError("date de naissance manquante")
    return family, given, parse_date(raw_date)


def _rne_record(
    kind: RneKind,
    line: int,
    row: list[str],
    columns: Mapping[str, int],
    departments: Collection[str],
    communes: Mapping[str, CommuneRef],
) -> OfficialRecord:
    family, given, birth = _identity(row, columns)
    sex = _cell(row, columns, "sex").upper()[:1] or None
    department: str | None = None
    commune_code = commune_name = None
    population = None
    if kind == RneKind.REGIONAL:
        department = normalise_department(_cell(row, columns, "section_code"), departments)
    elif kind != RneKind.MEPS:
        raw = _cell(row, columns, "department_code") or _cell(row, columns, "collectivity_code")
        department = normalise_department(raw, departments)
    if kind == RneKind.MAYORS:
        raw_commune = _cell(row, columns, "commune_code")
        if not raw_commune:
            raise ValueError("code de la commune manquant")
        commune_code = normalise_commune(raw_commune, department)
        reference = communes.get(commune_code)
        if reference is None:
            raise ValueError(f"commune inconnue « {raw_commune} » (code INSEE attendu)")
        if department is not None and reference.department_code != department:
            raise ValueError(f"la commune {commune_code} n'est pas dans le département {department}")
        department = reference.department_code
        commune_name, population = reference.name, reference.population
    elif kind in (RneKind.DEPUTIES, RneKind.SENATORS, RneKind.DEPARTMENTAL) and department is None:
        if kind == RneKind.DEPARTMENTAL:
            raise ValueError("code du département manquant")
    return OfficialRecord(
        line=line,
        family_name=family,
        given_name=given,
        birth_date=birth,
        sex=sex,
        department_code=department,
        commune_code=commune_code,
        commune_name=commune_name,
        population=population,
    )


# --- The party's own files ---------------------------------------------------------------------------

PARTY_ONLY_REQUIRE_DEPARTMENT = frozenset({Category.NATIONAL_COUNCIL, Category.MEMBER})


def parse_party_file(data: bytes, *, category: Category, departments: Collection[str]) -> ParsedFile:
    """Read one of the party's files (one per category): nom, prénom, date de naissance, and
    département (required for national-council members and members), numéro d'adhérent,
    code commune (optional, to tell two homonymous mayors apart)."""
    encoding, separator, header, rows = _rows(data)
    columns = _map_header(header, PARTY_ALIASES)
    required = ["family_name", "given_name", "birth_date"]
    if category in PARTY_ONLY_REQUIRE_DEPARTMENT:
        required.append("department_code")
    labels = {"family_name": "nom", "given_name": "prénom", "birth_date": "date de naissance", "department_code": "département"}
    missing = [labels[column] for column in required if column not in columns]
    if missing:
        raise FileError(
            f"Colonnes manquantes dans le fichier du parti ({category.plural}) : {', '.join(missing)}. "
            "Colonnes attendues : nom ; prénom ; date de naissance ; département ; numéro d'adhérent ; "
            f"code commune. En-tête lu : {' | '.join(header)[:300]}"
        )
    result = ParsedFile(encoding=encoding, separator=separator, header=header)
    width = len(header)
    seen: dict[str, int] = {}
    for line, row in rows:
        result.data_lines += 1
        if len(row) != width:
            result.error(line, f"{len(row)} champs au lieu de {width} (séparateur « {SEPARATOR_LABELS[separator]} »)")
            continue
        try:
            family, given, birth = _identity(row, columns)
            raw_department = _cell(row, columns, "department_code")
            department = normalise_department(raw_department, departments) if raw_department else None
            if category in PARTY_ONLY_REQUIRE_DEPARTMENT and department is None:
                raise ValueError("département manquant")
            commune = _cell(row, columns, "commune_code")
            record = OfficialRecord(
                line=line,
                family_name=family,
                given_name=given,
                birth_date=birth,
                department_code=department,
                commune_code=normalise_commune(commune, department) if commune else None,
                member_number=_cell(row, columns, "member_number") or None,
            )
        except ValueError as error:
            result.error(line, str(error))
            continue
        key = record.person_key
        if key in seen:
            result.error(line, f"{family} {given} figure déjà ligne {seen[key]}")
            continue
        seen[key] = line
        result.records.append(record)
    return result
