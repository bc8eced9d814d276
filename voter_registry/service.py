"""The registry's services: what the pages, the API, the CLI and the polling package call.

For the polling package (station tablet, planner, check-in), the stable entry points are:

- `search_voters(session, actor, query, scope, election=..., channel=...)` — find a voter
  from a station: build the scope with `station_scope(area)` or `scope_for(session, principal)`;
  every call is logged in the transparency log (without what was typed);
- `bureau_counts(session, department=None)` — registered voters per polling place (bureau),
  with commune, label and canton, for the station planner;
- `voter_identity(record)` / `identity_for(...)` — the voter's stable identity (32 bytes):
  unchanged across re-imports of newer extracts, the input of the one-vote-per-round HMAC;
- `evaluate_eligibility(session, record, election)` — may this person vote, and why not
  (French reasons);
- `get_voter(session, ref)` — re-read a voter found by a search (by its `ref`);
- `register_station_area_resolver(resolver)` — polling tells the registry which polling
  places (commune, bureau) each station covers, so that station staff search their area.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, String, and_, bindparam, delete, func, literal, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.principal import Principal
from services.auth.roles import STATION_ROLES, Role
from services.db import note_write
from services.elections import service as elections
from services.elections.models import Election, Phase
from services.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, WrongPhase
from services.events import Actor, record
from voter_registry import events
from voter_registry.eligibility import Eligibility, Person, Rules, Source, Status, birthday, evaluate
from voter_registry.errors import OutOfScope
from voter_registry.models import (
    RegistryBureau,
    RegistryCommune,
    RegistryImport,
    RegistryReject,
    RegistryState,
    SupplementaryKind,
    SupplementaryVoter,
    Voter,
)
from voter_registry.normalize import (
    birth_place_identity,
    fold,
    given_names_key,
    identity_digest,
    identity_string,
    name_key,
)
from voter_registry.reu import BIRTH_PARTICLES, LIST_LABELS, USAGE_PARTICLES, format_birth_date, parse_birth_date
from voter_registry.schemas import MemberCategory, ProofKind, SupplementaryCreate
from voter_registry.search import (
    Level,
    SearchHit,
    SearchResults,
    SearchScope,
    VoterQuery,
    VoterRecord,
    _record,
    eligibility_of,
    registry_election_id,
    rules_of,
    search_voters,
)
from voter_registry.territory_cache import territory

__all__ = [
    "BureauCount",
    "Level",
    "SearchHit",
    "SearchResults",
    "SearchScope",
    "StationArea",
    "VoterQuery",
    "VoterRecord",
    "bureau_counts",
    "evaluate_eligibility",
    "get_voter",
    "identity_for",
    "register_station_area_resolver",
    "scope_for",
    "scope_of",
    "search_voters",
    "station_scope",
    "voter_identity",
]

PARIS = ZoneInfo("Europe/Paris")


def today_in(election: Election | None) -> date:
    zone = ZoneInfo(election.timezone) if election is not None and election.timezone else PARIS
    return datetime.now(zone).date()


# --- Station areas (registered by the polling package) ------------------------------------------


@dataclass(frozen=True)
class StationArea:
    """The polling places (bureaux of the lists) a primary station covers."""

    station_code: str
    department_code: str
    bureaux: tuple[tuple[str, str], ...]  # (commune INSEE code, bureau code)


StationAreaResolver = Callable[[AsyncSession, str], Awaitable[StationArea | None]]
_station_area_resolver: list[StationAreaResolver] = []


def register_station_area_resolver(resolver: StationAreaResolver) -> None:
    """Polling registers how to find a station's area from its code (composition root)."""
    _station_area_resolver[:] = [resolver]


def station_area_sql() -> str | None:
    """The registered resolver's area as SQL, for hot paths that read it within their own
    statement (`api._driver_search`): the resolver's `area_sql` attribute, a SELECT of the
    (department_code, commune_code, bureau_code) rows of the station whose code is the SQL
    expression put in place of `{station}` — the same area the resolver returns (the station's
    department on every row). None: the resolver has none (the search then reads it through
    the resolver, on the regular route)."""
    return getattr(_station_area_resolver[0], "area_sql", None) if _station_area_resolver else None


