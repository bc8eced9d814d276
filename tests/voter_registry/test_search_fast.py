"""The search's hot path (`voter_registry.api._driver_search`, run by `services.app.FastPaths` on a bare pool connection):
the same answers, bytes and audit rows as the regular route; refusals handed to the route,
in French, with nothing recorded."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.auth.roles import Role
from services.events import AuditEvent, Actor
from tests.voter_registry.test_http import loaded, sign_in, station_areas  # noqa: F401 - fixtures
from voter_registry import api, events, search
from voter_registry.search import SearchScope


def _spy(monkeypatch) -> list[str]:  # noqa: ANN001
    """Which function answered: the fast path (`_driver_search`) and/or the route (`search`)."""
    calls: list[str] = []
    original = api.search_query

    def spied(*args):  # noqa: ANN002, ANN202
        calls.append(sys._getframe(1).f_code.co_name)  # noqa: SLF001
        return original(*args)

    monkeypatch.setattr(api, "search_query", spied)
    return calls


QUERIES = [
    "nom=martin&prenoms=jean",
    "nom=le gall&prenoms=yann",
    "q=durand",
    "nom=dup&limite=1",
    "nom=martin&elargir=tout&departement=33",
    "nom=MARTIN&naissance=1950",
    "nom=martin&prenoms=st",  # « st »: typed prefix OR « saint » (two LIKEs for one word)
    "nom=dup&prenoms=jean sté",
]


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.COMMISSION, Role.TABLET])
async def test_the_fast_path_answers_the_bytes_the_route_answers(
    client, users, session, loaded, station_areas, monkeypatch, role: Role  # noqa: ANN001, F811
) -> None:
    scope = {"department": "33"} if role == Role.COMMISSION else {"station": "100019"} if role == Role.TABLET else {}
    await sign_in(client, users, session, role, **scope)
    calls = _spy(monkeypatch)
    fast = []
    for query in QUERIES:
        if role == Role.COMMISSION and "departement" in query:
            continue
        response = await client.get(f"/api/v1/registry/search?{query}")
        assert response.status_code == 200, response.text
        fast.append(response.content)
    assert calls and set(calls) == {"_driver_search"}  # the fast path answered every one

    # The same requests through the regular route (the fast path hands everything over).
    async def hand_over(request, session):  # noqa: ANN001, ANN202
        raise api.HandOver("test")

    monkeypatch.setattr(api, "_parameters", hand_over)
    calls.clear()
    regular = []
    for query in QUERIES:
        if role == Role.COMMISSION and "departement" in query:
            continue
        regular.append((await client.get(f"/api/v1/registry/search?{query}")).content)
    assert set(calls) == {"search"}
    assert fast == regular
    assert any(b'"results":[{' in body for body in fast)  # people were found, not only empty lists


async def test_refusals_are_the_routes_with_nothing_recorded(
    client, users, session, loaded, monkeypatch, count_writes  # noqa: ANN001, F811
) -> None:
    await sign_in(client, users, session, Role.COMMISSION, department="33")
    calls = _spy(monkeypatch)
    writes = await count_writes()
    for query, status, code in (
        ("nom=m", 422, "query_too_vague"),
        ("nom=martin&naissance=hier", 422, "bad_birth_date"),
        ("nom=le gall&departement=2A", 403, "out_of_scope"),
        ("nom=martin&limite=0", 422, "invalid_input"),
        ("nom=martin&limite=deux", 422, "invalid_input"),
        ("nom=martin&elargir=jamais", 422, "invalid_input"),
        ("nom=" + "x" * 201, 422, "invalid_input"),
    ):
        calls.clear()
        response = await client.get(f"/api/v1/registry/search?{query}")
        assert response.status_code == status, (query, response.text)
        body = response.json()
        assert body["code"] == code or (code == "query_too_vague" and "deux premières lettres" in body["message"])
        # Answered by the route, in French: after the fast path's attempt, or by FastAPI's
        # validation before the route's function (parameters the fast path handed over).
        assert body["message"] and (calls[-1:] == ["search"] or (calls == [] and code == "invalid_input"))
        assert response.headers["x-content-type-options"] == "nosniff"
    assert await count_writes() == writes
    assert (await client.get("/api/v1/registry/search?nom=martin")).status_code == 200
    assert await count_writes() > writes  # a search is logged


async def test_the_lookup_row_is_the_one_record_would_write(session, loaded) -> None:  # noqa: ANN001, F811
    """`search.record_lookup` writes, byte for byte, what `record(session, RegistryLookup(...))` writes."""
    from services.events import record

    actor = Actor(id="account:7", role="commission", scope="33")
    scope = SearchScope(department="33")
    recorded = record(
        session,
        events.RegistryLookup(
            actor=actor, election_id=None, department_code="33", scope=scope.kind, reached="departement",
            fields=["nom", "prenoms"], results=3, channel="api",
        ),
    )
    await session.flush()
    stored = await session.get(AuditEvent, recorded.id)
    await search.record_lookup(
        session, actor, election_id=None, scope=scope, reached="departement", fields=["nom", "prenoms"], results=3, channel="api"
    )
    columns = (AuditEvent.kind, AuditEvent.actor, AuditEvent.actor_scope, AuditEvent.subjects, AuditEvent.entry)
    rows = (await session.execute(select(AuditEvent.id, AuditEvent.recorded_at, *columns).where(AuditEvent.id >= recorded.id).order_by(AuditEvent.id))).all()
    assert len(rows) == 2
    raw = rows[1]
    expected = events.RegistryLookup(
        actor=actor, election_id=None, department_code="33", scope=scope.kind, reached="departement",
        fields=["nom", "prenoms"], results=3, channel="api",
    ).entry(raw.recorded_at)
    assert raw.entry.encode() == expected.encode()
    assert tuple(rows[0])[2:-1] == tuple(raw)[2:-1] == (stored.kind, stored.actor, stored.actor_scope, stored.subjects)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["nom", "prenoms", "naissance", "commune", "q", "departement", "elargir", "limite", "autre"]), st.text(max_size=320), max_size=6))
def test_the_fast_path_reads_only_what_the_route_would_accept(parameters: dict[str, str]) -> None:
    """`_parameters` either hands the request over or reads exactly what FastAPI's validation of
    the route's parameters gives (lengths, `elargir`, `limite` between 1 and 50)."""
    from urllib.parse import urlencode

    from pydantic import TypeAdapter, ValidationError
    from starlette.requests import Request

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": urlencode(parameters).encode()})
    read = request.query_params
    try:
        values = api._parameters(request)  # noqa: SLF001
    except api.HandOver:
        return
    for name, longest in {"nom": 200, "prenoms": 200, "naissance": 20, "commune": 100, "q": 300}.items():
        assert values[name] == read.get(name, "") and len(values[name]) <= longest
    assert values["departement"] == read.get("departement") and (values["departement"] is None or len(values["departement"]) <= 3)
    assert values["elargir"] in ("auto", "tout") and values["elargir"] == read.get("elargir", "auto")
    try:
        expected = TypeAdapter(int).validate_python(read.get("limite", "20"))
    except ValidationError:
        pytest.fail("the fast path accepted a « limite » the route refuses")
    assert values["limite"] == expected and 1 <= expected <= 50


