"""The log's pages and JSON API, inside the usual rolled-back transaction.

Everything a test records lives in its own transaction, so it seals with a watermark just
above its own transaction id (see `own_watermark`)."""

from __future__ import annotations

import io
import json

import pytest

from audit import api, merkle, sequencer, verifier
from services.auth.roles import Role
from services.events import Actor, record
from tests.audit.conftest import own_watermark
from tests.audit.events import ProbeRecorded

PRESIDENT = Actor(id="account:999001", role="president", scope="2A0042")
COMMISSION = Actor(id="account:999002", role="commission", scope="33")


@pytest.fixture
async def sealed(session, signer):  # noqa: ANN001
    """A log with station events of two stations and two checkpoints, all sealed and signed."""
    for number in range(3):
        record(session, ProbeRecorded(actor=PRESIDENT, station_code="2A0042", marker="pv-ajaccio", number=number))
    await session.flush()
    first = await sequencer.seal(session, signer, watermark=await own_watermark(session))
    for number in range(4):
        record(session, ProbeRecorded(actor=COMMISSION, station_code="330007", marker="pv-bordeaux", number=number))
    await session.flush()
    second = await sequencer.seal(session, signer, watermark=await own_watermark(session))
    assert first.checkpoint is not None and second.checkpoint is not None
    # A refused request rolls back to the last commit: keep the log (a savepoint release).
    await session.commit()
    return first, second


async def test_the_authority_sees_a_verified_log(client, users, sealed):
    await users.as_role(client, Role.AUTHORITY)
    page = await client.get("/journal")
    assert page.status_code == 200, page.text
    html = page.text
    first, second = sealed
    assert 'id="etat-verification">vérifié<' in html
    assert bytes(second.checkpoint.root_hash).hex() in html
    assert "Cohérence avec le point de contrôle précédent" in html
    assert html.count("test.probe") >= 7
    assert 'href="/journal"' in html, "the navigation offers the log"


async def test_search_by_station_object_actor_and_kind(client, users, session, sealed):
    await users.as_role(client, Role.AUTHORITY)
    by_station = await client.get("/journal", params={"bureau": "2A0042"})
    assert by_station.text.count("/journal/evenements/") == 3
    by_actor_scope = await client.get("/journal", params={"bureau": "33"})  # the commission acted from "33"
    assert by_actor_scope.text.count("/journal/evenements/") == 4
    by_object = await client.get("/journal", params={"objet": "station_code", "identifiant": "330007"})
    assert by_object.text.count("/journal/evenements/") == 4
    by_actor = await client.get("/journal", params={"acteur": "account:999001"})
    assert by_actor.text.count("/journal/evenements/") == 3
    created = await users.create(Role.ORGANISER, username="organisation-test")
    await session.commit()
    by_username = await client.get("/journal", params={"acteur": "organisation-test", "type": "account.created"})
    assert by_username.status_code == 200
    assert "account.created" in by_username.text
    unknown = await client.get("/journal", params={"acteur": "personne-inconnue"})
    assert unknown.status_code == 200
    assert "Acteur inconnu" in unknown.text
    assert created.id


async def test_an_event_page_shows_a_verified_inclusion_proof(client, users, sealed, session):
    await users.as_role(client, Role.OBSERVER)
    events = (await client.get("/api/v1/audit/events", params={"station": "2A0042"})).json()
    assert len(events) == 3 and all(event["leaf_index"] is not None for event in events)
    page = await client.get(f"/journal/evenements/{events[0]['id']}")
    assert page.status_code == 200
    assert 'id="preuve">vérifiée<' in page.text
    assert "pv-ajaccio" in page.text


async def test_a_full_verification_can_be_run_from_the_page(client, users, sealed):
    await users.as_role(client, Role.AUTHORITY)
    response = await client.post("/journal/verification")
    assert response.status_code == 303
    page = await client.get("/journal")
    assert 'id="derniere-verification"' in page.text
    assert "conforme" in page.text


@pytest.mark.parametrize("role", [Role.COMMISSION, Role.PRESIDENT, Role.ASSESSOR, Role.TABLET])
async def test_station_and_department_roles_cannot_read_the_log(client, users, session, role):
    await users.as_role(client, role)
    await session.commit()
    assert (await client.get("/journal")).status_code == 403
    assert (await client.get("/api/v1/audit/events")).status_code == 403


async def test_observers_read_but_cannot_run_a_verification(client, users, session, sealed, count_writes):
    await users.as_role(client, Role.OBSERVER)
    await session.commit()
    assert (await client.get("/journal")).status_code == 200
    before = await count_writes()
    assert (await client.post("/journal/verification")).status_code == 403
    assert (await client.post("/api/v1/audit/verifications")).status_code == 403
    assert await count_writes() == before