async def station_area(session: AsyncSession, station_code: str) -> StationArea | None:
    if not _station_area_resolver:
        return None
    return await _station_area_resolver[0](session, station_code)


def station_scope(area: StationArea) -> SearchScope:
    """The search scope of a station: its bureaux, then its department, then the country
    (outside its bureaux, results only say who and where to vote)."""
    return SearchScope(
        area=tuple(sorted(set(area.bureaux))),
        department=area.department_code,
        national=True,
        full_detail_outside_area=False,
        national_needs_detail=True,
    )


async def scope_for(session: AsyncSession, principal: Principal, department: str | None = None) -> SearchScope:
    """Where `principal` may search: station staff their station's area (then wider, reduced),
    a commission its department, organisers and the high authority the whole country (starting
    with `department` when given). Observers and the public never search the registry."""
    area = await station_area(session, principal.station_code or "") if principal.role in STATION_ROLES else None
    return scope_of(principal, area, department)


def scope_of(principal: Principal, area: StationArea | None, department: str | None = None) -> SearchScope:
    """`scope_for` once the station's area is read (`area`: None for other roles)."""
    if principal.role in STATION_ROLES:
        if area is None or not area.bureaux:
            raise Conflict(
                f"Le bureau de vote « {principal.station_code} » n'est encore rattaché à aucun bureau de la liste "
                "électorale : la commission départementale doit d'abord l'affecter.",
                code="station_without_area",
            )
        return station_scope(area)
    if principal.role == Role.COMMISSION:
        if department and department != principal.department_code:
            raise OutOfScope(f"Vous n'avez pas accès au département « {department} ».")
        return SearchScope(department=principal.department_code, national=False)
    if principal.role in (Role.ORGANISER, Role.AUTHORITY):
        return SearchScope(department=department or None, national=True)
    raise Forbidden("Votre rôle ne donne pas accès aux listes électorales.", code="registry_forbidden")


# --- Identity and eligibility ------------------------------------------------------------------


def voter_identity(voter: VoterRecord) -> bytes:
    """The voter's stable identity: 32 bytes, the same for an unchanged person across extracts.

    Polling derives the one-vote-per-round token from it: HMAC(election secret, identity).
    """
    return voter.identity


def identity_for(
    birth_name: str,
    given_names: str,
    birth_date: str,
    *,
    birth_commune_code: str = "",
    birth_department_code: str = "",
    birth_country: str = "",
    birth_commune: str = "",
) -> bytes:
    """The identity of a person described by its REU fields (birth date « jj/mm/aaaa », 00 allowed)."""
    parsed = parse_birth_date(birth_date, 9999)
    if isinstance(parsed, str):
        raise InvalidInput(parsed, code="bad_birth_date")
    year, month, day = parsed
    place = birth_place_identity(birth_commune_code, birth_department_code, birth_country, birth_commune)
    return identity_digest(identity_string(birth_name, given_names, year, month, day, place))


async def evaluate_eligibility(session: AsyncSession, voter: VoterRecord, election: Election) -> Eligibility:
    """May `voter` vote in `election`? Status and French reasons (see `voter_registry.eligibility`)."""
    return eligibility_of(voter, election, await registry_election_id(session))


_REF = re.compile(r"^([LS])-([0-9][0-9AB0-9]{1,2})-(\d{1,18})$")


