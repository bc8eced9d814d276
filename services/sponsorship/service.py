"""Sponsorship: rules, roster import, intake of forms, qualification board, the high authority's
validation and the ballot-order draw. Services flush, never commit; every change is recorded.

Bad input changes nothing: every check runs before the first write, and the database's own
constraints (one active sponsorship per official, one form per scan) back them up under
concurrency, turned into the same French refusal.
"""

from __future__ import annotations

import asyncio
import hashlib
import time as clock
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, delete, distinct, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.elections import service as elections
from services.elections.models import Candidate, CandidateStatus, Election, Phase, Round
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.events import Actor, canonical_json, record
from services.sponsorship import events, rules
from services.sponsorship.models import (
    BallotDraw,
    FormScan,
    Official,
    OfficialMandate,
    RosterFile,
    Sponsorship,
    SponsorshipSettings,
    SponsorshipStatus,
    WithdrawalPolicy,
)
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.roster_files import (
    MAX_ERRORS_KEPT,
    CommuneRef,
    FileError,
    LineError,
    OfficialRecord,
    ParsedFile,
    parse_party_file,
    parse_rne,
    sniff_kind,
    strip_accents,
)
from services.sponsorship.rules import Category, Geography, Result, RouteResult, RuleSet, SponsorFacts
from services.territory.models import Commune, Department

CUSTOM_RULE = "personnalisee"
MAX_SCAN_BYTES = 10 * 1024 * 1024
MAX_ROSTER_BYTES = 64 * 1024 * 1024
CHUNK = 5000  # rows per executemany call (SQLAlchemy pages them under PostgreSQL's parameter limit)
SCAN_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
DRAW_ALGORITHM = "ordre croissant de SHA-256(« graine|numéro du candidat »), en hexadécimal"


def french_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def search_text(text: str) -> str:
    return " ".join(strip_accents(text).lower().replace("-", " ").replace("'", " ").split())


def today_in(election: Election) -> date:
    return datetime.now(ZoneInfo(election.timezone or "Europe/Paris")).date()


async def _require_setup(session: AsyncSession, election: Election, action: str) -> None:
    for round_ in await elections.rounds_of(session, election.id):
        elections.require_phase(round_, Phase.SETUP, action)


# --- Rules ------------------------------------------------------------------------------------------------


async def get_settings(session: AsyncSession, election: Election) -> SponsorshipSettings | None:
    return await session.get(SponsorshipSettings, election.id)


async def require_settings(session: AsyncSession, election: Election) -> SponsorshipSettings:
    current = await get_settings(session, election)
    if current is None:
        raise InvalidInput(
            "Les règles de parrainage de cette élection ne sont pas encore fixées : choisissez-les d'abord "
            "(page Parrainages du comité national).",
            code="sponsorship_rules_missing",
        )
    return current


def ruleset_of(current: SponsorshipSettings) -> RuleSet:
    return RuleSet.model_validate(current.rule)


async def configure(
    session: AsyncSession,
    actor: Actor,
    election: Election,
    *,
    preset: str | None = None,
    rule: RuleSet | None = None,
    deadline: date | None = None,
    withdrawal_policy: WithdrawalPolicy = WithdrawalPolicy.IRREVOCABLE,
) -> SponsorshipSettings:
    """Choose the rule (a preset by name, or a custom tree), the deadline and the withdrawal policy."""
    if (preset is None) == (rule is None):
        raise InvalidInput("Choisissez soit une règle prédéfinie, soit une règle personnalisée.", code="rule_choice")
    if preset is not None:
        if preset not in rules.PRESETS:
            raise InvalidInput(
                f"Règle prédéfinie inconnue : « {preset} » (connues : {', '.join(rules.PRESETS)}).", code="unknown_preset"
            )
        rule = rules.PRESETS[preset]
    assert rule is not None
    await _require_setup(session, election, "changer les règles de parrainage")
    name = preset or CUSTOM_RULE
    rule_json = rule.model_dump(mode="json")
    current = await get_settings(session, election)
    if current is None:
        current = SponsorshipSettings(election_id=election.id)
        session.add(current)
    elif (
        current.preset == name
        and current.rule == rule_json
        and current.deadline == deadline
        and current.withdrawal_policy == withdrawal_policy.value
    ):
        return current
    current.preset = name
    current.rule = rule_json
    current.deadline = deadline
    current.withdrawal_policy = withdrawal_policy.value
    current.updated_at = datetime.now().astimezone()
    record(
        session,
        events.SponsorshipRulesSet(
            actor=actor,
            election_id=election.id,
            preset=name,
            rule=rule_json,
            deadline=deadline.isoformat() if deadline else None,
            withdrawal_policy=withdrawal_policy.value,
        ),
    )
    await session.flush()
    return current


# --- Reference data -------------------------------------------------------------------------------------


async def load_geography(session: AsyncSession) -> Geography:
    rows = (await session.execute(select(Department.code, Department.name, Department.region_code, Department.region_code_before_2016))).all()
    return Geography(
        regions={
            "2016": {code: region for code, _name, region, _old in rows},
            "avant-2016": {code: old for code, _name, _region, old in rows},
        },
        department_names={code: name for code, name, _region, _old in rows},
    )


async def load_communes(session: AsyncSession) -> dict[str, CommuneRef]:
    rows = await session.execute(
        select(Commune.code, Commune.name, Commune.department_code, Commune.population).where(Commune.kind == "commune")
    )
    return {code: CommuneRef(name, department, population) for code, name, department, population in rows.all()}


