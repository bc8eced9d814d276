"""JSON API of sponsorship: rules, roster import, intake, the live board, validation, the draw and the
public list of sponsors."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.dependencies import Access, Authority, NationalReader, Organiser, Public
from services.auth.principal import Principal
from services.auth.roles import Role
from services.db import DbSession
from services.elections import service as elections
from services.elections.models import Election
from services.errors import InvalidInput, NotFound
from services.sponsorship import service
from services.sponsorship.models import BallotDraw, Sponsorship
from services.sponsorship.rne_formats import RneKind
from services.sponsorship.rules import PRESETS, Category, RuleSet
from services.sponsorship.schemas import (
    BoardOut,
    CandidateQualificationOut,
    DrawOut,
    DrawSpec,
    ImportReportOut,
    LineErrorOut,
    MandateOut,
    OfficialOut,
    PublicSponsorOut,
    PublicSponsorsOut,
    SettingsOut,
    SettingsSpec,
    SponsorshipOut,
    ValidationSpec,
    WithdrawalSpec,
    result_out,
)

router = APIRouter(prefix="/api/v1", tags=["parrainages"])

# The roster holds party members: organisers and the high authority only.
RosterReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY))]


async def read_upload(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{what} dépasse la taille maximale ({limit // (1024 * 1024)} Mo).", code="file_too_large")
    return data


def settings_out(current) -> SettingsOut:  # noqa: ANN001
    return SettingsOut(
        election_id=current.election_id,
        preset=current.preset,
        rule=current.rule,
        deadline=current.deadline,
        withdrawal_policy=current.withdrawal_policy,
    )


def report_out(report: service.ImportReport) -> ImportReportOut:
    return ImportReportOut(
        source=report.source,
        kind=report.kind,
        filename=report.filename,
        sha256=report.sha256,
        encoding=report.encoding,
        separator=report.separator,
        data_lines=report.data_lines,
        imported=report.imported,
        rejected=[LineErrorOut(line=e.line, message=e.message) for e in report.errors],
        summary=report.summary,
    )


def sponsorship_out(sponsorship: Sponsorship) -> SponsorshipOut:
    return SponsorshipOut(
        id=sponsorship.id,
        candidate_id=sponsorship.candidate_id,
        official_id=sponsorship.official_id,
        category=sponsorship.category,
        department_code=sponsorship.department_code,
        received_on=sponsorship.received_on,
        scan_sha256=sponsorship.scan_sha256,
        status=sponsorship.status,
    )


def board_out(board: service.Board) -> BoardOut:
    return BoardOut(
        election_id=board.election.id,
        preset=board.settings.preset if board.settings else None,
        rule_label=board.rule.label if board.rule else None,
        deadline=board.settings.deadline if board.settings else None,
        eligible_totals=board.totals,
        candidates=[
            CandidateQualificationOut(
                candidate_id=entry.candidate.id,
                name=entry.candidate.full_name,
                status=entry.candidate.status,
                qualified=entry.qualified,
                active_sponsorships=entry.active,
                missing=entry.missing,
                result=result_out(entry.result),
            )
            for entry in board.candidates
        ],
    )


def draw_out(draw: BallotDraw) -> DrawOut:
    return DrawOut(round_id=draw.round_id, seed=draw.seed, algorithm=service.DRAW_ALGORITHM, candidate_ids=draw.candidate_ids, keys=draw.keys)


async def _election(session: AsyncSession, election_id: int) -> Election:
    return await elections.get_election(session, election_id)


@router.get("/parrainages/regles-predefinies", response_model=list[RuleSet], summary="Règles de parrainage prédéfinies")
async def list_presets(_who: Public) -> list[RuleSet]:
    return list(PRESETS.values())


@router.get("/elections/{election_id}/parrainages/regles", response_model=SettingsOut, summary="Règles de parrainage de l'élection")
async def read_settings(election_id: int, session: DbSession, _who: NationalReader) -> SettingsOut:
    election = await _election(session, election_id)
    return settings_out(await service.require_settings(session, election))


@router.put("/elections/{election_id}/parrainages/regles", response_model=SettingsOut, summary="Fixer les règles de parrainage")
async def set_settings(election_id: int, spec: SettingsSpec, session: DbSession, who: Organiser) -> SettingsOut:
    election = await _election(session, election_id)
    current = await service.configure(
        session,
        who.actor,
        election,
        preset=spec.preset,
        rule=spec.rule,
        deadline=spec.deadline,
        withdrawal_policy=spec.withdrawal_policy,
    )
    return settings_out(current)


@router.post(
    "/elections/{election_id}/parrainages/rne",
    response_model=ImportReportOut,
    summary="Importer un fichier du Répertoire national des élus (séparateur et encodage détectés)",
)
async def import_rne(
    election_id: int,
    session: DbSession,
    who: Organiser,
    file: Annotated[UploadFile, File(description="Fichier CSV du RNE")],
    kind: Annotated[RneKind | None, Form(description="Type de fichier (détecté d'après les colonnes s'il est omis)")] = None,
) -> ImportReportOut:
    election = await _election(session, election_id)
    data = await read_upload(file, service.MAX_ROSTER_BYTES, "Le fichier RNE")
    return report_out(await service.import_rne(session, who.actor, election, data, file.filename or "rne.csv", kind))


@router.post(
    "/elections/{election_id}/parrainages/fichiers-parti",
    response_model=ImportReportOut,
    summary="Importer un fichier du parti (qui, parmi les élus, appartient au parti)",
)
async def import_party_file(
    election_id: int,
    session: DbSession,
    who: Organiser,
    file: Annotated[UploadFile, File(description="Fichier CSV du parti")],
    category: Annotated[Category, Form(description="Catégorie du fichier")],
) -> ImportReportOut:
    election = await _election(session, election_id)
    data = await read_upload(file, service.MAX_ROSTER_BYTES, "Le fichier du parti")
    return report_out(await service.import_party_file(session, who.actor, election, category, data, file.filename or "parti.csv"))


@router.get("/elections/{election_id}/parrainages/repertoire", response_model=list[OfficialOut], summary="Chercher un élu du répertoire des parrains")
async def search_officials(election_id: int, q: str, session: DbSession, _who: RosterReader) -> list[OfficialOut]:
    election = await _election(session, election_id)
    return [
        OfficialOut(
            id=view.official.id,
            family_name=view.official.family_name,
            given_name=view.official.given_name,
            birth_date=view.official.birth_date,
            party_member=view.official.party_member,
            member_number=view.official.member_number,
            mandates=[
                MandateOut(
                    category=m.category,
                    label=Category(m.category).label,
                    source=m.source,
                    department_code=m.department_code,
                    commune_code=m.commune_code,
                    commune_name=m.commune_name,
                    population=m.population,
                    party_listed=m.party_listed,
                )
                for m in view.mandates
            ],
            sponsored_candidate_id=view.sponsorship.candidate_id if view.sponsorship else None,
        )
        for view in await service.search_officials(session, election, q[:100])
    ]


@router.post(
    "/elections/{election_id}/parrainages",
    response_model=SponsorshipOut,
    status_code=201,
    summary="Enregistrer un formulaire de parrainage reçu (avec son scan)",
)
async def record_sponsorship(
    election_id: int,
    session: DbSession,
    who: Organiser,
    official_id: Annotated[int, Form(description="N° de l'élu dans le répertoire des parrains")],
    candidate_id: Annotated[int, Form()],
    category: Annotated[Category, Form(description="Qualité déclarée sur le formulaire")],
    received_on: Annotated[date, Form(description="Date de réception du formulaire")],
    scan: Annotated[UploadFile, File(description="Formulaire signé numérisé (PDF, JPEG, PNG, TIFF)")],
) -> SponsorshipOut:
    election = await _election(session, election_id)
    data = await read_upload(scan, service.MAX_SCAN_BYTES, "Le formulaire numérisé")
    sponsorship = await service.record_sponsorship(
        session,
        who.actor,
        election,
        service.FormIntake(official_id=official_id, candidate_id=candidate_id, category=category, received_on=received_on, scan=data),
    )
    return sponsorship_out(sponsorship)


@router.get("/elections/{election_id}/parrainages", response_model=list[SponsorshipOut], summary="Formulaires enregistrés")
async def list_sponsorships(election_id: int, session: DbSession, _who: RosterReader, candidate_id: int | None = None) -> list[SponsorshipOut]:
    election = await _election(session, election_id)
    statement = select(Sponsorship).where(Sponsorship.election_id == election.id)
    if candidate_id is not None:
        statement = statement.where(Sponsorship.candidate_id == candidate_id)
    return [sponsorship_out(s) for s in await session.scalars(statement.order_by(Sponsorship.id))]


@router.post("/elections/{election_id}/parrainages/{sponsorship_id}/retrait", response_model=SponsorshipOut, summary="Retirer un parrainage (si la règle le permet)")
async def withdraw(election_id: int, sponsorship_id: int, spec: WithdrawalSpec, session: DbSession, who: Organiser) -> SponsorshipOut:
    election = await _election(session, election_id)
    sponsorship = await service.get_sponsorship(session, election, sponsorship_id)
    return sponsorship_out(await service.withdraw_sponsorship(session, who.actor, election, sponsorship, spec.reason))


@router.get("/elections/{election_id}/parrainages/{sponsorship_id}/formulaire", summary="Le formulaire numérisé")
async def read_scan(election_id: int, sponsorship_id: int, session: DbSession, _who: RosterReader) -> Response:
    election = await _election(session, election_id)
    sponsorship = await service.get_sponsorship(session, election, sponsorship_id)
    scan = await service.get_scan(session, sponsorship)
    return Response(
        scan.content,
        media_type=scan.media_type,
        headers={"X-Content-SHA256": scan.sha256, "Content-Disposition": f'inline; filename="parrainage-{sponsorship.id}"'},
    )


@router.get("/elections/{election_id}/parrainages/tableau", response_model=BoardOut, summary="Tableau de qualification des candidats (en direct)")
async def read_board(election_id: int, session: DbSession, _who: Public) -> BoardOut:
    election = await _election(session, election_id)
    return board_out(await service.qualification_board(session, election))


@router.post("/candidates/{candidate_id}/validation", response_model=CandidateQualificationOut, summary="Valider une candidature (Haute Autorité)")
async def validate(candidate_id: int, spec: ValidationSpec, session: DbSession, who: Authority) -> CandidateQualificationOut:
    candidate = await elections.get_candidate(session, candidate_id)
    entry = await service.validate_candidacy(session, who.actor, candidate, override_reason=spec.override_reason)
    return CandidateQualificationOut(
        candidate_id=candidate.id,
        name=candidate.full_name,
        status=candidate.status,
        qualified=entry.qualified,
        active_sponsorships=entry.active,
        missing=entry.missing,
        result=result_out(entry.result),
    )


@router.post("/elections/{election_id}/tirage", response_model=DrawOut, summary="Tirer au sort l'ordre du bulletin (Haute Autorité)")
async def draw(election_id: int, spec: DrawSpec, session: DbSession, who: Authority) -> DrawOut:
    election = await _election(session, election_id)
    return draw_out(await service.draw_ballot(session, who.actor, election, spec.seed))


@router.get("/elections/{election_id}/tirage", response_model=DrawOut, summary="Le tirage au sort de l'ordre du bulletin (public)")
async def read_draw(election_id: int, session: DbSession, _who: Public) -> DrawOut:
    election = await _election(session, election_id)
    round_1 = await elections.round_by_number(session, election.id, 1)
    draw = await service.latest_draw(session, round_1.id)
    if draw is None:
        raise NotFound("L'ordre du bulletin n'a pas encore été tiré au sort.", code="no_draw")
    return draw_out(draw)


@router.get("/elections/{election_id}/parrainages/public", response_model=PublicSponsorsOut, summary="Liste publique des parrains par candidat")
async def public_list(election_id: int, session: DbSession, _who: Public, candidate_id: int | None = None) -> PublicSponsorsOut:
    election = await _election(session, election_id)
    sponsors = await service.public_sponsors(session, election, candidate_id)
    return PublicSponsorsOut(
        election_id=election.id,
        sponsors=[
            PublicSponsorOut(
                candidate_id=s.candidate_id,
                candidat=s.candidate,
                nom=s.family_name,
                prenom=s.given_name,
                qualite=s.capacity,
                code_departement=s.department_code,
                departement=s.department,
                commune=s.commune,
                date_reception=s.received_on,
            )
            for s in sponsors
        ],
        adherents_par_departement={
            cid: counts
            for cid, counts in (await service.member_counts(session, election)).items()
            if candidate_id is None or cid == candidate_id
        },
    )
