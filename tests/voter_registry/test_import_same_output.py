"""The import's hot path, A/B: the COPY payload, the rejects (line, column, reason), the
bureaux, the counters of a generated set are byte for byte those of the code before the
speed work (commit b8115d9), recorded here as one digest. A change of the parser, the
normaliser or the COPY encoding that alters a single row or reason fails this test; if the
change is intended (a new normalisation), record the new digest and say why in the commit."""

from __future__ import annotations

import asyncio
import hashlib

from voter_registry.generator import GeneratorOptions, generate
from voter_registry.importer import _LineReader, _open_lines, _text_chunks, bytes_file

# Windows-1252 lines, malformed lines and complementary lists included; plus one file with
# characters COPY's text format must escape.
OPTIONS = GeneratorOptions(departments=("2A", "33"), voters=6000, seed=5, malformed_share=0.02, windows_share=0.2)
ESCAPED = (
    "ListesElecteursActifs-com2A004-01-09-2026-10h00.csv",
    "code du l'ugle;libellé de l'ugle;libellé du type de liste;nom de naissance;nom d'usage;prénoms;sexe;"
    "date de naissance;code commune de naissance;libellé commune de naissance;code département de naissance;"
    "pays de naissance;libellé nationalité;numéro de voie;libellé de voie;complément 1;complément 2;lieu-dit;"
    "code postal;commune;pays;code du bureau de vote;libellé du bureau de vote;"
    "code circonscription législative du bureau de vote;libellé canton du bureau de vote;"
    "libellé circonscription métropolitaine du bureau de vote;numéro d'ordre dans le bureau de vote\n"
    "2A004;AJACCIO;Liste principale;ORSINI;;Marie\\Ange;F;29/02/1960;2A004;AJACCIO;2A;FRANCE;Française;"
    "3;cours\tNapoléon;;;;20000;AJACCIO;FRANCE;0001;Hôtel de ville;2A01;Ajaccio-1;;12\n"
    "2A004;AJACCIO;Liste principale;ORSINI;;Paul;M;29/02/1961;2A004;AJACCIO;2A;FRANCE;Française;"
    "3;cours Napoléon;;;;20000;AJACCIO;FRANCE;0001;Hôtel de ville;2A01;Ajaccio-1;;13\n",
)
EXPECTED = "2a5e4a529406b2731148dfb544514dc94b7d60788691d4edf6d0749da005cc09"


def payload_digest(files: list[tuple[str, bytes]], max_year: int = 2026) -> str:
    """SHA-256 of everything the hot path produces for `files`, in order."""
    digest = hashlib.sha256()

    async def run() -> None:
        for name, data in files:
            file = bytes_file(name, data)
            with file.opener() as stream:
                opened = _open_lines(file, stream)
                reader = _LineReader(
                    file, stream, department_code="xx", commune_code=opened.commune_code, max_year=max_year, progress=None
                )
                async for chunk in _text_chunks(reader, reader.records(opened.lines)):
                    digest.update(chunk)
                staged = _LineReader(
                    file, stream, department_code="xx", commune_code=opened.commune_code, max_year=max_year, progress=None
                )
                with file.opener() as again:
                    lines = _open_lines(file, again).lines
                    async for chunk in _text_chunks(staged, staged.records(lines, staged=True)):
                        digest.update(chunk)
            for counted in (reader, staged):
                digest.update(
                    repr(
                        (
                            counted.lines, counted.accepted, counted.rejected, counted.utf8_lines, counted.windows_lines,
                            counted.needs_escaping, counted.merged_here, sorted(counted.bureaux.items()),
                            sorted(counted.bureau_counts.items()), counted.duplicates,
                            [(r.line, r.column, r.reason) for r in counted.rejections],
                        )
                    ).encode()
                )  # fmt: skip

    asyncio.run(run())
    return digest.hexdigest()


def generated_files() -> list[tuple[str, bytes]]:
    return [(f.name, f.data) for f in generate(OPTIONS)] + [(ESCAPED[0], ESCAPED[1].encode("utf-8"))]


def test_hot_path_output_is_unchanged() -> None:
    assert payload_digest(generated_files()) == EXPECTED


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from voter_registry.reu import _birth_date, parse_birth_date  # noqa: E402

_DIGITS = st.text(alphabet="0123456789", min_size=2, max_size=2)
# Well-formed dd/mm/yyyy (00 parts, impossible days and months included) and arbitrary junk.
_BIRTH_DATES = st.one_of(
    st.builds(lambda d, m, y: f"{d}/{m}/{y}", _DIGITS, _DIGITS, st.integers(1870, 2040).map(lambda y: f"{y:04d}")),
    st.text(alphabet="0123456789/ -٣", max_size=12),
)


@settings(max_examples=500, deadline=None)
@given(
    _BIRTH_DATES,
    st.sampled_from([2026, 2008]),
)
def test_birth_date_tables_agree_with_the_parser(value: str, max_year: int) -> None:
    assert _birth_date(value, max_year) == parse_birth_date(value, max_year)


from voter_registry.reu import _birth_date_identity  # noqa: E402


@settings(max_examples=500, deadline=None)
@given(
    _BIRTH_DATES,
    st.sampled_from([2026, 2008]),
)
def test_birth_date_identity_text_is_the_formatted_date(value: str, max_year: int) -> None:
    parsed = parse_birth_date(value, max_year)
    found = _birth_date_identity(value, max_year)
    if isinstance(parsed, str):
        assert found == parsed
    else:
        year, month, day = parsed
        assert found == (year, month, day, f"{year:04d}-{month:02d}-{day:02d}")


def test_the_builtin_sha256_is_sha256() -> None:
    from voter_registry.reu import sha256

    for data in (b"", b"v1|martin|jean|1953-04-00|c:33063", bytes(range(256)) * 5):
        assert sha256(data).digest() == hashlib.sha256(data).digest()


from voter_registry.reu import STREET_NUMBER, VOTER_COLUMNS, compact_address, parse_fields  # noqa: E402

_VALID_LINE = (
    "33063;BORDEAUX;Liste principale;MARTIN;;Jean;M;12/04/1953;33063;Bordeaux;33;FRANCE;Française;"
    "12;rue Victor Hugo;;;;33000;BORDEAUX;FRANCE;0101;École;3301;Bordeaux-1;;7"
)
_ADDRESS_PART = st.one_of(
    st.sampled_from(["", "12", "rue Victor Hugo", "FRANCE", "france ", "BELGIQUE", "33000", "BORDEAUX", "Bât. B"]),
    st.text(alphabet="ab ,\t.-é", max_size=8),
    st.text(alphabet="x", min_size=295, max_size=305),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_ADDRESS_PART, min_size=8, max_size=8))
def test_the_written_out_address_is_compact_address(parts: list[str]) -> None:
    fields = _VALID_LINE.split(";")
    fields[STREET_NUMBER : STREET_NUMBER + 8] = parts
    record = parse_fields(fields, "33", "33063", 2026)
    assert record[VOTER_COLUMNS.index("address")] == compact_address(fields)