@cache
def _voter_statement(kind: str):  # noqa: ANN202 - a SQLAlchemy Select, built once per kind
    """The re-read of one voter (L: the lists' copy; S: a supplementary registration), with
    bound parameters: the tablet check-in re-reads the voter at each of its 200 check-ins per
    second, and building (and keying) this SELECT each time cost more than running it."""
    if kind == "L":
        table = Voter
        columns = [
            literal("L").label("source"),
            Voter.lists,
            Voter.order_number,
            literal("").label("category"),
            literal("").label("party"),
            literal_column("NULL::date").label("registered_on"),
            literal_column("NULL::date").label("proof_date"),
        ]
    else:
        table = SupplementaryVoter
        columns = [
            SupplementaryVoter.kind.label("source"),
            literal(0).label("lists"),
            literal(0).label("order_number"),
            SupplementaryVoter.category,
            SupplementaryVoter.party,
            SupplementaryVoter.registered_on,
            SupplementaryVoter.proof_date,
        ]
    return (
        select(
            table.department_code,
            table.id,
            table.commune_code,
            table.bureau_code,
            table.birth_name,
            table.usage_name,
            table.given_names,
            table.sex,
            table.birth_year,
            table.birth_month,
            table.birth_day,
            table.birth_commune,
            table.birth_country,
            table.birth_department_code,
            table.nationality,
            table.address,
            table.identity_hash,
            # The bureau's label by its whole key, as a scalar subquery: a join let the planner,
            # before the lists' statistics exist (an import not yet analysed), look the label up
            # by the department alone and filter the department's bureaux one by one (314 rows
            # for Gironde, twice the CPU of the whole read).
            select(RegistryBureau.label)
            .where(
                RegistryBureau.department_code == table.department_code,
                RegistryBureau.commune_code == table.commune_code,
                RegistryBureau.bureau_code == table.bureau_code,
            )
            .scalar_subquery()
            .label("bureau_label"),
            *columns,
        )
        .where(
            table.department_code == bindparam("department", type_=String),
            table.id == bindparam("row_id", type_=BigInteger),
        )
    )


async def get_voter(session: AsyncSession, ref: str) -> VoterRecord | None:
    """Re-read a voter by the `ref` a search returned (« L-33-1234 », « S-33-12 »); None if gone."""
    match = _REF.match(ref.strip().upper())
    if match is None:
        return None
    kind, department, row_id = match[1], match[2], int(match[3])
    world = await territory(session)
    connection = await session.connection()  # plain columns: no ORM machinery needed
    row = (await connection.execute(_voter_statement(kind), {"department": department, "row_id": row_id})).first()
    if row is None:
        return None
    return _record(row, {row.commune_code: world.communes[row.commune_code].name} if row.commune_code in world.communes else {})


# --- Counts per polling place (for the station planner) ----------------------------------------


@dataclass(frozen=True)
class BureauCount:
    department_code: str
    commune_code: str
    commune_name: str
    bureau_code: str
    bureau_label: str
    canton_code: str | None
    canton_name: str
    voters: int  # on the lists (REU copy)
    supplementary: int  # supplementary registrations of the registry's election
    total: int


async def bureau_counts(session: AsyncSession, department: str | None = None) -> list[BureauCount]:
    """Registered voters per polling place, with its commune, label and canton.

    The station planner (polling) groups bureaux into stations of at most 5,000 registered
    voters and at least one per canton. Counts are maintained at import (one row per bureau).
    """
    world = await territory(session)
    election_id = await registry_election_id(session)
    supplementary = (
        select(
            SupplementaryVoter.department_code,
            SupplementaryVoter.commune_code,
            SupplementaryVoter.bureau_code,
            func.count().label("count"),
        )
        .where(SupplementaryVoter.election_id == (election_id or 0))
        .group_by(SupplementaryVoter.department_code, SupplementaryVoter.commune_code, SupplementaryVoter.bureau_code)
    )
    if department:
        supplementary = supplementary.where(SupplementaryVoter.department_code == department)
    extra = {(r.department_code, r.commune_code, r.bureau_code): r.count for r in await session.execute(supplementary)}
    bureaux = select(RegistryBureau).order_by(
        RegistryBureau.department_code, RegistryBureau.commune_code, RegistryBureau.bureau_code
    )
    if department:
        bureaux = bureaux.where(RegistryBureau.department_code == department)
    result = []
    for bureau in await session.scalars(bureaux):
        key = (bureau.department_code, bureau.commune_code, bureau.bureau_code)
        more = extra.pop(key, 0)
        commune = world.communes.get(bureau.commune_code)
        result.append(
            BureauCount(
                department_code=bureau.department_code,
                commune_code=bureau.commune_code,
                commune_name=commune.name if commune else bureau.commune_code,
                bureau_code=bureau.bureau_code,
                bureau_label=bureau.label,
                canton_code=bureau.canton_code,
                canton_name=world.cantons.get(bureau.canton_code or "", ("", ""))[1],
                voters=bureau.voters,
                supplementary=more,
                total=bureau.voters + more,
            )
        )
    return result


# --- Supplementary registrations ---------------------------------------------------------------


