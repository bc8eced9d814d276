"""Synthetic extracts: same bytes for the same seed, realistic content, and every malformed
line they contain is rejected by the importer with a reason (and nothing else is)."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select

from tests.voter_registry.conftest import ACTOR
from voter_registry.errors import FileRefused
from voter_registry.generator import GeneratorOptions, generate, write_zip
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import RegistryBureau, Voter
from voter_registry.reu import COLUMNS, parse_file_name

OPTIONS = GeneratorOptions(departments=("2A", "971"), voters=3000, seed=11, malformed_share=0.01, windows_share=0.2)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first = [(f.name, f.data) for f in generate(OPTIONS)]
    again = [(f.name, f.data) for f in generate(OPTIONS)]
    other = [(f.name, f.data) for f in generate(GeneratorOptions(**{**OPTIONS.__dict__, "seed": 12}))]
    assert first == again and first != other
    zipped_1, zipped_2 = io.BytesIO(), io.BytesIO()
    write_zip(generate(OPTIONS), zipped_1)
    write_zip(generate(OPTIONS), zipped_2)
    assert zipped_1.getvalue() == zipped_2.getvalue()
    assert len(zipfile.ZipFile(zipped_1).namelist()) == len(first)


def test_content_is_realistic() -> None:
    files = list(generate(OPTIONS))
    assert sum(f.voters for f in files) == 3000
    assert {f.department_code for f in files} == {"2A", "971"}
    text = "".join(f.data.decode("utf-8" if f.encoding == "utf-8" else "cp1252") for f in files)
    assert text.startswith(";".join(COLUMNS))
    for expected in ("Liste complémentaire", "00/", "Ajaccio-1", "-", "'"):
        assert expected in text, expected
    assert any(f.encoding == "windows-1252" for f in files)
    assert all(parse_file_name(f.name) is not None for f in files)


async def test_importer_rejects_exactly_the_malformed_lines(session, election) -> None:
    files = list(generate(OPTIONS))
    rejected = merged = voters = 0
    for generated in files:
        try:
            report = await import_commune_file(session, ACTOR, election, bytes_file(generated.name, generated.data))
        except FileRefused as refused:  # a one-line commune whose only line is malformed
            rejected += refused.rejected
            continue
        rejected += report.rejected
        merged += report.merged
        voters += report.voters
    assert rejected == sum(f.malformed for f in files) > 0
    assert voters + merged + rejected == sum(f.lines for f in files)
    assert await session.scalar(select(func.count()).select_from(Voter)) == voters
    unmapped = await session.scalar(select(func.count()).select_from(RegistryBureau).where(RegistryBureau.canton_code.is_(None)))
    assert unmapped == 0
