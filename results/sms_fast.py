"""The fast path of results night's two common SMS: a well-formed first report and its « OK ».

≈ 10,000 stations send `T1 …` then `OK <code>` within the hour. The ordinary handlers
(`results.sms`) go through the ORM; these do the same work on a raw asyncpg connection
(`services.telephony.fastpath`), in two statements each, each its own transaction in
production (no BEGIN, no COMMIT):

- `T1 …`: one read-only statement reads the station, its rounds and its row in each, the
  sender's staff membership, the PIN hash and the recent PIN failures (and whether the message
  was already received); then ONE statement stores the report, its `results.report_received`
  event and the message with its reply — only if the station has no report yet in this round
  and the confirmation code is free for the sender. Two first reports of one station at the
  same instant collide on the unique (round, station, version): the second fails whole;
- `OK <code>`: one read-only statement reads the report the code designates, its station,
  round, the station's state and the sender's membership; then ONE statement takes the station
  lock and checks, on a snapshot taken after it (`results_lock_confirmable`), that the report
  is still the station's latest, none of its reports counted yet and its state the one read;
  only then it stores the confirmation and its `results.report_counted` event, moves the
  station to « reported » with its `polling.station_state_changed` event, and stores the
  message with its reply.

Everything else — a refusal (unknown sender, wrong or locked-out PIN, closed station, figures
that do not add up), a station that already reported, a duplicate, a superseded or expired
code — returns None having written nothing, and the ordinary handler does it, words it and
audits it exactly as before. The checks are the ordinary path's own functions
(`service.check_accepting`, `service.refuse_errors`, `StationFacts.pin_accepted`, …), run on
the rows read (their values under the models' attribute names); the audit entries are built by the event
classes (`services.events.event_row`), so they are byte for byte those
`services.events.record` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from asyncpg import Record
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from polling import codes
from polling import events as polling_events
from polling import service as polling
from polling.models import Station, StationRound, StationState
from results import events, service
from results.config import results_settings
from results.models import Channel, ConfirmedVia
from results.report import StationReport, french_int
from results.sms import StaffRef, StationFacts, _local_time, _pick_rounds, prescan, readback_with_gaps
from results.sms_grammar import ConfirmMessage, ReportMessage, new_confirmation_code, parse_sms
from services.db import utcnow
from services.elections.models import Round
from services.errors import AppError
from services.events import AUDIT_COLUMNS, canonical_json, event_row
from services.telephony import mask_phone, phone_actor
from services.telephony.fastpath import Claim, FastResult, FastSms, Link, claim_with_reply_cte

# --- Rows → transient model instances (what the ordinary path's checks take) ------------------------


def _select_list(model: type, alias: str, prefix: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """« alias."column" AS "prefix_key", … » for every mapped column of `model`, and the
    (attribute key, label) pairs to build an instance from a row."""
    pairs = tuple((attr.key, attr.columns[0].name) for attr in sa_inspect(model).column_attrs)
    sql = ", ".join(f'{alias}."{column}" AS "{prefix}{key}"' for key, column in pairs)
    return sql, tuple((key, prefix + key) for key, _column in pairs)


STATION_COLUMNS, STATION_FIELDS = _select_list(Station, "s", "s_")
ROUND_COLUMNS, ROUND_FIELDS = _select_list(Round, "er", "r_")
STATION_ROUND_COLUMNS, STATION_ROUND_FIELDS = _select_list(StationRound, "sr", "sr_")


def _row_view(row: Record, fields: Sequence[tuple[str, str]]) -> Any:
    """The row's values under the model's attribute names, for the ordinary path's checks, which
    only read attributes. Not a model instance: building one (its instrumentation state) cost
    more than the rest of the message's Python work."""
    return SimpleNamespace(**{key: row[label] for key, label in fields})


AUDIT_INSERT = f"INSERT INTO audit_event ({', '.join(AUDIT_COLUMNS)})"
# `T1`: nothing written, the message not claimed: the ordinary handler takes it.
UNCLAIMED = FastResult(Claim.NOT_TRIED)

