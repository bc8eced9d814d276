"""The NIST SP 1500-100 V2 (JSON) export: structure, reference integrity, and figures.

The official JSON schema (NIST_V2_election_results_reporting.json, usnistgov/
ElectionResultsReporting) is not distributed on PyPI or npm, so it cannot be fetched here. The
structure is checked against SUBSET below: this repository's own transcription of the V2 rules
for the classes the export uses — required properties, the complete list of allowed properties
(additionalProperties false), enumerations and the date-time pattern — plus
`dangling_references` for the `…Id` / `…Ids` links a JSON schema cannot check.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import jsonschema
import pytest

from results.aggregation import CountedReport, Level, Station, aggregate, round_outcome
from results.cdf import CdfCandidate, CdfContext, ResultsStatus, dangling_references, dumps, election_report, gp_unit_id
from results.report import StationReport

# --- the V2 subset, written for this repository ------------------------------------------


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


def _array(item: dict, min_items: int = 0) -> dict:
    return {"type": "array", "items": item, "minItems": min_items}


def _class(name: str, required: list[str], properties: dict[str, dict]) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["@type", *required],
        "properties": {"@type": {"enum": [f"ElectionResults.{name}"]}, **properties},
    }


def _enum(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


STRING, INTEGER, NUMBER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
REF = STRING  # a reference to an @id (integrity checked by dangling_references)
TEXT = _ref("InternationalizedText")
COUNT_ITEM_TYPE = _enum(
    "absentee", "absentee-fwab", "absentee-in-person", "absentee-mail", "early", "election-day", "other",
    "provisional", "seats", "total", "uocava", "write-in",
)  # fmt: skip
EXTERNAL = _array(_ref("ExternalIdentifier"))

DEFINITIONS = {
    "LanguageString": _class("LanguageString", ["Content", "Language"], {"Content": STRING, "Language": STRING}),
    "InternationalizedText": _class(
        "InternationalizedText", ["Text"], {"Label": STRING, "Text": _array(_ref("LanguageString"), 1)}
    ),
    "ExternalIdentifier": _class(
        "ExternalIdentifier",
        ["Type", "Value"],
        {
            "Label": STRING,
            "OtherType": STRING,
            "Type": _enum("fips", "local-level", "national-level", "ocd-id", "other", "state-level"),
            "Value": STRING,
        },
    ),
    "CountStatus": _class(
        "CountStatus",
        ["Status", "Type"],
        {
            "OtherType": STRING,
            "Status": _enum("completed", "in-process", "not-processed", "unknown"),
            "Type": COUNT_ITEM_TYPE,
        },
    ),
    "ReportingUnit": _class(
        "ReportingUnit",
        ["@id", "Type"],
        {
            "@id": STRING,
            "AuthorityIds": _array(REF),
            "ComposingGpUnitIds": _array(REF),
            "ContactInformation": {"type": "object"},
            "CountStatus": _array(_ref("CountStatus")),
            "ElectionAdministration": {"type": "object"},
            "ExternalIdentifier": EXTERNAL,
            "IsDistricted": BOOLEAN,
            "IsMailOnly": BOOLEAN,
            "Name": TEXT,
            "Number": STRING,
            "OtherType": STRING,
            "PartyRegistration": _array({"type": "object"}),
            "SpatialDimension": {"type": "object"},
            "SubUnitsReported": INTEGER,
            "TotalSubUnits": INTEGER,
            "Type": _enum(
                "ballot-batch", "ballot-style-area", "borough", "city", "city-council", "combined-precinct",
                "congressional", "country", "county", "county-council", "drop-box", "judicial", "municipality",
                "other", "polling-place", "precinct", "school", "special", "split-precinct", "state",
                "state-house", "state-senate", "town", "township", "utility", "village", "vote-center", "ward",
                "water",
            ),  # fmt: skip
            "VotersParticipated": INTEGER,
            "VotersRegistered": INTEGER,
        },
    ),
    "Party": _class(
        "Party",
        ["@id", "Name"],
        {
            "@id": STRING,
            "Abbreviation": TEXT,
            "Color": {"type": "string", "pattern": "[0-9a-f]{6}"},
            "ContactInformation": {"type": "object"},
            "ExternalIdentifier": EXTERNAL,
            "IsRecognizedParty": BOOLEAN,
            "LeaderPersonIds": _array(REF),
            "LogoUri": _array({"type": "object"}),
            "Name": TEXT,
            "PartyScopeGpUnitIds": _array(REF),
            "Slogan": TEXT,
        },
    ),
    "Person": _class(
        "Person",
        ["@id"],
        {
            "@id": STRING,
            "ContactInformation": _array({"type": "object"}),
            "DateOfBirth": DATE,
            "ExternalIdentifier": EXTERNAL,
            "FirstName": STRING,
            "FullName": TEXT,
            "Gender": STRING,
            "LastName": STRING,
            "MiddleName": _array(STRING),
            "Nickname": STRING,
            "PartyId": REF,
            "Prefix": STRING,
            "Profession": TEXT,
            "Suffix": STRING,
            "Title": TEXT,
        },
    ),
    "Candidate": _class(
        "Candidate",
        ["@id", "BallotName"],
        {
            "@id": STRING,
            "BallotName": TEXT,
            "CampaignSlogan": TEXT,
            "ContactInformation": {"type": "object"},
            "ExternalIdentifier": EXTERNAL,
            "FileDate": DATE,
            "IsIncumbent": BOOLEAN,
            "IsTopTicket": BOOLEAN,
            "PartyId": REF,
            "PersonId": REF,
            "PostElectionStatus": _enum("advanced-to-runoff", "defeated", "projected-winner", "winner", "withdrawn"),
            "PreElectionStatus": _enum("filed", "qualified", "withdrawn"),
        },
    ),
    "VoteCounts": _class(
        "VoteCounts",
        ["Count", "GpUnitId", "Type"],
        {
            "Count": NUMBER,
            "DeviceClass": {"type": "object"},
            "GpUnitId": REF,
            "IsSuppressedForPrivacy": BOOLEAN,
            "OtherType": STRING,
            "Round": INTEGER,
            "Type": COUNT_ITEM_TYPE,
        },
    ),
    "OtherCounts": _class(
        "OtherCounts",
        ["GpUnitId"],
        {"DeviceClass": {"type": "object"}, "GpUnitId": REF, "Overvotes": NUMBER, "Undervotes": NUMBER, "WriteIns": INTEGER},
    ),
    "BallotCounts": _class(
        "BallotCounts",
        ["GpUnitId", "Type"],
        {
            "BallotsCast": INTEGER,
            "BallotsOutstanding": INTEGER,
            "BallotsRejected": INTEGER,
            "DeviceClass": {"type": "object"},
            "GpUnitId": REF,
            "IsSuppressedForPrivacy": BOOLEAN,
            "OtherType": STRING,
            "Round": INTEGER,
            "Type": COUNT_ITEM_TYPE,
        },
    ),
    "CandidateSelection": _class(
        "CandidateSelection",
        ["@id"],
        {
            "@id": STRING,
            "CandidateIds": _array(REF),
            "EndorsementPartyIds": _array(REF),
            "IsWriteIn": BOOLEAN,
            "SequenceOrder": INTEGER,
            "VoteCounts": _array(_ref("VoteCounts")),
        },
    ),
    "CandidateContest": _class(
        "CandidateContest",
        ["@id", "ElectionDistrictId", "Name", "VotesAllowed"],
        {
            "@id": STRING,
            "Abbreviation": STRING,
            "BallotSubTitle": TEXT,
            "BallotTitle": TEXT,
            "ContestSelection": _array(_ref("CandidateSelection")),
            "CountStatus": _array(_ref("CountStatus")),
            "ElectionDistrictId": REF,
            "ExternalIdentifier": EXTERNAL,
            "HasRotation": BOOLEAN,
            "Name": STRING,
            "NumberElected": INTEGER,
            "NumberRunoff": INTEGER,
            "OfficeIds": _array(REF),
            "OtherCounts": _array(_ref("OtherCounts")),
            "OtherVoteVariation": STRING,
            "PrimaryPartyIds": _array(REF),
            "SequenceOrder": INTEGER,
            "SubUnitsReported": INTEGER,
            "TotalSubUnits": INTEGER,
            "VoteVariation": _enum(
                "approval", "borda", "cumulative", "majority", "n-of-m", "other", "plurality", "proportional",
                "range", "rcv", "super-majority",
            ),  # fmt: skip
            "VotesAllowed": INTEGER,
        },
    ),
    "Election": _class(
        "Election",
        ["ElectionScopeId", "EndDate", "Name", "StartDate", "Type"],
        {
            "BallotCounts": _array(_ref("BallotCounts")),
            "BallotStyle": _array({"type": "object"}),
            "Candidate": _array(_ref("Candidate")),
            "ContactInformation": {"type": "object"},
            "Contest": _array(_ref("CandidateContest")),
            "CountStatus": _array(_ref("CountStatus")),
            "ElectionScopeId": REF,
            "EndDate": DATE,
            "ExternalIdentifier": EXTERNAL,
            "Name": TEXT,
            "OtherType": STRING,
            "StartDate": DATE,
            "Type": _enum(
                "general", "other", "partisan-primary-closed", "partisan-primary-open", "primary", "runoff", "special"
            ),
        },
    ),
    "ElectionReport": _class(
        "ElectionReport",
        ["Format", "GeneratedDate", "Issuer", "IssuerAbbreviation", "SequenceEnd", "SequenceStart", "Status", "VendorApplicationId"],
        {
            "Election": _array(_ref("Election")),
            "ExternalIdentifier": EXTERNAL,
            "Format": _enum("precinct-level", "summary-contest"),
            "GeneratedDate": {
                "type": "string",
                "pattern": r"^[0-9]{4}-(0?[1-9]|1[012])-(0?[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]|(24:00:00))(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$",
            },
            "GpUnit": _array(_ref("ReportingUnit")),
            "Header": _array({"type": "object"}),
            "IsTest": BOOLEAN,
            "Issuer": STRING,
            "IssuerAbbreviation": STRING,
            "Notes": STRING,
            "Office": _array({"type": "object"}),
            "OfficeGroup": _array({"type": "object"}),
            "Party": _array(_ref("Party")),
            "Person": _array(_ref("Person")),
            "SequenceEnd": INTEGER,
            "SequenceStart": INTEGER,
            "Status": _enum("certified", "correction", "pre-election", "recount", "unofficial-complete", "unofficial-partial"),
            "TestType": STRING,
            "VendorApplicationId": STRING,
        },
    ),
}
SUBSET = {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/ElectionReport", "definitions": DEFINITIONS}
VALIDATOR = jsonschema.Draft7Validator(SUBSET, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def schema_errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


# --- fixture election ------------------------------------------------------------------

CANDIDATES = (
    CdfCandidate("Camille", "Laurent", "Parti des communs"),
    CdfCandidate("Mathieu", "Garnier", "Gauche républicaine"),
    CdfCandidate("Nadia", "Benali", "Écologistes unis"),
    CdfCandidate("Julien", "Moreau", "Parti des communs"),
)
STATIONS = [
    Station("7500011", "75", "7501", 1200),
    Station("7500029", "75", "7501", 900),
    Station("7500037", "75", "7502", 1000),
    Station("3300015", "33", "3301", 700),
    Station("9720017", "972", None, 800),  # no canton in Martinique
]
REPORTS = [
    CountedReport("7500011", StationReport(400, 3, 2, (150, 120, 75, 50), 45000)),
    CountedReport("7500029", StationReport(300, 1, 1, (100, 98, 50, 50), 30000)),
    CountedReport("3300015", StationReport(250, 4, 6, (60, 90, 40, 50))),
    CountedReport("9720017", StationReport(200, 0, 2, (50, 50, 48, 50), 20000)),
]
REGIONS = {"75": "11", "33": "75", "972": "02"}


def context(status: ResultsStatus = ResultsStatus.UNOFFICIAL_PARTIAL, round_number: int = 1, **extra) -> CdfContext:  # noqa: ANN003
    return CdfContext(
        election_name="Primaire citoyenne 2027",
        round_number=round_number,
        start_date=date(2027, 10, 8),  # overseas stations vote the day before
        end_date=date(2027, 10, 9),
        candidates=CANDIDATES,
        issuer="Comité national d'organisation",
        issuer_abbreviation="CNO",
        status=status,
        generated_at=datetime(2027, 10, 9, 21, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        region_names={"11": "Île-de-France", "75": "Nouvelle-Aquitaine", "02": "Martinique"},
        department_names={"75": "Paris", "33": "Gironde", "972": "Martinique"},
        canton_names={"7501": "Paris 1", "7502": "Paris 2"},
        station_names={"7500011": "École Saint-Merri"},
        log_checkpoint="primaires.example/journal\n1042\nq3cK…",
        **extra,
    )


@pytest.fixture(scope="module")
def aggregation():  # noqa: ANN201
    return aggregate(STATIONS, REPORTS, candidate_count=4, department_regions=REGIONS)


def _units(document: dict) -> dict[str, dict]:
    return {unit["@id"]: unit for unit in document["GpUnit"]}


def _vote_counts(document: dict) -> dict[tuple[int, str], float]:
    contest = document["Election"][0]["Contest"][0]
    return {
        (selection["SequenceOrder"], count["GpUnitId"]): count["Count"]
        for selection in contest["ContestSelection"]
        for count in selection["VoteCounts"]
    }


def test_export_is_valid_against_the_v2_subset_and_references_hold(aggregation) -> None:  # noqa: ANN001
    document = election_report(aggregation, context(), outcome=aggregation.outcome())
    assert schema_errors(document) == []
    assert dangling_references(document) == []
    assert json.loads(dumps(document)) == document  # plain JSON, accents kept
    assert "Île-de-France" in dumps(document)


@pytest.mark.parametrize(
    ("status", "round_number"),
    [(ResultsStatus.UNOFFICIAL_COMPLETE, 1), (ResultsStatus.CERTIFIED, 1), (ResultsStatus.CERTIFIED, 2), (ResultsStatus.CORRECTION, 2)],
)
def test_every_status_and_round_is_valid(aggregation, status: ResultsStatus, round_number: int) -> None:  # noqa: ANN001
    document = election_report(aggregation, context(status, round_number), outcome=aggregation.outcome())
    assert schema_errors(document) == [] and dangling_references(document) == []
    election = document["Election"][0]
    assert election["Type"] == ("partisan-primary-open" if round_number == 1 else "runoff")
    assert ("NumberRunoff" in election["Contest"][0]) is (round_number == 1)
    assert document["Status"] == status.value


def test_the_subset_rejects_what_the_spec_forbids(aggregation) -> None:  # noqa: ANN001
    document = election_report(aggregation, context())
    broken = json.loads(dumps(document))
    broken["GpUnit"][0]["Type"] = "région"  # not a ReportingUnitType
    broken["Election"][0]["Contest"][0]["Winner"] = "x"  # not a CandidateContest property
    del broken["Issuer"]
    broken["GeneratedDate"] = "2027-10-09T21:30:15.123456+02:00"  # fractional seconds are not allowed
    errors = " | ".join(schema_errors(broken))
    assert "'région' is not one of" in errors and "'Winner' was unexpected" in errors
    assert "'Issuer' is a required property" in errors and "does not match" in errors


def test_report_header(aggregation) -> None:  # noqa: ANN001
    document = election_report(aggregation, context())
    assert document["GeneratedDate"] == "2027-10-09T19:30:15Z"
    assert document["Format"] == "precinct-level" and document["SequenceStart"] == document["SequenceEnd"] == 1
    assert document["ExternalIdentifier"][0]["OtherType"] == "transparency-log-checkpoint"
    assert document["ExternalIdentifier"][0]["Value"].startswith("primaires.example/journal")
    assert "Bulletins blancs : OtherCounts.Undervotes ; bulletins nuls : OtherCounts.Overvotes" in document["Notes"]
    assert "point de contrôle du journal de transparence" in document["Notes"]
    election = document["Election"][0]
    assert (election["StartDate"], election["EndDate"]) == ("2027-10-08", "2027-10-09")
    assert election["Name"]["Text"][0] == {"@type": "ElectionResults.LanguageString", "Content": "Primaire citoyenne 2027 — 1er tour", "Language": "fr"}
    with pytest.raises(ValueError):
        election_report(aggregation, _naive_context())  # a naive generation time is refused


def _naive_context() -> CdfContext:
    base = context()
    return CdfContext(**{**base.__dict__, "generated_at": datetime(2027, 10, 9, 21, 0)})


def test_units_form_the_territorial_tree(aggregation) -> None:  # noqa: ANN001
    units = _units(election_report(aggregation, context()))
    nation = units["ru-nat-FR"]
    assert nation["Type"] == "country" and nation["Name"]["Text"][0]["Content"] == "France"
    assert nation["ComposingGpUnitIds"] == ["ru-reg-02", "ru-reg-11", "ru-reg-75"]
    assert units["ru-reg-11"]["OtherType"] == "région" and units["ru-reg-11"]["ComposingGpUnitIds"] == ["ru-dep-75"]
    assert units["ru-dep-75"]["ComposingGpUnitIds"] == ["ru-can-7501", "ru-can-7502"]
    assert units["ru-dep-972"]["ComposingGpUnitIds"] == ["ru-sta-9720017"]  # straight to the stations
    assert units["ru-can-7501"]["ComposingGpUnitIds"] == ["ru-sta-7500011", "ru-sta-7500029"]
    station = units["ru-sta-7500011"]
    assert station["Type"] == "polling-place" and station["Name"]["Text"][0]["Content"] == "École Saint-Merri"
    assert station["ExternalIdentifier"][0]["Value"] == "7500011"
    assert units["ru-sta-7500029"]["Name"]["Text"][0]["Content"] == "7500029"  # no name: the code
    parents: dict[str, int] = {}
    for unit in units.values():
        for child in unit.get("ComposingGpUnitIds", []):
            parents[child] = parents.get(child, 0) + 1
    assert set(parents) == set(units) - {"ru-nat-FR"} and set(parents.values()) == {1}


def test_counts_are_read_from_the_aggregation(aggregation) -> None:  # noqa: ANN001
    document = election_report(aggregation, context())
    counts = _vote_counts(document)
    levels = [
        (Level.NATION, {"FR": aggregation.nation}),
        (Level.REGION, aggregation.regions),
        (Level.DEPARTMENT, aggregation.departments),
        (Level.CANTON, aggregation.cantons),
        (Level.STATION, aggregation.stations),
    ]
    for level, table in levels:
        for code, totals in table.items():
            for index in range(4):
                if totals.stations_reported:
                    assert counts[(index + 1, gp_unit_id(level, code))] == totals.votes[index]
                else:
                    assert (index + 1, gp_unit_id(level, code)) not in counts
    assert [counts[(i, "ru-nat-FR")] for i in range(1, 5)] == [360, 358, 213, 200]
    for index in range(1, 5):  # the nation is the sum of the stations, in the file itself
        assert counts[(index, "ru-nat-FR")] == sum(v for (i, unit), v in counts.items() if i == index and unit.startswith("ru-sta-"))
    contest = document["Election"][0]["Contest"][0]
    other = {item["GpUnitId"]: item for item in contest["OtherCounts"]}
    assert (other["ru-nat-FR"]["Undervotes"], other["ru-nat-FR"]["Overvotes"]) == (8, 11)
    ballots = {item["GpUnitId"]: item["BallotsCast"] for item in document["Election"][0]["BallotCounts"]}
    assert ballots["ru-nat-FR"] == 1150 and ballots["ru-sta-3300015"] == 250
    units = _units(document)
    assert units["ru-nat-FR"]["VotersParticipated"] == 1150 and units["ru-nat-FR"]["VotersRegistered"] == 4600
    assert (units["ru-nat-FR"]["SubUnitsReported"], units["ru-nat-FR"]["TotalSubUnits"]) == (4, 5)
    assert (contest["SubUnitsReported"], contest["TotalSubUnits"]) == (4, 5)
    status = lambda unit_id: units[unit_id]["CountStatus"][0]["Status"]  # noqa: E731
    assert (status("ru-nat-FR"), status("ru-dep-33"), status("ru-can-7502"), status("ru-sta-7500037")) == (
        "in-process",
        "completed",
        "not-processed",
        "not-processed",
    )
    assert "VotersParticipated" not in units["ru-sta-7500037"]


def test_vote_count_levels_can_be_restricted(aggregation) -> None:  # noqa: ANN001
    document = election_report(aggregation, context(), vote_count_levels={Level.NATION, Level.DEPARTMENT})
    units = {unit for _, unit in _vote_counts(document)}
    assert units == {"ru-nat-FR", "ru-dep-75", "ru-dep-33", "ru-dep-972"}
    assert schema_errors(document) == [] and dangling_references(document) == []


def test_candidates_persons_and_parties(aggregation) -> None:  # noqa: ANN001
    document = election_report(aggregation, context())
    assert [p["Name"]["Text"][0]["Content"] for p in document["Party"]] == ["Parti des communs", "Gauche républicaine", "Écologistes unis"]
    candidates = document["Election"][0]["Candidate"]
    assert [c["BallotName"]["Text"][0]["Content"] for c in candidates] == ["Camille Laurent", "Mathieu Garnier", "Nadia Benali", "Julien Moreau"]
    assert candidates[0]["PartyId"] == candidates[3]["PartyId"] == "party-1"
    assert document["Person"][2] == {
        "@id": "person-3",
        "@type": "ElectionResults.Person",
        "FirstName": "Nadia",
        "LastName": "Benali",
        "FullName": {"@type": "ElectionResults.InternationalizedText", "Text": [{"@type": "ElectionResults.LanguageString", "Content": "Nadia Benali", "Language": "fr"}]},
        "PartyId": "party-3",
    }
    selections = document["Election"][0]["Contest"][0]["ContestSelection"]
    assert [(s["SequenceOrder"], s["CandidateIds"]) for s in selections] == [(i, [f"candidate-{i}"]) for i in range(1, 5)]


@pytest.mark.parametrize(
    ("status", "votes", "expected"),
    [
        (ResultsStatus.CERTIFIED, (360, 358, 213, 200), {0: "advanced-to-runoff", 1: "advanced-to-runoff", 2: "defeated", 3: "defeated"}),
        (ResultsStatus.UNOFFICIAL_PARTIAL, (360, 358, 213, 200), {}),
        (ResultsStatus.CERTIFIED, (900, 10, 10, 10), {0: "winner", 1: "defeated", 2: "defeated", 3: "defeated"}),
        (ResultsStatus.UNOFFICIAL_COMPLETE, (900, 10, 10, 10), {0: "projected-winner"}),
    ],
)
def test_post_election_status(aggregation, status, votes, expected) -> None:  # noqa: ANN001
    document = election_report(aggregation, context(status), outcome=round_outcome(votes))
    candidates = document["Election"][0]["Candidate"]
    assert {i: c["PostElectionStatus"] for i, c in enumerate(candidates) if "PostElectionStatus" in c} == expected


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ({"a": [{"@id": "x"}, {"@id": "x"}]}, ["@id x used 2 times"]),
        ({"GpUnitId": "y", "b": {"@id": "z", "CandidateIds": ["z", "w"]}}, ["GpUnitId y names no object", "CandidateIds w names no object"]),
        ({"VendorApplicationId": "primaires", "@id": "q", "PersonId": "q"}, []),
    ],
)
def test_dangling_references(document: dict, problems: list[str]) -> None:
    assert dangling_references(document) == problems


def test_candidate_count_must_match(aggregation) -> None:  # noqa: ANN001
    base = context()
    with pytest.raises(ValueError):
        election_report(aggregation, CdfContext(**{**base.__dict__, "candidates": CANDIDATES[:3]}))


def test_generated_date_is_utc_without_fraction() -> None:
    result = aggregate(STATIONS, [], candidate_count=4, department_regions=REGIONS)
    document = election_report(result, CdfContext(**{**context().__dict__, "generated_at": datetime(2027, 1, 1, tzinfo=UTC)}))
    assert document["GeneratedDate"] == "2027-01-01T00:00:00Z"
    assert schema_errors(document) == [] and dangling_references(document) == []
    assert document["Election"][0]["BallotCounts"] == [] and _vote_counts(document) == {}