# --- Roster import -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    source: str  # rne | parti
    kind: str
    filename: str
    sha256: str
    encoding: str
    separator: str
    data_lines: int
    imported: int
    errors: list[LineError] = field(default_factory=list)
    replaced: int = 0

    @property
    def summary(self) -> str:
        what = (
            f"Fichier RNE des {RneKind(self.kind).label}"
            if self.source == "rne"
            else f"Fichier du parti ({Category(self.kind).plural})"
        )
        text = (
            f"{what} « {self.filename} » importé : {self.data_lines} lignes lues "
            f"(encodage {self.encoding}, séparateur {self.separator}), {self.imported} retenues"
        )
        if self.errors:
            shown = " ; ".join(str(error) for error in self.errors[:3])
            more = f" ; et {len(self.errors) - 3} autres" if len(self.errors) > 3 else ""
            text += f", {len(self.errors)} refusées ({shown}{more})"
        return text + "."


def _file_refused(parsed: ParsedFile, what: str) -> InvalidInput:
    shown = " ; ".join(str(error) for error in parsed.errors[:10])
    return InvalidInput(
        f"Aucune ligne utilisable dans {what} : rien n'a été importé. {shown}",
        code="roster_file_unusable",
        detail={"errors": [{"line": e.line, "message": e.message} for e in parsed.errors[:MAX_ERRORS_KEPT]]},
    )


def _check_size(data: bytes, limit: int, what: str) -> None:
    if len(data) > limit:
        raise InvalidInput(f"{what} dépasse la taille maximale ({limit // (1024 * 1024)} Mo).", code="file_too_large")


OFFICIAL = Official.__table__
MANDATE = OfficialMandate.__table__


def any_of_ids(column: Any, ids: Sequence[int]) -> Any:
    """`column = ANY(:ids)` with ONE array parameter (an IN list would hit PostgreSQL's parameter limit)."""
    return column == any_(literal(list(ids), ARRAY(Integer)))


async def _upsert_officials(session: AsyncSession, election_id: int, records: Sequence[OfficialRecord], *, overwrite_names: bool) -> dict[str, int]:
    """Find or create the officials of `records`; returns person_key → official id.

    Core executemany (one compiled statement, rows sent in batches), not one INSERT per row nor a
    30,000-value statement compiled anew."""
    rows = [
        {
            "election_id": election_id,
            "person_key": record.person_key,
            "family_name": record.family_name,
            "given_name": record.given_name,
            "sex": record.sex,
            "birth_date": record.birth_date,
            "party_member": False,
            "member_number": record.member_number,
            "search_name": search_text(f"{record.family_name} {record.given_name}"),
        }
        for record in records
    ]
    statement = insert(OFFICIAL)
    excluded = statement.excluded
    updates: dict[str, Any] = {
        "member_number": func.coalesce(excluded.member_number, OFFICIAL.c.member_number),
        "sex": func.coalesce(excluded.sex, OFFICIAL.c.sex),
    }
    if overwrite_names:  # the State's register spells names; the party's files do not override it
        updates.update(family_name=excluded.family_name, given_name=excluded.given_name, search_name=excluded.search_name)
    statement = statement.on_conflict_do_update(index_elements=["election_id", "person_key"], set_=updates).returning(
        OFFICIAL.c.id, OFFICIAL.c.person_key
    )
    ids: dict[str, int] = {}
    for start in range(0, len(rows), CHUNK):
        for official_id, key in (await session.execute(statement, rows[start : start + CHUNK])).all():
            ids[key] = official_id
    return ids


async def _refresh_party_membership(session: AsyncSession, election_id: int) -> None:
    listed = (
        select(OfficialMandate.id)
        .where(OfficialMandate.official_id == Official.id, OfficialMandate.party_listed.is_(True))
        .exists()
    )
    await session.execute(
        update(Official)
        .where(Official.election_id == election_id, Official.party_member.is_distinct_from(listed))
        .values(party_member=listed)
        .execution_options(synchronize_session=False)
    )


def _roster_file_row(election_id: int, report: ImportReport) -> RosterFile:
    return RosterFile(
        election_id=election_id,
        source=report.source,
        kind=report.kind,
        filename=report.filename,
        sha256=report.sha256,
        encoding=report.encoding,
        separator=report.separator,
        data_lines=report.data_lines,
        imported=report.imported,
        rejected=[{"line": e.line, "message": e.message} for e in report.errors[:MAX_ERRORS_KEPT]],
        rejected_count=len(report.errors),
    )


