"""Results by phone: the registered voice flow « resultats », end to end through signed webhooks."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from polling import service as polling
from polling.models import PinFailure, StationState
from results import service
from results.models import ResultsReport
from results.report import StationReport
from services.events import AuditEvent
from services.telephony.models import VoiceStep
from services.telephony.testing import TwilioSimulator
from tests.results.conftest import Night


async def type_figures(call, figures: list[str]) -> None:  # noqa: ANN001
    for value in figures:
        await call.press(value)


async def test_a_station_phones_its_results_in(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.paris, night.presidents[night.paris.code]
    call = await twilio.call(from_number=phone)
    assert "Tapez les 7 chiffres du code du bureau" in call.said
    await call.press(station.code)
    assert "code confidentiel" in call.said
    await call.press(night.pins[station.code])
    assert "Tapez le nombre d'émargements" in call.said
    await type_figures(call, ["640", "5", "3"])
    assert "Voix de Camille Laurent" in call.said
    await type_figures(call, ["300", "200", "132"])
    assert "contributions collectées, en euros" in call.said
    await call.press("1210")
    said = call.said
    assert "Vous avez saisi" in said and "émargements : 640" in said and "Camille Laurent : 300" in said
    assert night.pins[station.code] not in said
    assert "Tapez 1 pour confirmer, ou 2 pour corriger" in said
    await call.press("1")
    assert "enregistrés : 632 suffrages exprimés" in call.said and call.ended
    history = await service.station_history(session, night.round_1.id, station.id)
    assert history[0].counted and history[0].channel == "phone"
    assert history[0].report == StationReport(640, 5, 3, (300, 200, 132), 121000)
    assert await polling.state_of(session, station, night.round_1) == StationState.REPORTED
    counted = await session.scalar(select(AuditEvent.entry).where(AuditEvent.kind == "results.report_counted"))
    assert json.loads(counted)["payload"]["via"] == "voice_key"
    # The PIN never reaches the step log.
    digits = list(await session.scalars(select(VoiceStep.digits).where(VoiceStep.call_sid == call.call_sid)))
    assert night.pins[station.code] not in digits and "******" in digits


async def test_correction_incoherent_figures_and_wrong_pin(session, twilio: TwilioSimulator, night: Night) -> None:
    station, phone = night.bordeaux, night.presidents[night.bordeaux.code]
    call = await twilio.call(from_number=phone)
    await call.press(station.code)
    wrong = "000001" if night.pins[station.code] != "000001" else "000002"
    await call.press(wrong)
    assert "Code PIN incorrect" in call.said and "code confidentiel" in call.said
    assert await session.scalar(select(func.count()).select_from(PinFailure).where(PinFailure.key == f"station:{station.code}")) == 1
    await call.press(night.pins[station.code])
    await type_figures(call, ["100", "1", "1", "60", "30", "18", "150"])  # 110 ballots for 100 signatures
    await call.press("2")  # correct: back to the émargements, station and PIN kept
    assert "Reprenons la saisie" in call.said and "émargements" in call.said
    await type_figures(call, ["100", "1", "1", "60", "30", "18", "150"])
    await call.press("1")
    assert "plus que les 100 émargements" in call.said and "Reprenons la saisie" in call.said
    assert await session.scalar(select(func.count()).select_from(ResultsReport)) == 0
    await type_figures(call, ["110", "1", "1", "60", "30", "18", "150"])
    await call.press("1")
    assert "enregistrés : 108 suffrages exprimés" in call.said
    assert await session.scalar(select(func.count()).select_from(ResultsReport)) == 1


async def test_an_unregistered_caller_and_silence(session, twilio: TwilioSimulator, night: Night) -> None:
    call = await twilio.call(from_number="+33700000098")
    await call.press(night.paris.code)
    assert "n'est pas enregistré pour le bureau" in call.said
    await call.silence()
    assert "Aucune touche" in call.said
    await call.silence()
    assert call.ended
    assert await session.scalar(select(func.count()).select_from(ResultsReport)) == 0
