"""Election set-up and round phases, through the JSON API and the organiser's pages."""

from __future__ import annotations

from sqlalchemy import select

from services.auth.roles import Role
from services.events import AuditEvent

HTML = {"accept": "text/html"}

ELECTION = {
    "slug": "primaire-test",
    "name": "Primaire de test",
    "contribution_min_cents": 200,
    "contribution_covers_both_rounds": False,
    "rounds": [
        {"number": 1, "polling_date": "2027-01-10", "early_departments": ["971", "972"]},
        {"number": 2, "polling_date": "2027-01-17"},
    ],
}


async def _setup(client, users, session):  # noqa: ANN001, ANN202
    """An election with three validated candidates; returns (election json, organiser client headers)."""
    await users.as_role(client, Role.ORGANISER)
    created = await client.post("/api/v1/elections", json=ELECTION)
    assert created.status_code == 201, created.text
    election = created.json()
    ids = []
    for given, family in (("Ana", "Alpha"), ("Bea", "Beta"), ("Cyd", "Gamma")):
        response = await client.post(
            f"/api/v1/elections/{election['id']}/candidates", json={"given_name": given, "family_name": family}
        )
        assert response.status_code == 201
        ids.append(response.json()["id"])
    organiser_cookies = dict(client.cookies), dict(client.headers)
    await users.as_role(client, Role.AUTHORITY)
    for candidate_id in ids:
        validated = await client.post(f"/api/v1/candidates/{candidate_id}/status", json={"status": "validated"})
        assert validated.status_code == 200, validated.text
    authority = dict(client.cookies), dict(client.headers)
    return election, ids, organiser_cookies, authority


def _as(client, identity) -> None:  # noqa: ANN001
    cookies, headers = identity
    client.cookies.set("primaires_session", cookies["primaires_session"])
    client.headers["x-csrf-token"] = headers["x-csrf-token"]


async def test_election_with_rounds_is_created_and_audited(client, users, session) -> None:  # noqa: ANN001
    election, ids, organiser, _authority = await _setup(client, users, session)
    assert [r["number"] for r in election["rounds"]] == [1, 2]
    assert election["rounds"][0]["early_departments"] == ["971", "972"]
    assert election["charter_text"].startswith("Je me reconnais dans les valeurs de la Gauche")
    kinds = list(await session.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))
    assert kinds.count("round.created") == 2 and "election.created" in kinds
    assert kinds.count("candidate.status_changed") == 3


async def test_round_goes_through_its_phases_in_order(client, users, session) -> None:  # noqa: ANN001
    election, ids, organiser, _authority = await _setup(client, users, session)
    _as(client, organiser)
    round_1 = election["rounds"][0]["id"]
    empty = await client.post(f"/api/v1/rounds/{round_1}/phase", json={"to": "polls_open"})
    assert empty.status_code == 409 and "bulletin du tour 1 est vide" in empty.json()["message"]
    assert (await client.put(f"/api/v1/rounds/{round_1}/ballot", json={"candidate_ids": [ids[2], ids[0], ids[1]]})).status_code == 200
    skip = await client.post(f"/api/v1/rounds/{round_1}/phase", json={"to": "polls_closed"})
    assert skip.status_code == 409 and "l'étape suivante est « Scrutin ouvert »" in skip.json()["message"]
    for phase in ("polls_open", "polls_closed", "results_validated"):
        response = await client.post(f"/api/v1/rounds/{round_1}/phase", json={"to": phase})
        assert response.status_code == 200, response.text
        assert response.json()["phase"] == phase
    by_organiser = await client.post(f"/api/v1/rounds/{round_1}/phase", json={"to": "proclaimed"})
    assert by_organiser.status_code == 403 and "Haute Autorité" in by_organiser.json()["message"]
    # The high authority proclaims through the results package, on a signed checkpoint of the
    # log (tests/results/test_validation_and_publication.py); the organisers never can.
    changes = list(await session.scalars(select(AuditEvent.entry).where(AuditEvent.kind == "round.phase_changed")))
    assert len(changes) == 3 and '"to_phase":"results_validated"' in changes[-1]