# --- T<tour>: a station's first report ------------------------------------------------------------

# `results.sms.STATION_FACTS` in SQL, read-only: one row per round of the station's election
# (one row of NULLs when no station has the code), each with whether the message was already
# received (its stored reply). Neither claim nor lock: the write below is self-contained.
STATION_FACTS_SQL = f"""
SELECT prior.message_sid IS NOT NULL AS seen, prior.reply AS previous_reply, facts.*
FROM (SELECT 1) AS one
LEFT JOIN telephony_inbound_sms prior ON prior.message_sid = $1
LEFT JOIN (
    SELECT {STATION_COLUMNS}, {ROUND_COLUMNS}, {STATION_ROUND_COLUMNS},
           staff.id AS staff_id, staff.role AS staff_role, pin.pin_hash,
           (SELECT count(*) FROM pin_failure f WHERE f.key = $4 AND f.at > $6) AS station_failures,
           (SELECT count(*) FROM pin_failure f WHERE f.key = $5 AND f.at > $6) AS phone_failures
    FROM station s
    LEFT JOIN election_round er ON er.election_id = s.election_id
    LEFT JOIN station_round sr ON sr.station_id = s.id AND sr.round_id = er.id
    LEFT JOIN station_staff staff ON staff.station_id = s.id AND staff.phone = $3
    LEFT JOIN station_pin pin ON pin.station_id = s.id
    WHERE s.code = $2
) AS facts ON true
ORDER BY facts.r_number
"""

# ONE statement, its own transaction: store the station's FIRST report of the round, its event,
# and the message claimed with its reply — or nothing at all. Nothing is stored when the station
# already has a report in this round (supersession, duplicates: the ordinary path) or the code is
# pending for the sender. Two first reports of one station at the same instant cannot both be
# stored: the second collides on the unique (round, station, version) and fails whole (the
# ordinary route then answers it). The claim comes last, from the stored report: if the same
# MessageSid was claimed meanwhile (a redelivery handled at the same instant), the report must
# not stay — `claim_check` divides by zero, which fails the statement and keeps nothing.
FIRST_REPORT_SQL = f"""
WITH prior AS (
    SELECT EXISTS (SELECT 1 FROM results_report WHERE round_id = $1::int AND station_id = $2::int)
        OR EXISTS (
            SELECT 1 FROM results_report
            WHERE sender_key = $3::text AND confirmation_code = $4::text AND received_at > $5::timestamptz
        ) AS blocked
), stored AS (
    INSERT INTO results_report (
        round_id, station_id, department_code, version, channel, findings, sender, sender_key, confirmation_code,
        staff_id, message_sid, received_at, signatures, blank, nulls, votes, contributions_cents
    )
    SELECT $1::int, $2::int, $6::text, 1, 'sms', $7::text::jsonb, $8::text, $3::text, $4::text,
           $9::int, $10::text, $11::timestamptz, $12::int, $13::int, $14::int, $15::int[], $16::bigint
    FROM prior WHERE NOT blocked
    RETURNING id
), logged AS (
    {AUDIT_INSERT}
    SELECT $17::timestamptz, $18::text, $19::text, $20::text, $21::text::jsonb, $22::text FROM stored
    RETURNING id
), {claim_with_reply_cte(23, when_exists="stored")}
SELECT (SELECT id FROM stored) AS report_id, (SELECT id FROM logged) AS event_id,
       CASE WHEN EXISTS (SELECT 1 FROM stored) THEN (SELECT 1 / count(*)::int FROM claim) END AS claim_check
"""


