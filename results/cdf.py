"""Export of a round's results in the NIST SP 1500-100 Election Results Reporting Common Data
Format, version 2, JSON flavour (https://doi.org/10.6028/NIST.SP.1500-100r2).

Pure module: builds a JSON-ready dict from an `Aggregation`; no I/O.

Input: the `Aggregation` of the round (results.aggregation), a `CdfContext` (election name,
round, dates, candidates in ballot order, names of the areas and stations, issuer, status,
generation time, transparency-log checkpoint) and optionally the round's `RoundOutcome`.

Output: one `ElectionResults.ElectionReport` object (`election_report`), serialisable with
`dumps`:

- `GpUnit`: `ElectionResults.ReportingUnit`s — the nation (`country`), the regions, the
  departments and the cantons (`other`, with `OtherType` région / département / canton) and
  the polling stations (`polling-place`), linked by `ComposingGpUnitIds`; each area carries
  `SubUnitsReported` / `TotalSubUnits` (stations reported / stations), `VotersParticipated`
  (émargements), `VotersRegistered` when known, and a `CountStatus`;
- `Party`, `Person`: one per party label and per candidate;
- `Election` (type `partisan-primary-open` for round 1, `runoff` for later rounds) with its
  `Candidate`s, its `BallotCounts` per unit (`BallotsCast` = ballots in the box), and one
  `ElectionResults.CandidateContest` whose `CandidateSelection`s (in ballot order,
  `SequenceOrder` 1…k) carry `VoteCounts` per unit (`Type` total);
- blank and null ballots: the CDF has no field for them by name. For a one-vote contest a
  blank ballot is exactly an undervote (no selection) and a null ballot is a spoiled ballot,
  of which an overvote is the common case: they go to the contest's `OtherCounts` per unit as
  `Undervotes` (blank) and `Overvotes` (null), and `Notes` says so in words;
- contributions have no place in the CDF: they are published in the open data (JSON, CSV) only.

Units whose station has not reported carry no counts (rather than zeros that would read as a
result) and a `CountStatus` `not-processed`. Every count is read from the aggregation: this
module sums nothing itself.

Field names follow the final V2 JSON schema (`NIST_V2_election_results_reporting.json` in the
usnistgov/ElectionResultsReporting repository): `@type` on every object, `ContestSelection`,
`ElectionDistrictId`, `OtherCounts`, `BallotCounts`, `GeneratedDate` without fractional seconds.
The schema is not shipped on PyPI or npm, so the tests validate the output against a subset of
it written in this repository (tests/results/test_cdf.py) plus a reference-integrity check
(`dangling_references`); validation against the official file remains to be done by hand.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from results.aggregation import NATION_CODE, Aggregation, Level, OutcomeKind, RoundOutcome, Totals

__all__ = [
    "CdfCandidate",
    "CdfContext",
    "ResultsStatus",
    "dangling_references",
    "dumps",
    "election_report",
    "gp_unit_id",
]

_P = "ElectionResults."
_NOT_REFERENCES = frozenset({"VendorApplicationId"})
LANGUAGE = "fr"
VENDOR_APPLICATION_ID = "primaires"


class ResultsStatus(StrEnum):
    """`ElectionResults.ResultsStatus` values this application uses."""

    UNOFFICIAL_PARTIAL = "unofficial-partial"  # provisional, stations still awaited
    UNOFFICIAL_COMPLETE = "unofficial-complete"  # every station counted, not yet proclaimed
    CERTIFIED = "certified"  # proclaimed by the high authority
    CORRECTION = "correction"  # a proclaimed result changed by a recorded decision


@dataclass(frozen=True, slots=True)
class CdfCandidate:
    given_name: str
    family_name: str
    party: str = ""


@dataclass(frozen=True)
class CdfContext:
    """What the export needs beyond the figures. Names are looked up by code; a missing name
    falls back to the code. `generated_at` must be timezone-aware."""

    election_name: str
    round_number: int
    start_date: date
    end_date: date
    candidates: tuple[CdfCandidate, ...]
    issuer: str
    issuer_abbreviation: str
    status: ResultsStatus
    generated_at: datetime
    nation_name: str = "France"
    region_names: Mapping[str, str] = field(default_factory=dict)
    department_names: Mapping[str, str] = field(default_factory=dict)
    canton_names: Mapping[str, str] = field(default_factory=dict)
    station_names: Mapping[str, str] = field(default_factory=dict)
    log_checkpoint: str | None = None
    is_test: bool = False


_ID_PREFIX = {
    Level.NATION: "ru-nat-",
    Level.REGION: "ru-reg-",
    Level.DEPARTMENT: "ru-dep-",
    Level.CANTON: "ru-can-",
    Level.STATION: "ru-sta-",
}
_OTHER_TYPE = {Level.REGION: "région", Level.DEPARTMENT: "département", Level.CANTON: "canton"}
_CODE_KIND = {
    Level.NATION: "code-pays",
    Level.REGION: "code-officiel-geographique",
    Level.DEPARTMENT: "code-officiel-geographique",
    Level.CANTON: "code-officiel-geographique",
    Level.STATION: "code-bureau-primaire",
}


def gp_unit_id(level: Level, code: str) -> str:
    """The `@id` of a unit: 'ru-dep-75', 'ru-sta-7505612', 'ru-nat-FR'."""
    return _ID_PREFIX[level] + code


def _text(content: str) -> dict[str, Any]:
    return {
        "@type": _P + "InternationalizedText",
        "Text": [{"@type": _P + "LanguageString", "Content": content, "Language": LANGUAGE}],
    }


def _external(kind: str, value: str) -> list[dict[str, Any]]:
    return [{"@type": _P + "ExternalIdentifier", "Type": "other", "OtherType": kind, "Value": value}]


def _round_label(number: int) -> str:
    return "1er tour" if number == 1 else f"{number}e tour"


def _count_status(totals: Totals) -> list[dict[str, Any]]:
    if totals.complete and totals.stations_reported:
        status = "completed"
    elif totals.stations_reported:
        status = "in-process"
    else:
        status = "not-processed"
    return [{"@type": _P + "CountStatus", "Status": status, "Type": "total"}]


def _reporting_unit(totals: Totals, name: str, composing: Sequence[str]) -> dict[str, Any]:
    level = totals.level
    unit: dict[str, Any] = {
        "@id": gp_unit_id(level, totals.code),
        "@type": _P + "ReportingUnit",
        "Type": {Level.NATION: "country", Level.STATION: "polling-place"}.get(level, "other"),
    }
    if level in _OTHER_TYPE:
        unit["OtherType"] = _OTHER_TYPE[level]
    unit["Name"] = _text(name)
    unit["ExternalIdentifier"] = _external(_CODE_KIND[level], totals.code)
    if composing:
        unit["ComposingGpUnitIds"] = list(composing)
    if level is not Level.STATION:
        unit["SubUnitsReported"] = totals.stations_reported
        unit["TotalSubUnits"] = totals.stations
    if totals.stations_reported:
        unit["VotersParticipated"] = totals.signatures
    if totals.registered_voters:
        unit["VotersRegistered"] = totals.registered_voters
    unit["CountStatus"] = _count_status(totals)
    return unit


def _levels(aggregation: Aggregation) -> list[tuple[Level, Mapping[str, Totals]]]:
    return [
        (Level.NATION, {NATION_CODE: aggregation.nation}),
        (Level.REGION, aggregation.regions),
        (Level.DEPARTMENT, aggregation.departments),
        (Level.CANTON, aggregation.cantons),
        (Level.STATION, aggregation.stations),
    ]


def _children(aggregation: Aggregation) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for region in sorted(aggregation.regions):
        children.setdefault(gp_unit_id(Level.NATION, NATION_CODE), []).append(gp_unit_id(Level.REGION, region))
    for department, region in sorted(aggregation.department_region.items()):
        children.setdefault(gp_unit_id(Level.REGION, region), []).append(gp_unit_id(Level.DEPARTMENT, department))
    for canton, department in sorted(aggregation.canton_department.items()):
        children.setdefault(gp_unit_id(Level.DEPARTMENT, department), []).append(gp_unit_id(Level.CANTON, canton))
    for station in aggregation.station_list:
        parent = (
            gp_unit_id(Level.CANTON, station.canton_code)
            if station.canton_code is not None
            else gp_unit_id(Level.DEPARTMENT, station.department_code)
        )
        children.setdefault(parent, []).append(gp_unit_id(Level.STATION, station.code))
    return children


def election_report(
    aggregation: Aggregation,
    context: CdfContext,
    *,
    outcome: RoundOutcome | None = None,
    vote_count_levels: Collection[Level] = tuple(Level),
) -> dict[str, Any]:
    """Build the `ElectionResults.ElectionReport` for one round.

    Input: the aggregation (its station list gives the tree: station → canton, or department
    for stations without canton); the context; the outcome (sets each candidate's `PostElectionStatus`:
    winner / advanced-to-runoff / defeated when the status is certified, only projected-winner
    before); the levels whose units carry counts (all by default).
    Output: a JSON-ready dict.
    """
    if context.generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    if len(context.candidates) != aggregation.candidate_count:
        raise ValueError("one CdfCandidate per candidate of the aggregation is required")
    names = {
        Level.NATION: {NATION_CODE: context.nation_name},
        Level.REGION: context.region_names,
        Level.DEPARTMENT: context.department_names,
        Level.CANTON: context.canton_names,
        Level.STATION: context.station_names,
    }
    children = _children(aggregation)
    units: list[dict[str, Any]] = []
    counted_units: list[tuple[str, Totals]] = []
    for level, table in _levels(aggregation):
        for code in sorted(table):
            totals = table[code]
            unit_id = gp_unit_id(level, code)
            units.append(_reporting_unit(totals, names[level].get(code, code), children.get(unit_id, ())))
            if level in vote_count_levels and totals.stations_reported:
                counted_units.append((unit_id, totals))

    parties: dict[str, str] = {}
    for candidate in context.candidates:
        if candidate.party and candidate.party not in parties:
            parties[candidate.party] = f"party-{len(parties) + 1}"

    statuses: dict[int, str] = {}
    if outcome is not None:
        certified = context.status in (ResultsStatus.CERTIFIED, ResultsStatus.CORRECTION)
        if outcome.kind is OutcomeKind.ELECTED and outcome.elected is not None:
            statuses[outcome.elected] = "winner" if certified else "projected-winner"
            if certified:
                statuses.update({i: "defeated" for i in range(len(context.candidates)) if i != outcome.elected})
        elif outcome.kind is OutcomeKind.RUNOFF and certified:
            statuses.update({i: "defeated" for i in range(len(context.candidates))})
            statuses.update({i: "advanced-to-runoff" for i in outcome.qualified})

    persons, candidates, selections = [], [], []
    for index, candidate in enumerate(context.candidates):
        number = index + 1
        full_name = f"{candidate.given_name} {candidate.family_name}".strip()
        persons.append(
            {
                "@id": f"person-{number}",
                "@type": _P + "Person",
                "FirstName": candidate.given_name,
                "LastName": candidate.family_name,
                "FullName": _text(full_name),
                **({"PartyId": parties[candidate.party]} if candidate.party else {}),
            }
        )
        entry: dict[str, Any] = {
            "@id": f"candidate-{number}",
            "@type": _P + "Candidate",
            "BallotName": _text(full_name),
            "PersonId": f"person-{number}",
            "PreElectionStatus": "qualified",
        }
        if candidate.party:
            entry["PartyId"] = parties[candidate.party]
        if index in statuses:
            entry["PostElectionStatus"] = statuses[index]
        candidates.append(entry)
        selections.append(
            {
                "@id": f"selection-{number}",
                "@type": _P + "CandidateSelection",
                "SequenceOrder": number,
                "CandidateIds": [f"candidate-{number}"],
                "VoteCounts": [
                    {"@type": _P + "VoteCounts", "GpUnitId": unit_id, "Type": "total", "Count": totals.votes[index]}
                    for unit_id, totals in counted_units
                ],
            }
        )

    nation_id = gp_unit_id(Level.NATION, NATION_CODE)
    round_label = _round_label(context.round_number)
    contest = {
        "@id": f"contest-round-{context.round_number}",
        "@type": _P + "CandidateContest",
        "Name": f"{context.election_name} — {round_label}",
        "ElectionDistrictId": nation_id,
        "VotesAllowed": 1,
        "NumberElected": 1,
        "VoteVariation": "majority",
        "SequenceOrder": 1,
        "SubUnitsReported": aggregation.nation.stations_reported,
        "TotalSubUnits": aggregation.nation.stations,
        "CountStatus": _count_status(aggregation.nation),
        "ContestSelection": selections,
        "OtherCounts": [
            {"@type": _P + "OtherCounts", "GpUnitId": unit_id, "Undervotes": totals.blank, "Overvotes": totals.null}
            for unit_id, totals in counted_units
        ],
    }
    if context.round_number == 1:
        contest["NumberRunoff"] = 2
    election = {
        "@type": _P + "Election",
        "Name": _text(f"{context.election_name} — {round_label}"),
        "Type": "partisan-primary-open" if context.round_number == 1 else "runoff",
        "StartDate": context.start_date.isoformat(),
        "EndDate": context.end_date.isoformat(),
        "ElectionScopeId": nation_id,
        "BallotCounts": [
            {"@type": _P + "BallotCounts", "GpUnitId": unit_id, "Type": "total", "BallotsCast": totals.ballots}
            for unit_id, totals in counted_units
        ],
        "Candidate": candidates,
        "Contest": [contest],
    }
    notes = (
        "Bulletins blancs : OtherCounts.Undervotes ; bulletins nuls : OtherCounts.Overvotes ; "
        "BallotsCast : bulletins dans l'urne (blancs + nuls + suffrages exprimés) ; VotersParticipated : "
        "émargements ; SubUnitsReported / TotalSubUnits : bureaux comptés / bureaux. Chaque total est la "
        "somme des procès-verbaux des bureaux comptés et des décisions enregistrées."
    )
    if context.log_checkpoint:
        notes += f" Calculé au point de contrôle du journal de transparence : {context.log_checkpoint}."
    report: dict[str, Any] = {
        "@type": _P + "ElectionReport",
        "Format": "precinct-level",
        "GeneratedDate": context.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Issuer": context.issuer,
        "IssuerAbbreviation": context.issuer_abbreviation,
        "SequenceStart": 1,
        "SequenceEnd": 1,
        "Status": context.status.value,
        "VendorApplicationId": VENDOR_APPLICATION_ID,
        "IsTest": context.is_test,
        "Notes": notes,
        "GpUnit": units,
        "Party": [
            {"@id": party_id, "@type": _P + "Party", "Name": _text(name)} for name, party_id in parties.items()
        ],
        "Person": persons,
        "Election": [election],
    }
    if context.log_checkpoint:
        report["ExternalIdentifier"] = _external("transparency-log-checkpoint", context.log_checkpoint)
    return report


def dumps(document: Mapping[str, Any]) -> str:
    """Compact UTF-8 JSON text of the document (accents kept as they are)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def dangling_references(document: Any) -> list[str]:
    """Reference integrity of a CDF document: every `…Id` / `…Ids` value must name an `@id` of
    the document, and every `@id` must be unique. Output: the problems found (empty when sound)."""
    ids: dict[str, int] = {}
    references: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@id" and isinstance(value, str):
                    ids[value] = ids.get(value, 0) + 1
                elif key.endswith("Ids") and isinstance(value, list):
                    references.extend((key, item) for item in value if isinstance(item, str))
                elif key.endswith("Id") and key not in _NOT_REFERENCES and isinstance(value, str):
                    references.append((key, value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    problems = [f"@id {name} used {count} times" for name, count in ids.items() if count > 1]
    problems += [f"{key} {value} names no object" for key, value in references if value not in ids]
    return problems
