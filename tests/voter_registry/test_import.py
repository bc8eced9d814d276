"""Import of REU extracts against the real database: rejects, idempotence, replacement counts,
encodings, sources (directory, zip), one person = one voter, atomicity per commune."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.events import AuditEvent
from tests.voter_registry.conftest import ACTOR, HEADER, file_name, line, reu_file
from voter_registry.errors import FileRefused, OlderExtract
from voter_registry.importer import ListFile, bytes_file, import_commune_file, list_files
from voter_registry.models import RegistryBureau, RegistryCommune, RegistryImport, RegistryReject, Voter


async def voters(session: AsyncSession, commune: str = "33063") -> list[Voter]:
    query = select(Voter).where(Voter.commune_code == commune).order_by(Voter.birth_key)
    # COPY and the replacement SQL bypass the ORM: re-read rows, never trust the identity map.
    return list(await session.scalars(query.execution_options(populate_existing=True)))


async def test_rejects_are_reported_with_line_column_and_reason(session, election) -> None:
    data = reu_file(
        [
            line(),
            line(birth_date="31/02/1980", birth_name="DURAND"),
            line(sex="Z", birth_name="PETIT"),
            ";".join(["33063"] * 12),
            line(birth_name="BERNARD"),
        ]
    )
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert (report.lines, report.voters, report.rejected) == (5, 2, 3)
    assert [(r.line, r.column) for r in report.rejections] == [(3, "date de naissance"), (4, "sexe"), (5, "")]
    assert "12 colonnes au lieu de 27" in report.rejections[2].reason
    stored = list(await session.scalars(select(RegistryReject).where(RegistryReject.import_id == report.import_id).order_by(RegistryReject.line)))
    assert [(r.line, r.column, r.reason) for r in stored] == [(r.line, r.column, r.reason) for r in report.rejections]
    assert {v.birth_name for v in await voters(session)} == {"MARTIN", "BERNARD"}


async def test_reimporting_the_same_file_changes_nothing(session, election, count_writes) -> None:
    data = reu_file([line(), line(birth_name="DUPONT", order="2")])
    first = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert first.status == "imported"
    before = await count_writes()
    events_before = await session.scalar(select(func.count()).select_from(AuditEvent))
    again = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert again.status == "unchanged" and again.import_id == first.import_id
    assert await count_writes() == before
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


async def test_newer_extract_replaces_the_commune_and_counts_changes(session, election) -> None:
    old = reu_file([line(), line(birth_name="DUPONT"), line(birth_name="DURAND"), line(birth_name="PETIT")])
    await import_commune_file(session, ACTOR, election, bytes_file(file_name(stamp="01-09-2026-10h00"), old))
    kept = {v.birth_name: v.id for v in await voters(session)}
    new = reu_file(
        [
            line(),  # unchanged
            line(birth_name="DUPONT", bureau="0002"),  # moved to another bureau: changed
            line(birth_name="DURAND", usage_name="LEROY"),  # married: changed
            line(birth_name="LAMBERT"),  # new
        ]
    )  # PETIT left the commune: removed
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(stamp="15-09-2026-10h00"), new))
    assert report.status == "replaced"
    assert (report.added, report.removed, report.changed, report.unchanged, report.voters) == (1, 1, 2, 1, 4)
    after = {v.birth_name: v for v in await voters(session)}
    assert set(after) == {"MARTIN", "DUPONT", "DURAND", "LAMBERT"}
    # Unchanged and changed people keep their row (same id): polling never sees them "new".
    assert after["MARTIN"].id == kept["MARTIN"] and after["DUPONT"].id == kept["DUPONT"]
    assert after["DUPONT"].bureau_code == "0002" and after["DURAND"].usage_name == "LEROY"
    bureaux = {b.bureau_code: b.voters for b in await session.scalars(select(RegistryBureau).where(RegistryBureau.commune_code == "33063"))}
    assert bureaux == {"0001": 3, "0002": 1}
    commune = await session.get(RegistryCommune, ("33", "33063"))
    assert commune.voters == 4 and commune.import_id == report.import_id


async def test_older_extract_is_refused(session, election) -> None:
    await import_commune_file(session, ACTOR, election, bytes_file(file_name(stamp="15-09-2026-10h00"), reu_file([line()])))
    with pytest.raises(OlderExtract, match="plus ancien"):
        await import_commune_file(
            session, ACTOR, election, bytes_file(file_name(stamp="01-09-2026-10h00"), reu_file([line(birth_name="X")]))
        )


async def test_main_and_complementary_lists_make_one_voter(session, election) -> None:
    data = reu_file(
        [
            line(birth_name="ROSSI", nationality="Italienne", list_type="Liste complémentaire municipale"),
            line(birth_name="DUPONT"),
            line(birth_name="ROSSI", nationality="Italienne", list_type="Liste complémentaire européenne"),
        ]
    )
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert (report.voters, report.merged) == (2, 1)
    rossi = [v for v in await voters(session) if v.birth_name == "ROSSI"]
    assert len(rossi) == 1 and rossi[0].lists == 2 | 4
    # The same through the replacement path.
    data2 = reu_file([*data.decode().splitlines()[1:], line(birth_name="ROSSI", nationality="Italienne")])
    report2 = await import_commune_file(session, ACTOR, election, bytes_file(file_name(stamp="02-09-2026-10h00"), data2))
    assert (report2.voters, report2.merged, report2.changed) == (2, 2, 1)
    rossi = [v for v in await voters(session) if v.birth_name == "ROSSI"]
    assert len(rossi) == 1 and rossi[0].lists == 1 | 2 | 4


async def test_a_file_of_another_format_is_refused_naming_the_columns(session, election, count_writes) -> None:
    before = await count_writes()
    with pytest.raises(FileRefused) as refused:
        await import_commune_file(session, ACTOR, election, bytes_file("adherents.csv", b"nom;prenom;date\nMARTIN;Jean;1953\n"))
    assert "libellé du type de liste" in refused.value.message and "27" in refused.value.message
    assert await count_writes() == before


async def test_nothing_valid_keeps_the_list_in_place(session, election) -> None:
    await import_commune_file(session, ACTOR, election, bytes_file(file_name(), reu_file([line()])))
    with pytest.raises(FileRefused, match="aucune ligne valide") as refused:
        await import_commune_file(
            session, ACTOR, election, bytes_file(file_name(stamp="02-09-2026-10h00"), reu_file([line(sex="?")]))
        )
    assert refused.value.rejected == 1


async def test_windows_1252_is_accepted_with_a_warning(session, election) -> None:
    data = ("\n".join([HEADER, line(birth_name="LEFÈVRE", given_names="Hélène"), line(birth_name="MÜLLER")]) + "\n").encode("cp1252")
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert report.encoding == "windows-1252" and report.voters == 2
    assert any("Windows-1252" in warning for warning in report.warnings)
    assert {v.birth_name for v in await voters(session)} == {"LEFÈVRE", "MÜLLER"}


async def test_bom_crlf_and_blank_lines(session, election) -> None:
    data = ("\ufeff" + HEADER + "\r\n" + line() + "\r\n\r\n" + line(birth_name="DUPONT") + "\r\n").encode("utf-8")
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert (report.voters, report.rejected, report.encoding) == (2, 0, "utf-8-bom")
    assert {v.given_names for v in await voters(session)} == {"Jean Pierre"}


async def test_commune_from_the_first_line_when_the_file_name_says_nothing(session, election) -> None:
    report = await import_commune_file(session, ACTOR, election, bytes_file("export.csv", reu_file([line(commune="2A004", canton="Ajaccio-1")])))
    assert (report.commune_code, report.department_code) == ("2A004", "2A")
    assert any("Date d'extraction inconnue" in warning for warning in report.warnings)


async def test_cantons_are_mapped_to_the_reference(session, election) -> None:
    data = reu_file(
        [
            line(bureau="0001", canton="Bordeaux-1"),
            line(bureau="0002", canton="CANTON DE BORDEAUX 3", birth_name="B"),
            line(bureau="0003", canton="Canton inventé", birth_name="C"),
        ]
    )
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    bureaux = {b.bureau_code: (b.canton_code, b.canton_source) for b in await session.scalars(select(RegistryBureau))}
    assert bureaux == {"0001": ("3302", "libelle"), "0002": ("3304", "libelle"), "0003": ("3397", "commune")}
    assert any("Canton inventé" in warning for warning in report.warnings)


async def test_events_count_and_never_name(session, election) -> None:
    await import_commune_file(session, ACTOR, election, bytes_file(file_name(), reu_file([line(birth_name="ZYGOMATIQUE")])))
    entries = list(await session.scalars(select(AuditEvent.entry).where(AuditEvent.kind.like("registry.%"))))
    kinds = [json.loads(entry)["kind"] for entry in entries]
    assert "registry.commune_imported" in kinds and "registry.bound" in kinds
    assert not any("ZYGOMATIQUE" in entry.upper() or "Jean Pierre" in entry for entry in entries)
    imported = next(json.loads(e) for e in entries if json.loads(e)["kind"] == "registry.commune_imported")
    assert imported["payload"]["voters"] == 1 and imported["subjects"]["commune_code"] == "33063"


async def test_directory_and_zip_sources(tmp_path: Path, session, election) -> None:
    folder = tmp_path / "listes"
    (folder / "sous-dossier").mkdir(parents=True)
    (folder / file_name("33063")).write_bytes(reu_file([line()]))
    (folder / "sous-dossier" / "lisezmoi.txt").write_text("rien")
    archive = folder / "sous-dossier" / "autres.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(file_name("2A004"), reu_file([line(commune="2A004")]))
    files = list_files([folder])
    assert sorted(f.base_name for f in files) == sorted([file_name("33063"), file_name("2A004")])
    for file in files:
        await import_commune_file(session, ACTOR, election, file)
    assert await session.scalar(select(func.count()).select_from(RegistryCommune)) == 2


class Exploding(io.BytesIO):
    """A stream that fails after some lines, as a disk error or a killed transfer would."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        super().__init__(data)
        self.fail_after = fail_after
        self.read_lines = 0

    def __iter__(self):  # noqa: ANN204
        while raw := self.readline():
            self.read_lines += 1
            if self.read_lines > self.fail_after:
                raise OSError("lecture interrompue")
            yield raw


