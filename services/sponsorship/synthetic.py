"""A synthetic Répertoire national des élus, and the party's files that go with it, for tests, the
demo and the benchmark (real RNE rows are not shipped: only their headers, see `rne_formats`).

Everything is invented: names are drawn from lists of common French names and combined at random
with random birth dates, so no row describes a real person. The shape is real: the real headers
of each release, its separator, encoding and date format; one mayor per commune of the territory
reference (with its population); deputies and senators spread by population; two departmental
councillors per canton; regional councillors by departmental section; some officials holding two
mandates (a departmental councillor who is also a mayor); random « nuances » — which the importer
must ignore. `malformed` injects broken lines to exercise the error report.

Deterministic: the same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from services.sponsorship.rne_formats import DEFAULT_RELEASE, RELEASES, ReleaseFormat, RneKind
from services.sponsorship.roster_files import RNE_ALIASES, normalise_header, person_key
from services.sponsorship.rules import Category

TERRITORY_DATA = Path(__file__).resolve().parents[1] / "territory" / "data"

FAMILY_NAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
    "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure", "André",
    "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
    "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson",
    "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier",
    "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud",
    "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron",
    "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe",
    "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte",
    "N'Diaye", "D'Almeida", "de La Fontaine", "Le Gall", "Le Bihan", "Kerjean", "Abgrall", "Etcheverry",
    "Sánchez-Ortiz", "Nguyen", "Haddad", "Benali", "Saint-Martin", "Desjardins-Lemaître", "Œillet", "Ruiz",
    "Casanova", "Paoli", "Santoni", "Grosjean", "Hoarau", "Grondin", "Rivière-Ducasse", "Bouvier", "Texier", "Poulain",
)  # fmt: skip
GIVEN_NAMES_F = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Martine", "Christine", "Françoise", "Valérie",
    "Sandrine", "Stéphanie", "Véronique", "Sophie", "Céline", "Chantal", "Patricia", "Anne", "Brigitte",
    "Julie", "Monique", "Aurélie", "Nicole", "Laurence", "Annie", "Émilie", "Dominique", "Virginie", "Corinne",
    "Élodie", "Christelle", "Camille", "Nadia", "Anne-Sophie", "Marie-Hélène", "Béatrice", "Agnès", "Hélène",
    "Josiane", "Maïté", "Zoé", "Inès", "Léa", "Chloé", "Manon", "Fatima", "Yasmina", "Gwenaëlle", "Solène",
)  # fmt: skip
GIVEN_NAMES_M = (
    "Jean", "Philippe", "Michel", "Alain", "Patrick", "Nicolas", "Christophe", "Pierre", "Christian", "Éric",
    "Frédéric", "Laurent", "Stéphane", "David", "Pascal", "Daniel", "Sébastien", "Julien", "Thierry", "Olivier",
    "Bernard", "Thomas", "Alexandre", "Gérard", "Didier", "Dominique", "Vincent", "François", "Bruno", "Guy",
    "Jean-Pierre", "Jean-Luc", "Jean-François", "Marc-Antoine", "Hervé", "Loïc", "Yannick", "Gaël", "Mathieu",
    "Karim", "Mohamed", "Antoine", "Benoît", "Rémi", "Joël", "Noël", "Ange-Marie", "Jérôme", "Régis", "Yves",
)  # fmt: skip
NUANCES = ("DVD", "LR", "SOC", "DVG", "DVC", "DIV", "UDI", "COM", "ECO", "REM", "MDM", "RDG", "RN", "FI", "NC", "REG")
CSP = (("23", "Chefs d'entreprise de 10 salariés ou plus"), ("31", "Professions libérales"),
       ("33", "Cadres de la fonction publique"), ("34", "Professeurs, professions scientifiques"),
       ("37", "Cadres administratifs et commerciaux d'entreprise"), ("43", "Professions intermédiaires de la santé"),
       ("54", "Employés administratifs d'entreprise"), ("74", "Anciens cadres"), ("11", "Agriculteurs sur petite exploitation"))  # fmt: skip
FUNCTIONS = {
    RneKind.DEPARTMENTAL: ("", "", "", "Vice-président du conseil départemental", "Président du conseil départemental"),
    RneKind.REGIONAL: ("", "", "", "Vice-président du conseil régional", "Président du conseil régional"),
}
# Overseas departments without a departmental council (single territorial authorities) and Paris.
NO_DEPARTMENTAL_COUNCIL = frozenset({"75", "2A", "2B", "972", "973", "976"})


@dataclass
class SyntheticOfficial:
    family_name: str
    given_name: str
    sex: str
    birth_date: date
    department_code: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None
    population: int | None = None
    canton_code: str | None = None
    region_code: str | None = None
    constituency: str | None = None
    function: str = ""
    member_number: str | None = None

    @property
    def person_key(self) -> str:
        return person_key(self.family_name, self.given_name, self.birth_date)


@dataclass
class SyntheticRoster:
    rne: dict[RneKind, list[SyntheticOfficial]] = field(default_factory=dict)
    party: dict[Category, list[SyntheticOfficial]] = field(default_factory=dict)

    @property
    def officials(self) -> int:
        keys = {o.person_key for group in self.rne.values() for o in group}
        keys |= {o.person_key for group in self.party.values() for o in group}
        return len(keys)


@dataclass(frozen=True)
class Territory:
    departments: dict[str, tuple[str, str, str | None]]  # code → (name, zone, region 2016)
    regions: dict[str, str]  # 2016 code → name
    communes: list[tuple[str, str, str, int]]  # (code, name, department, population)
    cantons: dict[str, list[str]]  # department → canton codes


@functools.cache
def load_territory_files() -> Territory:
    """The shipped territory reference, read from its files (no database needed; read once)."""
    with (TERRITORY_DATA / "departements.csv").open(encoding="utf-8", newline="") as handle:
        departments = {r["code"]: (r["name"], r["zone"], r["region_code"] or None) for r in csv.DictReader(handle)}
    with (TERRITORY_DATA / "regions.csv").open(encoding="utf-8", newline="") as handle:
        regions = {r["code"]: r["name"] for r in csv.DictReader(handle) if r["map"] == "2016"}
    with gzip.open(TERRITORY_DATA / "communes.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        communes = [
            (r["code"], r["name"], r["department_code"], int(r["population"] or 0))
            for r in csv.DictReader(handle)
            if r["kind"] == "commune"
        ]
    cantons: dict[str, list[str]] = defaultdict(list)
    with (TERRITORY_DATA / "cantons.csv").open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            if r["type"] in ("C", "V"):
                cantons[r["department_code"]].append(r["code"])
    return Territory(departments, regions, communes, dict(cantons))


class _People:
    """Draws fictional persons, never twice the same key."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(self, **facts: object) -> SyntheticOfficial:
        while True:
            sex = self.rng.choice("FM")
            official = SyntheticOfficial(
                family_name=self.rng.choice(FAMILY_NAMES).upper() if self.rng.random() < 0.85 else self.rng.choice(FAMILY_NAMES),
                given_name=self.rng.choice(GIVEN_NAMES_F if sex == "F" else GIVEN_NAMES_M),
                sex=sex,
                birth_date=date(1942, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 55)),
                **facts,  # type: ignore[arg-type]
            )
            if official.person_key not in self.used:
                self.used.add(official.person_key)
                return official