def _check_scope(scope: SearchScope | None, department_code: str, commune_code: str, bureau_code: str, kind: str) -> None:
    if scope is None:
        return
    if scope.area:
        if kind != SupplementaryKind.ATTESTATION:
            raise OutOfScope("Un bureau de vote n'enregistre que les électeurs munis d'une attestation d'inscription.")
        if (commune_code, bureau_code) not in set(scope.area):
            raise OutOfScope(
                f"Le bureau {bureau_code} de la commune {commune_code} n'est pas rattaché à votre bureau de vote : "
                "indiquez à l'électeur le bureau où voter."
            )
    elif scope.department and not scope.national and department_code != scope.department:
        raise OutOfScope(f"La commune {commune_code} n'est pas dans votre département ({scope.department}).")


async def register_supplementary(
    session: AsyncSession,
    actor: Actor,
    election: Election,
    spec: SupplementaryCreate,
    *,
    scope: SearchScope | None = None,
    today: date | None = None,
) -> SupplementaryVoter:
    """Register a party member (16–17 or foreign) or a voter with an attestation, for `election`."""
    today = today or today_in(election)
    world = await territory(session)
    commune = world.communes.get(spec.commune_code.upper())
    if commune is None:
        raise InvalidInput(f"Commune « {spec.commune_code} » inconnue du référentiel.", code="unknown_commune")
    department_code = commune.department_code
    _check_scope(scope, department_code, commune.code, spec.bureau_code, spec.kind)
    parsed = parse_birth_date(spec.birth_date, today.year)
    if isinstance(parsed, str):
        raise InvalidInput(parsed, code="bad_birth_date")
    year, month, day = parsed
    birth = name_key(spec.birth_name)
    if not birth.key:
        raise InvalidInput("Nom de naissance sans aucune lettre.", code="bad_name")
    usage = name_key(spec.usage_name) if spec.usage_name else None
    rules = rules_of(election)
    if spec.kind == SupplementaryKind.MEMBER:
        try:
            category = MemberCategory(spec.category)
        except ValueError:
            raise InvalidInput(
                "Catégorie d'adhérent inconnue : « minor » (16 ou 17 ans) ou « foreign » (nationalité étrangère).",
                code="bad_category",
            ) from None
        if election.supplementary_deadline and today > election.supplementary_deadline:
            raise WrongPhase(
                f"La date limite des inscriptions complémentaires des adhérents ({election.supplementary_deadline:%d/%m/%Y}) "
                "est passée.",
                code="deadline_passed",
            )
        if category == MemberCategory.MINOR and rules.majority_date:
            earliest_day = day or 1
            earliest_month = month or 1
            if birthday(year, earliest_month, earliest_day, rules.voter_min_age) <= rules.majority_date:
                raise InvalidInput(
                    f"Cet adhérent aura {rules.voter_min_age} ans au {rules.majority_date:%d/%m/%Y} : il vote comme tout "
                    "électeur inscrit sur les listes (ou avec une attestation d'inscription), pas comme adhérent mineur.",
                    code="not_a_minor",
                )
        if category == MemberCategory.FOREIGN and " ".join(fold(spec.nationality)) in ("francaise", "francais", "france"):
            raise InvalidInput(
                "Un adhérent de nationalité française ne relève pas de la catégorie « étranger ».", code="bad_category"
            )
        category_value = category.value
        source = Source.MEMBER
    else:
        try:
            proof = ProofKind(spec.category)
        except ValueError:
            raise InvalidInput(
                "Justificatif inconnu : mairie, service_public, tribunal ou autre.", code="bad_proof"
            ) from None
        if spec.proof_date is None:
            raise InvalidInput("Indiquez la date de l'attestation d'inscription.", code="missing_proof_date")
        if spec.proof_date > today:
            raise InvalidInput("La date de l'attestation ne peut pas être dans le futur.", code="bad_proof_date")
        category_value = proof.value
        source = Source.ATTESTATION
    verdict = evaluate(Person(source, year, month, day, today, spec.proof_date), rules)
    if verdict.status == Status.INELIGIBLE:
        raise InvalidInput(" ".join(verdict.reasons), code="not_eligible")

    bureau = await session.get(RegistryBureau, (department_code, commune.code, spec.bureau_code))
    if bureau is None:
        known = list(
            await session.scalars(
                select(RegistryBureau.bureau_code)
                .where(RegistryBureau.department_code == department_code, RegistryBureau.commune_code == commune.code)
                .order_by(RegistryBureau.bureau_code)
                .limit(30)
            )
        )
        if not known:
            raise InvalidInput(
                f"Aucun bureau de vote connu pour {commune.name} ({commune.code}) : importez d'abord la liste électorale "
                "de la commune.",
                code="no_bureau",
            )
        raise InvalidInput(
            f"Bureau « {spec.bureau_code} » inconnu pour {commune.name} ; bureaux connus : {', '.join(known)}.",
            code="unknown_bureau",
        )

    place = birth_place_identity(spec.birth_commune_code, spec.birth_department_code, spec.birth_country, spec.birth_commune)
    identity = identity_digest(identity_string(spec.birth_name, spec.given_names, year, month, day, place))
    listed = (
        await session.execute(
            select(Voter.commune_code, Voter.bureau_code).where(
                Voter.department_code == department_code, Voter.identity_hash == identity
            )
        )
    ).first()
    if listed is not None:
        name = world.communes[listed.commune_code].name if listed.commune_code in world.communes else listed.commune_code
        raise Conflict(
            f"Cette personne figure déjà sur la liste électorale de {name} (bureau {listed.bureau_code}) : "
            "elle vote à ce titre, sans inscription complémentaire.",
            code="already_listed",
        )
    existing = await session.scalar(
        select(SupplementaryVoter.id).where(
            SupplementaryVoter.department_code == department_code,
            SupplementaryVoter.election_id == election.id,
            SupplementaryVoter.identity_hash == identity,
        )
    )
    if existing is not None:
        raise Conflict(
            f"Cette personne a déjà une inscription complémentaire (S-{department_code}-{existing}).",
            code="already_registered",
        )
    flags = (BIRTH_PARTICLES if birth.had_particles else 0) | (USAGE_PARTICLES if usage and usage.had_particles else 0)
    registration = SupplementaryVoter(
        department_code=department_code,
        election_id=election.id,
        kind=spec.kind,
        category=category_value,
        party=spec.party if spec.kind == SupplementaryKind.MEMBER else "",
        proof_date=spec.proof_date if spec.kind == SupplementaryKind.ATTESTATION else None,
        registered_on=today,
        commune_code=commune.code,
        bureau_code=spec.bureau_code,
        identity_hash=identity,
        birth_name=" ".join(spec.birth_name.split()),
        usage_name=" ".join(spec.usage_name.split()) if usage and usage.key != birth.key else "",
        given_names=" ".join(spec.given_names.split()),
        sex=spec.sex,
        birth_year=year,
        birth_month=month,
        birth_day=day,
        birth_commune_code=spec.birth_commune_code.upper(),
        birth_commune=spec.birth_commune,
        birth_department_code=spec.birth_department_code.upper(),
        birth_country=spec.birth_country,
        nationality=spec.nationality,
        address=spec.address,
        birth_key=birth.key,
        usage_key=usage.key if usage and usage.key != birth.key else "",
        given_key=given_names_key(spec.given_names),
        name_flags=flags,
    )
    session.add(registration)
    await session.flush()
    record(
        session,
        events.SupplementaryRegistered(
            actor=actor,
            election_id=election.id,
            department_code=department_code,
            registration_id=registration.id,
            commune_code=commune.code,
            bureau_code=spec.bureau_code,
            registration_kind=spec.kind,
            category=category_value,
        ),
    )
    return registration


