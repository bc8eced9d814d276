"""JSON API of the registry (the station tablet, commissions' scripts, organisers)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import asyncpg

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import service as auth_service
from services.auth.service import sha256_hex
from services.auth.dependencies import Access
from services.auth.models import Account, ApiToken
from services.auth.principal import Principal
from services.auth.roles import STATION_ROLES, Role
from services.db import DbSession, driver_connection, utcnow
from services.elections import service as elections
from services.elections.models import Election
from services.errors import InvalidInput, NotFound
from services.events import AUDIT_COLUMNS
from services.settings import settings
from services.web import SESSION_COOKIE
from voter_registry import service
from voter_registry.dependencies import (
    ListsOrganiser,
    ListsReader,
    RegistrySearcher,
    SupplementaryManager,
    SupplementaryWriter,
    check_import_scope,
    department_in_scope,
)
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.models import RegistryImport, SupplementaryVoter
from voter_registry.schemas import (
    BureauCountOut,
    EligibilityOut,
    ImportDetailOut,
    ImportOut,
    RejectOut,
    SearchOut,
    SupplementaryCreate,
    SupplementaryFileOut,
    SupplementaryOut,
    VoterOut,
)
from voter_registry.models import RegistryState
from voter_registry.search import (
    STALE_CONTEXT,
    SearchHit,
    SearchResults,
    VoterQuery,
    lookup_row,
    prepare_search,
    reached_of,
    run_logged_search,
    run_search,
)
from voter_registry.service import StationArea
from voter_registry.territory_cache import territory

router = APIRouter(prefix="/api/v1/registry", tags=["listes électorales"])
MAX_UPLOAD = 50 * 1024 * 1024
# Row ids are PostgreSQL `integer`s: a larger number in a URL is a 422 for the client, not a
# driver overflow (a 500) — found by tests/test_api_fuzz.py.
MAX_ROW_ID = 2**31 - 1


async def current_election(session: AsyncSession) -> Election:
    election = await elections.current_election(session)
    if election is None:
        raise NotFound("Aucune élection n'est paramétrée.", code="no_election")
    return election


def hit_out(hit: SearchHit) -> VoterOut:
    voter = hit.voter
    return VoterOut(
        ref=voter.ref,
        source=voter.source.value,
        level=hit.level.value,
        full_detail=hit.full_detail,
        score=hit.score,
        birth_name=voter.birth_name,
        usage_name=voter.usage_name,
        given_names=voter.given_names,
        sex=voter.sex,
        birth_date=voter.birth_date,
        birth_place=voter.birth_place,
        nationality=voter.nationality,
        address=voter.address,
        department_code=voter.department_code,
        commune_code=voter.commune_code,
        commune_name=voter.commune_name,
        bureau_code=voter.bureau_code,
        bureau_label=voter.bureau_label,
        lists=list(voter.lists),
        order_number=voter.order_number,
        eligibility=EligibilityOut(
            status=hit.eligibility.status.value, label=hit.eligibility.status.label, reasons=list(hit.eligibility.reasons)
        ),
    )


def results_out(results: SearchResults) -> SearchOut:
    return SearchOut(
        results=[hit_out(hit) for hit in results.hits],
        levels_searched=[level.value for level in results.levels_searched],
        truncated=results.truncated,
        notes=results.notes,
    )


def supplementary_out(registration: SupplementaryVoter) -> SupplementaryOut:
    return SupplementaryOut(
        ref=f"S-{registration.department_code}-{registration.id}",
        kind=registration.kind,
        category=registration.category,
        department_code=registration.department_code,
        commune_code=registration.commune_code,
        bureau_code=registration.bureau_code,
        birth_name=registration.birth_name,
        usage_name=registration.usage_name,
        given_names=registration.given_names,
        birth_date=service.supplementary_birth_date(registration),
        registered_on=registration.registered_on,
        party=registration.party,
        proof_date=registration.proof_date,
    )


def search_query(nom: str, prenoms: str, naissance: str, commune: str, q: str) -> VoterQuery:
    """The separate fields, or the free search box « nom prénoms année » (with a commune)."""
    query = VoterQuery.from_text(q) if q.strip() and not nom.strip() else VoterQuery(nom, prenoms, naissance, commune)
    if q.strip() and not nom.strip() and commune:
        query = VoterQuery(query.name, query.given_names, query.birth, commune)
    return query


@router.get("/search", response_model=SearchOut, summary="Rechercher un électeur (périmètre selon le rôle ; journalisé)")
async def search(
    session: DbSession,
    who: RegistrySearcher,
    nom: Annotated[str, Query(max_length=200, description="Nom de naissance ou d'usage, ou son début")] = "",
    prenoms: Annotated[str, Query(max_length=200, description="Prénoms, dans n'importe quel ordre")] = "",
    naissance: Annotated[str, Query(max_length=20, description="jj/mm/aaaa, mm/aaaa ou aaaa")] = "",
    commune: Annotated[str, Query(max_length=100, description="Commune d'inscription : code INSEE ou nom")] = "",
    q: Annotated[str, Query(max_length=300, description="Recherche libre : « nom prénoms année »")] = "",
    departement: Annotated[str | None, Query(max_length=3, description="Département où commencer (national)")] = None,
    elargir: Annotated[Literal["auto", "tout"], Query(description="auto : s'arrêter au premier niveau trouvé")] = "auto",
    limite: Annotated[int, Query(ge=1, le=50)] = 20,
) -> SearchOut:
    query = search_query(nom, prenoms, naissance, commune, q)
    scope = await service.scope_for(session, who, departement)
    results = await service.search_voters(
        session,
        who.actor,
        query,
        scope,
        election=await current_election(session),
        widen="all" if elargir == "tout" else "auto",
        limit=limite,
        channel="api",
    )
    return results_out(results)


@router.get("/bureaux", response_model=list[BureauCountOut], summary="Électeurs inscrits par bureau de vote de la liste")
async def bureaux(
    session: DbSession, who: ListsReader, departement: Annotated[str | None, Query(max_length=3)] = None
) -> list[BureauCountOut]:
    department = department_in_scope(who, departement)
    return [BureauCountOut(**count.__dict__) for count in await service.bureau_counts(session, department)]


@router.get("/imports", response_model=list[ImportOut], summary="Rapports d'import des extraits communaux")
async def imports(
    session: DbSession,
    who: ListsReader,
    departement: Annotated[str | None, Query(max_length=3)] = None,
    limite: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RegistryImport]:
    return await service.recent_imports(session, department_in_scope(who, departement), limite)


@router.get("/imports/{import_id}", response_model=ImportDetailOut, summary="Rapport d'import d'une commune et ses rejets")
async def import_report(
    import_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Numéro du rapport d'import")],
    session: DbSession,
    who: ListsReader,
) -> ImportDetailOut:
    check_import_scope(who, await session.get(RegistryImport, import_id))
    report, rejects = await service.import_detail(session, import_id)
    out = ImportDetailOut.model_validate(report)
    out.rejects = [RejectOut(line=r.line, column=r.column, reason=r.reason) for r in rejects]
    return out


@router.post("/imports", response_model=ImportOut, status_code=201, summary="Importer l'extrait REU d'une commune (CSV)")
async def upload_extract(session: DbSession, who: ListsOrganiser, fichier: Annotated[UploadFile, File()]) -> RegistryImport:
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("Fichier trop volumineux pour l'envoi en ligne : utilisez « primaires registry import ».", code="too_large")
    report = await import_commune_file(
        session, who.actor, await current_election(session), bytes_file(fichier.filename or "extrait.csv", data)
    )
    if report.import_id is None:
        raise NotFound("Rapport d'import introuvable.", code="import_not_found")
    return await session.get(RegistryImport, report.import_id)  # type: ignore[return-value]


@router.get("/supplementary", response_model=list[SupplementaryOut], summary="Inscriptions complémentaires")
async def list_supplementary(
    session: DbSession, who: ListsReader, departement: Annotated[str | None, Query(max_length=3)] = None
) -> list[SupplementaryOut]:
    registrations = await service.list_supplementary(
        session, await current_election(session), department_in_scope(who, departement)
    )
    return [supplementary_out(registration) for registration in registrations]


@router.post("/supplementary", response_model=SupplementaryOut, status_code=201, summary="Inscrire un adhérent ou un électeur muni d'une attestation")
async def add_supplementary(spec: SupplementaryCreate, session: DbSession, who: SupplementaryWriter) -> SupplementaryOut:
    scope = await service.scope_for(session, who)
    registration = await service.register_supplementary(session, who.actor, await current_election(session), spec, scope=scope)
    return supplementary_out(registration)


class CancelSpec(BaseModel):
    reason: str = Field(min_length=3, max_length=300)


@router.post("/supplementary/{ref}/cancel", status_code=204, summary="Annuler une inscription complémentaire")
async def cancel_supplementary(ref: str, spec: CancelSpec, session: DbSession, who: SupplementaryManager) -> Response:
    await service.cancel_supplementary(session, who.actor, ref, spec.reason, scope=await service.scope_for(session, who))
    return Response(status_code=204)


@router.post("/supplementary/file", response_model=SupplementaryFileOut, summary="Importer le fichier des adhérents d'un parti")
async def import_members(session: DbSession, who: ListsOrganiser, fichier: Annotated[UploadFile, File()]) -> SupplementaryFileOut:
    data = await fichier.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("Fichier trop volumineux.", code="too_large")
    report = await service.import_members_file(
        session, who.actor, await current_election(session), fichier.filename or "adherents.csv", data
    )
    return SupplementaryFileOut(
        lines=report.lines,
        registered=report.registered,
        already_registered=report.already_registered,
        rejected=len(report.rejects),
        rejects=[RejectOut(line=line, column=column, reason=reason) for line, column, reason in report.rejects],
    )


# --- The search without FastAPI's machinery (`services.app.FastPaths`) ------------------------------
#
# The tablets' peak: 200 searches per second on a 10 M-voter registry (bench/registry_search.py).
# FastAPI's dependency solving, pydantic's models of the answer and the ORM cost several times
# the search itself; this path does the same with the same rule, the same service and the same
# bytes (tests/voter_registry/test_search_fast.py), and hands anything unusual to the route.

_SEARCHER_RULE: Access = RegistrySearcher.__metadata__[0].dependency
# The route's query parameters and their maximum lengths (as its `Query(max_length=...)`).
_TEXT_PARAMETERS = {"nom": 200, "prenoms": 200, "naissance": 20, "commune": 100, "q": 300}


class HandOver(Exception):  # noqa: N818 - not an error: the regular route answers
    """A request the fast path leaves to the regular route (which validates and answers it)."""


@dataclass(frozen=True)
class ElectionDates:
    """What a search needs of the current election (its id and dates, as `Election`'s)."""

    id: int
    majority_date: date | None
    list_extraction_date: date | None
    supplementary_deadline: date | None


# `services.elections.service.current_election` (the configured slug, else the latest) and the
# election of the loaded lists, in one statement.
#
# It also sets, for this transaction only (it holds nothing but the search), PostgreSQL's
# `plan_cache_mode` to reuse the generic plan of the search's prepared statements: planning
# a level's query (four range branches, five indexes on `voter`) cost more CPU than running it
# — per search on the 10 M bench, ≈ 1.85 ms of PostgreSQL CPU with a plan per execution,
# ≈ 1.3 ms with the generic plan, the same rows (the plans are the same index-only scans:
# nothing in the values changes which index fits).
_ELECTION_COLUMNS = "e.id, e.majority_date, e.list_extraction_date, e.supplementary_deadline"
_REGISTRY = (
    f"(SELECT election_id FROM {RegistryState.__tablename__} WHERE id = 1) AS registry_election, "
    "set_config('plan_cache_mode', 'force_generic_plan', true) AS plan_cache_mode"
)
_CURRENT_ELECTION = f"SELECT {_ELECTION_COLUMNS}, {_REGISTRY} FROM election AS e ORDER BY e.id DESC LIMIT 1"
_NAMED_ELECTION = f"SELECT {_ELECTION_COLUMNS}, {_REGISTRY} FROM election AS e WHERE e.slug = $1 ORDER BY e.id DESC LIMIT 1"


def _parameters(request: Request) -> dict[str, Any]:
    """The route's parameters when they are plainly valid; anything else is the route's to judge."""
    query = request.query_params
    values: dict[str, Any] = {}
    for name, longest in _TEXT_PARAMETERS.items():
        value = query.get(name, "")
        if len(value) > longest:
            raise HandOver(name)
        values[name] = value
    department = query.get("departement")
    if department is not None and len(department) > 3:
        raise HandOver("departement")
    values["departement"] = department
    widen = query.get("elargir", "auto")
    if widen not in ("auto", "tout"):
        raise HandOver("elargir")
    values["elargir"] = widen
    limit = query.get("limite", "20")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 50):
        raise HandOver("limite")
    values["limite"] = int(limit)
    return values


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    """`hit_out` as plain JSON values, in `VoterOut`'s field order."""
    voter = hit.voter
    return {
        "ref": voter.ref,
        "source": voter.source.value,
        "level": hit.level.value,
        "full_detail": hit.full_detail,
        "score": hit.score,
        "birth_name": voter.birth_name,
        "usage_name": voter.usage_name,
        "given_names": voter.given_names,
        "sex": voter.sex,
        "birth_date": voter.birth_date,
        "birth_place": voter.birth_place,
        "nationality": voter.nationality,
        "address": voter.address,
        "department_code": voter.department_code,
        "commune_code": voter.commune_code,
        "commune_name": voter.commune_name,
        "bureau_code": voter.bureau_code,
        "bureau_label": voter.bureau_label,
        "lists": list(voter.lists),
        "order_number": voter.order_number,
        "eligibility": {
            "status": hit.eligibility.status.value,
            "label": hit.eligibility.status.label,
            "reasons": list(hit.eligibility.reasons),
        },
    }


