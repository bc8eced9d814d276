"""Results by SMS (`T<tour> …`, `OK <code>`) and by phone (the voice flow « resultats »).

Imported by `services/composition.py` so that the commands and the flow register themselves.

SMS, from a phone registered for the station (president or assessor):

    T1 1234566 482913 V412 B3 N2 120 98 77 60 30 22 E612,50

is parsed by the pure grammar (`results.sms_grammar`, against the ballot of the station's
round), then: station (check digit, existence), sender registered for it, PIN (lock-out),
round and station accepting results, figures checked. The reply reads the figures back with
the candidates' names and a 4-character code; the report counts only after `OK <code>` from the
same number within 30 minutes. A new report supersedes the unconfirmed one (its code stops
working) or the counted one not yet validated (once confirmed) — named in the audit events.
The same figures sent twice are stored and acknowledged once. Redeliveries of one MessageSid
are the gateway's business (one handling, the stored reply sent again).

Phone: station code, PIN, then émargements, blank, null, each candidate's votes in ballot
order and the euros collected, each typed on the keypad; the spoken read-back; 1 confirms
(the report counts at once: the caller heard the figures), 2 re-enters from the émargements.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from polling import codes
from polling import service as polling
from polling.models import PinFailure, Station, StationPin, StationRound, StationStaff, StationState
from results import service
from results.config import results_settings
from results.models import Channel, ConfirmedVia, ResultsReport
from results.report import Finding, FindingCode, StationReport, french_euros, french_int
from results.sms_grammar import (
    ConfirmMessage,
    HelpRequest,
    Rejection,
    ReportMessage,
    help_text,
    new_confirmation_code,
    parse_sms,
    readback_text,
    sms_segments,
    to_gsm7,
)
from services.elections import service as elections
from services.elections.models import Round
from services.errors import Conflict, InvalidInput, NotFound, WrongPhase
from services.telephony import (
    DigitsField,
    EndCall,
    FieldsFrom,
    SmsContext,
    VoiceContext,
    VoiceFlow,
    mask_phone,
    phone_actor,
    register_voice_flow,
    sms_command,
)
from services.telephony.fastpath import FastResult, FastSms
from services.telephony.registry import fold_keyword, split_words

READBACK_SEGMENTS = 3


def _local_time(moment: datetime, station: Station) -> str:
    return moment.astimezone(service.department_timezone(station.department_code)).strftime("%H:%M")


# --- Pre-reading: which station and round a message is about (to parse it against its ballot) -------


def prescan(text: str) -> tuple[int | None, str | None]:
    """(round number, station code) as typed, before the full parse: « T1 1234566 … » or « T 1 … »."""
    words = [word.upper() for word in split_words(text)]
    if not words:
        return None, None
    head = fold_keyword(words[0])
    rest = words[1:]
    number: int | None = None
    match = re.fullmatch(r"T([0-9]{1,2})", head)
    if match:
        number = int(match.group(1))
    elif head == "T" and rest and rest[0].isdigit() and len(rest[0]) <= 2:
        number, rest = int(rest[0]), rest[1:]
    code = rest[0] if rest and rest[0].isascii() and rest[0].isdigit() else None
    return number, code


def _recent_pin_failures(key: str):  # noqa: ANN202 - a scalar subquery
    return (
        select(func.count())
        .select_from(PinFailure)
        .where(PinFailure.key == bindparam(key), PinFailure.at > bindparam("failures_since"))
        .scalar_subquery()
    )


# Everything a report needs to know before the station lock, in ONE round trip (results night
# runs it for every message): the station, its election's rounds with the station's row in
# each, the sender's staff membership, the PIN hash and the recent PIN failures (station and
# phone). Built once: statement construction is a measurable share of the CPU per message.
STATION_FACTS = (
    select(
        Station,
        Round,
        StationRound,
        StationStaff.id.label("staff_id"),
        StationStaff.role.label("staff_role"),
        StationPin.pin_hash,
        _recent_pin_failures("station_key").label("station_failures"),
        _recent_pin_failures("phone_key").label("phone_failures"),
        # The station lock of the round the message names, taken in the same round trip. What is
        # read here is read before the lock (as before: the station's row, its PIN); the history
        # is read after it (`service.locked_view`, a later statement, hence a later snapshot).
        # `pg_advisory_xact_lock(NULL)` takes no lock (the function is strict).
        func.pg_advisory_xact_lock(
            case(
                (
                    Round.number == bindparam("round_number"),
                    literal_column(service.station_lock_key_sql("election_round.id", "station.id")),
                ),
                else_=None,
            )
        ).label("lock"),
        case((Round.number == bindparam("round_number"), Round.id), else_=None).label("locked_round_id"),
    )
    .outerjoin(Round, Round.election_id == Station.election_id)
    .outerjoin(StationRound, and_(StationRound.station_id == Station.id, StationRound.round_id == Round.id))
    .outerjoin(StationStaff, and_(StationStaff.station_id == Station.id, StationStaff.phone == bindparam("phone")))
    .outerjoin(StationPin, StationPin.station_id == Station.id)
    .where(Station.code == bindparam("code"))
    .order_by(Round.number)
)


@dataclass(frozen=True)
class StaffRef:
    id: int
    role: str


@dataclass
class StationFacts:
    station: Station
    rounds: list[Round]
    rows: dict[int, StationRound]  # round id → the station's row in that round
    staff: StaffRef | None  # the sender, when registered for the station
    pin_hash: str | None
    pin_failures: int  # the larger of the station's and the phone's recent failure counts
    locked_round_id: int | None  # the round whose station lock the query took (the one the message names)

    def pin_accepted(self, pin: str) -> bool:
        """True only when `polling.check_pin` would accept `pin` without writing anything (well
        formed, right, no lock-out). Every other case goes through `polling.check_pin`, which
        counts the failure and words the refusal."""
        if self.pin_hash is None or self.pin_failures >= polling.PIN_MAX_FAILURES or codes.pin_problem(pin) is not None:
            return False
        typed = codes.normalise_pin(pin) or ""
        return hmac.compare_digest(self.pin_hash, polling.pin_hash(self.station.code, typed))


async def _station_facts(session: AsyncSession, code: str | None, phone: str, round_number: int | None) -> StationFacts | None:
    """The facts of the station `code` names (see `STATION_FACTS`), or None (no valid code, no
    station). Takes the station lock of round `round_number` when the station's election has one."""
    if not code or not codes.is_valid(code):
        return None
    rows = (
        await session.execute(
            STATION_FACTS,
            {
                "code": code,
                "phone": phone,
                "station_key": f"station:{code}",
                "phone_key": polling.phone_key(phone),  # the key `polling.check_pin` counts under
                "failures_since": service.utcnow() - polling.PIN_WINDOW,
                "round_number": round_number,
            },
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    return StationFacts(
        station=first.Station,
        rounds=[row.Round for row in rows if row.Round is not None],
        rows={row.Round.id: row.StationRound for row in rows if row.Round is not None and row.StationRound is not None},
        staff=StaffRef(first.staff_id, first.staff_role) if first.staff_id is not None else None,
        pin_hash=first.pin_hash,
        pin_failures=max(int(first.station_failures or 0), int(first.phone_failures or 0)),
        locked_round_id=next((row.locked_round_id for row in rows if row.locked_round_id is not None), None),
    )


def _pick_rounds(rounds: list[Round], number: int | None) -> tuple[Round | None, Round | None]:
    """(the round numbered `number`, the round accepting results) among an election's rounds."""
    named = next((round_ for round_ in rounds if round_.number == number), None)
    accepting = [round_ for round_ in rounds if round_.phase in {phase.value for phase in service.REPORT_PHASES}]
    return named, (accepting[-1] if accepting else None)


async def _round_for(session: AsyncSession, election_id: int, number: int | None) -> tuple[Round | None, Round | None]:
    """(the round the message names, the round accepting results) of the election."""
    return _pick_rounds(await elections.rounds_of(session, election_id), number)


# --- Replies ---------------------------------------------------------------------------------------


def short_gap(finding: Finding) -> str:
    """A gap in a few words, with its size (for an SMS or a spoken message)."""
    size = french_int(finding.size)
    return {
        FindingCode.SIGNATURES_VS_CHECK_INS: f"émargements et passages enregistrés diffèrent de {size}",
        FindingCode.BALLOTS_BELOW_SIGNATURES: f"{size} bulletin(s) de moins que d'émargements",
        FindingCode.CONTRIBUTIONS_BELOW_MINIMUM: f"collecte sous le minimum de {french_euros(finding.size)}",
        FindingCode.CONTRIBUTIONS_IMPLAUSIBLY_HIGH: f"collecte au-dessus du vraisemblable de {french_euros(finding.size)}",
        FindingCode.SIGNATURES_ABOVE_REGISTERED: f"{size} émargement(s) de plus que d'inscrits",
    }.get(finding.code, finding.message)


def readback_with_gaps(message: ReportMessage, names: list[str], code: str, gaps: list[Finding]) -> str:
    """The read-back, with the gaps signalled before « Exact ? » while it fits 3 segments."""
    text = readback_text(message, names, code)
    if not gaps:
        return text
    cut = text.rfind("Exact ?")
    for count in range(len(gaps), 0, -1):
        notes = "; ".join(short_gap(gap) for gap in gaps[:count])
        more = f" (+{len(gaps) - count})" if count < len(gaps) else ""
        candidate = to_gsm7(f"{text[:cut]}Ecart signalé : {notes}{more}. {text[cut:]}")
        if sms_segments(candidate) <= READBACK_SEGMENTS:
            return candidate
    return text


async def _unique_code(session: AsyncSession, key: str) -> str:
    """A confirmation code not pending for this sender (20^4 codes: a clash is rare)."""
    since = service.utcnow() - timedelta(minutes=results_settings().confirmation_minutes)
    for _attempt in range(8):
        code = new_confirmation_code()
        clash = await session.scalar(
            select(ResultsReport.id).where(
                ResultsReport.sender_key == key, ResultsReport.confirmation_code == code, ResultsReport.received_at > since
            )
        )
        if clash is None:
            return code
    return new_confirmation_code()


# --- T<tour>: a station's results ------------------------------------------------------------------------


def redact_pin(text: str) -> str:
    """Store « T1 1234566 ****** V412 … »: the PIN is the word after the station code."""
    words = split_words(text)
    position = 3 if words and fold_keyword(words[0]) == "T" else 2
    return " ".join("*" * len(word) if index == position else word for index, word in enumerate(words))


async def _help_names(session: AsyncSession, sms: SmsContext) -> tuple[list[str], int] | None:
    stations = await polling.stations_for_phone(session, sms.from_number)
    election_id = stations[0].election_id if stations else None
    if election_id is None:
        election = await elections.current_election(session)
        election_id = election.id if election else None
    if election_id is None:
        return None
    rounds = await elections.rounds_of(session, election_id)
    accepting = [r for r in rounds if r.phase in {p.value for p in service.REPORT_PHASES}]
    round_ = accepting[-1] if accepting else (rounds[0] if rounds else None)
    if round_ is None:
        return None
    rules = await service.round_rules(session, round_)
    return rules.family_names, round_.number


async def results_summary(session: AsyncSession, sms: SmsContext) -> str:
    found = await _help_names(session, sms)
    names = ", ".join(found[0]) if found else "dans l'ordre du bulletin"
    number = found[1] if found else 1
    return f"T{number} code PIN V.. B.. N.. puis les voix : {names} ; E.. euros (facultatif) : résultats du bureau"


async def results_help(session: AsyncSession, sms: SmsContext) -> str:
    found = await _help_names(session, sms)
    if not found:
        return "Aucune élection n'attend de résultats."
    names, number = found
    return help_text(names, round_number=number)


async def _fast_report(session: AsyncSession | None, link: Any, sms: FastSms) -> FastResult:
    from results import sms_fast  # it builds on this module

    return await sms_fast.report(session, link, sms)


async def _fast_confirm(session: AsyncSession | None, link: Any, sms: FastSms) -> FastResult:
    from results import sms_fast

    return await sms_fast.confirm(session, link, sms)


@sms_command(
    "T<tour>",
    pattern=r"T[0-9]{0,2}",
    summary=results_summary,
    help=results_help,
    redact=redact_pin,
    fast=_fast_report,  # a station's first report of the round (results.sms_fast)
)
async def results_by_sms(session: AsyncSession, sms: SmsContext) -> str:
    number, code_typed = prescan(sms.text)
    facts = await _station_facts(session, code_typed, sms.from_number, number)
    if facts is not None:
        election_id: int | None = facts.station.election_id
        named, accepting = _pick_rounds(facts.rounds, number)
    else:
        election = await elections.current_election(session)
        election_id = election.id if election else None
        named, accepting = (None, None) if election_id is None else await _round_for(session, election_id, number)
    shape_round = named or accepting
    candidate_count = (await service.round_rules(session, shape_round)).candidate_count if shape_round else 1
    parsed = parse_sms(
        sms.text,
        candidate_count=max(candidate_count, 1),
        station_code_is_valid=codes.is_valid,
        expected_round=accepting.number if accepting else None,
    )
    if isinstance(parsed, Rejection):
        raise InvalidInput(parsed.reply, code=f"sms_{parsed.code.value}")
    if isinstance(parsed, (HelpRequest, ConfirmMessage)):
        return await results_help(session, sms)
    if facts is None or facts.station.code != parsed.station_code:
        facts = None
        station = await polling.station_by_code(session, parsed.station_code)
    else:
        station = facts.station
    round_ = named if named is not None and named.election_id == station.election_id else None
    if round_ is None:
        if facts is not None:
            round_, _ = _pick_rounds(facts.rounds, parsed.round_number)
        else:
            round_, _ = await _round_for(session, station.election_id, parsed.round_number)
    if round_ is None:
        raise InvalidInput(f"Le tour {parsed.round_number} n'existe pas pour ce bureau : écrivez T1 ou T2.", code="wrong_round")
    # Refusals (unknown sender, wrong or locked-out PIN) are worded and counted by polling.
    staff = facts.staff if facts is not None and facts.staff is not None else None
    if staff is None:
        staff = await polling.staff_for_phone(session, sms.from_number, station)
    if facts is None or not facts.pin_accepted(parsed.pin):
        await polling.check_pin(session, station, parsed.pin, phone=sms.from_number, on_failure=sms.after_rollback)
    rules = await service.round_rules(session, round_)
    if rules.candidate_count != len(parsed.report.votes):  # the guessed station was another election's
        raise InvalidInput(
            f"{rules.candidate_count} chiffres de candidats attendus pour ce bureau, {len(parsed.report.votes)} reçus.",
            code="wrong_candidate_count",
        )
    row = facts.rows.get(round_.id) if facts is not None else await polling.station_round(session, station, round_)
    state = StationState(row.state) if row else StationState.PLANNED
    now = sms.received_at
    service.check_accepting(station, round_, state, now)
    key = service.sender_key(sms.from_number)
    if facts is None or facts.locked_round_id != round_.id:
        await service.lock_station(session, round_.id, station.id)
    window = timedelta(minutes=results_settings().confirmation_minutes)
    code = new_confirmation_code()
    view = await service.locked_view(session, round_.id, station.id, sender_key=key, code=code, since=service.utcnow() - window)
    history = view.history
    latest = history[0] if history else None
    if latest is not None and latest.channel == Channel.SMS.value and latest.sender_key == key and latest.report == parsed.report:
        if latest.counted:
            return (
                f"Résultats identiques déjà reçus et confirmés à {_local_time(latest.received_at, station)} pour le "
                f"bureau {station.code} : rien de plus à faire. Merci."
            )
        if now - latest.received_at <= window:
            return (
                f"Message identique déjà reçu à {_local_time(latest.received_at, station)} : pour confirmer, répondez "
                f"OK {latest.confirmation_code}."
            )
    if view.code_taken:
        code = await _unique_code(session, key)
    received = await service.receive_report(
        session,
        phone_actor(sms.from_number, role=staff.role, scope=station.code),
        station,
        round_,
        parsed.report,
        channel=Channel.SMS,
        sender=mask_phone(sms.from_number),
        row=row,
        history=history,
        rules=rules,
        sender_key=key,
        confirmation_code=code,
        staff_id=staff.id,
        message_sid=sms.sid,
        now=now,
    )
    return readback_with_gaps(parsed, rules.family_names, code, received.gaps)


# --- OK <code>: the confirmation ------------------------------------------------------------------------

# The report a code designates for this sender (the latest one), with its station, its round and
# the sender's staff membership, and its station lock taken: one round trip. The lock is in the
# select list of the single row the subquery designates; the history is read after it, in a
# later statement (`service.locked_view`), so it sees what the previous holder committed.
_DESIGNATED = (
    select(ResultsReport.id)
    .where(ResultsReport.sender_key == bindparam("sender_key"), ResultsReport.confirmation_code == bindparam("code"))
    .order_by(ResultsReport.id.desc())
    .limit(1)
    .scalar_subquery()
)
PENDING_REPORT = (
    select(
        ResultsReport,
        Station,
        Round,
        StationStaff.id.label("staff_id"),
        StationStaff.role.label("staff_role"),
        func.pg_advisory_xact_lock(
            literal_column(service.station_lock_key_sql("results_report.round_id", "results_report.station_id"))
        ).label("lock"),
    )
    .join(Station, Station.id == ResultsReport.station_id)
    .join(Round, Round.id == ResultsReport.round_id)
    .outerjoin(StationStaff, and_(StationStaff.station_id == Station.id, StationStaff.phone == bindparam("phone")))
    .where(ResultsReport.id == _DESIGNATED)
)


@sms_command(
    "OK",
    pattern=r"OK[A-Z0-9]*",
    summary="OK <code> : confirmer les résultats relus (dans les 30 minutes)",
    help="OK suivi des 4 caractères reçus après l'envoi des résultats, par exemple OK K7PX, depuis le même téléphone, "
    "dans les 30 minutes. Sans OK, les résultats ne comptent pas.",
    fast=_fast_confirm,  # a first report's confirmation (results.sms_fast)
)
async def confirm_by_sms(session: AsyncSession, sms: SmsContext) -> str:
    parsed = parse_sms(sms.text, candidate_count=1, station_code_is_valid=codes.is_valid)
    if isinstance(parsed, Rejection):
        raise InvalidInput(parsed.reply, code=f"sms_{parsed.code.value}")
    if not isinstance(parsed, ConfirmMessage):
        raise InvalidInput("Répondez OK suivi du code de 4 caractères reçu, par exemple OK K7PX.", code="sms_bad_confirmation")
    key = service.sender_key(sms.from_number)
    found = (await session.execute(PENDING_REPORT, {"sender_key": key, "code": parsed.code, "phone": sms.from_number})).first()
    if found is None:
        raise NotFound(
            f"Code {parsed.code} inconnu pour ce numéro : vérifiez les 4 caractères reçus (depuis le téléphone qui a "
            "envoyé les résultats), ou renvoyez les résultats.",
            code="unknown_confirmation_code",
        )
    report, station, round_ = found.ResultsReport, found.Station, found.Round
    now = sms.received_at  # the station lock is held (taken by PENDING_REPORT)
    view = await service.locked_view(session, round_.id, station.id)
    history = view.history
    target = next(row for row in history if row.id == report.id)
    if target.counted:
        return f"Résultats du bureau {station.code} déjà confirmés : ils sont comptés. Merci."
    if history[0].id != target.id:
        newer = history[0]
        raise Conflict(
            f"Ce code a été remplacé : le bureau {station.code} a transmis des résultats plus récents "
            f"({Channel(newer.channel).label}, {_local_time(newer.received_at, station)}). Confirmez avec le dernier "
            "code reçu, ou renvoyez les résultats.",
            code="confirmation_superseded",
        )
    minutes = results_settings().confirmation_minutes
    if now - target.received_at > timedelta(minutes=minutes):
        raise WrongPhase(
            f"Délai de {minutes} minutes dépassé pour le code {parsed.code} : rien n'a été compté. Renvoyez le message de "
            "résultats complet.",
            code="confirmation_expired",
        )
    staff = StaffRef(found.staff_id, found.staff_role) if found.staff_id is not None else None
    if staff is None:
        staff = await polling.staff_for_phone(session, sms.from_number, station)  # the refusal, worded by polling
    state = view.state
    service.check_accepting(station, round_, state, now)
    await service.count_report(
        session,
        phone_actor(sms.from_number, role=staff.role, scope=station.code),
        station,
        round_,
        report,
        via=ConfirmedVia.SMS_OK,
        history=history,
        state=state,
        now=now,
    )
    return (
        f"Merci : résultats du bureau {station.code} (tour {round_.number}) enregistrés à {_local_time(now, station)} : "
        f"{french_int(target.report.valid_votes)} suffrages exprimés. Le PV papier part à la commission."
    )


# --- Phone -----------------------------------------------------------------------------------------------


async def _voice_station(session: AsyncSession, call: VoiceContext) -> tuple[Station, Round]:
    station = await polling.station_by_code(session, str(call.answers["station"]))
    round_ = await service.reporting_round(session, station.election_id)
    if round_ is None:
        raise EndCall("Aucun tour n'attend de résultats pour ce bureau.")
    return station, round_


async def check_station(session: AsyncSession, call: VoiceContext, digits: str) -> str:
    station = await polling.station_by_code(session, digits)
    await polling.staff_for_phone(session, call.from_number, station)
    return station.code


async def check_pin(session: AsyncSession, call: VoiceContext, digits: str) -> bool:
    station = await polling.station_by_code(session, str(call.answers["station"]))
    await polling.check_pin(session, station, digits, phone=call.from_number, on_failure=call.after_rollback)
    round_ = await service.reporting_round(session, station.election_id)
    if round_ is None:
        raise EndCall("Aucun tour n'attend de résultats pour ce bureau. Rien n'a été enregistré.")
    row = await polling.station_round(session, station, round_)
    try:
        service.check_accepting(station, round_, StationState(row.state) if row else StationState.PLANNED, service.utcnow())
    except (WrongPhase, Conflict) as refusal:
        raise EndCall(refusal.message) from None
    return True


async def figure_fields(session: AsyncSession, call: VoiceContext) -> list[DigitsField]:
    _station, round_ = await _voice_station(session, call)
    rules = await service.round_rules(session, round_)
    return [
        DigitsField("emargements", "Tapez le nombre d'émargements.", label="émargements", max_digits=5, number=True),
        DigitsField("blancs", "Tapez le nombre de bulletins blancs.", label="blancs", max_digits=5, number=True),
        DigitsField("nuls", "Tapez le nombre de bulletins nuls.", label="nuls", max_digits=5, number=True),
        *[
            DigitsField(f"voix_{c.position}", f"Voix de {c.full_name}.", label=c.full_name, max_digits=5, number=True)
            for c in rules.ballot
        ],
        DigitsField(
            "euros",
            "Tapez le montant des contributions collectées, en euros, sans les centimes.",
            label="euros collectés",
            max_digits=7,
            number=True,
        ),
    ]


async def record_phone_report(session: AsyncSession, call: VoiceContext) -> str:
    station, round_ = await _voice_station(session, call)
    rules = await service.round_rules(session, round_)
    answers = call.answers
    report = StationReport(
        int(answers["emargements"]),
        int(answers["blancs"]),
        int(answers["nuls"]),
        tuple(int(answers[f"voix_{c.position}"]) for c in rules.ballot),
        int(answers["euros"]) * 100,
    )
    staff = await polling.staff_for_phone(session, call.from_number, station)
    row = await polling.station_round(session, station, round_)
    state = StationState(row.state) if row else StationState.PLANNED
    service.check_accepting(station, round_, state, service.utcnow())
    await service.lock_station(session, round_.id, station.id)
    history = await service.station_history(session, round_.id, station.id)
    counted = service.latest_counted(history)
    if counted is not None and counted.id == history[0].id and counted.report == report:
        return "Ces résultats sont identiques à ceux déjà enregistrés pour ce bureau : rien n'a changé. Merci."
    actor = phone_actor(call.from_number, role=staff.role, scope=station.code)
    received = await service.receive_report(
        session, actor, station, round_, report, channel=Channel.PHONE, sender=mask_phone(call.from_number),
        row=row, history=history, rules=rules, staff_id=staff.id,
    )  # fmt: skip
    await service.count_report(session, actor, station, round_, received.report, via=ConfirmedVia.VOICE_KEY, history=history, state=state)
    said = f"Résultats du bureau {', '.join(station.code)} enregistrés : {report.valid_votes} suffrages exprimés."
    if received.gaps:
        said += " Écart signalé à la commission : " + " ; ".join(short_gap(gap) for gap in received.gaps) + "."
    return said + " Merci, et n'oubliez pas de remettre le procès-verbal papier à la commission."


results_voice_flow = register_voice_flow(
    VoiceFlow(
        name="resultats",
        menu_label="transmettre les résultats d'un bureau de vote",
        greeting="Serveur vocal des résultats de la primaire.",
        fields=(
            DigitsField("station", "Tapez les 7 chiffres du code du bureau de vote.", label="bureau", min_digits=7, max_digits=7, validate=check_station),
            DigitsField("pin", "Tapez le code confidentiel à 6 chiffres.", label="code confidentiel", min_digits=6, max_digits=6, secret=True, validate=check_pin),
            FieldsFrom(figure_fields),
        ),
        finish=record_phone_report,
        reenter_from="emargements",
    )
)
