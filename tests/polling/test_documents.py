"""The station's papers: credentials sheet, émargement list, blank PV (content checked in the PDF text)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import func, select

from polling import printing, service
from polling.models import StationPin, StationState
from services.auth.models import PairingCode
from tests.polling.conftest import ORGANISER, World

SCRATCH = os.environ.get("POLLING_PDF_DIR")


def pdf_text(data: bytes) -> str:
    """The text drawn in a PDF, as a reader extracts it (pypdf)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def keep(name: str, data: bytes) -> None:
    if SCRATCH:
        Path(SCRATCH).mkdir(parents=True, exist_ok=True)
        (Path(SCRATCH) / name).write_bytes(data)


async def test_credentials_sheet_has_code_pin_pairing_and_french_instructions(session, world: World) -> None:
    pins_before = await session.scalar(select(func.max(StationPin.version)).where(StationPin.station_id == world.bordeaux.id))
    data = await printing.issue_credentials(session, ORGANISER, world.election, [world.bordeaux, world.merignac])
    keep("identifiants.pdf", data)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    code = world.bordeaux.code
    assert f"{code[:3]} {code[3:5]} {code[5:]}" in text
    assert f"OUV {code} " in text and f"PART {code} " in text
    assert "Fiche d'identifiants du bureau de vote" in text and "Par téléphone (serveur vocal)" in text
    # A new PIN was issued (it is on the sheet, and only there) and a new pairing code.
    version = await session.scalar(select(StationPin.version).where(StationPin.station_id == world.bordeaux.id))
    assert version == pins_before + 1
    pin = re.search(rf"OUV {code} (\d{{6}})", text).group(1)
    await service.check_pin(session, world.bordeaux, pin)
    assert await session.scalar(select(func.count()).select_from(PairingCode).where(PairingCode.station_code == code)) == 1
    assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", text)
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.READY


async def test_emargement_list_sorted_with_signature_and_contribution_columns(session, world: World) -> None:
    data = await printing.emargement_list(session, world.bordeaux, world.round_1)
    keep("emargement.pdf", data)
    text = pdf_text(data)
    assert "Liste d'émargement — tour 1" in text
    assert "Signature (liste et charte)" in text and "Participation" in text
    rows = [line.split() for line in text.splitlines() if re.match(r"^\d+ [A-Z]", line)]
    assert [(row[0], row[1]) for row in rows] == [("1", "DUPONT"), ("2", "DURAND"), ("3", "LEFEVRE"), ("4", "MARTIN")]
    assert "4 électeurs inscrits" in text
    assert "Je me reconnais dans les valeurs" in text


async def test_blank_pv_lists_the_ballot(session, world: World) -> None:
    data = await printing.blank_pv(session, world.bordeaux, world.round_1)
    keep("pv.pdf", data)
    text = pdf_text(data)
    assert "Procès-verbal des opérations de vote — tour 1" in text
    assert "1. Camille Laurent" in text and "2. Mathieu Garnier" in text
    assert "Bulletins blancs" in text and "Montant total collecté" in text
