"""The import reads lines by blocks (`BLOCK_LINES`): a file larger than a block, blank lines,
a last line without newline, and a commune too large for the in-memory duplicate check (the
direct path stops mid-block and the staging path reads the file again) give the same voters."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.voter_registry.conftest import ACTOR, file_name, line, reu_file
from voter_registry import importer
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import Voter


def _many_lines(count: int) -> bytes:
    lines = [line(birth_name=f"NOM{i}", given_names=f"Jean{i % 7}") for i in range(count)]
    lines.insert(300, "")  # a blank line inside the second block
    data = reu_file(lines)
    return data.rstrip(b"\n")  # the last line has no newline


async def test_blocks_and_the_overflow_to_staging_give_the_same_voters(session, election, monkeypatch) -> None:
    data = _many_lines(3 * importer.BLOCK_LINES + 17)
    monkeypatch.setattr(importer, "DEDUP_MAX", importer.BLOCK_LINES + 5)  # overflow mid-block
    staged_calls = []
    copy_staged = importer._copy_staged

    async def spy(*args, **kwargs):
        staged_calls.append(1)
        return await copy_staged(*args, **kwargs)

    monkeypatch.setattr(importer, "_copy_staged", spy)
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert report.status == "imported"
    assert report.voters == report.lines == 3 * importer.BLOCK_LINES + 17
    assert report.rejected == 0
    stored = await session.scalar(select(func.count()).select_from(Voter).where(Voter.commune_code == "33063"))
    assert stored == report.voters
    assert staged_calls == [1]  # the direct path overflowed and the staging path read it again