def _station_facts(rows: Sequence[Record]) -> StationFacts:
    first = rows[0]
    rounds: list[Round] = []
    station_rows: dict[int, StationRound] = {}
    for row in rows:
        if row["r_id"] is None:
            continue
        round_ = _row_view(row, ROUND_FIELDS)
        rounds.append(round_)
        if row["sr_id"] is not None:
            station_rows[round_.id] = _row_view(row, STATION_ROUND_FIELDS)
    return StationFacts(
        station=_row_view(first, STATION_FIELDS),
        rounds=rounds,
        rows=station_rows,
        staff=StaffRef(first["staff_id"], first["staff_role"]) if first["staff_id"] is not None else None,
        pin_hash=first["pin_hash"],
        pin_failures=max(int(first["station_failures"] or 0), int(first["phone_failures"] or 0)),
        locked_round_id=None,  # no lock: `FIRST_REPORT_SQL` is self-contained
    )


async def report(session: AsyncSession | None, link: Link, sms: FastSms) -> FastResult:
    """`T<tour> …`: the station's first report of the round; anything else is left to the
    ordinary handler (`FastResult.reply` None). Two statements, each its own transaction in
    production: a read, then the write (`FIRST_REPORT_SQL`)."""
    number, code_typed = prescan(sms.text)
    if number is None or not code_typed or not codes.is_valid(code_typed):
        return UNCLAIMED
    connection = link.connection
    rows = await connection.fetch(
        STATION_FACTS_SQL, sms.sid, code_typed, sms.from_number, f"station:{code_typed}",
        polling.phone_key(sms.from_number), utcnow() - polling.PIN_WINDOW,
    )  # fmt: skip
    if rows[0]["seen"]:
        return FastResult(Claim.ALREADY_RECEIVED, rows[0]["previous_reply"])
    if rows[0]["s_id"] is None:
        return UNCLAIMED
    facts = _station_facts(rows)
    station = facts.station
    named, accepting = _pick_rounds(facts.rounds, number)
    if named is None or accepting is None or named.id != accepting.id:
        return UNCLAIMED
    # Without a session (the webhook's driver fast path), the rules come from the process cache
    # only: on a miss the regular route answers, and fills it.
    rules = await service.round_rules(session, named) if session is not None else service.cached_round_rules(named.id)
    if rules is None:
        return UNCLAIMED
    parsed = parse_sms(
        sms.text,
        candidate_count=max(rules.candidate_count, 1),
        station_code_is_valid=codes.is_valid,
        expected_round=accepting.number,
    )
    if not isinstance(parsed, ReportMessage) or parsed.station_code != station.code or parsed.round_number != named.number:
        return UNCLAIMED
    if facts.staff is None or not facts.pin_accepted(parsed.pin) or rules.candidate_count != len(parsed.report.votes):
        return UNCLAIMED
    row = facts.rows.get(named.id)
    state = StationState(row.state) if row else StationState.PLANNED
    try:
        service.check_accepting(station, named, state, sms.received_at)
        gaps = service.refuse_errors(parsed.report, service.report_context(rules, station, row))
    except AppError:
        return UNCLAIMED  # the ordinary handler refuses it, in the same words, auditing what it must
    key = service.sender_key(sms.from_number)
    code = new_confirmation_code()
    sender = mask_phone(sms.from_number)[:200]
    findings = service.findings_json(gaps)
    figures = parsed.report
    event = events.ReportReceived(
        actor=phone_actor(sms.from_number, role=facts.staff.role, scope=station.code),
        election_id=station.election_id,
        round_id=named.id,
        department_code=station.department_code,
        station_code=station.code,
        version=1,
        channel=Channel.SMS.value,
        sender=sender,
        findings=[{k: v for k, v in f.items() if k != "message"} for f in findings],
        supersedes_pending=[],
        paper_entry_ids=None,
        **service.figures_payload(figures),
    )
    window = timedelta(minutes=results_settings().confirmation_minutes)
    reply = sms.fit(readback_with_gaps(parsed, rules.family_names, code, gaps))
    now = utcnow()
    stored = await connection.fetchrow(
        FIRST_REPORT_SQL,
        named.id, station.id, key, code, now - window, station.department_code, canonical_json(findings),
        sender, facts.staff.id, sms.sid, sms.received_at, figures.signatures, figures.blank, figures.null,
        list(figures.votes), figures.contributions_cents, *event_row(event, now),
        *sms.claim, reply, now,
    )  # fmt: skip
    if stored["report_id"] is None:
        return UNCLAIMED  # not the station's first report, or the code is taken
    link.wrote("results_report", events=1)
    return FastResult(Claim.CLAIMED, reply)