async def cancel_supplementary(
    session: AsyncSession, actor: Actor, ref: str, reason: str, *, scope: SearchScope | None = None
) -> None:
    """Delete a supplementary registration entered by mistake (the reason is logged, not the person)."""
    match = _REF.match(ref.strip().upper())
    if match is None or match[1] != "S":
        raise InvalidInput(f"Référence d'inscription complémentaire invalide : « {ref[:30]} ».", code="bad_ref")
    registration = await session.get(SupplementaryVoter, (match[2], int(match[3])))
    if registration is None:
        raise NotFound(f"Inscription complémentaire {ref} introuvable.", code="registration_not_found")
    if scope is not None and scope.department and not scope.national and registration.department_code != scope.department:
        raise OutOfScope("Cette inscription n'est pas dans votre département.")
    if not reason.strip():
        raise InvalidInput("Indiquez le motif de l'annulation.", code="missing_reason")
    await session.delete(registration)
    await session.flush()
    record(
        session,
        events.SupplementaryCancelled(
            actor=actor,
            election_id=registration.election_id,
            department_code=registration.department_code,
            registration_id=registration.id,
            reason=reason.strip()[:300],
        ),
    )


MEMBER_COLUMNS = (
    "nom de naissance",
    "nom d'usage",
    "prénoms",
    "sexe",
    "date de naissance",
    "code commune de naissance",
    "libellé commune de naissance",
    "pays de naissance",
    "nationalité",
    "code commune",
    "code bureau de vote",
    "parti",
)