async def test_anonymous_visitors_get_the_key_and_checkpoints_but_not_the_events(client, sealed, signer):
    assert (await client.get("/journal")).status_code == 401
    assert (await client.get("/api/v1/audit/events")).status_code == 401
    key = await client.get(api.KEY_PATH)
    assert key.text == signer.verifier_key + "\n"
    note = (await client.get(api.CHECKPOINT_PATH)).text
    assert verifier.parse_checkpoint(note, signer.public_key).size == sealed[1].tree_size
    status = (await client.get("/api/v1/audit/status")).json()
    assert status["tree_size"] == sealed[1].tree_size
    assert all(check["ok"] for check in status["checks"])


async def test_proofs_from_the_api_verify(client, sealed):
    first, second = sealed
    for index in (0, first.tree_size - 1, second.tree_size - 1):
        proof = (await client.get("/api/v1/audit/proofs/inclusion", params={"index": index})).json()
        assert merkle.verify_inclusion(
            index,
            proof["tree_size"],
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(value) for value in proof["hashes"]],
            bytes.fromhex(proof["root_hash"]),
        )
    older = (await client.get("/api/v1/audit/proofs/inclusion", params={"index": 0, "tree_size": first.tree_size})).json()
    assert older["root_hash"] == bytes(first.checkpoint.root_hash).hex()
    consistency = (await client.get("/api/v1/audit/proofs/consistency", params={"first": first.tree_size})).json()
    assert merkle.verify_consistency(
        first.tree_size,
        second.tree_size,
        bytes.fromhex(consistency["first_root"]),
        bytes.fromhex(consistency["second_root"]),
        [bytes.fromhex(value) for value in consistency["hashes"]],
    )


async def test_bad_proof_requests_get_a_french_answer(client, sealed):
    size = sealed[1].tree_size
    out_of_range = await client.get("/api/v1/audit/proofs/inclusion", params={"index": size})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["code"] == "index_out_of_range"
    unknown = await client.get("/api/v1/audit/proofs/inclusion", params={"index": 0, "tree_size": size + 1000})
    assert unknown.status_code == 404 and "Aucun point de contrôle" in unknown.json()["message"]
    reversed_ = await client.get("/api/v1/audit/proofs/consistency", params={"first": size, "second": sealed[0].tree_size})
    assert reversed_.status_code == 422
    negative = await client.get("/api/v1/audit/proofs/inclusion", params={"index": -1})
    assert negative.status_code == 422 and negative.json()["code"] == "invalid_input"


async def test_the_exported_files_from_the_api_verify(client, users, session, sealed, signer, app):
    async def same_session():  # noqa: ANN202 - the streamed export reads the test's transaction
        yield session

    app.dependency_overrides[api.stream_session] = same_session
    await users.as_role(client, Role.AUTHORITY)
    events = await client.get("/api/v1/audit/export/events.jsonl")
    assert events.status_code == 200, events.text
    checkpoints = await client.get("/api/v1/audit/export/checkpoints.jsonl")
    key = await client.get("/api/v1/audit/export/public-key.vkey")
    report = verifier.verify(
        io.BytesIO(events.content), io.BytesIO(checkpoints.content).readlines(), key.content, expected_key=signer.verifier_key
    )
    assert report.events == sealed[1].tree_size
    first_line = json.loads(events.content.splitlines()[0])
    assert first_line["index"] == 0 and "kind" in first_line["entry"]


async def test_event_api_detail(client, users, session, sealed):
    await users.as_role(client, Role.ORGANISER)
    await session.commit()
    events = (await client.get("/api/v1/audit/events", params={"kind": "test.probe", "limit": 2})).json()
    assert len(events) == 2
    detail = (await client.get(f"/api/v1/audit/events/{events[0]['id']}")).json()
    assert detail["proof_verified"] is True
    assert merkle.leaf_hash(detail["entry"].encode()).hex() == detail["leaf_hash"]
    missing = await client.get("/api/v1/audit/events/999999999")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_event"
    bad_subject = await client.get("/api/v1/audit/events", params={"subject_key": "nope", "subject_value": "1"})
    assert bad_subject.status_code == 422 and bad_subject.json()["code"] == "unknown_subject"


async def test_a_large_log_is_not_verified_inside_a_request(client, users, session, sealed, monkeypatch):
    from audit import service

    monkeypatch.setattr(service, "REQUEST_VERIFICATION_LIMIT", 3)
    await users.as_role(client, Role.AUTHORITY)
    await session.commit()
    refused = await client.post("/api/v1/audit/verifications")
    assert refused.status_code == 409 and refused.json()["code"] == "log_too_large_for_request"
    page = await client.post("/journal/verification")
    assert page.status_code == 303
    assert "primaires audit check" in (await client.get("/journal")).text


async def test_the_authority_home_shows_the_log_panel(client, users, sealed):
    await users.as_role(client, Role.AUTHORITY)
    home = await client.get("/haute-autorite")
    assert 'hx-get="/journal/etat"' in home.text
    panel = await client.get("/journal/etat", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert 'id="panneau-journal"' in panel.text and "vérifié" in panel.text
    assert "<html" not in panel.text