# --- OK <code>: the confirmation ------------------------------------------------------------------

# `results.sms.PENDING_REPORT` in SQL, read-only, with the station's state and whether the
# message was already received (its stored reply). Neither claim nor lock: see `CONFIRM_SQL`.
PENDING_REPORT_SQL = f"""
SELECT prior.message_sid IS NOT NULL AS seen, prior.reply AS previous_reply, pending.*
FROM (SELECT 1) AS one
LEFT JOIN telephony_inbound_sms prior ON prior.message_sid = $1
LEFT JOIN (
    SELECT rr.id AS report_id, rr.version AS report_version, rr.channel AS report_channel,
           rr.received_at AS report_received_at, rr.signatures AS report_signatures, rr.blank AS report_blank,
           rr.nulls AS report_nulls, rr.votes AS report_votes, rr.contributions_cents AS report_contributions_cents,
           {STATION_COLUMNS}, {ROUND_COLUMNS}, sr.state AS station_state,
           staff.id AS staff_id, staff.role AS staff_role
    FROM results_report rr
    JOIN station s ON s.id = rr.station_id
    JOIN election_round er ON er.id = rr.round_id
    LEFT JOIN station_round sr ON sr.station_id = rr.station_id AND sr.round_id = rr.round_id
    LEFT JOIN station_staff staff ON staff.station_id = s.id AND staff.phone = $4
    WHERE rr.id = (
        SELECT x.id FROM results_report x WHERE x.sender_key = $2 AND x.confirmation_code = $3
        ORDER BY x.id DESC LIMIT 1
    )
) AS pending ON true
"""

# ONE statement, its own transaction: count the report (its event first, whose id the
# confirmation names), move the station to « reported » with its event, and claim the message
# with its reply — or nothing at all. `results_lock_confirmable` (migration
# 0002_results_confirmable; PL/pgSQL since 0003, which keeps its plans between calls) takes the
# station lock, then checks with a snapshot taken AFTER it that the report is still the
# station's latest, that no report of the station counts yet in this round, and that the
# station's state is the one read — as a second statement of a transaction would. The state's
# UPDATE re-reads its row too (a concurrent change of state leaves it empty). The claim comes
# last, from the confirmation: a MessageSid claimed meanwhile makes `claim_check` divide by
# zero, which fails the statement and keeps nothing.
CONFIRM_SQL = f"""
WITH go AS (
    SELECT results_lock_confirmable($1::int, $2::int, $3::bigint, $4::text) AS ok
), moved AS (
    UPDATE station_round SET state = 'reported', reported_at = $16::timestamptz, updated_at = $16::timestamptz
    WHERE round_id = $1::int AND station_id = $2::int AND state = $4::text AND (SELECT ok FROM go)
    RETURNING id
), counted_event AS (
    {AUDIT_INSERT}
    SELECT $10::timestamptz, $11::text, $12::text, $13::text, $14::text::jsonb, $15::text FROM moved
    RETURNING id
), confirmation AS (
    INSERT INTO results_confirmation (
        report_id, round_id, station_id, department_code, version, via, confirmed_by, event_id, confirmed_at
    )
    SELECT $3::bigint, $1::int, $2::int, $5::text, $6::int, $7::text, $8::text, counted_event.id, $9::timestamptz
    FROM counted_event
    RETURNING report_id
), state_event AS (
    {AUDIT_INSERT}
    SELECT $16::timestamptz, $17::text, $18::text, $19::text, $20::text::jsonb, $21::text FROM confirmation
    RETURNING id
), {claim_with_reply_cte(22, when_exists="confirmation")}
SELECT (SELECT report_id FROM confirmation) AS confirmed, (SELECT count(*) FROM state_event) AS moved,
       CASE WHEN EXISTS (SELECT 1 FROM confirmation) THEN (SELECT 1 / count(*)::int FROM claim) END AS claim_check
"""