def search_json(results: SearchResults) -> bytes:
    """`results_out(results)` as FastAPI writes it (pydantic's compact JSON, UTF-8 unescaped)."""
    return json.dumps(
        {
            "results": [_hit_json(hit) for hit in results.hits],
            "levels_searched": [level.value for level in results.levels_searched],
            "truncated": results.truncated,
            "notes": list(results.notes),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


# --- The session-less path: three round trips, no transaction -------------------------------------
#
# 1. who is asking (browser or tablet session, or API token), their station's area, the current
#    election and the election of the loaded lists: ONE read (`_context_sql`);
# 2. each level's read (`search.run_search`: usually one, the station's bureaux);
# 3. the look-up's audit event: ONE self-contained INSERT, sent in autocommit (atomic on its own).
# No BEGIN/COMMIT, no session. Whatever raises before the INSERT, nothing was written, and the
# regular route answers (the refusal in French, with nothing recorded).
#
# PostgreSQL's `plan_cache_mode`: the levels' statements run on their generic plan (planning a
# level's query — four range branches, five indexes on `voter` — cost more CPU than running it:
# ≈ 1.85 ms of PostgreSQL CPU per search on the 10 M bench with a plan per execution, ≈ 1.3 ms with
# the generic plan, the same rows: nothing in the values changes which index fits). The driver
# connections of the fast paths force it while they hold them, and reset it when they give them
# back (`services.db.pooled_driver_connection`; the tests' `services.app.session_driver_connections`).

_SESSION_PRINCIPAL = 1
_TOKEN_PRINCIPAL = 2


def _election_join(slug: bool, parameter: int) -> str:
    where = f"WHERE e.slug = ${parameter} " if slug else ""
    return (
        "LEFT JOIN LATERAL (SELECT e.id AS e_id, e.majority_date AS e_majority_date, "
        "e.list_extraction_date AS e_list_extraction_date, e.supplementary_deadline AS e_supplementary_deadline "
        f"FROM election AS e {where}ORDER BY e.id DESC LIMIT 1) AS e ON true"
    )


@lru_cache(maxsize=8)
def _context_sql(principal_kind: int, slug: bool, area_sql: str | None) -> str:
    """The context read of `_driver_search` ($1: the session's or token's SHA-256; $2: the
    configured election's slug, when there is one). At most one row (tokens are unique).
    `fingerprint`: the md5 of the whole context row, what the cached path re-checks."""
    return (
        "SELECT context.*, md5(CAST(context AS text)) AS fingerprint "
        f"FROM ({_context_core_sql(principal_kind, slug, area_sql)}) AS context"
    )


@lru_cache(maxsize=8)
def _context_guard_sql(principal_kind: int, slug: bool, area_sql: str | None) -> str:
    """The cached context re-checked inside the levels' statement (:named, a condition): the
    same row read again in the same snapshot has the fingerprint the cache was filled with —
    no revocation, sign-out, deactivation, tablet revoked, role, station, area, election or
    registry election changed since."""
    core = re.sub(r"\$(\d+)", r":context_p\1", _context_core_sql(principal_kind, slug, area_sql))
    return f"EXISTS (SELECT 1 FROM ({core}) AS context WHERE md5(CAST(context AS text)) = CAST(:context_fingerprint AS text))"


@lru_cache(maxsize=8)
def _context_core_sql(principal_kind: int, slug: bool, area_sql: str | None) -> str:
    """The columns of the context read (see `_context_sql`)."""
    if principal_kind == _SESSION_PRINCIPAL:
        # `services.auth.service`'s own statement: the columns `principal_from_session_row` reads.
        who = f"({auth_service._session_sql()}) AS who"  # noqa: SLF001
        station = "coalesce(who.station_code, who.tablet_station_code)"
        columns = "who.*"
    else:
        # `principal_from_api_token`'s read: the token and its account.
        who = (
            f"(SELECT t.revoked_at, a.id AS account_row, a.active, a.role, a.display_name, a.department_code, "
            f"a.station_code FROM {ApiToken.__tablename__} AS t JOIN {Account.__tablename__} AS a "
            f"ON a.id = t.account_id WHERE t.token_sha256 = $1) AS who"
        )
        station = "who.station_code"
        columns = "who.*"
    area = (
        f"ARRAY(SELECT ROW(area.department_code, area.commune_code, area.bureau_code) "
        f"FROM ({area_sql.format(station=station)}) AS area)"
        if area_sql
        else "NULL::record[]"
    )
    return (
        f"SELECT {columns}, e.*, {area} AS area, "
        f"(SELECT election_id FROM {RegistryState.__tablename__} WHERE id = 1) AS registry_election "
        f"FROM {who} {_election_join(slug, 2)}"
    )


# The look-up's audit row (`search.lookup_row`, byte for byte `record`'s).
_LOG_LOOKUP = f"INSERT INTO audit_event ({', '.join(AUDIT_COLUMNS)}) SELECT $1, $2, $3, $4, CAST($5::text AS jsonb), $6"


def _token_principal(row) -> Principal | None:  # noqa: ANN001 - a record of `_context_sql`
    """`principal_from_api_token` on the row read (None: unknown, revoked, account deactivated)."""
    if row is None or row["revoked_at"] is not None or not row["active"]:
        return None
    return auth_service.principal_of_account_row(row, via="token", session_token=None)


@dataclass(frozen=True, slots=True)
class _CachedSearcher:
    """What `_driver_search`'s context read gave for a session or token, as of `fingerprint`
    (re-checked by the levels' statement itself: `_context_guard_sql`)."""

    fingerprint: str
    principal: Principal
    area: StationArea | None
    election: ElectionDates
    registry_election: int | None
    expires_at: datetime | None  # a session's (checked at every use); None: a token


# Per process, by (kind, SHA-256 of the session cookie or token): at most one entry per
# signed-in searcher of the country.
_SEARCHERS: dict[tuple[int, str], _CachedSearcher] = {}
_SEARCHERS_MAX = 50_000


def forget_cached_searchers() -> None:
    _SEARCHERS.clear()


async def _cached_search(
    request: Request, connection: asyncpg.Connection, values: dict[str, Any], query: VoterQuery, world: Any,
    kind: int, secret_hash: str, slug: str | None, area_sql: str | None,
) -> Response | None:
    """The search in ONE statement from the cached context: the route's access rule (CSRF
    included) applied to the cached principal, then the levels, the audit row and the context's
    re-check together. None: not cached, expired, not applicable, or the context changed (the
    statement wrote nothing; the entry is dropped): the caller reads the context again."""
    key = (kind, secret_hash)
    cached = _SEARCHERS.get(key)
    if cached is None:
        return None
    if cached.expires_at is not None and cached.expires_at <= utcnow():
        _SEARCHERS.pop(key, None)
        return None
    principal = await _SEARCHER_RULE.authorize(request, cached.principal)
    if principal is None:
        raise HandOver("refused")
    scope = service.scope_of(principal, cached.area, values["departement"])
    prepared = prepare_search(query, scope, world)
    guard_parameters = {"context_p1": secret_hash, "context_fingerprint": cached.fingerprint}
    if slug:
        guard_parameters["context_p2"] = slug
    results = await run_logged_search(
        connection,
        prepared,
        principal.actor,
        election=cached.election,  # type: ignore[arg-type]
        limit=values["limite"],
        registry_election=cached.registry_election,
        fields=query.fields(),
        channel="api",
        guard=(_context_guard_sql(kind, bool(slug), area_sql), guard_parameters),
    )
    if results is STALE_CONTEXT:
        _SEARCHERS.pop(key, None)
        return None
    if results is None:
        return None
    return Response(search_json(results), media_type="application/json")  # type: ignore[arg-type]


async def _driver_search(request: Request, connection: asyncpg.Connection) -> Response:
    """`search` without FastAPI's machinery nor a session (`services.app.FastPaths`, driver fast
    path): the same access rule (the very object the route depends on, applied to the principal
    read with the context), the same parameters, scope, service and answer, the same audit row.
    Any refusal raises, and the regular route then answers it (in French, nothing recorded)."""
    try:
        # The territory is read once per process, by the regular route: until then (a session
        # is needed to read it) the regular route answers.
        world = await territory(None)  # type: ignore[arg-type] - answered from the process cache
    except AttributeError:
        raise HandOver("territory") from None
    values = _parameters(request)
    query = search_query(values["nom"], values["prenoms"], values["naissance"], values["commune"], values["q"])
    authorization = request.headers.get("authorization", "")
    slug = settings().election
    if authorization:
        if not authorization.lower().startswith("bearer "):
            raise HandOver("authorization")
        kind, secret = _TOKEN_PRINCIPAL, authorization[7:].strip()
    elif token := request.cookies.get(SESSION_COOKIE):
        kind, secret = _SESSION_PRINCIPAL, token
    else:
        raise HandOver("anonymous")
    area_sql = service.station_area_sql()
    secret_hash = sha256_hex(secret)
    if values["elargir"] == "auto":
        answer = await _cached_search(request, connection, values, query, world, kind, secret_hash, slug, area_sql)
        if answer is not None:
            return answer
    arguments = (secret_hash, slug) if slug else (secret_hash,)
    row = await connection.fetchrow(_context_sql(kind, bool(slug), area_sql), *arguments)
    if row is None:
        raise HandOver("unknown")
    signed_in = (
        auth_service.principal_from_session_row(row, secret) if kind == _SESSION_PRINCIPAL else _token_principal(row)
    )
    principal = await _SEARCHER_RULE.authorize(request, signed_in)
    if principal is None or row["e_id"] is None:
        raise HandOver("no_election")
    area = None
    if principal.role in STATION_ROLES:
        if area_sql is None:
            raise HandOver("area")  # read through the resolver by the regular route
        bureaux = row["area"] or ()
        area = StationArea(principal.station_code or "", bureaux[0][0], tuple((b[1], b[2]) for b in bureaux)) if bureaux else None
    scope = service.scope_of(principal, area, values["departement"])
    prepared = prepare_search(query, scope, world)
    registry_election = row["registry_election"]
    election = ElectionDates(row["e_id"], row["e_majority_date"], row["e_list_extraction_date"], row["e_supplementary_deadline"])
    if len(_SEARCHERS) >= _SEARCHERS_MAX:
        _SEARCHERS.clear()
    _SEARCHERS[(kind, secret_hash)] = _CachedSearcher(
        row["fingerprint"], signed_in, area, election, registry_election,
        row["expires_at"] if kind == _SESSION_PRINCIPAL else None,
    )
    results = None
    if values["elargir"] == "auto":
        # The levels' read and the look-up's audit row in one statement: two round trips per
        # search instead of three.
        results = await run_logged_search(
            connection,
            prepared,
            principal.actor,
            election=election,  # type: ignore[arg-type]
            limit=values["limite"],
            registry_election=registry_election,
            fields=query.fields(),
            channel="api",
        )
    if results is None:
        results = await run_search(
            connection,
            prepared,
            election=election,  # type: ignore[arg-type]
            widen="all" if values["elargir"] == "tout" else "auto",
            limit=values["limite"],
            registry_election=registry_election,
        )
        event = lookup_row(
            principal.actor,
            election_id=registry_election,
            scope=scope,
            reached=reached_of(results, scope),
            fields=query.fields(),
            results=len(results.hits),
            channel="api",
        )
        await connection.execute(_LOG_LOOKUP, *event)
    body = search_json(results)
    return Response(body, media_type="application/json")


search.driver_fast_path = _driver_search  # type: ignore[attr-defined]
