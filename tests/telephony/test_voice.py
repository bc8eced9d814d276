"""The voice server end to end: a results-night-like flow typed on the keypad."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.models import Tablet
from services.errors import InvalidInput, TooManyAttempts
from services.telephony.models import VoiceCall, VoiceStep
from services.telephony.testing import TwilioSimulator
from services.telephony.voice import (
    NO_ANSWER_GOODBYE,
    NOTHING_HEARD,
    TOO_MANY_ERRORS,
    UNAVAILABLE,
    VOICE_FAILURE,
    DigitsField,
    EndCall,
    FieldsFrom,
    VoiceContext,
    VoiceFlow,
)
from tests.telephony.conftest import audited_write

CANDIDATES = ("Camille Laurent", "Mathieu Garnier")


class ResultsNight:
    """A test flow shaped like issue 6's: station code, PIN, then k + 4 figures, read back, confirmed."""

    def __init__(self) -> None:
        self.pin_failures = 0
        self.finished: list[dict[str, Any]] = []
        self.validated: list[str] = []

    async def check_station(self, session: AsyncSession, call: VoiceContext, digits: str) -> str:
        self.validated.append(digits)
        if digits != "1000190":
            raise InvalidInput("Ce code de bureau est inconnu. Vérifiez la fiche du bureau.")
        return digits

    async def check_pin(self, session: AsyncSession, call: VoiceContext, digits: str) -> bool:
        if digits == "999999":
            raise TooManyAttempts("Trop de codes confidentiels erronés : ce bureau est bloqué 15 minutes.")
        if digits != "123456":

            async def note_failure(session: AsyncSession) -> None:
                self.pin_failures += 1
                await audited_write(session, f"pin-{call.call_sid}-{self.pin_failures}")

            call.after_rollback(note_failure)
            raise InvalidInput("Code confidentiel incorrect.")
        return True

    async def figures(self, session: AsyncSession, call: VoiceContext) -> list[DigitsField]:
        assert call.answers["station"] == "1000190"  # the ballot depends on the station
        fields = [
            DigitsField(
                "emargements", "Tapez le nombre d'émargements.", label="émargements", max_digits=5, number=True
            ),
            DigitsField("blancs", "Tapez le nombre de bulletins blancs.", label="blancs", max_digits=5, number=True),
            DigitsField("nuls", "Tapez le nombre de bulletins nuls.", label="nuls", max_digits=5, number=True),
        ]
        fields += [
            DigitsField(f"voix_{index}", f"Tapez le nombre de voix de {name}.", label=name, max_digits=5, number=True)
            for index, name in enumerate(CANDIDATES, 1)
        ]
        fields.append(
            DigitsField(
                "euros", "Tapez le montant collecté, en euros.", label="euros collectés", max_digits=6, number=True
            )
        )
        return fields

    async def finish(self, session: AsyncSession, call: VoiceContext) -> str:
        answers = dict(call.answers)
        votes = sum(answers[f"voix_{index}"] for index in range(1, len(CANDIDATES) + 1))
        if answers["blancs"] + answers["nuls"] + votes > answers["emargements"]:
            raise InvalidInput(
                f"Incohérence : {answers['blancs'] + answers['nuls'] + votes} bulletins pour "
                f"{answers['emargements']} émargements."
            )
        await audited_write(session, f"resultats-{call.call_sid}")
        self.finished.append(answers)
        return "Résultats enregistrés. Merci."

    def flow(self, **options: Any) -> VoiceFlow:
        return VoiceFlow(
            name="resultats",
            menu_label="transmettre les résultats",
            greeting="Serveur vocal des résultats.",
            fields=(
                DigitsField(
                    "station",
                    "Tapez le code du bureau de vote.",
                    label="bureau",
                    min_digits=4,
                    max_digits=8,
                    validate=self.check_station,
                ),
                DigitsField(
                    "pin",
                    "Tapez le code confidentiel à 6 chiffres.",
                    min_digits=6,
                    max_digits=6,
                    secret=True,
                    validate=self.check_pin,
                ),
                FieldsFrom(self.figures),
            ),
            finish=self.finish,
            reenter_from="emargements",
            **options,
        )