async def import_rne(
    session: AsyncSession,
    actor: Actor,
    election: Election,
    data: bytes,
    filename: str,
    kind: RneKind | None = None,
) -> ImportReport:
    """Import one RNE file into the election's roster: its mandates replace those the previous file
    of the same kind gave (party membership flags are kept)."""
    _check_size(data, MAX_ROSTER_BYTES, "Le fichier RNE")
    await _require_setup(session, election, "importer le Répertoire national des élus")
    departments = set((await session.scalars(select(Department.code))).all())
    # The communes (35,000 rows) are only needed to read a mayors' file.
    needs_communes = (kind or sniff_kind(data, filename)) in (None, RneKind.MAYORS)
    communes = await load_communes(session) if needs_communes else {}
    try:
        parsed = await asyncio.to_thread(
            parse_rne, data, departments=departments, communes=communes, kind=kind, filename=filename
        )
    except FileError as error:
        raise InvalidInput(f"Fichier « {filename} » illisible : {error}", code="roster_file_unreadable") from None
    assert parsed.kind is not None
    if not parsed.records:
        raise _file_refused(parsed, f"le fichier « {filename} »")
    category = parsed.kind.category
    source = f"rne:{parsed.kind.value}"
    ids = await _upsert_officials(session, election.id, parsed.records, overwrite_names=True)
    previous = set(
        (await session.scalars(select(MANDATE.c.official_id).where(MANDATE.c.election_id == election.id, MANDATE.c.source == source))).all()
    )
    statement = insert(MANDATE)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["official_id", "category"],
        set_={
            "source": excluded.source,
            "department_code": excluded.department_code,
            "commune_code": excluded.commune_code,
            "commune_name": excluded.commune_name,
            "population": excluded.population,
        },
    )
    rows = [
        {
            "official_id": ids[record.person_key],
            "election_id": election.id,
            "category": category.value,
            "source": source,
            "department_code": record.department_code,
            "commune_code": record.commune_code,
            "commune_name": record.commune_name,
            "population": record.population,
            "party_listed": False,
        }
        for record in parsed.records
    ]
    for start in range(0, len(rows), CHUNK):
        await session.execute(statement, rows[start : start + CHUNK])
    # Mandates of this kind that the new file no longer lists are over (party flags of the others stay).
    stale = sorted(previous - set(ids.values()))
    if stale:
        await session.execute(
            delete(MANDATE).where(MANDATE.c.election_id == election.id, MANDATE.c.source == source, any_of_ids(MANDATE.c.official_id, stale))
        )
    await _refresh_party_membership(session, election.id)
    report = ImportReport(
        source="rne",
        kind=parsed.kind.value,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=parsed.encoding,
        separator=parsed.separator_label,
        data_lines=parsed.data_lines,
        imported=len(parsed.records),
        errors=parsed.errors,
        replaced=len(stale),
    )
    session.add(_roster_file_row(election.id, report))
    record(
        session,
        events.RneFileImported(
            actor=actor,
            election_id=election.id,
            rne_kind=report.kind,
            filename=filename,
            sha256=report.sha256,
            encoding=report.encoding,
            separator=report.separator,
            data_lines=report.data_lines,
            imported=report.imported,
            rejected=len(report.errors),
            mandates_replaced=report.replaced,
        ),
    )
    await session.flush()
    return report


async def import_party_file(
    session: AsyncSession, actor: Actor, election: Election, category: Category, data: bytes, filename: str
) -> ImportReport:
    """Import the party's file of one category: it says who, among the RNE's officials of that
    category, belongs to the party (national council and members exist only in the party's files).
    The new file replaces the previous one of the same category."""
    _check_size(data, MAX_ROSTER_BYTES, "Le fichier du parti")
    await _require_setup(session, election, "importer un fichier du parti")
    departments = set((await session.scalars(select(Department.code))).all())
    try:
        parsed = await asyncio.to_thread(parse_party_file, data, category=category, departments=departments)
    except FileError as error:
        raise InvalidInput(f"Fichier « {filename} » illisible : {error}", code="roster_file_unreadable") from None
    if category.is_elected:
        listed = await _match_elected(session, election, category, parsed)
    else:
        listed = await _store_party_office(session, election, category, parsed)
    if not listed:
        raise _file_refused(parsed, f"le fichier du parti « {filename} »")
    await _refresh_party_membership(session, election.id)
    report = ImportReport(
        source="parti",
        kind=category.value,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=parsed.encoding,
        separator=parsed.separator_label,
        data_lines=parsed.data_lines,
        imported=listed,
        errors=sorted(parsed.errors, key=lambda error: error.line),
    )
    session.add(_roster_file_row(election.id, report))
    record(
        session,
        events.PartyFileImported(
            actor=actor,
            election_id=election.id,
            category=category.value,
            filename=filename,
            sha256=report.sha256,
            encoding=report.encoding,
            separator=report.separator,
            data_lines=report.data_lines,
            listed=listed,
            rejected=len(report.errors),
        ),
    )
    await session.flush()
    return report


async def _match_elected(session: AsyncSession, election: Election, category: Category, parsed: ParsedFile) -> int:
    """Flag, among the RNE mandates of `category`, those the party's file lists. Unmatched lines are
    refused with their line number; nothing changes if no line matches."""
    rows = await session.execute(
        select(OfficialMandate.id, Official.id, Official.person_key, OfficialMandate.department_code, OfficialMandate.commune_code)
        .join(Official, Official.id == OfficialMandate.official_id)
        .where(OfficialMandate.election_id == election.id, OfficialMandate.category == category.value)
    )
    by_key: dict[str, list[tuple[int, int, str | None, str | None]]] = defaultdict(list)
    for mandate_id, official_id, key, department, commune in rows.all():
        by_key[key].append((mandate_id, official_id, department, commune))
    if not by_key:
        raise InvalidInput(
            f"Aucun mandat de {category.label} n'est chargé depuis le Répertoire national des élus : importez "
            f"d'abord le fichier RNE correspondant, puis le fichier du parti des {category.plural}.",
            code="rne_missing",
        )
    matched: dict[int, OfficialRecord] = {}
    numbers: list[dict[str, Any]] = []
    for record in parsed.records:
        candidates = by_key.get(record.person_key, [])
        if record.department_code:
            candidates = [c for c in candidates if c[2] == record.department_code]
        if record.commune_code:
            candidates = [c for c in candidates if c[3] == record.commune_code]
        if not candidates:
            where = f" dans le département {record.department_code}" if record.department_code else ""
            parsed.error(
                record.line,
                f"{record.family_name} {record.given_name} (né(e) le {french_date(record.birth_date)}) n'apparaît pas "
                f"parmi les {category.plural} du RNE chargé{where}",
            )
            continue
        if len(candidates) > 1:
            parsed.error(record.line, f"{record.family_name} {record.given_name} : plusieurs mandats possibles, précisez la commune")
            continue
        mandate_id, official_id, _department, _commune = candidates[0]
        matched[mandate_id] = record
        if record.member_number:
            numbers.append({"official": official_id, "number": record.member_number})
    if not matched:
        return 0
    if numbers:
        await session.execute(
            update(OFFICIAL).where(OFFICIAL.c.id == bindparam("official")).values(member_number=bindparam("number")), numbers
        )
    await session.execute(
        update(MANDATE)
        .where(MANDATE.c.election_id == election.id, MANDATE.c.category == category.value)
        .values(party_listed=any_of_ids(MANDATE.c.id, list(matched)))
    )
    return len(matched)