@dataclass
class MembersFileReport:
    lines: int = 0
    registered: int = 0
    already_registered: int = 0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, column, reason)
    departments: set[str] = field(default_factory=set)


def _signature(cell: str) -> tuple[str, ...]:
    return tuple(word for word in fold(cell) if word not in {"de", "du", "d", "l", "la", "le"})


async def import_members_file(
    session: AsyncSession,
    actor: Actor,
    election: Election,
    file_name: str,
    data: bytes,
    *,
    today: date | None = None,
) -> MembersFileReport:
    """Register the members listed in a party's file (CSV « ; », UTF-8, header `MEMBER_COLUMNS`).

    Each valid line is registered; each refused one is reported with its reason; people already
    registered are counted, not duplicated (re-importing the same file changes nothing).
    """
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = data.decode("cp1252", errors="replace")
    lines = content.splitlines()
    if not lines:
        raise InvalidInput("Le fichier des adhérents est vide.", code="empty_file")
    header = next(csv.reader([lines[0]], delimiter=";"), [])
    if [_signature(cell) for cell in header] != [_signature(cell) for cell in MEMBER_COLUMNS]:
        raise InvalidInput(
            "Ce fichier n'est pas au format des inscriptions complémentaires : colonnes attendues, séparées par « ; », "
            f"dans cet ordre : {'; '.join(MEMBER_COLUMNS)}.",
            code="bad_format",
        )
    report = MembersFileReport()
    world = await territory(session)
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip(" ;"):
            continue
        report.lines += 1
        fields = next(csv.reader([raw], delimiter=";"), [])
        if len(fields) != len(MEMBER_COLUMNS):
            report.rejects.append((number, "", f"La ligne compte {len(fields)} colonnes au lieu de {len(MEMBER_COLUMNS)}."))
            continue
        (birth_name, usage_name, given, sex, birth_date, birth_code, birth_commune, birth_country, nationality,
         commune_code, bureau_code, party) = (value.strip() for value in fields)  # fmt: skip
        french = " ".join(fold(nationality)) in ("francaise", "francais", "france", "")
        birth_department = ""
        if birth_code and birth_code.upper() in world.communes:
            birth_department = world.communes[birth_code.upper()].department_code
        elif birth_code.startswith("99"):
            birth_department = "99"
        try:
            spec = SupplementaryCreate(
                kind="member",
                category=MemberCategory.MINOR.value if french else MemberCategory.FOREIGN.value,
                birth_name=birth_name,
                usage_name=usage_name,
                given_names=given,
                sex=sex.upper(),  # type: ignore[arg-type]
                birth_date=birth_date,
                birth_commune_code=birth_code,
                birth_commune=birth_commune,
                birth_department_code=birth_department,
                birth_country=birth_country or "FRANCE",
                nationality=nationality or "Française",
                commune_code=commune_code,
                bureau_code=bureau_code,
                party=party,
            )
        except ValueError as error:
            report.rejects.append((number, "", f"Ligne invalide : {_first_error(error)}"))
            continue
        try:
            async with session.begin_nested():
                registration = await register_supplementary(session, actor, election, spec, today=today)
            report.registered += 1
            report.departments.add(registration.department_code)
        except AppError as error:
            if error.code == "already_registered":
                report.already_registered += 1
            else:
                report.rejects.append((number, "", error.message))
    if report.registered:
        record(
            session,
            events.SupplementaryFileImported(
                actor=actor,
                election_id=election.id,
                file_name=file_name[-200:],
                file_sha256=hashlib.sha256(data).hexdigest(),
                lines=report.lines,
                registered=report.registered,
                already_registered=report.already_registered,
                rejected=len(report.rejects),
                departments=sorted(report.departments),
            ),
        )
    return report


