"""Realistic synthetic REU extracts for demos, tests and benchmarks (`primaires registry generate`).

Real communes, populations and canton names come from the shipped territory reference; the
voters are fictional. Each commune gets a share of the requested voters proportional to its
population, split into polling places (bureaux) of about `bureau_size` voters; each bureau's
lines are sorted by name and numbered, as in real extracts. Names follow the pools of
`voter_registry.names` with regional colour (Corsica, Antilles, Brittany), EU citizens sit
on the complementary lists (often on both, as two lines), women often carry a usage name.

Oddities real files contain are kept at a configurable share (unknown day or month
« 00/00/1953 », names without accents, typographic apostrophes, stray spaces, lower case,
very long names, Windows-1252 files), and so are malformed lines (wrong column count,
impossible dates, missing names, unknown sex, unclosed quotes…), which the importer must
reject with a reason.

Deterministic: the same arguments and seed give the same bytes (each commune has its own
random stream, seeded by text, which Python hashes with SHA-512 whatever PYTHONHASHSEED).
"""

from __future__ import annotations

import bisect
import io
import random
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from itertools import accumulate

from services.territory import service as territory_files
from voter_registry import names
from voter_registry.reu import COLUMNS, PARIS, file_name_for

DEFAULT_EXTRACTED_AT = datetime(2026, 9, 1, 10, 0, tzinfo=PARIS)
LIST_MAIN = "Liste principale"
LIST_MUNICIPAL = "Liste complémentaire municipale"
LIST_EUROPEAN = "Liste complémentaire européenne"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class GeneratorOptions:
    departments: tuple[str, ...]
    voters: int
    seed: int = 2027
    extracted_at: datetime = DEFAULT_EXTRACTED_AT
    bureau_size: int = 1000
    oddity_share: float = 0.02
    malformed_share: float = 0.002
    windows_share: float = 0.05  # share of commune files written in Windows-1252


@dataclass(frozen=True)
class GeneratedFile:
    name: str
    commune_code: str
    department_code: str
    voters: int  # people generated (a person on two lists is two lines)
    lines: int  # data lines, malformed ones included
    malformed: int
    encoding: str
    data: bytes


@dataclass(frozen=True)
class _Commune:
    code: str
    name: str
    department_code: str
    population: int
    canton_labels: tuple[str, ...]


def _weights(pool: list[str], exponent: float = 0.85) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(len(pool))))


class _Pool:
    """A Zipf-weighted pool: frequent names first."""

    def __init__(self, items: list[str], exponent: float = 0.85) -> None:
        self.items = items
        self.cumulative = _weights(items, exponent)
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect.bisect_left(self.cumulative, rng.random() * self.total)]


def _tail_names() -> list[str]:
    """Every synthetic family name of the long tail, in a fixed pseudo-random order (Zipf ranks)."""
    built = sorted(
        {start + middle + end for start in names.TAIL_STARTS for middle in names.TAIL_MIDDLES for end in names.TAIL_ENDS}
    )
    random.Random("tail").shuffle(built)
    return built


TOP_NAMES_SHARE = 0.1  # of people of French origin bearing one of the most frequent names
SURNAMES = {
    "french": _Pool(names.FRENCH, 0.6),
    "tail": _Pool(_tail_names(), 0.5),
    "particles": _Pool(names.PARTICLES, 0.3),
    "apostrophes": _Pool(names.APOSTROPHES, 0.3),
    "maghreb": _Pool(names.MAGHREB, 0.2),
    "west_africa": _Pool(names.WEST_AFRICA, 0.2),
    "asia": _Pool(names.ASIA, 0.2),
    "iberian_italian": _Pool(names.IBERIAN_ITALIAN, 0.2),
    "corsica": _Pool(names.CORSICA, 0.5),
    "antilles": _Pool(names.ANTILLES, 0.5),
    "brittany": _Pool(names.BRITTANY, 0.5),
    "eu_other": _Pool(names.EU_OTHER_SURNAMES, 0.3),
}
GIVEN = {
    ("F", "old"): _Pool(names.FEMALE_OLD),
    ("M", "old"): _Pool(names.MALE_OLD),
    ("F", "mid"): _Pool(names.FEMALE_MID),
    ("M", "mid"): _Pool(names.MALE_MID),
    ("F", "young"): _Pool(names.FEMALE_YOUNG),
    ("M", "young"): _Pool(names.MALE_YOUNG),
}
COMPOUND = {"F": _Pool(names.FEMALE_COMPOUND, 0.5), "M": _Pool(names.MALE_COMPOUND, 0.5)}
REGIONAL_GIVEN = {
    ("F", "maghreb"): names.FEMALE_MAGHREB_AFRICA,
    ("M", "maghreb"): names.MALE_MAGHREB_AFRICA,
    ("F", "west_africa"): names.FEMALE_MAGHREB_AFRICA,
    ("M", "west_africa"): names.MALE_MAGHREB_AFRICA,
    ("F", "corsica"): names.FEMALE_CORSICA,
    ("M", "corsica"): names.MALE_CORSICA,
    ("F", "antilles"): names.FEMALE_ANTILLES,
    ("M", "antilles"): names.MALE_ANTILLES,
    ("F", "iberian_italian"): names.FEMALE_EU,
    ("M", "iberian_italian"): names.MALE_EU,
    ("F", "eu_other"): names.FEMALE_EU,
    ("M", "eu_other"): names.MALE_EU,
}
SECOND = {"F": _Pool(names.FEMALE_SECOND, 0.6), "M": _Pool(names.MALE_SECOND, 0.6)}