async def test_a_failing_commune_leaves_nothing_of_itself(database) -> None:
    """Half-way through the COPY the stream fails: the transaction (one per file) rolls back."""
    import contextlib

    from tests.voter_registry.conftest import make_election

    data = reu_file([line(birth_name=f"NOM{i:04d}", order=str(i)) for i in range(3000)])
    failing = ListFile(file_name(), file_name(), len(data), lambda: contextlib.nullcontext(Exploding(data, 2000)))
    async with database.sessionmaker() as other:
        with pytest.raises(OSError, match="lecture interrompue"):
            async with other.begin():
                election = await make_election(other)
                await import_commune_file(other, ACTOR, election, failing)
    # Nothing of the commune, in a fresh connection: no voter, no report, no bureau, no extract.
    async with database.engine.connect() as connection:
        for table in ("voter", "registry_import", "registry_bureau", "registry_commune"):
            count = await connection.scalar(text(f"SELECT count(*) FROM {table} WHERE commune_code = '33063'"))
            assert count == 0, table


async def test_imported_report_row(session, election) -> None:
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), reu_file([line(), line(sex="?")])))
    row = await session.get(RegistryImport, report.import_id)
    assert (row.voters, row.rejected, row.lines, row.file_name) == (1, 1, 2, file_name())


