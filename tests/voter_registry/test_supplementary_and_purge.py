"""Supplementary registrations (members 16–17 and foreigners, attestations) and the purge."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from services.elections import service as elections
from services.elections.models import Phase
from services.errors import Conflict, InvalidInput, NotFound, WrongPhase
from services.events import AuditEvent
from tests.voter_registry.conftest import ACTOR, file_name, line, reu_file
from voter_registry import service
from voter_registry.errors import OutOfScope
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import RegistryState, SupplementaryVoter, Voter
from voter_registry.schemas import SupplementaryCreate
from voter_registry.search import SearchScope, Source, VoterQuery, search_voters

BEFORE_DEADLINE = date(2026, 9, 20)  # the test election's deadline is 01/10/2026


@pytest.fixture
async def listed(session, election):  # noqa: ANN201
    await import_commune_file(
        session, ACTOR, election, bytes_file(file_name(), reu_file([line(), line(bureau="0002", birth_name="DUPONT")]))
    )
    return election


def member(**changes: object) -> SupplementaryCreate:
    values = {
        "kind": "member", "category": "minor", "birth_name": "Lefèvre-Nguyen", "given_names": "Zoé Anh", "sex": "F",
        "birth_date": "15/03/2010", "birth_commune_code": "33063", "birth_commune": "Bordeaux",
        "birth_department_code": "33", "commune_code": "33063", "bureau_code": "0001", "party": "Jeunes des communs",
    }  # fmt: skip
    values.update(changes)
    return SupplementaryCreate(**values)


async def test_member_registration_is_searchable_and_counted(session, listed) -> None:
    registration = await service.register_supplementary(session, ACTOR, listed, member(), today=BEFORE_DEADLINE)
    assert registration.department_code == "33" and registration.registered_on == BEFORE_DEADLINE
    results = await search_voters(
        session, ACTOR, VoterQuery(name="lefevre nguyen"), SearchScope(department="33"), election=listed
    )
    hit = results.hits[0]
    assert hit.voter.source == Source.MEMBER and hit.voter.ref == f"S-33-{registration.id}"
    assert hit.eligibility.may_vote  # 16 by the majority date (01/11/2026)
    counts = {c.bureau_code: (c.voters, c.supplementary, c.total) for c in await service.bureau_counts(session, "33")}
    assert counts["0001"] == (1, 1, 2)
    event = json.loads(await session.scalar(select(AuditEvent.entry).where(AuditEvent.kind == "registry.supplementary_registered")))
    assert event["payload"]["registration_kind"] == "member" and "Zoé" not in json.dumps(event, ensure_ascii=False)
    assert "Lef" not in json.dumps(event, ensure_ascii=False)


@pytest.mark.parametrize(
    ("changes", "today", "error", "words"),
    [
        ({}, date(2026, 10, 2), WrongPhase, "date limite"),
        ({"birth_date": "15/03/2000"}, BEFORE_DEADLINE, InvalidInput, "vote comme tout électeur"),
        ({"birth_date": "15/12/2010"}, BEFORE_DEADLINE, InvalidInput, "aura 16 ans"),
        ({"category": "foreign"}, BEFORE_DEADLINE, InvalidInput, "étranger"),
        ({"bureau_code": "0099"}, BEFORE_DEADLINE, InvalidInput, "bureaux connus : 0001, 0002"),
        ({"commune_code": "33281"}, BEFORE_DEADLINE, InvalidInput, "importez d'abord"),
        ({"commune_code": "99999"}, BEFORE_DEADLINE, InvalidInput, "inconnue"),
        ({"category": "adult"}, BEFORE_DEADLINE, InvalidInput, "Catégorie"),
    ],
)
async def test_member_refusals(session, listed, changes, today, error, words) -> None:  # noqa: ANN001
    with pytest.raises(error, match=words):
        await service.register_supplementary(session, ACTOR, listed, member(**changes), today=today)


async def test_a_listed_person_or_a_second_registration_is_refused(session, listed) -> None:
    martin = member(
        kind="attestation", category="mairie", birth_name="MARTIN", given_names="Jean Pierre", sex="M",
        birth_date="12/04/1953", proof_date=date(2026, 9, 15),
    )  # fmt: skip
    with pytest.raises(Conflict, match="figure déjà sur la liste électorale de Bordeaux"):
        await service.register_supplementary(session, ACTOR, listed, martin, today=BEFORE_DEADLINE)
    await service.register_supplementary(session, ACTOR, listed, member(), today=BEFORE_DEADLINE)
    with pytest.raises(Conflict, match="déjà une inscription complémentaire"):
        await service.register_supplementary(session, ACTOR, listed, member(given_names="ZOÉ  ANH"), today=BEFORE_DEADLINE)


async def test_attestations_at_a_station_only_for_its_own_bureaux(session, listed) -> None:
    station = SearchScope(area=(("33063", "0001"),), department="33", national=True, full_detail_outside_area=False)
    attestation = member(
        kind="attestation", category="service_public", birth_name="N'Diaye", given_names="Awa", birth_date="21/11/1999",
        proof_date=date(2026, 9, 15),
    )  # fmt: skip
    with pytest.raises(OutOfScope, match="attestation"):
        await service.register_supplementary(session, ACTOR, listed, member(), scope=station, today=BEFORE_DEADLINE)
    with pytest.raises(OutOfScope, match="n'est pas rattaché"):
        await service.register_supplementary(
            session, ACTOR, listed, attestation.model_copy(update={"bureau_code": "0002"}), scope=station, today=date(2026, 11, 1)
        )
    registration = await service.register_supplementary(session, ACTOR, listed, attestation, scope=station, today=date(2026, 11, 1))
    assert registration.kind == "attestation" and registration.category == "service_public"
    with pytest.raises(OutOfScope, match="pas dans votre département"):
        await service.register_supplementary(
            session, ACTOR, listed, attestation.model_copy(update={"commune_code": "2A004"}), scope=SearchScope(department="75")
        )


async def test_cancel(session, listed) -> None:
    registration = await service.register_supplementary(session, ACTOR, listed, member(), today=BEFORE_DEADLINE)
    ref = f"S-33-{registration.id}"
    with pytest.raises(OutOfScope):
        await service.cancel_supplementary(session, ACTOR, ref, "erreur de saisie", scope=SearchScope(department="75"))
    await service.cancel_supplementary(session, ACTOR, ref, "erreur de saisie")
    assert await service.get_voter(session, ref) is None
    with pytest.raises(NotFound):
        await service.cancel_supplementary(session, ACTOR, ref, "encore")


async def test_members_file(session, listed) -> None:
    header = ";".join(service.MEMBER_COLUMNS)
    rows = [
        "Lefèvre-Nguyen;;Zoé Anh;F;15/03/2010;33063;Bordeaux;FRANCE;Française;33063;0001;Jeunes des communs",
        "Oliveira Santos;;João Pedro;M;02/07/1988;99139;Porto;PORTUGAL;Brésilienne;33063;0002;Parti des communs",
        "Trop Âgé;;Paul;M;02/07/1980;33063;Bordeaux;FRANCE;Française;33063;0001;Parti des communs",
        "Sans Bureau;;Léa;F;02/07/2010;33063;Bordeaux;FRANCE;Française;33063;0042;Parti des communs",
        "colonnes;manquantes",
    ]
    data = ("\n".join([header, *rows]) + "\n").encode("utf-8")
    report = await service.import_members_file(session, ACTOR, listed, "adherents.csv", data, today=BEFORE_DEADLINE)
    assert (report.lines, report.registered, report.already_registered) == (5, 2, 0)
    assert [line for line, _c, _r in report.rejects] == [4, 5, 6]
    assert "vote comme tout électeur" in report.rejects[0][2] and "0042" in report.rejects[1][2]
    again = await service.import_members_file(session, ACTOR, listed, "adherents.csv", data, today=BEFORE_DEADLINE)
    assert (again.registered, again.already_registered) == (0, 2)
    with pytest.raises(InvalidInput, match="colonnes attendues"):
        await service.import_members_file(session, ACTOR, listed, "x.csv", b"nom;prenom\n", today=BEFORE_DEADLINE)


async def test_purge(session, listed) -> None:
    await service.register_supplementary(session, ACTOR, listed, member(), today=BEFORE_DEADLINE)
    with pytest.raises(WrongPhase, match="--force"):
        await service.purge_registry(session, ACTOR, listed)
    round_1 = await elections.round_by_number(session, listed.id, 1)
    round_1.phase = Phase.POLLS_OPEN.value
    with pytest.raises(WrongPhase, match="scrutin est ouvert"):
        await service.purge_registry(session, ACTOR, listed, force=True)
    round_1.phase = Phase.SETUP.value
    report = await service.purge_registry(session, ACTOR, listed, force=True)
    assert (report.voters, report.supplementary, report.communes, report.imports) == (2, 1, 1, 1)
    assert report.method == "delete"  # the application role may not TRUNCATE
    for model in (Voter, SupplementaryVoter, RegistryState):
        assert await session.scalar(select(func.count()).select_from(model)) == 0
    event = json.loads(await session.scalar(select(AuditEvent.entry).where(AuditEvent.kind == "registry.purged")))
    assert event["payload"]["before_end"] is True and event["payload"]["voters"] == 2
    assert event["payload"]["method"] == "delete"
    assert "MARTIN" not in json.dumps(event).upper()
    with pytest.raises(NotFound, match="rien à purger"):
        await service.purge_registry(session, ACTOR, listed, force=True)


async def test_purge_after_the_election(session, listed) -> None:
    for round_ in await elections.rounds_of(session, listed.id):
        round_.phase = Phase.PROCLAIMED.value
    report = await service.purge_registry(session, ACTOR, listed)
    assert report.voters == 2
    # The copy is unbound: another election may now load its own lists.
    from tests.voter_registry.conftest import make_election

    other = await make_election(session)
    await import_commune_file(session, ACTOR, other, bytes_file(file_name("2A004"), reu_file([line(commune="2A004")])))
    assert await session.scalar(select(func.count()).select_from(Voter)) == 1


async def test_another_election_cannot_reuse_the_copy(session, listed) -> None:
    from tests.voter_registry.conftest import make_election
    from voter_registry.errors import RegistryBoundElsewhere

    other = await make_election(session)
    with pytest.raises(RegistryBoundElsewhere, match="Purgez-les d'abord"):
        await import_commune_file(session, ACTOR, other, bytes_file(file_name("2A004"), reu_file([line(commune="2A004")])))
    hit = (await search_voters(session, ACTOR, VoterQuery(name="martin"), SearchScope(department="33"), election=other)).hits[0]
    assert not hit.eligibility.may_vote and "pas celle de cette élection" in hit.eligibility.reasons[0]


async def test_identity_is_stable_across_extracts_and_exposed(session, listed) -> None:
    first = (await search_voters(session, ACTOR, VoterQuery(name="martin"), SearchScope(department="33"), election=listed)).hits[0]
    newer = reu_file([line(usage_name="LEROY", bureau="0002", given_names="JEAN  PIERRE"), line(birth_name="DUPONT")])
    await import_commune_file(session, ACTOR, listed, bytes_file(file_name(stamp="20-09-2026-10h00"), newer))
    again = (await search_voters(session, ACTOR, VoterQuery(name="martin"), SearchScope(department="33"), election=listed)).hits[0]
    assert service.voter_identity(again.voter) == service.voter_identity(first.voter)
    assert service.voter_identity(first.voter) == service.identity_for(
        "Martin", "Jean Pierre", "12/04/1953", birth_commune_code="33063", birth_department_code="33"
    )
    reread = await service.get_voter(session, again.voter.ref)
    assert reread is not None and reread.identity == again.voter.identity and reread.bureau_code == "0002"
    assert (await service.evaluate_eligibility(session, reread, listed)).may_vote