@pytest.fixture
def results_night(voice_flow) -> ResultsNight:  # noqa: ANN001
    night = ResultsNight()
    voice_flow(night.flow())
    return night


async def tablets_labelled(session: AsyncSession, label: str) -> int:
    return await session.scalar(select(func.count()).select_from(Tablet).where(Tablet.label == label)) or 0


async def type_figures(call, figures: list[int]) -> None:  # noqa: ANN001
    for figure in figures:
        assert not call.ended, call.said
        await call.press(str(figure))


async def test_results_by_phone_end_to_end(
    twilio: TwilioSimulator, results_night: ResultsNight, session: AsyncSession
) -> None:
    call = await twilio.call(from_number="0690 12 34 56")
    first = call.last
    assert first.response.status_code == 200
    assert first.says == [
        "Serveur vocal des résultats.",
        "Tapez le code du bureau de vote. Terminez par la touche dièse.",
    ]
    assert first.attributes["input"] == "dtmf" and first.attributes["actionOnEmptyResult"] == "true"
    assert first.num_digits == 8 and first.action and first.action.endswith("/twilio/voice/step?n=1")
    assert 'language="fr-FR"' in first.response.text

    # Silence once: the prompt is repeated.
    await call.silence()
    assert call.last.says[0] == NOTHING_HEARD and not call.ended
    # Too short, then unknown: the field is asked again with the reason.
    await call.press("12")
    assert call.last.says[0].startswith("Saisie incorrecte : tapez de 4 à 8 chiffres")
    await call.press("9999")
    assert call.last.says[0] == "Ce code de bureau est inconnu. Vérifiez la fiche du bureau."
    await call.press("1000190")
    assert call.said == "Tapez le code confidentiel à 6 chiffres." and call.last.num_digits == 6
    # A wrong PIN: refused, re-asked, and the failed attempt is kept (after_rollback).
    await call.press("000000")
    assert call.last.says[0] == "Code confidentiel incorrect."
    assert results_night.pin_failures == 1
    assert await tablets_labelled(session, f"pin-{call.call_sid}-1") == 1
    await call.press("123456")
    assert call.said == "Tapez le nombre d'émargements. Terminez par la touche dièse."

    await type_figures(call, [312, 4, 2, 200, 100, 650])
    read_back = call.said
    assert "Vous avez saisi : bureau : 1, 0, 0, 0, 1, 9, 0 ; émargements : 312 ; blancs : 4 ; nuls : 2" in read_back
    assert "Camille Laurent : 200 ; Mathieu Garnier : 100 ; euros collectés : 650." in read_back
    assert "123456" not in read_back
    assert read_back.endswith("Tapez 1 pour confirmer, ou 2 pour corriger la saisie.") and call.last.num_digits == 1

    # 2: re-enter the figures (station and PIN are kept).
    await call.press("2")
    assert call.last.says == ["Reprenons la saisie.", "Tapez le nombre d'émargements. Terminez par la touche dièse."]
    await type_figures(call, [310, 4, 2, 200, 100, 640])
    assert "émargements : 310" in call.said and "euros collectés : 640" in call.said
    await call.press("7")
    assert call.last.says[0] == "Tapez 1 pour confirmer, ou 2 pour corriger."
    await call.press("1")
    assert call.ended
    assert call.last.says == ["Résultats enregistrés. Merci.", "Au revoir."]
    assert results_night.finished == [
        {
            "station": "1000190",
            "pin": True,
            "emargements": 310,
            "blancs": 4,
            "nuls": 2,
            "voix_1": 200,
            "voix_2": 100,
            "euros": 640,
        }
    ]
    assert await tablets_labelled(session, f"resultats-{call.call_sid}") == 1

    # Twilio redelivers the last step: same TwiML, not recorded twice.
    replay = await call.replay()
    assert replay.response.text == call.history[-2].response.text
    assert len(results_night.finished) == 1

    stored = await session.get(VoiceCall, call.call_sid)
    assert stored is not None and stored.status == "completed" and stored.flow == "resultats"
    assert stored.from_number == "+590690123456"
    assert "pin" not in stored.state["answers"]  # the secret is dropped at the end of the call
    pin_steps = (await session.scalars(select(VoiceStep.digits).where(VoiceStep.call_sid == call.call_sid))).all()
    assert "123456" not in pin_steps and "******" in pin_steps