async def _store_party_office(session: AsyncSession, election: Election, category: Category, parsed: ParsedFile) -> int:
    if not parsed.records:
        return 0
    ids = await _upsert_officials(session, election.id, parsed.records, overwrite_names=False)
    await session.execute(delete(MANDATE).where(MANDATE.c.election_id == election.id, MANDATE.c.category == category.value))
    rows = [
        {
            "official_id": ids[record.person_key],
            "election_id": election.id,
            "category": category.value,
            "source": "parti",
            "department_code": record.department_code,
            "commune_code": None,
            "commune_name": None,
            "population": None,
            "party_listed": True,
        }
        for record in parsed.records
    ]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(MANDATE), rows[start : start + CHUNK])
    return len(parsed.records)


@dataclass
class RosterStats:
    by_category: dict[str, tuple[int, int]]  # category → (officials, of whom party-listed)
    officials: int
    members: int
    files: list[RosterFile]


async def roster_stats(session: AsyncSession, election: Election) -> RosterStats:
    rows = await session.execute(
        select(
            OfficialMandate.category,
            func.count(),
            func.count().filter(OfficialMandate.party_listed.is_(True)),
        )
        .where(OfficialMandate.election_id == election.id)
        .group_by(OfficialMandate.category)
    )
    by_category = {category: (total, listed) for category, total, listed in rows.all()}
    officials, members = (
        await session.execute(
            select(func.count(), func.count().filter(Official.party_member.is_(True))).where(
                Official.election_id == election.id
            )
        )
    ).one()
    files = list(
        await session.scalars(
            select(RosterFile).where(RosterFile.election_id == election.id).order_by(RosterFile.id.desc()).limit(20)
        )
    )
    return RosterStats(by_category=by_category, officials=officials, members=members, files=files)


@dataclass
class OfficialView:
    official: Official
    mandates: list[OfficialMandate]
    sponsorship: Sponsorship | None


async def search_officials(session: AsyncSession, election: Election, query: str, limit: int = 20) -> list[OfficialView]:
    """Intake search: by name (accents and case ignored), by roster number (« n° 123 ») or member number."""
    cleaned = query.strip()
    if len(cleaned) < 2:
        return []
    statement = select(Official).where(Official.election_id == election.id)
    digits = cleaned.lstrip("nN°#º ").strip()
    if digits.isdigit():
        statement = statement.where(or_(Official.id == int(digits), Official.member_number == digits))
    else:
        text = search_text(cleaned)
        statement = statement.where(Official.search_name.contains(text, autoescape=True))
    found = list(await session.scalars(statement.order_by(Official.search_name).limit(limit)))
    return await _views(session, found)


async def official_view(session: AsyncSession, election: Election, official_id: int) -> OfficialView:
    official = await get_official(session, election, official_id)
    return (await _views(session, [official]))[0]


async def _views(session: AsyncSession, found: list[Official]) -> list[OfficialView]:
    ids = [official.id for official in found]
    mandates: dict[int, list[OfficialMandate]] = defaultdict(list)
    for mandate in await session.scalars(
        select(OfficialMandate).where(OfficialMandate.official_id.in_(ids)).order_by(OfficialMandate.category)
    ):
        mandates[mandate.official_id].append(mandate)
    active = {
        sponsorship.official_id: sponsorship
        for sponsorship in await session.scalars(
            select(Sponsorship).where(Sponsorship.official_id.in_(ids), Sponsorship.status == SponsorshipStatus.ACTIVE.value)
        )
    }
    return [OfficialView(official, mandates[official.id], active.get(official.id)) for official in found]


async def get_official(session: AsyncSession, election: Election, official_id: int) -> Official:
    official = await session.get(Official, official_id)
    if official is None or official.election_id != election.id:
        raise InvalidInput(
            f"Parrain inconnu : aucun élu n° {official_id} dans le répertoire des parrains de cette élection. "
            "Cherchez-le par son nom ; s'il n'y figure pas, il ne peut pas parrainer.",
            code="unknown_sponsor",
        )
    return official


# --- Intake ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormIntake:
    official_id: int
    candidate_id: int
    category: Category
    received_on: date
    scan: bytes


def scan_media_type(scan: bytes) -> str:
    if not scan:
        raise InvalidInput("Le formulaire numérisé est vide : joignez le scan du formulaire signé.", code="scan_missing")
    _check_size(scan, MAX_SCAN_BYTES, "Le formulaire numérisé")
    for signature, media_type in SCAN_SIGNATURES:
        if scan.startswith(signature):
            return media_type
    raise InvalidInput(
        "Le formulaire numérisé doit être un PDF, JPEG, PNG ou TIFF.", code="scan_format"
    )