async def test_operations_outside_their_phase_are_refused(client, users, session) -> None:  # noqa: ANN001
    election, ids, organiser, _authority = await _setup(client, users, session)
    _as(client, organiser)
    round_1 = election["rounds"][0]["id"]
    await client.put(f"/api/v1/rounds/{round_1}/ballot", json={"candidate_ids": ids})
    await client.post(f"/api/v1/rounds/{round_1}/phase", json={"to": "polls_open"})
    for response in (
        await client.patch(f"/api/v1/elections/{election['id']}", json={"charter_text": "Une autre charte pour tous."}),
        await client.patch(f"/api/v1/rounds/{round_1}", json={"closes_at": "20:00"}),
        await client.put(f"/api/v1/rounds/{round_1}/ballot", json={"candidate_ids": ids[:2]}),
        await client.post(f"/api/v1/elections/{election['id']}/candidates", json={"given_name": "X", "family_name": "Y"}),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "wrong_phase"
        assert "Scrutin ouvert" in response.json()["message"]
    round_2 = election["rounds"][1]["id"]
    await client.put(f"/api/v1/rounds/{round_2}/ballot", json={"candidate_ids": ids[:2]})
    early = await client.post(f"/api/v1/rounds/{round_2}/phase", json={"to": "polls_open"})
    assert early.status_code == 409 and "après la proclamation" in early.json()["message"]


async def test_ballot_accepts_only_validated_candidates_once(client, users, session) -> None:  # noqa: ANN001
    election, ids, organiser, _authority = await _setup(client, users, session)
    _as(client, organiser)
    declared = await client.post(
        f"/api/v1/elections/{election['id']}/candidates", json={"given_name": "Dan", "family_name": "Delta"}
    )
    round_1 = election["rounds"][0]["id"]
    twice = await client.put(f"/api/v1/rounds/{round_1}/ballot", json={"candidate_ids": [ids[0], ids[0]]})
    assert twice.status_code == 422 and "deux fois" in twice.json()["message"]
    not_validated = await client.put(f"/api/v1/rounds/{round_1}/ballot", json={"candidate_ids": [declared.json()["id"]]})
    assert not_validated.status_code == 422 and "n'est pas validée" in not_validated.json()["message"]


async def test_only_the_authority_validates_candidacies(client, users, session) -> None:  # noqa: ANN001
    election, ids, organiser, _authority = await _setup(client, users, session)
    _as(client, organiser)
    response = await client.post(f"/api/v1/candidates/{ids[0]}/status", json={"status": "validated"})
    assert response.status_code == 403


async def test_invalid_json_gets_french_field_errors(client, users) -> None:  # noqa: ANN001
    await users.as_role(client, Role.ORGANISER)
    response = await client.post(
        "/api/v1/elections", json={"slug": "Pas Un Slug!", "name": "x", "contribution_min_cents": 50}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert "« slug » : format incorrect" in body["message"]
    assert "« contribution_min_cents » : doit valoir au moins 100" in body["message"]


async def test_organiser_pages_set_up_the_election(client, users, session) -> None:  # noqa: ANN001
    election, ids, organiser, _authority = await _setup(client, users, session)
    _as(client, organiser)
    page = await client.get("/organisation", headers=HTML)
    assert page.status_code == 200 and "Paramétrage de l'élection" in page.text
    saved = await client.post(
        "/organisation/election",
        data={"name": "Primaire renommée", "contribution_euros": "2,50", "charter_text": "Je partage ces valeurs, toutes."},
        headers=HTML,
    )
    assert saved.status_code == 303
    after = await client.get("/organisation", headers=HTML)
    assert "Paramètres de l&#39;élection enregistrés." in after.text or "Paramètres de l'élection enregistrés." in after.text
    assert "Primaire renommée" in after.text and "2,50" in after.text
    bad = await client.post(
        "/organisation/election",
        data={"name": "Primaire renommée", "contribution_euros": "0,50", "charter_text": "Je partage ces valeurs."},
        headers=HTML,
    )
    assert bad.status_code == 303
    shown = await client.get("/organisation", headers=HTML)
    assert "au moins 1" in shown.text


async def test_out_of_range_ids_and_hours_with_a_time_zone_are_refused_cleanly(client, users, count_writes) -> None:  # noqa: ANN001
    # Both were 500s found by the API fuzzer (tests/test_api_fuzz.py).
    await users.as_role(client, Role.ORGANISER)
    before = await count_writes()
    huge = await client.get("/api/v1/elections/270008980601296")
    assert huge.status_code == 422 and "hors des limites" in huge.json()["message"]
    mixed = dict(ELECTION, slug="fuseaux", rounds=[{"number": 1, "polling_date": "2027-10-09", "opens_at": "09:00+02:00", "closes_at": "19:00"}])
    refused = await client.post("/api/v1/elections", json=mixed)
    assert refused.status_code == 422 and "sans fuseau horaire" in refused.json()["message"]
    assert await count_writes() == before
