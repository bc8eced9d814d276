"""The voice server: multi-step DTMF dialogues (« tapez le code du bureau, puis dièse »).

A domain package registers a `VoiceFlow`: a greeting, a sequence of fields typed on the
keypad, an optional spoken read-back with « 1 pour confirmer, 2 pour corriger », and a final
handler. The gateway runs the dialogue over Twilio webhooks:

- each prompt is a TwiML ``<Gather input="dtmf">`` around a French ``<Say language="fr-FR">``;
  its action URL carries a step number, and each (CallSid, step) is answered once: a
  redelivered webhook gets the same TwiML back (see `services.telephony.service`);
- the call's state (answers so far, counters) is stored in the database, keyed by CallSid,
  so any application replica can take the next step;
- silence: the prompt is repeated once, then the call ends politely (`max_silences`);
- a wrong entry (wrong length, or the field's validator refuses with an `AppError`): its
  French message is said and the same field asked again, up to `max_wrong` times;
- a validator or the final handler raising `EndCall` (or `TooManyAttempts`, e.g. a PIN
  locked out) ends the call after saying its message;
- the final handler's refusal (an incoherent report) is said, then the entry resumes at
  `reenter_from` (at most `max_refusals` times).

Validators and the final handler run under `services.telephony.guard.run_guarded`: a refusal
or a failure rolls their changes back. The list of fields may depend on earlier answers:
put a `FieldsFrom(callable)` in the sequence and it is expanded once the fields before it are
answered (for instance one figure per candidate of the station's ballot). It is called again
on each step and must give the same fields for the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from twilio.twiml.voice_response import VoiceResponse

from services.errors import AppError, TooManyAttempts
from services.telephony.guard import AfterRollback, Guarded, RollbackHooks, run_guarded
from services.telephony.phone import mask_phone

LANGUAGE = "fr-FR"
WELCOME = "Bienvenue sur le serveur vocal de la primaire."
NOTHING_HEARD = "Aucune touche n'a été tapée."
NO_ANSWER_GOODBYE = "Nous n'avons pas reçu de réponse. Au revoir."
TOO_MANY_ERRORS = "Trop d'erreurs de saisie. Rien n'a été enregistré. Au revoir."
GOODBYE = "Au revoir."
RESUME = "Reprenons la saisie."
UNAVAILABLE = "Ce service n'est pas disponible pour le moment. Merci de rappeler plus tard. Au revoir."
VOICE_FAILURE = (
    "Erreur technique : rien n'a été enregistré. Merci de rappeler dans quelques minutes, "
    "ou d'envoyer vos résultats par SMS. Au revoir."
)


# Seconds of silence before a <Gather> gives up; silences and wrong entries tolerated per prompt.
DEFAULT_TIMEOUT = 7
DEFAULT_MAX_SILENCES = 2
DEFAULT_MAX_WRONG = 3


class EndCall(AppError):
    """A refusal after which the call cannot usefully go on: the message is said, then the call ends."""

    status = 403
    code = "call_ended"


@dataclass
class VoiceContext:
    """One call, as validators and the final handler see it.

    `answers` holds the values of the fields answered so far (what each validator returned;
    by default the typed digits, or an int for number fields).
    """

    call_sid: str
    from_number: str
    to_number: str
    flow: str
    answers: Mapping[str, Any]
    hooks: RollbackHooks = field(default_factory=RollbackHooks, repr=False)

    @property
    def masked_from(self) -> str:
        return mask_phone(self.from_number)

    def after_rollback(self, callback: AfterRollback) -> None:
        """Run `callback(session)` if this validator/handler refuses (see `services.telephony.guard`)."""
        self.hooks.add(callback)


Prompt = str | Callable[[AsyncSession, VoiceContext], Awaitable[str]]
Validator = Callable[[AsyncSession, VoiceContext, str], Awaitable[Any]]
Finisher = Callable[[AsyncSession, VoiceContext], Awaitable[str]]
ReadBack = Callable[[AsyncSession, VoiceContext], Awaitable[str]]


@dataclass(frozen=True)
class DigitsField:
    """A value typed on the keypad.

    - `prompt`: what is said (French), or an async callable giving it;
    - `label`: how the read-back names it (« émargements », « Camille Laurent »);
    - `min_digits`/`max_digits`: the accepted length; a fixed length is submitted as soon as
      it is typed, a variable one ends with « dièse » (said automatically);
    - `number`: the value is an int and is read back as a number (« trois cent douze »),
      otherwise digit by digit (« 1, 0, 0, 0, 1, 9 »);
    - `secret`: never read back, never stored in the step log, dropped from the state at the
      end of the call (the PIN);
    - `validate(session, call, digits)`: returns the value to keep (JSON-serialisable) or
      raises an `AppError` whose message is said before asking again.
    """

    name: str
    prompt: Prompt
    label: str = ""
    min_digits: int = 1
    max_digits: int = 6
    number: bool = False
    secret: bool = False
    validate: Validator | None = None
    read_back: bool = True

    def spoken(self, typed: str, value: Any) -> str:
        if self.number:
            return str(int(value)) if isinstance(value, int) else str(int(typed))
        return say_digits(typed)


@dataclass(frozen=True)
class FieldsFrom:
    """Fields that depend on earlier answers, computed when the flow reaches them."""

    fields: Callable[[AsyncSession, VoiceContext], Awaitable[Sequence[DigitsField]]]


@dataclass(frozen=True)
class VoiceFlow:
    """A registered dialogue (see the module docstring and docs/telephony.md)."""

    name: str
    greeting: str
    fields: tuple[DigitsField | FieldsFrom, ...]
    finish: Finisher
    menu_label: str = ""  # « transmettre les résultats », when several flows share the number
    confirm: bool = True
    reenter_from: str | None = None  # the field the entry resumes at after « 2 » (default: the first)
    read_back: ReadBack | None = None  # default: each field's label and value
    confirm_prompt: str = "Tapez 1 pour confirmer, ou 2 pour corriger la saisie."
    gather_timeout: int = DEFAULT_TIMEOUT
    max_silences: int = DEFAULT_MAX_SILENCES
    max_wrong: int = DEFAULT_MAX_WRONG
    max_refusals: int = 3


_CONTROL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127], " ")


def speakable(text: str) -> str:
    """`text` without the control characters XML (hence TwiML) cannot carry."""
    return text.translate(_CONTROL)


def say_digits(digits: str) -> str:
    """« 100019 » as said digit by digit: « 1, 0, 0, 0, 1, 9 »."""
    return ", ".join(digits)


class VoiceFlowRegistry:
    def __init__(self) -> None:
        self._flows: dict[str, VoiceFlow] = {}

    def register(self, flow: VoiceFlow) -> VoiceFlow:
        names = [item.name for item in flow.fields if isinstance(item, DigitsField)]
        if len(names) != len(set(names)):
            raise ValueError(f"Voice flow {flow.name!r} has two fields with the same name")
        existing = self._flows.get(flow.name)
        if existing is not None and existing.finish is not flow.finish:
            raise ValueError(f"Voice flow {flow.name!r} is already registered")
        self._flows[flow.name] = flow
        return flow

    def unregister(self, name: str) -> None:
        self._flows.pop(name, None)

    def get(self, name: str | None) -> VoiceFlow | None:
        return self._flows.get(name or "")

    def flows(self) -> list[VoiceFlow]:
        return list(self._flows.values())


voice_flows = VoiceFlowRegistry()
register_voice_flow = voice_flows.register


# --- The dialogue engine ----------------------------------------------------------------------------


@dataclass
class Turn:
    """What to answer on one webhook: things to say, then a <Gather> or the end of the call."""

    says: list[str]
    gather_digits: int | None = None  # None: hang up after the says
    variable_length: bool = False
    timeout: int = DEFAULT_TIMEOUT
    status: str = "in_progress"

    def twiml(self, action_url: str) -> str:
        response = VoiceResponse()
        if self.gather_digits is None:
            for text in self.says:
                response.say(speakable(text), language=LANGUAGE)
            response.hangup()
            return str(response)
        gather = response.gather(
            input="dtmf",
            action=action_url,
            method="POST",
            timeout=self.timeout,
            finish_on_key="#",
            num_digits=self.gather_digits,
            action_on_empty_result=True,
        )
        for text in self.says:
            gather.say(speakable(text), language=LANGUAGE)
        # Reached only if the <Gather> ends without calling its action: treated as silence.
        response.redirect(action_url, method="POST")
        return str(response)


def initial_state() -> dict[str, Any]:
    """A new call's state. `order` lists the answered fields in answer order (JSONB does not
    keep the order of object keys); `secret` the answered fields to drop at the end."""
    return {
        "phase": "start",
        "step": 0,
        "answers": {},
        "typed": {},
        "order": [],
        "secret": [],
        "silences": 0,
        "wrong": 0,
        "refusals": 0,
    }


Again = Callable[[list[str]], Awaitable[Turn]]


class Dialogue:
    """One webhook's worth of dialogue: reads and updates a copy of the call's state."""

    def __init__(
        self,
        session: AsyncSession,
        registry: VoiceFlowRegistry,
        *,
        call_sid: str,
        from_number: str,
        to_number: str,
        flow_name: str | None,
        state: dict[str, Any] | None,
    ) -> None:
        self.session = session
        self.registry = registry
        self.call_sid = call_sid
        self.from_number = from_number
        self.to_number = to_number
        self.flow = registry.get(flow_name)
        self.state = {**initial_state(), **json.loads(json.dumps(state or {}))}  # a private deep copy
        self.stored_digits = ""

    @property
    def flow_name(self) -> str | None:
        return self.flow.name if self.flow else None

    def context(self) -> VoiceContext:
        return VoiceContext(
            call_sid=self.call_sid,
            from_number=self.from_number,
            to_number=self.to_number,
            flow=self.flow_name or "",
            answers=dict(self.state["answers"]),
        )

    # Entry points -----------------------------------------------------------------------------

    async def start(self) -> Turn:
        """The answer to the call's first webhook: the greeting and the first prompt (or a menu)."""
        flows = self.registry.flows()
        if not flows:
            return self._end([UNAVAILABLE], "failed")
        if len(flows) == 1:
            self.flow = flows[0]
            return await self._current([self.flow.greeting])
        self.state["phase"] = "menu"
        return await self._menu([WELCOME])

    async def answer(self, digits: str) -> Turn:
        """The answer to the keys typed at the current prompt (empty: silence)."""
        digits = (digits or "").strip()
        phase = self.state["phase"]
        if phase == "done":
            return self._end([GOODBYE], None)
        if phase == "menu":
            return await self._on_menu(digits)
        if self.flow is None:
            return self._end([UNAVAILABLE], "failed")
        if phase == "confirm":
            return await self._on_confirm(digits)
        return await self._on_field(digits)

    async def repeat(self) -> Turn:
        """The current prompt again (a webhook for a step that is not the expected one)."""
        phase = self.state["phase"]
        if phase == "menu":
            return await self._menu([])
        if phase in ("done", "start") or self.flow is None:
            return self._end([GOODBYE], None)
        if phase == "confirm":
            return await self._confirmation([])
        return await self._current([])

    # Phases ---------------------------------------------------------------------------------

    async def _menu(self, before: list[str]) -> Turn:
        choices = " ".join(
            f"Pour {flow.menu_label or flow.name}, tapez {index}."
            for index, flow in enumerate(self.registry.flows(), 1)
        )
        return Turn([*before, choices], gather_digits=1, timeout=DEFAULT_TIMEOUT)

    async def _on_menu(self, digits: str) -> Turn:
        if not digits:
            return await self._silence(self._menu)
        flows = self.registry.flows()
        if digits.isdigit() and 1 <= int(digits) <= len(flows):
            self.flow = flows[int(digits) - 1]
            self.state.update(silences=0, wrong=0)
            return await self._current([self.flow.greeting])
        return await self._wrong("Choix non reconnu.", self._menu)

    async def _on_field(self, digits: str) -> Turn:
        assert self.flow is not None
        expanded = await self._fields()
        if isinstance(expanded, Turn):
            return expanded
        current = _first_unanswered(expanded, self.state["answers"])
        if current is None:  # every field answered already: go on to the confirmation
            return await self._after_last_field()
        self.stored_digits = ("*" * len(digits) if current.secret else digits)[:64]
        if not digits:
            return await self._silence(self._current)
        self.state["silences"] = 0
        if not digits.isdigit() or not current.min_digits <= len(digits) <= current.max_digits:
            return await self._wrong(_length_message(current), self._current)
        guarded: Guarded[Any]
        context = self.context()
        if current.validate is None:
            guarded = Guarded(value=int(digits) if current.number else digits)
        else:
            validate = current.validate

            async def work() -> Any:
                value = await validate(self.session, context, digits)
                json.dumps(value)  # the state is JSON: a value that is not is a bug, caught here
                return value

            guarded = await run_guarded(self.session, work, context.hooks, what=f"le champ vocal {current.name}")
        if guarded.failed:
            return self._end([VOICE_FAILURE], "failed")
        if guarded.refusal is not None:
            if isinstance(guarded.refusal, (EndCall, TooManyAttempts)):
                return self._end([guarded.refusal.message, GOODBYE], "failed")
            return await self._wrong(guarded.refusal.message, self._current)
        self.state["answers"][current.name] = guarded.value
        self.state["order"].append(current.name)
        if current.secret:
            self.state["secret"].append(current.name)
        else:
            self.state["typed"][current.name] = digits
        self.state["wrong"] = 0
        return await self._current([])

    async def _after_last_field(self) -> Turn:
        assert self.flow is not None
        if not self.flow.confirm:
            return await self._finish()
        self.state.update(phase="confirm", wrong=0, silences=0)
        return await self._confirmation([])

    async def _on_confirm(self, digits: str) -> Turn:
        assert self.flow is not None
        self.stored_digits = digits[:64]
        if not digits:
            return await self._silence(self._confirmation)
        self.state["silences"] = 0
        if digits == "1":
            return await self._finish()
        if digits == "2":
            self._reenter()
            return await self._current([RESUME])
        return await self._wrong("Tapez 1 pour confirmer, ou 2 pour corriger.", self._confirmation)

    async def _finish(self) -> Turn:
        assert self.flow is not None
        context = self.context()
        finish = self.flow.finish
        guarded = await run_guarded(
            self.session,
            lambda: finish(self.session, context),
            context.hooks,
            what=f"la fin du parcours vocal {self.flow.name}",
        )
        if guarded.failed or (guarded.refusal is None and not isinstance(guarded.value, str)):
            return self._end([VOICE_FAILURE], "failed")
        if guarded.refusal is not None:
            refusal = guarded.refusal
            self.state["refusals"] += 1
            if isinstance(refusal, (EndCall, TooManyAttempts)) or self.state["refusals"] >= self.flow.max_refusals:
                return self._end([refusal.message, GOODBYE], "failed")
            self._reenter()
            return await self._current([refusal.message, RESUME])
        return self._end([str(guarded.value), GOODBYE], "completed")

    # Rendering -------------------------------------------------------------------------------

    async def _fields(self) -> list[DigitsField] | Turn:
        """The flow's fields, expanded as far as the answers allow (a refusal ends the call)."""
        assert self.flow is not None
        expanded: list[DigitsField] = []
        for item in self.flow.fields:
            if isinstance(item, DigitsField):
                expanded.append(item)
                continue
            if _first_unanswered(expanded, self.state["answers"]) is not None:
                break  # not reachable yet: the fields before it are not all answered
            context = self.context()
            more = item.fields
            guarded = await run_guarded(
                self.session,
                lambda more=more, context=context: more(self.session, context),
                context.hooks,
                what=f"les champs du parcours vocal {self.flow.name}",
            )
            if guarded.refusal is not None:
                return self._end([guarded.refusal.message, GOODBYE], "failed")
            if guarded.failed or guarded.value is None:
                return self._end([VOICE_FAILURE], "failed")
            expanded.extend(guarded.value)
        return expanded

    async def _current(self, before: list[str]) -> Turn:
        """The prompt of the first field not answered yet, or the confirmation when all are."""
        assert self.flow is not None
        expanded = await self._fields()
        if isinstance(expanded, Turn):
            return expanded
        current = _first_unanswered(expanded, self.state["answers"])
        if current is None:
            if not self.flow.confirm:
                return await self._finish()
            self.state.update(phase="confirm", wrong=0, silences=0)
            return await self._confirmation(before)
        self.state["phase"] = "field"
        prompt = await self._text(current.prompt)
        if prompt is None:
            return self._end([VOICE_FAILURE], "failed")
        variable = current.min_digits != current.max_digits
        if variable and "dièse" not in prompt:
            prompt += " Terminez par la touche dièse."
        return Turn(
            [*before, prompt],
            gather_digits=current.max_digits,
            variable_length=variable,
            timeout=self.flow.gather_timeout,
        )

    async def _confirmation(self, before: list[str]) -> Turn:
        assert self.flow is not None
        read_back = await self._read_back()
        if read_back is None:
            return self._end([VOICE_FAILURE], "failed")
        return Turn([*before, read_back, self.flow.confirm_prompt], gather_digits=1, timeout=self.flow.gather_timeout)

    async def _read_back(self) -> str | None:
        assert self.flow is not None
        if self.flow.read_back is not None:
            return await self._text(self.flow.read_back)
        expanded = await self._fields()
        if isinstance(expanded, Turn):
            return None
        typed, answers = self.state["typed"], self.state["answers"]
        parts = [
            f"{item.label or item.name} : {item.spoken(typed.get(item.name, ''), answers.get(item.name))}"
            for item in expanded
            if item.read_back and not item.secret and item.name in answers
        ]
        return "Vous avez saisi : " + " ; ".join(parts) + "."

    async def _text(self, text: Prompt) -> str | None:
        if isinstance(text, str):
            return text
        context = self.context()
        guarded = await run_guarded(
            self.session, lambda: text(self.session, context), context.hooks, what="un texte vocal"
        )
        if guarded.refusal is not None:
            return guarded.refusal.message
        return guarded.value if isinstance(guarded.value, str) else None

    # Counters -----------------------------------------------------------------------------------

    def _reenter(self) -> None:
        """Forget the answers from `reenter_from` on (all of them by default)."""
        assert self.flow is not None
        order: list[str] = self.state["order"]
        start = self.flow.reenter_from
        keep = set(order[: order.index(start)]) if start in order else set()
        self.state["answers"] = {k: v for k, v in self.state["answers"].items() if k in keep}
        self.state["typed"] = {k: v for k, v in self.state["typed"].items() if k in keep}
        self.state["order"] = [name for name in order if name in keep]
        self.state.update(phase="field", wrong=0, silences=0)

    async def _silence(self, again: Again) -> Turn:
        self.state["silences"] += 1
        limit = self.flow.max_silences if self.flow else DEFAULT_MAX_SILENCES
        if self.state["silences"] >= limit:
            return self._end([NO_ANSWER_GOODBYE], "abandoned")
        return await again([NOTHING_HEARD])

    async def _wrong(self, message: str, again: Again) -> Turn:
        self.state["wrong"] += 1
        limit = self.flow.max_wrong if self.flow else DEFAULT_MAX_WRONG
        if self.state["wrong"] >= limit:
            return self._end([message, TOO_MANY_ERRORS], "failed")
        return await again([message])

    def _end(self, says: list[str], status: str | None) -> Turn:
        """Say `says` and hang up; secret answers are dropped from the stored state."""
        self.state["phase"] = "done"
        secret = set(self.state["secret"])
        self.state["answers"] = {k: v for k, v in self.state["answers"].items() if k not in secret}
        return Turn(says, gather_digits=None, status=status or "completed")


def _first_unanswered(fields: Sequence[DigitsField], answers: Mapping[str, Any]) -> DigitsField | None:
    return next((item for item in fields if item.name not in answers), None)


def _length_message(item: DigitsField) -> str:
    if item.min_digits == item.max_digits:
        return f"Saisie incorrecte : tapez {item.max_digits} chiffres."
    return f"Saisie incorrecte : tapez de {item.min_digits} à {item.max_digits} chiffres, puis dièse."