async def test_a_redelivered_step_is_not_validated_twice(twilio: TwilioSimulator, results_night: ResultsNight) -> None:
    call = await twilio.call()
    await call.press("1000190")
    after = call.last.response.text
    replay = await call.replay()
    assert replay.response.text == after
    assert results_night.validated == ["1000190"]
    # A webhook for an old step that was never answered (out of order) repeats the current prompt.
    await twilio.post("/twilio/voice/step?n=1", call._params(Digits="1000190"))  # step 1 again: stored answer
    stale = await twilio.post("/twilio/voice/step?n=7", call._params(Digits="5"))
    assert "Tapez le code confidentiel" in stale.text
    assert results_night.validated == ["1000190"]


async def test_silence_twice_ends_the_call_politely(
    twilio: TwilioSimulator, results_night: ResultsNight, session: AsyncSession
) -> None:
    call = await twilio.call()
    await call.silence()
    assert not call.ended
    await call.silence()
    assert call.ended and call.last.says == [NO_ANSWER_GOODBYE]
    stored = await session.get(VoiceCall, call.call_sid)
    assert stored is not None and stored.status == "abandoned"


async def test_a_hang_up_mid_call_is_recorded_and_the_pin_forgotten(
    twilio: TwilioSimulator, results_night: ResultsNight, session: AsyncSession
) -> None:
    call = await twilio.call()
    await call.press("1000190")
    await call.press("123456")
    stored = await session.get(VoiceCall, call.call_sid)
    assert stored is not None and "pin" in stored.state["answers"]
    ringing = await twilio.post("/twilio/voice/status", call._params(CallStatus="ringing"))
    assert ringing.status_code == 200
    hung_up = await twilio.post("/twilio/voice/status", call._params(CallStatus="completed"))
    assert hung_up.status_code == 200
    await session.refresh(stored)
    assert stored.status == "abandoned" and "pin" not in stored.state["answers"]
    assert stored.state["answers"]["station"] == "1000190"


async def test_three_wrong_entries_end_the_call(twilio: TwilioSimulator, results_night: ResultsNight) -> None:
    call = await twilio.call()
    for _ in range(2):
        await call.press("1")
        assert not call.ended
    await call.press("1")
    assert call.ended and call.last.says[-1] == TOO_MANY_ERRORS


async def test_a_locked_pin_ends_the_call(twilio: TwilioSimulator, results_night: ResultsNight) -> None:
    call = await twilio.call()
    await call.press("1000190")
    await call.press("999999")
    assert call.ended
    assert call.last.says == ["Trop de codes confidentiels erronés : ce bureau est bloqué 15 minutes.", "Au revoir."]


async def test_an_incoherent_report_is_said_and_the_figures_reentered(
    twilio: TwilioSimulator, results_night: ResultsNight, session: AsyncSession
) -> None:
    call = await twilio.call()
    await call.press("1000190")
    await call.press("123456")
    for attempt in range(3):
        await type_figures(call, [10, 4, 2, 200, 100, 30])
        await call.press("1")
        if attempt < 2:
            assert call.last.says[0] == "Incohérence : 306 bulletins pour 10 émargements."
            assert call.last.says[1:] == [
                "Reprenons la saisie.",
                "Tapez le nombre d'émargements. Terminez par la touche dièse.",
            ]
    assert call.ended and call.last.says[0].startswith("Incohérence")
    assert results_night.finished == []
    assert await tablets_labelled(session, f"resultats-{call.call_sid}") == 0


