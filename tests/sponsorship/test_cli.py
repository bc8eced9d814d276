"""`primaires parrainages generer`: the synthetic RNE on disk reads back through the importer's parser."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.sponsorship.cli import app
from services.sponsorship.rne_formats import RELEASES, RneKind
from services.sponsorship.roster_files import CommuneRef, parse_rne
from services.sponsorship.synthetic import load_territory_files


def test_generate_writes_real_headers_and_reports_malformed_lines(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["generer", str(tmp_path), "--version", "2023-06", "--maires-au-dessus", "50000", "--lignes-malformees", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "fichiers écrits" in result.output
    territory = load_territory_files()
    communes = {c: CommuneRef(n, d, p) for c, n, d, p in territory.communes}
    for kind in RneKind:
        path = tmp_path / RELEASES["2023-06"][kind].filename
        assert path.read_text(encoding="utf-8").split("\n", 1)[0] == "\t".join(RELEASES["2023-06"][kind].header)
        parsed = parse_rne(path.read_bytes(), departments=set(territory.departments), communes=communes)
        assert parsed.kind == kind and len(parsed.errors) == 2 and parsed.records
    assert (tmp_path / "parti-maires.csv").exists() and (tmp_path / "parti-conseil-national.csv").exists()