# Where the station moves to « reported » when its report counts (`results.service._mirror_state`
# and `polling.set_station_state`): from these states, forward; « planned » stays (never staffed).
MOVES_TO_REPORTED = (StationState.READY, StationState.OPEN, StationState.CLOSED)


async def confirm(session: AsyncSession | None, link: Link, sms: FastSms) -> FastResult:
    """`OK <code>`: count the station's pending first report; anything else is left to the
    ordinary handler (`FastResult.reply` None). Two statements, each its own transaction in
    production: a read, then the write (`CONFIRM_SQL`, which takes the station lock)."""
    parsed = parse_sms(sms.text, candidate_count=1, station_code_is_valid=codes.is_valid)
    if not isinstance(parsed, ConfirmMessage):
        return UNCLAIMED
    connection = link.connection
    found = await connection.fetchrow(
        PENDING_REPORT_SQL, sms.sid, service.sender_key(sms.from_number), parsed.code, sms.from_number
    )
    if found["seen"]:
        return FastResult(Claim.ALREADY_RECEIVED, found["previous_reply"])
    if found["report_id"] is None or found["staff_id"] is None:
        return UNCLAIMED
    station: Station = _row_view(found, STATION_FIELDS)
    round_: Round = _row_view(found, ROUND_FIELDS)
    now = sms.received_at
    minutes = results_settings().confirmation_minutes
    if now - found["report_received_at"] > timedelta(minutes=minutes):
        return UNCLAIMED
    state = StationState(found["station_state"] or StationState.PLANNED.value)
    if state not in MOVES_TO_REPORTED:
        # Counted before (supersession), validated, or never staffed (« planned » stays): the
        # ordinary path, which words and audits each case.
        return UNCLAIMED
    try:
        service.check_accepting(station, round_, state, now)
    except AppError:
        return UNCLAIMED
    actor = phone_actor(sms.from_number, role=found["staff_role"], scope=station.code)
    channel = found["report_channel"]
    counted = events.ReportCounted(
        actor=actor,
        election_id=station.election_id,
        round_id=round_.id,
        department_code=station.department_code,
        station_code=station.code,
        version=found["report_version"],
        channel=channel,
        via=ConfirmedVia.SMS_OK.value,
        supersedes_counted=None,
    )
    moved = polling_events.StationStateChanged(
        actor=actor,
        election_id=station.election_id,
        round_id=round_.id,
        department_code=station.department_code,
        station_code=station.code,
        from_state=state.value,
        to_state=StationState.REPORTED.value,
        via=channel,
    )
    figures = StationReport(
        found["report_signatures"], found["report_blank"], found["report_nulls"], tuple(found["report_votes"]),
        found["report_contributions_cents"],
    )  # fmt: skip
    reply = sms.fit(
        f"Merci : résultats du bureau {station.code} (tour {round_.number}) enregistrés à {_local_time(now, station)} : "
        f"{french_int(figures.valid_votes)} suffrages exprimés. Le PV papier part à la commission."
    )
    at = utcnow()
    result = await connection.fetchrow(
        CONFIRM_SQL,
        round_.id, station.id, found["report_id"], state.value, station.department_code, found["report_version"],
        ConfirmedVia.SMS_OK.value, actor.id, now, *event_row(counted, at), *event_row(moved, at),
        *sms.claim, reply, at,
    )  # fmt: skip
    if result["confirmed"] is None:
        return UNCLAIMED
    link.wrote("results_confirmation", events=2)
    return FastResult(Claim.CLAIMED, reply)