async def _candidate_of(session: AsyncSession, election: Election, candidate_id: int) -> Candidate:
    candidate = await session.get(Candidate, candidate_id)
    if candidate is None or candidate.election_id != election.id:
        raise InvalidInput(f"Candidat n° {candidate_id} inconnu pour cette élection.", code="unknown_candidate")
    return candidate


async def record_sponsorship(
    session: AsyncSession, actor: Actor, election: Election, intake: FormIntake, *, today: date | None = None
) -> Sponsorship:
    """Record one received form, after every check; a refusal says why and records nothing."""
    current = await require_settings(session, election)
    rule = ruleset_of(current)
    await _require_setup(session, election, "enregistrer un parrainage")
    candidate = await _candidate_of(session, election, intake.candidate_id)
    if candidate.status == CandidateStatus.WITHDRAWN.value:
        raise InvalidInput(f"La candidature de {candidate.full_name} est retirée : elle ne reçoit plus de parrainage.", code="candidate_withdrawn")
    official = await get_official(session, election, intake.official_id)
    mandates = list(await session.scalars(select(OfficialMandate).where(OfficialMandate.official_id == official.id)))
    mandate = next((m for m in mandates if m.category == intake.category.value), None)
    if mandate is None:
        known = ", ".join(
            f"{Category(m.category).label}" + (f" ({m.department_code})" if m.department_code else "") for m in mandates
        ) or "aucune"
        raise InvalidInput(
            f"{official.full_name} n'est pas {intake.category.label} dans le répertoire des parrains "
            f"(qualités connues : {known}). Vérifiez la qualité cochée sur le formulaire.",
            code="wrong_category",
        )
    facts = SponsorFacts(intake.category, mandate.department_code, mandate.population, official.party_member)
    reason = rules.refusal_reason(rule, facts)
    if reason:
        raise InvalidInput(
            f"{official.full_name} ne peut pas parrainer en qualité de {intake.category.label} : {reason}.",
            code="not_eligible",
        )
    today = today or today_in(election)
    if intake.received_on > today:
        raise InvalidInput(
            f"Date de réception dans le futur ({french_date(intake.received_on)}) : corrigez-la.", code="received_in_future"
        )
    if current.deadline is not None and intake.received_on > current.deadline:
        raise InvalidInput(
            f"Formulaire reçu le {french_date(intake.received_on)}, après la clôture des parrainages "
            f"({french_date(current.deadline)}) : il ne peut pas être enregistré.",
            code="after_deadline",
        )
    await _refuse_second_sponsorship(session, election, official, candidate)
    media_type = scan_media_type(intake.scan)
    sha256 = hashlib.sha256(intake.scan).hexdigest()
    already = await session.scalar(select(Sponsorship).where(Sponsorship.scan_sha256 == sha256))
    if already is not None:
        raise Conflict(
            f"Ce formulaire numérisé a déjà été enregistré (formulaire n° {already.id}) : rien n'a été ajouté.",
            code="duplicate_scan",
        )
    sponsorship = Sponsorship(
        election_id=election.id,
        candidate_id=candidate.id,
        official_id=official.id,
        category=intake.category.value,
        department_code=mandate.department_code,
        commune_code=mandate.commune_code,
        population=mandate.population,
        party_member=official.party_member,
        received_on=intake.received_on,
        scan_sha256=sha256,
        status=SponsorshipStatus.ACTIVE.value,
    )
    if await session.get(FormScan, sha256) is None:
        session.add(FormScan(sha256=sha256, media_type=media_type, size=len(intake.scan), content=intake.scan))
    session.add(sponsorship)
    try:
        await session.flush()
    except IntegrityError:
        # Another desk recorded this official's form (or this very scan) in the same instant, after
        # the checks above: the unique indexes refuse it; the caller's transaction rolls back whole.
        raise Conflict(
            f"Le parrainage de {official.full_name} vient d'être enregistré par un autre poste : rien n'a été ajouté. "
            "Rechargez la page pour voir le formulaire déjà enregistré.",
            code="second_sponsorship",
        ) from None
    record(
        session,
        events.SponsorshipRecorded(
            actor=actor,
            election_id=election.id,
            candidate_id=candidate.id,
            sponsorship_id=sponsorship.id,
            official_id=official.id,
            category=intake.category.value,
            department_code=mandate.department_code,
            received_on=intake.received_on.isoformat(),
            scan_sha256=sha256,
        ),
    )
    return sponsorship


async def _refuse_second_sponsorship(session: AsyncSession, election: Election, official: Official, candidate: Candidate) -> None:
    first = await session.scalar(
        select(Sponsorship).where(
            Sponsorship.election_id == election.id,
            Sponsorship.official_id == official.id,
            Sponsorship.status == SponsorshipStatus.ACTIVE.value,
        )
    )
    if first is None:
        return
    first_candidate = await session.get(Candidate, first.candidate_id)
    assert first_candidate is not None
    whom = "ce même candidat" if first_candidate.id == candidate.id else first_candidate.full_name
    raise Conflict(
        f"{official.full_name} a déjà parrainé {whom} (formulaire n° {first.id}, reçu le {french_date(first.received_on)}) : "
        "chaque élu ne parraine qu'un seul candidat. Ce second formulaire n'est pas enregistré.",
        code="second_sponsorship",
        detail={"first_sponsorship_id": first.id, "first_candidate_id": first_candidate.id},
    )