def _first_error(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        from services.validation import french_validation_errors

        return "; ".join(french_validation_errors(errors()))
    return str(error)


async def list_supplementary(
    session: AsyncSession, election: Election, department: str | None = None, limit: int = 500
) -> list[SupplementaryVoter]:
    query = select(SupplementaryVoter).where(SupplementaryVoter.election_id == election.id)
    if department:
        query = query.where(SupplementaryVoter.department_code == department)
    query = query.order_by(SupplementaryVoter.department_code, SupplementaryVoter.birth_key).limit(limit)
    return list(await session.scalars(query))


# --- Purge -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    voters: int
    supplementary: int
    communes: int
    imports: int
    # How the lists were destroyed: "truncate" (the schema owner: the files are gone at once),
    # "delete" (the application role: rows deleted, the space reclaimed by the next vacuum),
    # "none" (only supplementary registrations to delete).
    method: str = "none"


# Children before parents (registry_reject references registry_import).
REGISTRY_TABLES = ("registry_reject", "voter", "registry_bureau", "registry_commune", "registry_import", "registry_state")


async def _empty_registry_tables(session: AsyncSession) -> str:
    """Empty the copy of the lists, with TRUNCATE when the connected role may, else DELETE.

    The application role (`primaires_app`) is refused TRUNCATE on every table (see
    services/migrations/privileges.py), so the purge works with DELETE as that role; run as
    the schema owner (what `primaires registry purge` does when it has the owner's URL),
    TRUNCATE removes the data files at once instead of leaving dead rows on disk until the
    next vacuum — better for a copy of the electoral lists that must disappear. Both run in
    the caller's transaction, with the audit event: all or nothing.
    """
    may_truncate = await session.scalar(
        text(
            "SELECT bool_and(has_table_privilege(current_user, t, 'TRUNCATE')) "
            "FROM unnest(CAST(:tables AS text[])) AS t"
        ),
        {"tables": list(REGISTRY_TABLES)},
    )
    if may_truncate:
        await session.execute(text(f"TRUNCATE {', '.join(REGISTRY_TABLES)} RESTART IDENTITY"))
        return "truncate"
    for table in REGISTRY_TABLES:
        await session.execute(text(f"DELETE FROM {table}"))
    return "delete"


async def purge_registry(session: AsyncSession, actor: Actor, election: Election, *, force: bool = False) -> PurgeReport:
    """Delete the copy of the lists made for `election` and its supplementary registrations.

    Refused while a round's polls are open; refused before every round is closed unless
    `force` (recorded in the log). The audit log keeps the counts, never a name.
    """
    rounds = await elections.rounds_of(session, election.id)
    if any(Phase(round_.phase) == Phase.POLLS_OPEN for round_ in rounds):
        raise WrongPhase("Le scrutin est ouvert : les listes ne peuvent pas être purgées pendant le vote.")
    unfinished = [round_ for round_ in rounds if Phase(round_.phase) == Phase.SETUP]
    if unfinished and not force:
        first = unfinished[0]
        raise WrongPhase(
            f"L'élection n'est pas terminée (tour {first.number} en phase « {Phase(first.phase).label} ») : la purge "
            "détruirait les listes avant le vote. Relancez avec --force pour purger quand même (ce sera journalisé).",
            code="election_not_over",
        )
    state = await session.get(RegistryState, 1)
    owns_lists = state is not None and state.election_id == election.id
    voters = communes = imports = 0
    if owns_lists:
        voters = int(await session.scalar(select(func.coalesce(func.sum(RegistryCommune.voters), 0))) or 0)
        communes = int(await session.scalar(select(func.count()).select_from(RegistryCommune)) or 0)
        imports = int(await session.scalar(select(func.count()).select_from(RegistryImport)) or 0)
    supplementary = int(
        await session.scalar(
            select(func.count()).select_from(SupplementaryVoter).where(SupplementaryVoter.election_id == election.id)
        )
        or 0
    )
    if not owns_lists and not supplementary:
        raise NotFound("Il n'y a rien à purger pour cette élection : aucune liste ni inscription complémentaire.", code="nothing_to_purge")
    note_write(session, "voter")
    method = "none"
    if owns_lists:
        method = await _empty_registry_tables(session)
        session.expunge_all()
    await session.execute(delete(SupplementaryVoter).where(SupplementaryVoter.election_id == election.id))
    record(
        session,
        events.RegistryPurged(
            actor=actor,
            election_id=election.id,
            voters=voters,
            supplementary=supplementary,
            communes=communes,
            imports=imports,
            before_end=bool(unfinished),
            method=method,
        ),
    )
    return PurgeReport(voters, supplementary, communes, imports, method)


# --- Overviews for the pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentSummary:
    code: str
    name: str
    communes: int
    voters: int
    bureaux: int
    rejected: int
    supplementary: int
    last_import: datetime | None


async def registry_election(session: AsyncSession) -> Election | None:
    election_id = await registry_election_id(session)
    return await session.get(Election, election_id) if election_id else None


async def department_summaries(session: AsyncSession, department: str | None = None) -> list[DepartmentSummary]:
    world = await territory(session)
    communes = (
        select(
            RegistryCommune.department_code,
            func.count().label("communes"),
            func.sum(RegistryCommune.voters).label("voters"),
            func.max(RegistryCommune.imported_at).label("last_import"),
            func.sum(RegistryImport.rejected).label("rejected"),
        )
        .join(RegistryImport, RegistryImport.id == RegistryCommune.import_id)
        .group_by(RegistryCommune.department_code)
    )
    bureaux = select(RegistryBureau.department_code, func.count().label("n")).group_by(RegistryBureau.department_code)
    election_id = await registry_election_id(session)
    extra = (
        select(SupplementaryVoter.department_code, func.count().label("n"))
        .where(SupplementaryVoter.election_id == (election_id or 0))
        .group_by(SupplementaryVoter.department_code)
    )
    if department:
        communes = communes.where(RegistryCommune.department_code == department)
        bureaux = bureaux.where(RegistryBureau.department_code == department)
        extra = extra.where(SupplementaryVoter.department_code == department)
    bureau_counts_ = {r.department_code: r.n for r in await session.execute(bureaux)}
    extra_counts = {r.department_code: r.n for r in await session.execute(extra)}
    result = [
        DepartmentSummary(
            code=r.department_code,
            name=world.departments.get(r.department_code, ""),
            communes=r.communes,
            voters=int(r.voters or 0),
            bureaux=bureau_counts_.get(r.department_code, 0),
            rejected=int(r.rejected or 0),
            supplementary=extra_counts.get(r.department_code, 0),
            last_import=r.last_import,
        )
        for r in await session.execute(communes)
    ]
    return sorted(result, key=lambda s: (len(s.code) > 2 and s.code[0] == "9", s.code))


async def recent_imports(session: AsyncSession, department: str | None = None, limit: int = 100) -> list[RegistryImport]:
    query = select(RegistryImport).order_by(RegistryImport.id.desc()).limit(limit)
    if department:
        query = query.where(RegistryImport.department_code == department)
    return list(await session.scalars(query))


async def commune_extracts(session: AsyncSession, department: str) -> list[RegistryCommune]:
    return list(
        await session.scalars(
            select(RegistryCommune).where(RegistryCommune.department_code == department).order_by(RegistryCommune.commune_code)
        )
    )


async def import_detail(session: AsyncSession, import_id: int, limit: int = 2000) -> tuple[RegistryImport, list[RegistryReject]]:
    report = await session.get(RegistryImport, import_id)
    if report is None:
        raise NotFound(f"Rapport d'import n° {import_id} introuvable.", code="import_not_found")
    rejects = list(
        await session.scalars(
            select(RegistryReject).where(RegistryReject.import_id == import_id).order_by(RegistryReject.line).limit(limit)
        )
    )
    return report, rejects


def list_labels(mask: int) -> list[str]:
    return [label for bit, label in LIST_LABELS.items() if mask & bit]


def supplementary_birth_date(registration: SupplementaryVoter) -> str:
    return format_birth_date(registration.birth_year, registration.birth_month, registration.birth_day)


def rules_for(election: Election) -> Rules:
    return rules_of(election)