# Where names come from, by kind of department (shares of the population of the lists).
ORIGINS = {
    "metro": [("french", 0.78), ("particles", 0.03), ("apostrophes", 0.01), ("maghreb", 0.07), ("west_africa", 0.03),
              ("asia", 0.02), ("iberian_italian", 0.05), ("brittany", 0.01)],
    "2A": [("corsica", 0.55), ("french", 0.33), ("particles", 0.02), ("maghreb", 0.05), ("iberian_italian", 0.05)],
    "2B": [("corsica", 0.55), ("french", 0.33), ("particles", 0.02), ("maghreb", 0.05), ("iberian_italian", 0.05)],
    "drom": [("antilles", 0.72), ("french", 0.18), ("particles", 0.02), ("apostrophes", 0.02), ("asia", 0.02),
             ("maghreb", 0.02), ("west_africa", 0.02)],
    "brittany": [("brittany", 0.25), ("french", 0.62), ("particles", 0.04), ("maghreb", 0.04), ("iberian_italian", 0.05)],
}  # fmt: skip
BRETON_DEPARTMENTS = {"22", "29", "35", "56"}


@lru_cache(maxsize=65536)
def _strip_accents(value: str) -> str:
    if value.isascii():
        return value
    return "".join(ch for ch in unicodedata.normalize("NFD", value) if unicodedata.category(ch) != "Mn")


@lru_cache(maxsize=8)
def _territory_rows() -> tuple[list[dict], list[dict], dict[str, dict]]:
    return (
        territory_files.cantons(),
        territory_files.communes(),
        {d["code"]: d for d in territory_files.departments()},
    )


def load_communes(departments: tuple[str, ...]) -> list[_Commune]:
    """Communes of the departments (arrondissements excluded), with the REU canton labels of their bureaux."""
    cantons, communes, _departments = _territory_rows()
    cantons_by_department: dict[str, list[dict]] = {}
    canton_names: dict[str, str] = {}
    for canton in cantons:
        cantons_by_department.setdefault(canton["department_code"], []).append(canton)
        canton_names[canton["code"]] = canton["name"]
    wanted = set(departments)
    result = []
    for commune in communes:
        if commune["department_code"] not in wanted or commune["kind"] != "commune":
            continue
        label = canton_names.get(commune["canton_code"] or "", "")
        labels: tuple[str, ...] = (label,) if label else ("",)
        # A city split into several cantons (canton-ville): its bureaux spread over « City-1 », « City-2 »…
        city_cantons = sorted(
            c["name"]
            for c in cantons_by_department.get(commune["department_code"], [])
            if c["type"] == "C" and c["name"].startswith(commune["name"] + "-") and c["name"][len(commune["name"]) + 1 :].isdigit()
        )
        if city_cantons:
            labels = tuple(city_cantons)
        result.append(_Commune(commune["code"], commune["name"], commune["department_code"], commune["population"], labels))
    result.sort(key=lambda c: c.code)
    return result