def _spread(rng: random.Random, total: int, weights: dict[str, int]) -> list[str]:
    """`total` department codes, proportional to `weights`, at least one each where possible."""
    codes = sorted(weights)
    chosen = list(codes[:total])
    if total > len(codes):
        chosen += rng.choices(codes, weights=[weights[code] for code in codes], k=total - len(codes))
    return chosen


def generate_roster(
    seed: int = 2011,
    *,
    territory: Territory | None = None,
    mayor_min_population: int = 0,
    party_share: float = 0.3,
    national_council: int = 204,
    members: int = 0,
    scale: float = 1.0,
) -> SyntheticRoster:
    """A national synthetic roster: RNE officials of the six kinds and the party's files.

    `party_share` of each RNE kind is listed in the party's files; `national_council` titular
    members (a quarter of them also elected officials); `members` party members (adherents), some of
    them elected officials too. `scale` shrinks the non-mayor kinds for fast tests; mayors are one
    per commune above `mayor_min_population`.
    """
    rng = random.Random(seed)
    territory = territory or load_territory_files()
    people = _People(rng)
    population = Counter()
    for _code, _name, department, inhabitants in territory.communes:
        population[department] += inhabitants
    populated = {code: population[code] for code in territory.departments if population[code] > 0}
    roster = SyntheticRoster()

    def count(real: int) -> int:
        return max(1, round(real * scale))

    mayors = []
    for code, name, department, inhabitants in territory.communes:
        if inhabitants > mayor_min_population:
            mayors.append(people.person(department_code=department, commune_code=code, commune_name=name, population=inhabitants))
    roster.rne[RneKind.MAYORS] = mayors

    deputies = []
    for index, department in enumerate(_spread(rng, count(577), populated)):
        deputies.append(people.person(department_code=department, constituency=f"{department}{index % 20 + 1:02d}"))
    roster.rne[RneKind.DEPUTIES] = deputies
    roster.rne[RneKind.SENATORS] = [people.person(department_code=d) for d in _spread(rng, count(348), populated)]
    roster.rne[RneKind.MEPS] = [people.person() for _ in range(count(81))]

    mayors_by_department: dict[str, list[SyntheticOfficial]] = defaultdict(list)
    for mayor in mayors:  # each mayor sits on the departmental council at most once
        assert mayor.department_code is not None
        mayors_by_department[mayor.department_code].append(mayor)
    departmental = []
    for department, cantons in sorted(territory.cantons.items()):
        if department in NO_DEPARTMENTAL_COUNCIL or department not in territory.departments:
            continue
        for canton in cantons[: max(1, round(len(cantons) * scale))]:
            for _seat in range(2):
                pool = mayors_by_department.get(department)
                if pool and rng.random() < 0.12:
                    # A mayor who is also a departmental councillor: the same person in two files.
                    mayor = pool.pop(rng.randrange(len(pool)))
                    official = replace(mayor, commune_code=None, commune_name=None, population=None)
                    official.canton_code = canton
                else:
                    official = people.person(department_code=department, canton_code=canton)
                official.function = rng.choice(FUNCTIONS[RneKind.DEPARTMENTAL])
                departmental.append(official)
    roster.rne[RneKind.DEPARTMENTAL] = departmental
    regional = []
    for department in _spread(rng, count(1750), {c: w for c, w in populated.items() if territory.departments[c][2]}):
        regional.append(
            people.person(
                department_code=department,
                region_code=territory.departments[department][2],
                function=rng.choice(FUNCTIONS[RneKind.REGIONAL]),
            )
        )
    roster.rne[RneKind.REGIONAL] = regional

    # The party's files: who among them belongs to the party.
    member_numbers = iter(range(100001, 10**7))

    def listed(group: Iterable[SyntheticOfficial]) -> list[SyntheticOfficial]:
        chosen = [o for o in group if rng.random() < party_share]
        for official in chosen:
            official.member_number = official.member_number or str(next(member_numbers))
        return chosen

    roster.party[Category.PARLIAMENTARIAN] = listed(deputies + roster.rne[RneKind.SENATORS] + roster.rne[RneKind.MEPS])
    roster.party[Category.REGIONAL_COUNCILLOR] = listed(regional)
    roster.party[Category.DEPARTMENTAL_COUNCILLOR] = listed(departmental)
    roster.party[Category.MAYOR] = listed(mayors)
    # Elected members who sit somewhere (members of the European Parliament have no department).
    elected_members = [o for category in roster.party.values() for o in category if o.department_code]
    council = rng.sample(elected_members, min(len(elected_members), national_council // 4)) if elected_members else []
    council = [replace(o) for o in council]
    departments = sorted(populated)
    while len(council) < national_council:
        council.append(people.person(department_code=rng.choice(departments)))
    for official in council:
        official.member_number = official.member_number or str(next(member_numbers))
    roster.party[Category.NATIONAL_COUNCIL] = council
    if members:
        adherents = [replace(o) for o in rng.sample(elected_members, min(len(elected_members), members // 10))]
        weights = [populated[d] for d in departments]
        while len(adherents) < members:
            adherents.append(people.person(department_code=rng.choices(departments, weights=weights)[0]))
        for official in adherents:
            official.member_number = official.member_number or str(next(member_numbers))
        roster.party[Category.MEMBER] = adherents
    return roster


# --- Writing the files ---------------------------------------------------------------------------------


def _rne_value(
    official: SyntheticOfficial, canonical: str | None, column: str, fmt: ReleaseFormat, territory: Territory, rng: random.Random
) -> str:
    department_name = territory.departments.get(official.department_code or "", ("", "", None))[0]
    normalised = normalise_header(column)
    if canonical == "family_name":
        return official.family_name
    if canonical == "given_name":
        return official.given_name
    if canonical == "sex":
        return official.sex
    if canonical == "birth_date":
        return official.birth_date.strftime(fmt.date_format)
    if canonical in ("department_code", "section_code"):
        return official.department_code or ""
    if canonical == "commune_code":
        return official.commune_code or ""
    if canonical == "commune_name":
        return official.commune_name or ""
    if canonical == "canton_code":
        return official.canton_code or ""
    if canonical == "region_code":
        return official.region_code or ""
    if canonical == "constituency_code":
        return (official.constituency or "")[-2:]
    if canonical == "function":
        return official.function
    if normalised in ("libelle_du_departement", "libelle_departement", "libelle_de_la_section_departementale", "libelle_section_departementale"):
        return department_name
    if normalised in ("libelle_de_la_region", "libelle_region"):
        return territory.regions.get(official.region_code or "", "")
    if normalised in ("libelle_du_canton", "libelle_canton"):
        return f"Canton {official.canton_code}" if official.canton_code else ""
    if normalised.startswith("code_de_la_categorie") or normalised.startswith("code_categorie"):
        return rng.choice(CSP)[0]
    if normalised.startswith("libelle_de_la_categorie") or normalised.startswith("libelle_categorie"):
        return rng.choice(CSP)[1]
    if "date" in normalised:
        return date(2020 + rng.randrange(0, 4), rng.randrange(1, 13), rng.randrange(1, 29)).strftime(fmt.date_format)
    if normalised == "code_nuance_mandat":
        return rng.choice(NUANCES)
    if normalised == "libelle_nuance_mandat":
        return "Nuance synthétique"
    if normalised == "lieu_naissance_elu":
        return ""
    return ""


def rne_file_bytes(
    officials: Sequence[SyntheticOfficial],
    kind: RneKind,
    *,
    release: str = DEFAULT_RELEASE,
    territory: Territory | None = None,
    malformed: int = 0,
    seed: int = 1,
) -> bytes:
    """One RNE file as the release writes it. `malformed` lines are broken on purpose (after the
    valid ones' positions are drawn), each with a different defect."""
    fmt = RELEASES[release][kind]
    territory = territory or load_territory_files()
    rng = random.Random(seed)
    canonical = [RNE_ALIASES.get(normalise_header(column)) for column in fmt.header]
    output = io.StringIO(newline="")
    writer = csv.writer(output, delimiter=fmt.separator, lineterminator="\r\n" if fmt.encoding == "cp1252" else "\n")
    writer.writerow(fmt.header)
    rows = [
        [_rne_value(official, canonical[i], column, fmt, territory, rng) for i, column in enumerate(fmt.header)]
        for official in officials
    ]
    for index in range(malformed):
        row = list(rows[rng.randrange(len(rows))]) if rows else [""] * len(fmt.header)
        defect = index % 4
        if defect == 0:
            row = row[:-2]  # missing fields
        elif defect == 1:
            row[canonical.index("birth_date")] = "31/02/1970"
        elif defect == 2:
            row[canonical.index("family_name")] = ""
        elif "commune_code" in canonical:
            row[canonical.index("commune_code")] = "99999"
        else:
            row[canonical.index("given_name")] = ""
        rows.insert(rng.randrange(len(rows) + 1), row)
    writer.writerows(rows)
    return output.getvalue().encode(fmt.encoding)


PARTY_HEADER = ("Nom", "Prénom", "Date de naissance", "Département", "Code commune", "Numéro d'adhérent")


def party_file_bytes(officials: Sequence[SyntheticOfficial], category: Category, *, separator: str = ";") -> bytes:
    """The party's file of one category (the format the importer documents)."""
    output = io.StringIO(newline="")
    writer = csv.writer(output, delimiter=separator, lineterminator="\n")
    writer.writerow(PARTY_HEADER)
    for official in officials:
        writer.writerow(
            (
                official.family_name,
                official.given_name,
                official.birth_date.strftime("%d/%m/%Y"),
                official.department_code or "",
                official.commune_code if category == Category.MAYOR else "",
                official.member_number or "",
            )
        )
    return output.getvalue().encode("utf-8")


PARTY_FILENAMES = {
    Category.PARLIAMENTARIAN: "parti-parlementaires.csv",
    Category.NATIONAL_COUNCIL: "parti-conseil-national.csv",
    Category.REGIONAL_COUNCILLOR: "parti-conseillers-regionaux.csv",
    Category.DEPARTMENTAL_COUNCILLOR: "parti-conseillers-departementaux.csv",
    Category.MAYOR: "parti-maires.csv",
    Category.MEMBER: "parti-adherents.csv",
}


def write_files(roster: SyntheticRoster, directory: Path, *, release: str = DEFAULT_RELEASE, malformed: int = 0) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    territory = load_territory_files()
    written = []
    for kind, officials in roster.rne.items():
        path = directory / RELEASES[release][kind].filename
        path.write_bytes(rne_file_bytes(officials, kind, release=release, territory=territory, malformed=malformed))
        written.append(path)
    for category, officials in roster.party.items():
        path = directory / PARTY_FILENAMES[category]
        path.write_bytes(party_file_bytes(officials, category))
        written.append(path)
    return written


def minimal_pdf(text: str) -> bytes:
    """A tiny valid one-page PDF standing for a scanned form (demo and tests)."""
    safe = text.encode("latin-1", errors="replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 12 Tf 50 780 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += str(number).encode() + b" 0 obj\n" + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n"
    return body
