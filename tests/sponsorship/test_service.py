"""Sponsorship against a real PostgreSQL: roster import, intake and its refusals, withdrawal, the board,
the high authority's validation, the draw and the public list."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.elections import service as elections
from services.elections.models import BallotEntry, CandidateStatus
from services.errors import AppError, Conflict, Forbidden, InvalidInput
from services.sponsorship import rules, service, synthetic
from services.sponsorship.models import FormScan, Official, OfficialMandate, RosterFile, Sponsorship, WithdrawalPolicy
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import PRESETS, Category, RosterFacts

from .conftest import AUTHORITY, DEADLINE, MAYORS, ORGANISER, TODAY, Roster, events_of, make_election, scan

pytestmark = pytest.mark.asyncio


def intake(roster: Roster, family: str, category: Category, candidate: int = 0, *, received: date = date(2011, 7, 1), content: str | None = None) -> service.FormIntake:
    return service.FormIntake(
        official_id=roster.id(family),
        candidate_id=roster.candidates[candidate].id,
        category=category,
        received_on=received,
        scan=scan(content or f"{family}-{category.value}-{candidate}-{received}"),
    )


async def record(session: AsyncSession, roster: Roster, family: str, category: Category, candidate: int = 0, **kwargs: object) -> Sponsorship:
    return await service.record_sponsorship(session, ORGANISER, roster.election, intake(roster, family, category, candidate, **kwargs), today=TODAY)  # type: ignore[arg-type]


# --- Roster --------------------------------------------------------------------------------------------


async def test_roster_membership_comes_from_the_party_files_only(session: AsyncSession, roster: Roster) -> None:
    officials = roster.officials
    assert officials["DEPUTE-A"].party_member and officials["MAIRE-PARIS"].party_member
    # In the RNE (with a random « nuance ») but in no party file: not a member.
    assert not officials["DEPUTE-D"].party_member
    assert not officials["MAIRE-LYON"].party_member
    mandates = {
        (o.family_name, m.category): m
        for m, o in (await session.execute(select(OfficialMandate, Official).join(Official, Official.id == OfficialMandate.official_id))).all()
        if o.election_id == roster.election.id
    }
    # One person, several capacities: the mayor of Bordeaux is also a departmental councillor;
    # deputy A also sits on the national council.
    assert {("MAIRE-BORDEAUX", "maire"), ("MAIRE-BORDEAUX", "conseiller_departemental")} <= mandates.keys()
    assert {("DEPUTE-A", "parlementaire"), ("DEPUTE-A", "conseil_national")} <= mandates.keys()
    # Mayors carry their commune's population from the territory reference.
    assert mandates[("MAIRE-MARSEILLE", "maire")].population == 886040
    assert mandates[("MAIRE-MARSEILLE", "maire")].commune_name == "Marseille"
    assert len(officials) == 4 + 6 + 1 + 2  # deputies, mayors, councillor A, two council-only members


async def test_rne_import_reports_malformed_lines_and_imports_the_rest(session: AsyncSession) -> None:
    election, _ = await make_election(session, "import-rne")
    before = await events_of(session, "sponsorship.rne_imported")
    data = synthetic.rne_file_bytes(MAYORS, RneKind.MAYORS, malformed=2, release="cp1252")
    report = await service.import_rne(session, ORGANISER, election, data, "elus-maires.csv")
    assert (report.kind, report.encoding, report.separator) == ("maires", "windows-1252", "point-virgule")
    assert report.imported == len(MAYORS)
    assert report.data_lines == len(MAYORS) + 2
    assert len(report.errors) == 2 and all(error.line > 1 for error in report.errors)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert f"{len(report.errors)} refusées (ligne" in report.summary
    stored = await session.scalar(select(RosterFile).where(RosterFile.election_id == election.id))
    assert stored is not None and stored.rejected_count == 2 and stored.rejected[0]["line"] == report.errors[0].line
    assert await events_of(session, "sponsorship.rne_imported") == before + 1


async def test_reimport_keeps_party_flags_and_ends_dropped_mandates(session: AsyncSession, roster: Roster) -> None:
    data = synthetic.rne_file_bytes(MAYORS[1:], RneKind.MAYORS)  # Bordeaux's mayor is no longer mayor
    report = await service.import_rne(session, ORGANISER, roster.election, data, "elus-maires-2.csv")
    assert report.replaced == 1
    mandates = list(
        await session.scalars(select(OfficialMandate).where(OfficialMandate.election_id == roster.election.id, OfficialMandate.category == "maire"))
    )
    assert len(mandates) == 5
    lille = next(m for m in mandates if m.commune_code == "59350")
    assert lille.party_listed  # the party's file still counts after the RNE is refreshed
    bordeaux = await session.get(Official, roster.id("MAIRE-BORDEAUX"))
    assert bordeaux is not None and bordeaux.party_member  # still a departmental councillor of the party


async def test_party_file_before_its_rne_is_refused_and_changes_nothing(session: AsyncSession, count_writes: Callable[[], Awaitable[int]]) -> None:
    election, _ = await make_election(session, "sans-rne")
    writes = await count_writes()
    with pytest.raises(InvalidInput, match="importez d'abord le fichier RNE") as refused:
        await service.import_party_file(session, ORGANISER, election, Category.MAYOR, synthetic.party_file_bytes(MAYORS, Category.MAYOR), "maires.csv")
    assert refused.value.code == "rne_missing"
    assert await count_writes() == writes


async def test_party_file_lines_not_in_the_rne_are_reported(session: AsyncSession, roster: Roster) -> None:
    ghost = synthetic.SyntheticOfficial("FANTOME", "Félix", "M", date(1970, 1, 1), department_code="75")
    data = synthetic.party_file_bytes([*MAYORS[:2], ghost], Category.MAYOR)
    report = await service.import_party_file(session, ORGANISER, roster.election, Category.MAYOR, data, "maires.csv")
    assert report.imported == 2
    assert [(e.line, e.message) for e in report.errors] == [
        (4, "FANTOME Félix (né(e) le 01/01/1970) n'apparaît pas parmi les maires du RNE chargé dans le département 75")
    ]
    # The new file replaces the previous one: Paris's mayor is no longer listed.
    paris = await session.get(Official, roster.id("MAIRE-PARIS"))
    await session.refresh(paris)
    assert paris is not None and not paris.party_member


async def test_unreadable_roster_file_is_refused_in_french(session: AsyncSession, roster: Roster, count_writes: Callable[[], Awaitable[int]]) -> None:
    writes = await count_writes()
    with pytest.raises(InvalidInput, match="illisible : Type de fichier RNE non reconnu"):
        await service.import_rne(session, ORGANISER, roster.election, "a;b\n1;2\n".encode(), "autre.csv")
    bad_lines_only = "Nom de l'élu;Prénom de l'élu;Date de naissance\nX;;1970-01-01\n".encode()
    with pytest.raises(InvalidInput, match="Aucune ligne utilisable.*ligne 2 : prénom manquant"):
        await service.import_rne(session, ORGANISER, roster.election, bad_lines_only, "rpe.csv")
    assert await count_writes() == writes


# --- Intake ---------------------------------------------------------------------------------------------


async def test_intake_records_the_form_its_scan_and_an_event(session: AsyncSession, roster: Roster) -> None:
    before = await events_of(session, "sponsorship.recorded")
    form = intake(roster, "MAIRE-MARSEILLE", Category.MAYOR)
    sponsorship = await service.record_sponsorship(session, ORGANISER, roster.election, form, today=TODAY)
    assert sponsorship.status == "active"
    assert (sponsorship.category, sponsorship.department_code, sponsorship.population) == ("maire", "13", 886040)
    stored = await session.get(FormScan, sponsorship.scan_sha256)
    assert stored is not None and stored.content == form.scan and stored.media_type == "application/pdf"
    assert sponsorship.scan_sha256 == hashlib.sha256(form.scan).hexdigest()
    assert await events_of(session, "sponsorship.recorded") == before + 1


BAD_INTAKES = [
    # (description, family, category, candidate, received, expected code, message fragment)
    ("parrain inconnu", None, Category.MAYOR, 0, date(2011, 7, 1), "unknown_sponsor", "Parrain inconnu : aucun élu n° 999999"),
    ("mauvaise qualité", "DEPUTE-B", Category.MAYOR, 0, date(2011, 7, 1), "wrong_category", "n'est pas maire dans le répertoire des parrains (qualités connues : parlementaire (33))"),
    ("petite commune", "MAIRE-PETIT", Category.MAYOR, 0, date(2011, 7, 1), "not_eligible", "plus de 10\u202f000 habitants comptent (population de la commune : 860)"),
    ("hors parti", "MAIRE-LYON", Category.MAYOR, 0, date(2011, 7, 1), "not_eligible", "aucun fichier du parti"),
    ("après la clôture", "DEPUTE-B", Category.PARLIAMENTARIAN, 0, date(2011, 7, 14), "after_deadline", "Formulaire reçu le 14/07/2011, après la clôture des parrainages (13/07/2011)"),
    ("dans le futur", "DEPUTE-B", Category.PARLIAMENTARIAN, 0, date(2011, 7, 21), "received_in_future", "dans le futur"),
    ("candidat inconnu", "DEPUTE-B", Category.PARLIAMENTARIAN, 99, date(2011, 7, 1), "unknown_candidate", "Candidat n° "),
]


@pytest.mark.parametrize(("description", "family", "category", "candidate", "received", "code", "fragment"), BAD_INTAKES, ids=[case[0] for case in BAD_INTAKES])
async def test_bad_intake_is_refused_and_records_nothing(
    session: AsyncSession,
    roster: Roster,
    count_writes: Callable[[], Awaitable[int]],
    description: str,
    family: str | None,
    category: Category,
    candidate: int,
    received: date,
    code: str,
    fragment: str,
) -> None:
    form = service.FormIntake(
        official_id=roster.id(family) if family else 999999,
        candidate_id=roster.candidates[candidate].id if candidate < len(roster.candidates) else 10**9,
        category=category,
        received_on=received,
        scan=scan(description),
    )
    writes = await count_writes()
    with pytest.raises(AppError) as refused:
        await service.record_sponsorship(session, ORGANISER, roster.election, form, today=TODAY)
    assert refused.value.code == code
    assert fragment in refused.value.message
    assert await count_writes() == writes
    assert await session.scalar(select(func.count()).select_from(Sponsorship)) == 0


async def test_second_sponsorship_is_refused_naming_the_first(session: AsyncSession, roster: Roster, count_writes: Callable[[], Awaitable[int]]) -> None:
    first = await record(session, roster, "MAIRE-BORDEAUX", Category.MAYOR, 0)
    writes = await count_writes()
    # Another capacity of the same person, another candidate: still one candidate per sponsor.
    with pytest.raises(Conflict) as refused:
        await record(session, roster, "MAIRE-BORDEAUX", Category.DEPARTMENTAL_COUNCILLOR, 1)
    assert refused.value.code == "second_sponsorship"
    assert refused.value.message.startswith(
        f"Maire MAIRE-BORDEAUX a déjà parrainé Martine Alpha (formulaire n° {first.id}, reçu le 01/07/2011)"
    )
    assert refused.value.detail == {"first_sponsorship_id": first.id, "first_candidate_id": roster.candidates[0].id}
    with pytest.raises(Conflict, match="a déjà parrainé ce même candidat"):
        await record(session, roster, "MAIRE-BORDEAUX", Category.MAYOR, 0, content="autre scan")
    assert await count_writes() == writes


async def test_database_enforces_exclusivity_even_if_checks_are_bypassed(session: AsyncSession, roster: Roster) -> None:
    """The partial unique index backs the check under concurrent intake."""
    first = await record(session, roster, "DEPUTE-A", Category.PARLIAMENTARIAN, 0)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            session.add(FormScan(sha256="f" * 64, media_type="application/pdf", size=1, content=b"%PDF-"))
            session.add(
                Sponsorship(
                    election_id=roster.election.id, candidate_id=roster.candidates[1].id, official_id=first.official_id,
                    category="conseil_national", party_member=True, received_on=date(2011, 7, 2), scan_sha256="f" * 64,
                )
            )  # fmt: skip
            await session.flush()


async def test_same_scan_twice_is_refused(session: AsyncSession, roster: Roster) -> None:
    first = await record(session, roster, "DEPUTE-A", Category.PARLIAMENTARIAN, 0, content="même scan")
    with pytest.raises(Conflict, match=f"déjà été enregistré \\(formulaire n° {first.id}\\)"):
        await record(session, roster, "DEPUTE-B", Category.PARLIAMENTARIAN, 1, content="même scan")


@pytest.mark.parametrize(("content", "code"), [(b"", "scan_missing"), (b"GIF89a...", "scan_format"), (b"\xff\xd8\xff" + b"0" * (11 * 1024 * 1024), "file_too_large")])
async def test_bad_scans_are_refused(session: AsyncSession, roster: Roster, content: bytes, code: str) -> None:
    form = service.FormIntake(roster.id("DEPUTE-A"), roster.candidates[0].id, Category.PARLIAMENTARIAN, date(2011, 7, 1), content)
    with pytest.raises(InvalidInput) as refused:
        await service.record_sponsorship(session, ORGANISER, roster.election, form, today=TODAY)
    assert refused.value.code == code


async def test_intake_needs_rules(session: AsyncSession) -> None:
    election, candidates = await make_election(session, "sans-regles")
    form = service.FormIntake(1, candidates[0].id, Category.MAYOR, date(2011, 7, 1), scan())
    with pytest.raises(InvalidInput, match="ne sont pas encore fixées"):
        await service.record_sponsorship(session, ORGANISER, election, form, today=TODAY)


# --- Withdrawal ------------------------------------------------------------------------------------------


async def test_sponsorships_are_irrevocable_by_default(session: AsyncSession, roster: Roster) -> None:
    sponsorship = await record(session, roster, "DEPUTE-A", Category.PARLIAMENTARIAN)
    with pytest.raises(Conflict, match="irrévocables") as refused:
        await service.withdraw_sponsorship(session, ORGANISER, roster.election, sponsorship, "lettre du parrain", today=TODAY)
    assert refused.value.code == "irrevocable"
    assert sponsorship.status == "active"


async def test_revocable_policy_allows_withdrawal_before_the_deadline(session: AsyncSession, roster: Roster) -> None:
    await service.configure(
        session, ORGANISER, roster.election, preset="primaire-2011", deadline=DEADLINE, withdrawal_policy=WithdrawalPolicy.REVOCABLE_UNTIL_DEADLINE
    )
    sponsorship = await record(session, roster, "DEPUTE-A", Category.PARLIAMENTARIAN, 0)
    with pytest.raises(Conflict, match="clos depuis le 13/07/2011"):
        await service.withdraw_sponsorship(session, ORGANISER, roster.election, sponsorship, "lettre", today=TODAY)
    before = await events_of(session, "sponsorship.withdrawn")
    await service.withdraw_sponsorship(session, ORGANISER, roster.election, sponsorship, "lettre du 2 juillet", today=date(2011, 7, 3))
    assert sponsorship.status == "withdrawn" and sponsorship.withdrawal_reason == "lettre du 2 juillet"
    assert await events_of(session, "sponsorship.withdrawn") == before + 1
    # The official is free again: may sponsor another candidate.
    again = await record(session, roster, "DEPUTE-A", Category.NATIONAL_COUNCIL, 1, received=date(2011, 7, 4))
    assert again.candidate_id == roster.candidates[1].id
    with pytest.raises(Conflict, match="déjà retiré"):
        await service.withdraw_sponsorship(session, ORGANISER, roster.election, sponsorship, "encore", today=date(2011, 7, 5))


# --- Board, validation, draw --------------------------------------------------------------------------------


async def test_board_is_live_and_says_what_is_missing(session: AsyncSession, roster: Roster) -> None:
    board = await service.qualification_board(session, roster.election)
    # Eligible totals: 3 party parliamentarians, 3 national-council members, 2 party councillors
    # (Bordeaux's mayor and councillor A), 4 party mayors of communes over 10,000.
    assert board.totals == {"parlementaires": 3, "conseil-national": 3, "conseillers": 2, "maires": 4}
    alpha = board.for_candidate(roster.candidates[0].id)
    assert not alpha.qualified and alpha.active == 0
    await record(session, roster, "MAIRE-PARIS", Category.MAYOR, 0)
    await record(session, roster, "MAIRE-MARSEILLE", Category.MAYOR, 0)
    await record(session, roster, "MAIRE-LILLE", Category.MAYOR, 0)
    alpha = (await service.qualification_board(session, roster.election)).for_candidate(roster.candidates[0].id)
    mayors = next(route for route in alpha.routes if route.key == "maires")
    assert (mayors.counted, mayors.required, mayors.regions, mayors.met) == (3, 1, 3, False)
    assert mayors.missing == ("il manque 1 région (3 sur 4, régions d'avant 2016)",)
    assert "5 % des maires des communes de plus de 10 000 habitants : il manque 1 région" in " ".join(alpha.missing)
    await record(session, roster, "MAIRE-BORDEAUX", Category.MAYOR, 0)
    alpha = (await service.qualification_board(session, roster.election)).for_candidate(roster.candidates[0].id)
    assert alpha.qualified and alpha.missing == []


async def test_sql_totals_match_the_pure_engine(session: AsyncSession) -> None:
    election, _ = await make_election(session, "totaux")
    roster = synthetic.generate_roster(11, mayor_min_population=8_000, scale=0.05, national_council=40, members=200)
    for kind, officials in roster.rne.items():
        await service.import_rne(session, ORGANISER, election, synthetic.rne_file_bytes(officials, kind), f"{kind.value}.csv")
    for category, officials in roster.party.items():
        await service.import_party_file(session, ORGANISER, election, category, synthetic.party_file_bytes(officials, category), f"{category.value}.csv")
    rows = await session.execute(
        select(OfficialMandate.official_id, OfficialMandate.category, OfficialMandate.population, Official.party_member)
        .join(Official, Official.id == OfficialMandate.official_id)
        .where(OfficialMandate.election_id == election.id)
    )
    facts = [RosterFacts(oid, Category(category), population, member) for oid, category, population, member in rows.all()]
    for rule in PRESETS.values():
        assert await service.eligible_totals(session, election.id, rule) == rules.eligible_totals(rule, facts)


async def test_authority_validates_qualified_candidacies(session: AsyncSession, roster: Roster) -> None:
    alpha = roster.candidates[0]
    await record(session, roster, "DEPUTE-A", Category.PARLIAMENTARIAN, 0)
    with pytest.raises(Forbidden):
        await service.validate_candidacy(session, ORGANISER, alpha)
    before = await events_of(session, "sponsorship.candidacy_validated")
    entry = await service.validate_candidacy(session, AUTHORITY, alpha)
    assert entry.qualified and alpha.status == CandidateStatus.VALIDATED.value
    assert await events_of(session, "sponsorship.candidacy_validated") == before + 1
    with pytest.raises(Conflict, match="déjà validée"):
        await service.validate_candidacy(session, AUTHORITY, alpha)


async def test_incomplete_candidacy_needs_a_motivated_decision(session: AsyncSession, roster: Roster, count_writes: Callable[[], Awaitable[int]]) -> None:
    bravo = roster.candidates[1]
    writes = await count_writes()
    with pytest.raises(Conflict, match="ne remplit pas les conditions de parrainage .* motivez la décision") as refused:
        await service.validate_candidacy(session, AUTHORITY, bravo)
    assert refused.value.code == "not_qualified"
    assert await count_writes() == writes and bravo.status == "declared"
    entry = await service.validate_candidacy(session, AUTHORITY, bravo, override_reason="Décision n° 3 sur la réclamation de F. Bravo")
    assert not entry.qualified and bravo.status == "validated"


async def test_ballot_order_is_drawn_from_a_public_seed(session: AsyncSession, roster: Roster) -> None:
    for index, family in enumerate(("DEPUTE-A", "DEPUTE-B", "DEPUTE-C")):
        await record(session, roster, family, Category.PARLIAMENTARIAN, index)
        await service.validate_candidacy(session, AUTHORITY, roster.candidates[index])
    with pytest.raises(Forbidden):
        await service.draw_ballot(session, ORGANISER, roster.election, "graine publique")
    with pytest.raises(InvalidInput, match="Graine invalide"):
        await service.draw_ballot(session, AUTHORITY, roster.election, "ab")
    before = await events_of(session, "sponsorship.ballot_drawn")
    draw = await service.draw_ballot(session, AUTHORITY, roster.election, "Loto du 12/07/2011 : 4 8 15 16 23")
    ids = [c.id for c in roster.candidates]
    assert draw.candidate_ids == [cid for cid, _ in rules.draw_order("Loto du 12/07/2011 : 4 8 15 16 23", ids)]
    round_1 = await elections.round_by_number(session, roster.election.id, 1)
    ballot = [row.candidate_id for row in await session.scalars(select(BallotEntry).where(BallotEntry.round_id == round_1.id).order_by(BallotEntry.position))]
    assert ballot == draw.candidate_ids
    assert await events_of(session, "sponsorship.ballot_drawn") == before + 1
    assert await events_of(session, "round.ballot_set") >= 1
    with pytest.raises(Conflict, match="déjà été tiré au sort"):
        await service.draw_ballot(session, AUTHORITY, roster.election, "une autre graine")


async def test_public_list_names_officials_but_not_members(session: AsyncSession, roster: Roster) -> None:
    await service.configure(session, ORGANISER, roster.election, preset="primaire-2016", deadline=DEADLINE)
    adherent = synthetic.SyntheticOfficial("ADHERENT", "Ada", "F", date(1990, 5, 5), department_code="33", member_number="77")
    await service.import_party_file(session, ORGANISER, roster.election, Category.MEMBER, synthetic.party_file_bytes([adherent], Category.MEMBER), "adherents.csv")
    member = await session.scalar(select(Official).where(Official.election_id == roster.election.id, Official.family_name == "ADHERENT"))
    assert member is not None
    await record(session, roster, "MAIRE-PETIT", Category.MAYOR, 0)  # any party mayor counts among 2016's elected officials
    await service.record_sponsorship(
        session, ORGANISER, roster.election, service.FormIntake(member.id, roster.candidates[0].id, Category.MEMBER, date(2011, 7, 1), scan("adh")), today=TODAY
    )
    listed = await service.public_sponsors(session, roster.election)
    assert [(s.family_name, s.capacity, s.commune, s.department_code) for s in listed] == [("MAIRE-PETIT", "maire", "L'Abergement-Clémenciat", "01")]
    assert await service.member_counts(session, roster.election) == {roster.candidates[0].id: {"33": 1}}


@pytest.mark.unaudited_writes  # the test sets the phase directly, as a fixture
async def test_rules_are_frozen_once_polls_open(session: AsyncSession, roster: Roster) -> None:
    round_1 = await elections.round_by_number(session, roster.election.id, 1)
    round_1.phase = "polls_open"
    await session.flush()
    with pytest.raises(AppError, match="changer les règles de parrainage"):
        await service.configure(session, ORGANISER, roster.election, preset="presidentielle")
    with pytest.raises(AppError, match="enregistrer un parrainage"):
        await record(session, roster, "DEPUTE-A", Category.PARLIAMENTARIAN)


async def test_sql_tallies_give_the_same_verdicts_as_row_by_row(session: AsyncSession) -> None:
    """The board tallies routes in SQL (`admits_sql`); the verdicts must equal the pure engine's, row by row."""
    election, candidates = await make_election(session, "agregat")
    roster = synthetic.generate_roster(5, mayor_min_population=5_000, scale=0.1, national_council=60, members=300)
    for kind, officials in roster.rne.items():
        await service.import_rne(session, ORGANISER, election, synthetic.rne_file_bytes(officials, kind), f"{kind.value}.csv")
    for category, officials in roster.party.items():
        await service.import_party_file(session, ORGANISER, election, category, synthetic.party_file_bytes(officials, category), f"{category.value}.csv")
    mandates = (
        await session.execute(
            select(OfficialMandate.official_id, OfficialMandate.category, OfficialMandate.department_code, OfficialMandate.population, Official.party_member)
            .join(Official, Official.id == OfficialMandate.official_id)
            .where(OfficialMandate.election_id == election.id)
            .order_by(OfficialMandate.official_id, OfficialMandate.category)
        )
    ).all()
    by_official = {}
    for row in mandates:
        by_official.setdefault(row[0], row)
    raw: dict[int, list[rules.SponsorFacts]] = {c.id: [] for c in candidates}
    for index, (official_id, category, department, population, member) in enumerate(sorted(by_official.values())):
        candidate = candidates[index % 3]
        session.add(FormScan(sha256=f"{index:064d}", media_type="application/pdf", size=5, content=b"%PDF-"))
        session.add(
            Sponsorship(
                election_id=election.id, candidate_id=candidate.id, official_id=official_id, category=category,
                department_code=department, population=population, party_member=member, received_on=date(2011, 7, 1),
                scan_sha256=f"{index:064d}",
            )
        )  # fmt: skip
        raw[candidate.id].append(rules.SponsorFacts(Category(category), department, population, member))
    await session.flush()
    geography = await service.load_geography(session)
    for rule in PRESETS.values():
        totals = await service.eligible_totals(session, election.id, rule)
        tallies = await service.route_tallies(session, election.id, rule)
        assert sum(tallies.active.values()) == len(by_official)
        for candidate in candidates:
            from_sql = rules.evaluate_tallies(rule, tallies.by_candidate[candidate.id], totals, geography)
            assert from_sql == rules.evaluate(rule, raw[candidate.id], totals, geography)