async def test_an_api_token_search_is_answered_by_the_driver_path_as_by_the_route(
    client, users, session, loaded, monkeypatch  # noqa: ANN001, F811
) -> None:
    """A commission's script (API token): the session-less path reads the token with the context
    and answers the route's bytes; a revoked or unknown token is the route's 401."""
    account = await users.create(Role.COMMISSION, department="33")
    raw = await users.api_token(account)
    calls = _spy(monkeypatch)
    headers = {"authorization": f"Bearer {raw}"}
    fast = (await client.get("/api/v1/registry/search?nom=martin&prenoms=jean", headers=headers)).content
    assert calls == ["_driver_search"] and b'"results":[{' in fast

    def hand_over(request):  # noqa: ANN001, ANN202
        raise api.HandOver("test")

    monkeypatch.setattr(api, "_parameters", hand_over)
    calls.clear()
    assert (await client.get("/api/v1/registry/search?nom=martin&prenoms=jean", headers=headers)).content == fast
    assert calls == ["search"]
    monkeypatch.undo()
    response = await client.get("/api/v1/registry/search?nom=martin", headers={"authorization": "Bearer prm_inconnu"})
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


async def test_the_connection_keeps_its_plan_mode_after_a_search_or_a_refusal(
    client, users, session, loaded  # noqa: ANN001, F811
) -> None:
    """The context read forces generic plans for the levels' statements; the audit INSERT (or, on
    a refusal, a reset) puts back what the connection had: nothing leaks to its next user."""
    from services.db import driver_connection

    await sign_in(client, users, session, Role.COMMISSION, department="33")
    connection = await driver_connection(session)
    before = await connection.fetchval("SELECT current_setting('plan_cache_mode')")
    for query, status in (("nom=martin", 200), ("nom=le gall&departement=2A", 403), ("nom=martin&naissance=hier", 422)):
        assert (await client.get(f"/api/v1/registry/search?{query}")).status_code == status
        assert await connection.fetchval("SELECT current_setting('plan_cache_mode')") == before