async def get_sponsorship(session: AsyncSession, election: Election, sponsorship_id: int) -> Sponsorship:
    sponsorship = await session.get(Sponsorship, sponsorship_id)
    if sponsorship is None or sponsorship.election_id != election.id:
        raise NotFound(f"Formulaire de parrainage n° {sponsorship_id} introuvable.", code="sponsorship_not_found")
    return sponsorship


async def withdraw_sponsorship(
    session: AsyncSession, actor: Actor, election: Election, sponsorship: Sponsorship, reason: str, *, today: date | None = None
) -> Sponsorship:
    current = await require_settings(session, election)
    official = await session.get(Official, sponsorship.official_id)
    assert official is not None
    if current.withdrawal_policy == WithdrawalPolicy.IRREVOCABLE.value:
        raise Conflict(
            f"Les parrainages de cette élection sont irrévocables : le formulaire n° {sponsorship.id} de "
            f"{official.full_name} reste acquis.",
            code="irrevocable",
        )
    if sponsorship.status != SponsorshipStatus.ACTIVE.value:
        raise Conflict(f"Le parrainage n° {sponsorship.id} est déjà retiré.", code="already_withdrawn")
    today = today or today_in(election)
    if current.deadline is not None and today > current.deadline:
        raise Conflict(
            f"Les parrainages sont clos depuis le {french_date(current.deadline)} : plus aucun retrait n'est possible.",
            code="after_deadline",
        )
    cleaned = " ".join(reason.split())
    if len(cleaned) < 3:
        raise InvalidInput("Indiquez le motif du retrait (par exemple : lettre du parrain reçue le …).", code="reason_missing")
    await _require_setup(session, election, "retirer un parrainage")
    sponsorship.status = SponsorshipStatus.WITHDRAWN.value
    sponsorship.withdrawn_at = datetime.now().astimezone()
    sponsorship.withdrawal_reason = cleaned[:500]
    record(
        session,
        events.SponsorshipWithdrawn(
            actor=actor,
            election_id=election.id,
            candidate_id=sponsorship.candidate_id,
            sponsorship_id=sponsorship.id,
            official_id=sponsorship.official_id,
            reason=cleaned[:500],
        ),
    )
    await session.flush()
    return sponsorship


async def get_scan(session: AsyncSession, sponsorship: Sponsorship) -> FormScan:
    scan = await session.get(FormScan, sponsorship.scan_sha256)
    if scan is None:  # pragma: no cover - the foreign key makes it impossible
        raise NotFound("Formulaire numérisé introuvable.")
    return scan


@dataclass
class SponsorshipRow:
    sponsorship: Sponsorship
    official: Official
    candidate: Candidate


async def recent_sponsorships(session: AsyncSession, election: Election, limit: int = 20) -> list[SponsorshipRow]:
    rows = await session.execute(
        select(Sponsorship, Official, Candidate)
        .join(Official, Official.id == Sponsorship.official_id)
        .join(Candidate, Candidate.id == Sponsorship.candidate_id)
        .where(Sponsorship.election_id == election.id)
        .order_by(Sponsorship.id.desc())
        .limit(limit)
    )
    return [SponsorshipRow(*row) for row in rows.all()]


# --- Qualification board -----------------------------------------------------------------------------


@dataclass
class CandidateBoard:
    candidate: Candidate
    result: Result
    active: int

    @property
    def qualified(self) -> bool:
        return self.result.met

    @property
    def routes(self) -> list[RouteResult]:
        return rules.route_results(self.result)

    @property
    def missing(self) -> list[str]:
        """What is missing, route by route (empty when qualified)."""
        if self.qualified:
            return []
        return [f"{route.label} : {' ; '.join(route.missing)}" for route in self.routes if not route.met]


@dataclass
class Board:
    election: Election
    settings: SponsorshipSettings | None
    rule: RuleSet | None
    totals: dict[str, int]
    candidates: list[CandidateBoard]
    geography: Geography
    elapsed_ms: float = 0.0

    def for_candidate(self, candidate_id: int) -> CandidateBoard:
        for entry in self.candidates:
            if entry.candidate.id == candidate_id:
                return entry
        raise NotFound(f"Candidat n° {candidate_id} introuvable pour cette élection.", code="candidate_not_found")


# Eligible totals change only when the roster does, and every roster change goes through an import
# that adds a `RosterFile` row: (election, rule, last import id) identifies them. Sequence values are
# never reused, so a rolled-back import cannot alias a later state. Per process, bounded.
_totals_cache: dict[tuple[int, str, int], dict[str, int]] = {}
TOTALS_CACHE_SIZE = 256


async def roster_version(session: AsyncSession, election_id: int) -> int:
    return await session.scalar(select(func.coalesce(func.max(RosterFile.id), 0)).where(RosterFile.election_id == election_id)) or 0


def admits_sql(route: rules.Route, category: Any, population: Any, member: Any) -> Any:
    """`Route.admits` as a SQL condition over (capacity, population, membership) columns; the tests
    check that both give the same totals and verdicts."""
    condition = category.in_([c.value for c in route.categories])
    if route.population_over is not None:
        condition = and_(condition, or_(category != Category.MAYOR.value, population > route.population_over))
    if route.party_members_only:
        condition = and_(condition, member.is_(True))
    return condition