async def test_a_crash_in_the_final_handler_changes_nothing(
    twilio: TwilioSimulator, voice_flow, session: AsyncSession
) -> None:  # noqa: ANN001
    async def crash(session: AsyncSession, call: VoiceContext) -> str:
        await audited_write(session, f"crash-{call.call_sid}")
        raise RuntimeError("bug")

    voice_flow(
        VoiceFlow(
            name="crash",
            greeting="Bonjour.",
            fields=(DigitsField("code", "Tapez 1 chiffre.", max_digits=1),),
            finish=crash,
        )
    )
    call = await twilio.call()
    await call.press("5")
    assert "Vous avez saisi : code : 5." in call.said
    await call.press("1")
    assert call.ended and call.last.says == [VOICE_FAILURE]
    assert await tablets_labelled(session, f"crash-{call.call_sid}") == 0


async def test_end_call_from_a_validator(twilio: TwilioSimulator, voice_flow) -> None:  # noqa: ANN001
    async def closed(session: AsyncSession, call: VoiceContext, digits: str) -> str:
        raise EndCall("Ce bureau a déjà été validé par la commission : rien à transmettre.")

    async def finish(session: AsyncSession, call: VoiceContext) -> str:
        return "ok"

    voice_flow(
        VoiceFlow(
            name="ferme",
            greeting="Bonjour.",
            fields=(DigitsField("code", "Code.", max_digits=4, min_digits=4, validate=closed),),
            finish=finish,
        )
    )
    call = await twilio.call()
    await call.press("1234")
    assert call.ended and call.last.says[0].startswith("Ce bureau a déjà été validé")


async def test_a_flow_without_confirmation_finishes_after_the_last_field(twilio: TwilioSimulator, voice_flow) -> None:  # noqa: ANN001
    async def finish(session: AsyncSession, call: VoiceContext) -> str:
        return f"Vous avez tapé {call.answers['n']}."

    voice_flow(
        VoiceFlow(
            name="direct",
            greeting="Bonjour.",
            fields=(DigitsField("n", "Un chiffre.", max_digits=1, number=True),),
            finish=finish,
            confirm=False,
        )
    )
    call = await twilio.call()
    await call.press("7")
    assert call.ended and call.last.says == ["Vous avez tapé 7.", "Au revoir."]


async def test_several_flows_get_a_menu(twilio: TwilioSimulator, voice_flow, results_night: ResultsNight) -> None:  # noqa: ANN001
    async def finish(session: AsyncSession, call: VoiceContext) -> str:
        return "ok"

    voice_flow(
        VoiceFlow(
            name="ouverture",
            menu_label="signaler l'ouverture",
            greeting="Ouverture du bureau.",
            fields=(DigitsField("code", "Code.", max_digits=4, min_digits=4),),
            finish=finish,
        )
    )
    call = await twilio.call()
    assert "Pour transmettre les résultats, tapez 1. Pour signaler l'ouverture, tapez 2." in call.said
    await call.press("9")
    assert call.last.says[0] == "Choix non reconnu."
    await call.press("2")
    assert call.last.says == ["Ouverture du bureau.", "Code."]


async def test_no_flow_registered(twilio: TwilioSimulator, voice_flow) -> None:  # noqa: ANN001
    call = await twilio.call()
    assert call.ended and call.last.says == [UNAVAILABLE]


# --- Fuzz: whatever the caller types, a well-formed French answer -------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

KEYS = st.one_of(
    st.sampled_from(["", "1", "2", "*", "#", "1000190", "123456", "000000", "999999", "312", "0", "99999", "1*2"]),
    st.text(alphabet="0123456789*#", max_size=12),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(presses=st.lists(st.one_of(KEYS, st.just("REPLAY")), min_size=1, max_size=25))
async def test_any_key_sequence_gets_a_well_formed_french_answer(
    twilio: TwilioSimulator, voice_flow, presses: list[str]
) -> None:  # noqa: ANN001
    from services.telephony.voice import voice_flows

    if voice_flows.get("resultats") is None:
        voice_flow(ResultsNight().flow())
    call = await twilio.call()
    for keys in presses:
        if call.ended:
            break
        answer = await (call.replay() if keys == "REPLAY" else call.press(keys))
        assert answer.response.status_code == 200
        assert answer.says and all(text.strip() for text in answer.says)
        assert answer.hangup or answer.action is not None