def allocate(communes: list[_Commune], voters: int) -> dict[str, int]:
    """Voters per commune, proportional to population (largest remainder: exact total, deterministic)."""
    population = sum(c.population for c in communes) or 1
    shares = [(c.code, voters * c.population / population) for c in communes]
    counts = {code: int(share) for code, share in shares}
    missing = voters - sum(counts.values())
    by_remainder = sorted(shares, key=lambda item: (-(item[1] - int(item[1])), item[0]))
    for code, _share in by_remainder[:missing]:
        counts[code] += 1
    return {code: count for code, count in counts.items() if count > 0}


class _CommuneWriter:
    def __init__(
        self,
        options: GeneratorOptions,
        commune: _Commune,
        birth_places: tuple[list[_Commune], list[int]],
        zone: str,
    ) -> None:
        self.options = options
        self.commune = commune
        self.rng = random.Random(f"{options.seed}:{commune.code}")
        self.birth_places, self.birth_cumulative = birth_places
        key = commune.department_code if commune.department_code in ("2A", "2B") else zone
        if commune.department_code in BRETON_DEPARTMENTS:
            key = "brittany"
        origins = ORIGINS.get(key, ORIGINS["metro"])
        self.origin_names = [name for name, _share in origins]
        self.origin_cumulative = list(accumulate(share for _name, share in origins))
        self.year = options.extracted_at.year
        self.postal_code = self._postal_code()
        self.malformed = 0
        self.people = 0

    def _postal_code(self) -> str:
        department = self.commune.department_code
        if department in ("2A", "2B"):
            return f"20{self.rng.randrange(0, 250):03d}"
        if len(department) == 3:
            return f"{department}{self.rng.randrange(0, 100):02d}"
        return f"{department}{self.rng.randrange(0, 1000):03d}"

    # --- one person ---------------------------------------------------------------------------

    def _origin(self) -> str:
        return self.origin_names[bisect.bisect_left(self.origin_cumulative, self.rng.random() * self.origin_cumulative[-1])]

    def _age(self) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.012:
            return 17  # future majors are on the lists before their birthday
        if roll < 0.85:
            return rng.randint(18, 70)
        return rng.randint(71, 102)

    def _given_names(self, sex: str, origin: str, birth_year: int) -> str:
        rng = self.rng
        era = "old" if birth_year < 1962 else "mid" if birth_year < 1992 else "young"
        regional = REGIONAL_GIVEN.get((sex, origin))
        if regional and rng.random() < 0.75:
            first = rng.choice(regional)
        elif rng.random() < 0.07:
            first = COMPOUND[sex].pick(rng)
        else:
            first = GIVEN[(sex, era)].pick(rng)
        count = 1 + bisect.bisect_left([0.35, 0.70, 0.95, 1.0], rng.random())
        given = [first]
        for _ in range(count - 1):
            extra = SECOND[sex].pick(rng)
            if extra not in given:
                given.append(extra)
        return " ".join(given)

    def _french_surname(self) -> str:
        rng = self.rng
        return SURNAMES["french" if rng.random() < TOP_NAMES_SHARE else "tail"].pick(rng)

    def _surname(self, origin: str) -> str:
        rng = self.rng
        if origin == "french":
            if rng.random() < 0.015:
                first, second = self._french_surname(), self._french_surname()
                if first != second:
                    return f"{first}-{second}"
            return self._french_surname()
        return SURNAMES[origin].pick(rng)

    def _birth(self, age: int) -> tuple[int, int, int]:
        rng = self.rng
        year = self.year - age
        month = rng.randint(1, 12)
        days = 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31
        return year, month, rng.randint(1, days)

    def person(self) -> dict[str, str]:
        rng = self.rng
        sex = "F" if rng.random() < 0.52 else "M"
        age = self._age()
        year, month, day = self._birth(age)
        eu_national = rng.random() < 0.03
        if eu_national:
            nationality, country, country_code, city, origin = rng.choice(names.EU_NATIONALS)
            born_abroad = rng.random() < 0.9
            country_of_birth = ("FRANCE", "", "") if not born_abroad else (country, country_code, city)
        else:
            nationality, origin = "Française", self._origin()
            born_abroad = origin in names.COUNTRIES and rng.random() < 0.45
            country_of_birth = ("FRANCE", "", "")
            if born_abroad:
                country, country_code, city = rng.choice(names.COUNTRIES[origin])
                country_of_birth = (country, country_code, city)
        if origin == "eu_other":
            surname = SURNAMES["eu_other"].pick(rng)
        else:
            surname = self._surname(origin)
        given = self._given_names(sex, origin, year)
        # Unknown parts of the birth date: frequent for people born abroad, rare otherwise.
        if (born_abroad and rng.random() < 0.08) or rng.random() < self.options.oddity_share * 0.1:
            month, day = (0, 0) if rng.random() < 0.6 else (month, 0)
        if born_abroad:
            birth_department, birth_commune_code = "99", country_of_birth[1]
            birth_commune, birth_country = country_of_birth[2], country_of_birth[0]
        else:
            place = self._birth_place()
            birth_department, birth_commune_code = place.department_code, place.code
            birth_commune, birth_country = place.name, "FRANCE"
        usage = ""
        if sex == "F" and age >= 25 and rng.random() < 0.5:
            spouse = self._surname("french" if rng.random() < 0.8 else self._origin())
            if spouse != surname:
                usage = spouse if rng.random() < 0.93 else f"{surname}-{spouse}"
        elif sex == "M" and rng.random() < 0.01:
            usage = f"{surname}-{self._surname('french')}"
        return {
            "sex": sex,
            "birth_name": surname,
            "usage_name": usage,
            "given_names": given,
            "birth_date": f"{day:02d}/{month:02d}/{year:04d}",
            "birth_commune_code": birth_commune_code,
            "birth_commune": birth_commune,
            "birth_department": birth_department,
            "birth_country": birth_country,
            "nationality": nationality,
            "eu": "1" if eu_national else "",
        }

    def _birth_place(self) -> _Commune:
        rng = self.rng
        if rng.random() < 0.5:
            return self.commune
        index = bisect.bisect_left(self.birth_cumulative, rng.random() * self.birth_cumulative[-1])
        return self.birth_places[min(index, len(self.birth_places) - 1)]

    def _spell(self, person: dict[str, str]) -> dict[str, str]:
        """How the commune's software wrote the names: upper case, accents or not, oddities."""
        rng = self.rng
        birth, usage, given = person["birth_name"].upper(), person["usage_name"].upper(), person["given_names"]
        if rng.random() < 0.3:
            birth, usage = _strip_accents(birth), _strip_accents(usage)
        if rng.random() < 0.05:
            given = given.upper()
        if rng.random() < self.options.oddity_share:
            oddity = rng.randrange(5)
            if oddity == 0:
                birth = birth.replace("'", "’")
                usage = usage.replace("'", "’")
            elif oddity == 1:
                birth = f"  {birth} "
                given = given.replace(" ", "  ")
            elif oddity == 2:
                birth, given = birth.lower(), given.lower()
            elif oddity == 3:
                birth = f"{birth}-{self._french_surname().upper()}-{SURNAMES['particles'].pick(rng).upper()}"
                given = " ".join([given, *(SECOND[person["sex"]].pick(rng) for _ in range(4))])
            else:
                given = _strip_accents(given)
        return {**person, "birth_name": birth, "usage_name": usage, "given_names": given}

    def _address(self) -> list[str]:
        rng = self.rng
        number = str(rng.randint(1, 150)) + (rng.choice([" bis", " ter"]) if rng.random() < 0.08 else "")
        complement = rng.choice(names.COMPLEMENTS) if rng.random() < 0.12 else ""
        lieu_dit = rng.choice(names.LIEUX_DITS) if self.commune.population < 3000 and rng.random() < 0.2 else ""
        street = rng.choice(names.STREETS)
        if lieu_dit and rng.random() < 0.5:
            number, street = "", ""
        return [number, street, complement, "", lieu_dit, self.postal_code, self.commune.name.upper(), "FRANCE"]

    # --- the file ------------------------------------------------------------------------------

    def bureaux(self, voters: int) -> list[tuple[str, str, str, int]]:
        """(code, label, canton label, voters) for each bureau of the commune."""
        count = max(1, round(voters / self.options.bureau_size))
        base, extra = divmod(voters, count)
        labels = self.commune.canton_labels
        result = []
        for index in range(count):
            place = names.BUREAU_PLACES[0] if index == 0 else self.rng.choice(names.BUREAU_PLACES[1:])
            label = f"{place}" if count == 1 else f"{place} — bureau {index + 1}"
            canton = labels[index * len(labels) // count]
            result.append((f"{index + 1:04d}", label, canton, base + (1 if index < extra else 0)))
        return result

    def lines(self, voters: int) -> Iterator[list[str]]:
        rng = self.rng
        department = self.commune.department_code
        for code, label, canton, size in self.bureaux(voters):
            circonscription = f"{department}{(int(code) - 1) % 3 + 1:02d}"
            people = [self.person() for _ in range(size)]
            people.sort(key=lambda p: (_strip_accents(p["birth_name"]).upper(), p["given_names"]))
            self.people += size
            for order, person in enumerate(people, start=1):
                spelled = self._spell(person)
                address = self._address()
                if person["eu"]:
                    roll = rng.random()
                    list_types = [LIST_MUNICIPAL] if roll < 0.55 else [LIST_EUROPEAN] if roll < 0.7 else [LIST_MUNICIPAL, LIST_EUROPEAN]
                else:
                    list_types = [LIST_MAIN]
                for list_type in list_types:
                    yield [
                        self.commune.code,
                        self.commune.name.upper(),
                        list_type,
                        spelled["birth_name"],
                        spelled["usage_name"],
                        spelled["given_names"],
                        person["sex"],
                        person["birth_date"],
                        person["birth_commune_code"],
                        person["birth_commune"],
                        person["birth_department"],
                        person["birth_country"],
                        person["nationality"],
                        *address,
                        code,
                        label,
                        circonscription,
                        canton,
                        "",
                        str(order),
                    ]

    def malform(self, fields: list[str]) -> str:
        rng = self.rng
        self.malformed += 1
        kind = rng.randrange(8)
        fields = list(fields)
        if kind == 0:
            fields.pop(rng.randrange(len(fields)))
        elif kind == 1:
            fields[7] = f"31/02/{fields[7][-4:]}"
        elif kind == 2:
            fields[7] = f"{fields[7][-4:]}-{fields[7][3:5]}-{fields[7][:2]}"
        elif kind == 3:
            fields[3] = ""
        elif kind == 4:
            fields[6] = rng.choice(["X", "?", "Homme"])
        elif kind == 5:
            fields[21] = ""
        elif kind == 6:
            fields[26] = fields[26] + "a"
        else:
            fields[3] = '"' + fields[3]
        return ";".join(fields)

    def render(self, voters: int) -> tuple[str, int]:
        out = io.StringIO()
        out.write(";".join(COLUMNS) + "\n")
        count = 0
        malformed_share = self.options.malformed_share
        for fields in self.lines(voters):
            count += 1
            if malformed_share and self.rng.random() < malformed_share:
                out.write(self.malform(fields) + "\n")
            else:
                out.write(";".join(fields) + "\n")  # no pool value contains « ; »
        return out.getvalue(), count


def generate(options: GeneratorOptions) -> Iterator[GeneratedFile]:
    """One file per commune that gets voters, in commune-code order."""
    departments = tuple(dict.fromkeys(code.strip().upper() for code in options.departments if code.strip()))
    known = _territory_rows()[2]
    unknown = [code for code in departments if code not in known]
    if unknown:
        raise ValueError(f"Département(s) inconnu(s) : {', '.join(unknown)}.")
    communes = load_communes(departments)
    everywhere = load_communes(tuple(known))  # anyone may be born anywhere in France
    birth_places = (everywhere, list(accumulate(max(c.population, 1) for c in everywhere)))
    allocation = allocate(communes, options.voters)
    for commune in communes:
        voters = allocation.get(commune.code, 0)
        if not voters:
            continue
        writer = _CommuneWriter(options, commune, birth_places, known[commune.department_code]["zone"])
        text, lines = writer.render(voters)
        encoding = "utf-8"
        if writer.rng.random() < options.windows_share:
            try:
                data = text.encode("cp1252")
                encoding = "windows-1252"
            except UnicodeEncodeError:
                data = text.encode("utf-8")
        else:
            data = text.encode("utf-8")
        yield GeneratedFile(
            name=file_name_for(commune.code, options.extracted_at),
            commune_code=commune.code,
            department_code=commune.department_code,
            voters=writer.people,
            lines=lines,
            malformed=writer.malformed,
            encoding=encoding,
            data=data,
        )


def write_zip(files: Iterator[GeneratedFile], target: io.BufferedIOBase | str) -> int:
    """All files in one zip with fixed timestamps (same bytes for the same seed)."""
    count = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.data)
            count += 1
    return count


def reference_today(options: GeneratorOptions) -> date:
    return options.extracted_at.date()