async def eligible_totals(session: AsyncSession, election_id: int, rule: RuleSet, *, cached: bool = True) -> dict[str, int]:
    """Each route's eligible total (same semantics as `rules.eligible_totals`): one pass over the
    roster, one row per official with a flag per route, then a count per flag."""
    key = (election_id, canonical_json(rule.model_dump(mode="json")), await roster_version(session, election_id))
    if cached and key in _totals_cache:
        return dict(_totals_cache[key])
    flags = [
        func.bool_or(admits_sql(route, MANDATE.c.category, MANDATE.c.population, OFFICIAL.c.party_member)).label(f"r{index}")
        for index, route in enumerate(rule.routes())
    ]
    per_official = (
        select(*flags)
        .select_from(MANDATE.join(OFFICIAL, OFFICIAL.c.id == MANDATE.c.official_id))
        .where(MANDATE.c.election_id == election_id)
        .group_by(MANDATE.c.official_id)
        .subquery()
    )
    row = (
        await session.execute(select(*(func.count().filter(per_official.c[f"r{i}"]) for i in range(len(flags)))))
    ).one()
    totals = {route.key: int(value or 0) for route, value in zip(rule.routes(), row, strict=True)}
    if len(_totals_cache) >= TOTALS_CACHE_SIZE:
        _totals_cache.clear()
    _totals_cache[key] = dict(totals)
    return totals


@dataclass
class Tallies:
    by_candidate: dict[int, dict[str, rules.RouteTally]]
    active: dict[int, int]  # active sponsorships per candidate


async def route_tallies(session: AsyncSession, election_id: int, rule: RuleSet) -> Tallies:
    """Every route's tally for every candidate in ONE pass over the active sponsorships: one row per
    (candidate, department), one count per route (`admits_sql`), so the rows sent to Python are at
    most candidates × departments whatever the number of sponsorships."""
    routes = rule.routes()
    counts = [
        func.count().filter(admits_sql(route, Sponsorship.category, Sponsorship.population, Sponsorship.party_member)).label(f"r{i}")
        for i, route in enumerate(routes)
    ]
    rows = await session.execute(
        select(Sponsorship.candidate_id, Sponsorship.department_code, func.count(), *counts)
        .where(Sponsorship.election_id == election_id, Sponsorship.status == SponsorshipStatus.ACTIVE.value)
        .group_by(Sponsorship.candidate_id, Sponsorship.department_code)
    )
    departments: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: {route.key: {} for route in routes})
    without: dict[int, dict[str, int]] = defaultdict(lambda: {route.key: 0 for route in routes})
    active: dict[int, int] = defaultdict(int)
    for candidate_id, department, total, *per_route in rows.all():
        active[candidate_id] += total
        for route, count in zip(routes, per_route, strict=True):
            if not count:
                continue
            if department:
                departments[candidate_id][route.key][department] = count
            else:
                without[candidate_id][route.key] += count
    by_candidate = {
        candidate_id: {key: rules.RouteTally(per_department, without[candidate_id][key]) for key, per_department in per_route.items()}
        for candidate_id, per_route in departments.items()
    }
    for candidate_id in without.keys() - by_candidate.keys():
        by_candidate[candidate_id] = {key: rules.RouteTally({}, count) for key, count in without[candidate_id].items()}
    return Tallies(by_candidate, dict(active))


async def qualification_board(session: AsyncSession, election: Election) -> Board:
    started = clock.perf_counter()
    current = await get_settings(session, election)
    candidates = await elections.candidates_of(session, election.id)
    geography = await load_geography(session)
    if current is None:
        return Board(election, None, None, {}, [], geography)
    rule = ruleset_of(current)
    totals = await eligible_totals(session, election.id, rule)
    tallies = await route_tallies(session, election.id, rule)
    entries = [
        CandidateBoard(
            candidate,
            rules.evaluate_tallies(rule, tallies.by_candidate.get(candidate.id, {}), totals, geography),
            tallies.active.get(candidate.id, 0),
        )
        for candidate in candidates
    ]
    return Board(election, current, rule, totals, entries, geography, (clock.perf_counter() - started) * 1000)


# --- The high authority: validation and draw -------------------------------------------------------------


def route_snapshot(route: RouteResult) -> dict[str, Any]:
    return {
        "key": route.key,
        "met": route.met,
        "counted": route.counted,
        "required": route.required,
        "eligible_total": route.eligible_total,
        "departments": route.departments,
        "min_departments": route.min_departments,
        "regions": route.regions,
        "min_regions": route.min_regions,
    }


async def validate_candidacy(
    session: AsyncSession, actor: Actor, candidate: Candidate, *, override_reason: str | None = None
) -> CandidateBoard:
    """The high authority validates a candidacy: refused while the sponsorships fall short, unless
    the authority states the reason for deciding otherwise (a ruling on a dispute)."""
    if actor.role != "authority":
        raise Forbidden("Seule la Haute Autorité valide les candidatures.")
    election = await elections.get_election(session, candidate.election_id)
    if candidate.status == CandidateStatus.VALIDATED.value:
        raise Conflict(f"La candidature de {candidate.full_name} est déjà validée.", code="already_validated")
    if candidate.status == CandidateStatus.WITHDRAWN.value:
        raise Conflict(f"La candidature de {candidate.full_name} est retirée.", code="candidate_withdrawn")
    await require_settings(session, election)
    board = await qualification_board(session, election)
    entry = board.for_candidate(candidate.id)
    reason = " ".join((override_reason or "").split()) or None
    if not entry.qualified and reason is None:
        raise Conflict(
            f"La candidature de {candidate.full_name} ne remplit pas les conditions de parrainage : "
            + " — ".join(entry.missing)
            + ". Pour la valider malgré tout, motivez la décision.",
            code="not_qualified",
        )
    record(
        session,
        events.CandidacyQualificationRuled(
            actor=actor,
            election_id=election.id,
            candidate_id=candidate.id,
            qualified=entry.qualified,
            active_sponsorships=entry.active,
            routes=[route_snapshot(route) for route in entry.routes],
            override_reason=reason if not entry.qualified else None,
        ),
    )
    await elections.set_candidate_status(session, actor, candidate, CandidateStatus.VALIDATED)
    return entry