async def test_backslashes_and_tabs_survive_the_copy(session, election) -> None:
    fields = line(birth_name="DURAND\\DUPONT", usage_name="").split(";")
    fields[14] = "rue\tdu\\Port"
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), reu_file([";".join(fields)])))
    assert report.voters == 1
    voter = (await voters(session))[0]
    assert voter.birth_name == "DURAND\\DUPONT" and "du\\Port" in voter.address
    from voter_registry.normalize import identity_digest, identity_string

    assert voter.identity_hash == identity_digest(identity_string("DURAND\\DUPONT", "Jean Pierre", 1953, 4, 12, "c:33063"))


async def test_a_person_on_the_main_and_a_complementary_list_is_one_voter(session, election) -> None:
    data = reu_file(
        [
            line(birth_name="SILVA", list_type="Liste complémentaire européenne"),
            line(birth_name="SILVA"),
            line(birth_name="SILVA"),  # the same line twice (an export error): still one voter
            line(birth_name="COSTA", list_type="Liste complémentaire municipale"),
        ]
    )
    report = await import_commune_file(session, ACTOR, election, bytes_file(file_name(), data))
    assert (report.voters, report.merged) == (2, 2)
    assert {v.birth_name: v.lists for v in await voters(session)} == {"SILVA": 1 | 4, "COSTA": 2}