LOGGED_QUERIES = [*QUERIES, "nom=zzzz", "nom=martin&limite=1", "nom=ma&limite=50", "q=le gall yann 1980", "nom=durand&commune=33063"]


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.COMMISSION, Role.TABLET])
async def test_the_audit_row_written_with_the_read_is_the_routes(
    client, users, session, loaded, station_areas, monkeypatch, role: Role  # noqa: ANN001, F811
) -> None:
    """The fast path writes the look-up's event in the levels' statement (`run_logged_search`:
    the level reached and the count filled in by PostgreSQL): for every query, the row is the
    one the regular route writes (`record`'s, see above) byte for byte, but for its time."""
    import json

    scope = {"department": "33"} if role == Role.COMMISSION else {"station": "100019"} if role == Role.TABLET else {}
    await sign_in(client, users, session, role, **scope)
    calls = _spy(monkeypatch)
    columns = (AuditEvent.recorded_at, AuditEvent.kind, AuditEvent.actor, AuditEvent.actor_scope, AuditEvent.subjects, AuditEvent.entry)

    async def logged(query: str) -> tuple[bytes, tuple]:  # noqa: ANN202
        response = await client.get(f"/api/v1/registry/search?{query}")
        assert response.status_code == 200, response.text
        row = (await session.execute(select(*columns).where(AuditEvent.kind == events.RegistryLookup.kind).order_by(AuditEvent.id.desc()).limit(1))).one()
        return response.content, tuple(row)

    queries = [query for query in LOGGED_QUERIES if not (role == Role.COMMISSION and "departement" in query)]
    fast = [await logged(query) for query in queries]
    assert set(calls) == {"_driver_search"}

    def hand_over(request):  # noqa: ANN001, ANN202
        raise api.HandOver("test")

    monkeypatch.setattr(api, "_parameters", hand_over)
    calls.clear()
    regular = [await logged(query) for query in queries]
    assert set(calls) == {"search"}
    reached = set()
    for query, (fast_body, fast_row), (regular_body, regular_row) in zip(queries, fast, regular, strict=True):
        assert fast_body == regular_body, query
        fast_at = fast_row[0].isoformat(timespec="microseconds")
        regular_at = regular_row[0].isoformat(timespec="microseconds")
        assert fast_row[1:5] == regular_row[1:5], query
        assert fast_row[5].replace(fast_at, regular_at).encode() == regular_row[5].encode(), query
        entry = json.loads(fast_row[5])
        answer = json.loads(fast_body)
        assert entry["payload"]["results"] == len(answer["results"])
        reached.add(entry["payload"]["reached"])
        if answer["levels_searched"]:
            assert entry["payload"]["reached"] == answer["levels_searched"][-1]
    # A tablet's searches stop at its bureaux or widen (to the department, the country).
    assert {"bureau", "departement"} <= reached if role == Role.TABLET else reached