async def latest_draw(session: AsyncSession, round_id: int) -> BallotDraw | None:
    return await session.scalar(select(BallotDraw).where(BallotDraw.round_id == round_id).order_by(BallotDraw.id.desc()).limit(1))


async def draw_ballot(session: AsyncSession, actor: Actor, election: Election, seed: str) -> BallotDraw:
    """Draw the first round's ballot order among the validated candidates from a public seed."""
    if actor.role != "authority":
        raise Forbidden("Le tirage au sort de l'ordre du bulletin appartient à la Haute Autorité.")
    seed = seed.strip()
    if not rules.SEED_PATTERN.match(seed):
        raise InvalidInput(
            "Graine invalide : de 4 à 200 caractères imprimables (par exemple les numéros d'un tirage public "
            "annoncé à l'avance).",
            code="invalid_seed",
        )
    round_1: Round = await elections.round_by_number(session, election.id, 1)
    elections.require_phase(round_1, Phase.SETUP, "tirer au sort l'ordre du bulletin")
    validated = [c.id for c in await elections.candidates_of(session, election.id) if c.status == CandidateStatus.VALIDATED.value]
    if not validated:
        raise InvalidInput("Aucune candidature validée : validez les candidatures avant le tirage.", code="no_validated_candidate")
    previous = await latest_draw(session, round_1.id)
    if previous is not None and sorted(previous.candidate_ids) == sorted(validated):
        raise Conflict(
            f"L'ordre du bulletin a déjà été tiré au sort pour ces candidats (graine « {previous.seed} ») : "
            "un nouveau tirage n'est possible que si la liste des candidats validés change.",
            code="already_drawn",
        )
    order = rules.draw_order(seed, validated)
    ids = [candidate_id for candidate_id, _key in order]
    keys = {str(candidate_id): key for candidate_id, key in order}
    await elections.set_ballot(session, actor, round_1, ids, method=f"tirage:{seed}")
    draw = BallotDraw(round_id=round_1.id, seed=seed, candidate_ids=ids, keys=keys)
    session.add(draw)
    record(
        session,
        events.BallotOrderDrawn(
            actor=actor,
            election_id=election.id,
            round_id=round_1.id,
            seed=seed,
            algorithm=DRAW_ALGORITHM,
            candidate_ids=ids,
            keys=keys,
        ),
    )
    await session.flush()
    return draw


# --- Public list of sponsors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicSponsor:
    candidate_id: int
    candidate: str
    family_name: str
    given_name: str
    capacity: str
    department_code: str | None
    department: str | None
    commune: str | None
    received_on: date


PUBLIC_CSV_HEADER = ("candidat", "nom", "prenom", "qualite", "code_departement", "departement", "commune", "date_reception")


async def public_sponsors(session: AsyncSession, election: Election, candidate_id: int | None = None) -> list[PublicSponsor]:
    """Active sponsorships by elected officials and national-council members, as the Conseil
    constitutionnel publishes presenters. Party members (adherents) are NOT named: their membership
    is a political opinion (GDPR art. 9); they are published as counts per department."""
    statement = (
        select(Sponsorship, Official, Candidate, Department.name, OfficialMandate.commune_name)
        .join(Official, Official.id == Sponsorship.official_id)
        .join(Candidate, Candidate.id == Sponsorship.candidate_id)
        .outerjoin(Department, Department.code == Sponsorship.department_code)
        .outerjoin(
            OfficialMandate,
            and_(OfficialMandate.official_id == Sponsorship.official_id, OfficialMandate.category == Sponsorship.category),
        )
        .where(
            Sponsorship.election_id == election.id,
            Sponsorship.status == SponsorshipStatus.ACTIVE.value,
            Sponsorship.category != Category.MEMBER.value,
        )
        .order_by(Candidate.family_name, Candidate.id, Official.family_name, Official.given_name, Sponsorship.id)
    )
    if candidate_id is not None:
        statement = statement.where(Sponsorship.candidate_id == candidate_id)
    result = []
    for sponsorship, official, candidate, department_name, commune_name in (await session.execute(statement)).all():
        result.append(
            PublicSponsor(
                candidate_id=candidate.id,
                candidate=candidate.full_name,
                family_name=official.family_name,
                given_name=official.given_name,
                capacity=Category(sponsorship.category).label,
                department_code=sponsorship.department_code,
                department=department_name,
                commune=commune_name if sponsorship.category == Category.MAYOR.value else None,
                received_on=sponsorship.received_on,
            )
        )
    return result


async def member_counts(session: AsyncSession, election: Election) -> dict[int, dict[str, int]]:
    """Active sponsorships by party members: candidate → department → count (no names)."""
    rows = await session.execute(
        select(Sponsorship.candidate_id, Sponsorship.department_code, func.count())
        .where(
            Sponsorship.election_id == election.id,
            Sponsorship.status == SponsorshipStatus.ACTIVE.value,
            Sponsorship.category == Category.MEMBER.value,
        )
        .group_by(Sponsorship.candidate_id, Sponsorship.department_code)
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for candidate_id, department, count in rows.all():
        counts[candidate_id][department or "—"] = count
    return dict(counts)

