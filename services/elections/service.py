"""Election set-up and the life of a round: setup → polls open → polls closed → results
validated → proclaimed. Every change is recorded; every operation outside its phase is refused.

Domain packages may add conditions to a phase change (e.g. the results package refuses
"results validated" while reports are pending) with `register_transition_check`, so that this
layer knows nothing of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.roles import Role
from services.elections import events
from services.elections.models import (
    CHARTER_2011,
    PHASE_ORDER,
    BallotEntry,
    Candidate,
    CandidateStatus,
    Election,
    Phase,
    Round,
)
from services.elections.schemas import (
    CandidateCreate,
    CandidateUpdate,
    ElectionCreate,
    ElectionUpdate,
    RoundSpec,
    RoundUpdate,
)
from services.errors import Conflict, Forbidden, InvalidInput, NotFound, WrongPhase
from services.events import Actor, record
from services.settings import settings
from services.territory.models import Department

# Who may move a round into each phase.
PHASE_ROLES: dict[Phase, frozenset[Role]] = {
    Phase.POLLS_OPEN: frozenset({Role.ORGANISER}),
    Phase.POLLS_CLOSED: frozenset({Role.ORGANISER}),
    Phase.RESULTS_VALIDATED: frozenset({Role.ORGANISER}),
    Phase.PROCLAIMED: frozenset({Role.AUTHORITY}),
}

TransitionCheck = Callable[[AsyncSession, Round, Phase], Awaitable[None]]
_transition_checks: list[TransitionCheck] = []


def register_transition_check(check: TransitionCheck) -> None:
    """Add a condition to phase changes; it raises an AppError (French message) to refuse."""
    if check not in _transition_checks:
        _transition_checks.append(check)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


# --- Look-ups -------------------------------------------------------------------------------------


async def get_election(session: AsyncSession, election_id: int) -> Election:
    election = await session.get(Election, election_id)
    if election is None:
        raise NotFound(f"Élection n° {election_id} introuvable.", code="election_not_found")
    return election


async def current_election(session: AsyncSession) -> Election | None:
    """The election the pages work on: the one named by PRIMAIRES_ELECTION, else the latest."""
    slug = settings().election
    query = select(Election)
    if slug:
        query = query.where(Election.slug == slug)
    return await session.scalar(query.order_by(Election.id.desc()).limit(1))


async def get_round(session: AsyncSession, round_id: int) -> Round:
    round_ = await session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"Tour n° {round_id} introuvable.", code="round_not_found")
    return round_


async def rounds_of(session: AsyncSession, election_id: int) -> list[Round]:
    return list(await session.scalars(select(Round).where(Round.election_id == election_id).order_by(Round.number)))


async def round_by_number(session: AsyncSession, election_id: int, number: int) -> Round:
    round_ = await session.scalar(select(Round).where(Round.election_id == election_id, Round.number == number))
    if round_ is None:
        raise NotFound(f"Le tour {number} n'existe pas pour cette élection.", code="round_not_found")
    return round_


async def get_candidate(session: AsyncSession, candidate_id: int) -> Candidate:
    candidate = await session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound(f"Candidat n° {candidate_id} introuvable.", code="candidate_not_found")
    return candidate


async def candidates_of(session: AsyncSession, election_id: int) -> list[Candidate]:
    return list(
        await session.scalars(select(Candidate).where(Candidate.election_id == election_id).order_by(Candidate.id))
    )


async def ballot_of(session: AsyncSession, round_id: int) -> list[tuple[int, Candidate]]:
    """The round's ballot: (position, candidate) in ballot order."""
    rows = await session.execute(
        select(BallotEntry.position, Candidate)
        .join(Candidate, Candidate.id == BallotEntry.candidate_id)
        .where(BallotEntry.round_id == round_id)
        .order_by(BallotEntry.position)
    )
    return [(position, candidate) for position, candidate in rows.all()]


def require_phase(round_: Round, allowed: Phase | tuple[Phase, ...], action: str) -> None:
    """Refuse `action` unless the round is in one of the `allowed` phases."""
    allowed_phases = (allowed,) if isinstance(allowed, Phase) else allowed
    if Phase(round_.phase) not in allowed_phases:
        expected = " ou ".join(f"« {phase.label} »" for phase in allowed_phases)
        raise WrongPhase(
            f"Impossible de {action} : le tour {round_.number} est en phase « {Phase(round_.phase).label} » "
            f"(il faut être en phase {expected}).",
            detail={"phase": round_.phase, "allowed": [phase.value for phase in allowed_phases]},
        )


async def _rounds_all_in_setup(session: AsyncSession, election: Election, action: str) -> None:
    for round_ in await rounds_of(session, election.id):
        require_phase(round_, Phase.SETUP, action)


# --- Elections -------------------------------------------------------------------------------------


async def _check_departments(session: AsyncSession, codes: list[str]) -> list[str]:
    cleaned = sorted({code.strip().upper() for code in codes if code.strip()})
    for code in cleaned:
        if await session.get(Department, code) is None:
            raise InvalidInput(f"Département inconnu : « {code} ».", code="unknown_department")
    return cleaned


async def create_election(session: AsyncSession, actor: Actor, spec: ElectionCreate) -> Election:
    if await session.scalar(select(Election.id).where(Election.slug == spec.slug)) is not None:
        raise Conflict(f"Une élection porte déjà l'identifiant « {spec.slug} ».", code="slug_taken")
    election = Election(
        slug=spec.slug,
        name=spec.name.strip(),
        contribution_min_cents=spec.contribution_min_cents,
        contribution_covers_both_rounds=spec.contribution_covers_both_rounds,
        charter_text=(spec.charter_text or CHARTER_2011).strip(),
        list_extraction_date=spec.list_extraction_date,
        majority_date=spec.majority_date,
        supplementary_deadline=spec.supplementary_deadline,
    )
    session.add(election)
    await session.flush()
    record(
        session,
        events.ElectionCreated(
            actor=actor,
            election_id=election.id,
            slug=election.slug,
            name=election.name,
            contribution_min_cents=election.contribution_min_cents,
            contribution_covers_both_rounds=election.contribution_covers_both_rounds,
            charter_text=election.charter_text,
        ),
    )
    for round_spec in sorted(spec.rounds, key=lambda r: r.number):
        await add_round(session, actor, election, round_spec)
    return election


async def update_election(session: AsyncSession, actor: Actor, election: Election, spec: ElectionUpdate) -> Election:
    changes = {
        key: value
        for key, value in spec.model_dump(exclude_unset=True).items()
        if value is not None and getattr(election, key) != value
    }
    if not changes:
        return election
    # The contribution and the charter are what voters sign and pay: frozen once polls open.
    if changes.keys() & {"contribution_min_cents", "contribution_covers_both_rounds", "charter_text"}:
        await _rounds_all_in_setup(session, election, "modifier la contribution ou la charte")
    for key, value in changes.items():
        setattr(election, key, value.strip() if isinstance(value, str) else value)
    record(
        session,
        events.ElectionUpdated(
            actor=actor, election_id=election.id, changes={key: _jsonable(value) for key, value in changes.items()}
        ),
    )
    await session.flush()
    return election


# --- Rounds ------------------------------------------------------------------------------------------


def _check_hours(opens_at: time, closes_at: time) -> None:
    if opens_at >= closes_at:
        raise InvalidInput("L'heure d'ouverture doit précéder l'heure de clôture.", code="invalid_hours")


async def add_round(session: AsyncSession, actor: Actor, election: Election, spec: RoundSpec) -> Round:
    existing = await rounds_of(session, election.id)
    if any(round_.number == spec.number for round_ in existing):
        raise Conflict(f"Le tour {spec.number} existe déjà.", code="round_exists")
    if spec.number == 2:
        first = next((round_ for round_ in existing if round_.number == 1), None)
        if first is None:
            raise InvalidInput("Créez d'abord le premier tour.", code="round_order")
        if spec.polling_date <= first.polling_date:
            raise InvalidInput("Le second tour doit avoir lieu après le premier.", code="round_order")
    _check_hours(spec.opens_at, spec.closes_at)
    early = await _check_departments(session, spec.early_departments)
    round_ = Round(
        election_id=election.id,
        number=spec.number,
        polling_date=spec.polling_date,
        opens_at=spec.opens_at,
        closes_at=spec.closes_at,
        early_departments=early,
        phase=Phase.SETUP.value,
    )
    session.add(round_)
    await session.flush()
    record(
        session,
        events.RoundCreated(
            actor=actor,
            election_id=election.id,
            round_id=round_.id,
            number=round_.number,
            polling_date=round_.polling_date.isoformat(),
            opens_at=round_.opens_at.isoformat(),
            closes_at=round_.closes_at.isoformat(),
            early_departments=early,
        ),
    )
    return round_


async def update_round(session: AsyncSession, actor: Actor, round_: Round, spec: RoundUpdate) -> Round:
    require_phase(round_, Phase.SETUP, "modifier la date ou les horaires du tour")
    changes = {key: value for key, value in spec.model_dump(exclude_unset=True).items() if value is not None}
    if "early_departments" in changes:
        changes["early_departments"] = await _check_departments(session, changes["early_departments"])
    changes = {key: value for key, value in changes.items() if getattr(round_, key) != value}
    if not changes:
        return round_
    _check_hours(changes.get("opens_at", round_.opens_at), changes.get("closes_at", round_.closes_at))
    for key, value in changes.items():
        setattr(round_, key, value)
    record(
        session,
        events.RoundUpdated(
            actor=actor,
            election_id=round_.election_id,
            round_id=round_.id,
            changes={key: _jsonable(value) for key, value in changes.items()},
        ),
    )
    await session.flush()
    return round_


async def change_phase(session: AsyncSession, actor: Actor, round_: Round, to: Phase) -> Round:
    current = Phase(round_.phase)
    if to == current:
        raise WrongPhase(f"Le tour {round_.number} est déjà en phase « {to.label} ».")
    if PHASE_ORDER.index(to) != PHASE_ORDER.index(current) + 1:
        raise WrongPhase(
            f"Passage impossible de « {current.label} » à « {to.label} » : "
            f"l'étape suivante est « {PHASE_ORDER[PHASE_ORDER.index(current) + 1].label} »."
            if current != Phase.PROCLAIMED
            else f"Le tour {round_.number} est proclamé : plus aucune phase ne suit."
        )
    if actor.role not in {role.value for role in PHASE_ROLES[to]}:
        who = " ou ".join(role.label for role in PHASE_ROLES[to])
        raise Forbidden(f"Seul(e) {who} peut faire passer le tour en phase « {to.label} ».")
    if to == Phase.POLLS_OPEN:
        if not await ballot_of(session, round_.id):
            raise WrongPhase(f"Le bulletin du tour {round_.number} est vide : fixez d'abord l'ordre des candidats.")
        if round_.number == 2:
            first = await round_by_number(session, round_.election_id, 1)
            if Phase(first.phase) != Phase.PROCLAIMED:
                raise WrongPhase("Le second tour ne peut ouvrir qu'après la proclamation des résultats du premier.")
    for check in _transition_checks:
        await check(session, round_, to)
    round_.phase = to.value
    record(
        session,
        events.RoundPhaseChanged(
            actor=actor,
            election_id=round_.election_id,
            round_id=round_.id,
            number=round_.number,
            from_phase=current.value,
            to_phase=to.value,
        ),
    )
    await session.flush()
    return round_


# --- Candidates and ballots -------------------------------------------------------------------------


async def add_candidate(session: AsyncSession, actor: Actor, election: Election, spec: CandidateCreate) -> Candidate:
    await _rounds_all_in_setup(session, election, "ajouter un candidat")
    candidate = Candidate(
        election_id=election.id,
        given_name=spec.given_name.strip(),
        family_name=spec.family_name.strip(),
        party=spec.party.strip(),
        status=CandidateStatus.DECLARED.value,
    )
    session.add(candidate)
    await session.flush()
    record(
        session,
        events.CandidateAdded(
            actor=actor,
            election_id=election.id,
            candidate_id=candidate.id,
            given_name=candidate.given_name,
            family_name=candidate.family_name,
            party=candidate.party,
        ),
    )
    return candidate


async def update_candidate(session: AsyncSession, actor: Actor, candidate: Candidate, spec: CandidateUpdate) -> Candidate:
    election = await get_election(session, candidate.election_id)
    changes = {
        key: value.strip()
        for key, value in spec.model_dump(exclude_unset=True).items()
        if value is not None and getattr(candidate, key) != value.strip()
    }
    if not changes:
        return candidate
    await _rounds_all_in_setup(session, election, "modifier un candidat")
    for key, value in changes.items():
        setattr(candidate, key, value)
    record(
        session,
        events.CandidateUpdated(actor=actor, election_id=election.id, candidate_id=candidate.id, changes=changes),
    )
    await session.flush()
    return candidate


async def set_candidate_status(
    session: AsyncSession, actor: Actor, candidate: Candidate, status: CandidateStatus
) -> Candidate:
    """Validation of candidacies belongs to the high authority; a withdrawal may be recorded by either."""
    if status == CandidateStatus.VALIDATED and actor.role != Role.AUTHORITY.value:
        raise Forbidden("Seule la Haute Autorité valide les candidatures.")
    current = CandidateStatus(candidate.status)
    if current == status:
        return candidate
    election = await get_election(session, candidate.election_id)
    await _rounds_all_in_setup(session, election, "changer le statut d'une candidature")
    candidate.status = status.value
    if status == CandidateStatus.WITHDRAWN:
        for round_ in await rounds_of(session, election.id):
            await session.execute(
                delete(BallotEntry).where(BallotEntry.round_id == round_.id, BallotEntry.candidate_id == candidate.id)
            )
    record(
        session,
        events.CandidateStatusChanged(
            actor=actor,
            election_id=election.id,
            candidate_id=candidate.id,
            from_status=current.value,
            to_status=status.value,
        ),
    )
    await session.flush()
    return candidate


async def set_ballot(
    session: AsyncSession, actor: Actor, round_: Round, candidate_ids: list[int], *, method: str = "manual"
) -> list[tuple[int, Candidate]]:
    """Fix the round's ballot order. Only validated candidates of the election; no repeats."""
    require_phase(round_, Phase.SETUP, "fixer l'ordre du bulletin")
    if len(set(candidate_ids)) != len(candidate_ids):
        raise InvalidInput("Un candidat figure deux fois dans l'ordre du bulletin.", code="duplicate_candidate")
    candidates = {candidate.id: candidate for candidate in await candidates_of(session, round_.election_id)}
    for candidate_id in candidate_ids:
        candidate = candidates.get(candidate_id)
        if candidate is None:
            raise InvalidInput(f"Le candidat n° {candidate_id} n'appartient pas à cette élection.", code="unknown_candidate")
        if candidate.status != CandidateStatus.VALIDATED.value:
            raise InvalidInput(
                f"La candidature de {candidate.full_name} n'est pas validée par la Haute Autorité.",
                code="candidate_not_validated",
            )
    await session.execute(delete(BallotEntry).where(BallotEntry.round_id == round_.id))
    for position, candidate_id in enumerate(candidate_ids, start=1):
        session.add(BallotEntry(round_id=round_.id, candidate_id=candidate_id, position=position))
    record(
        session,
        events.BallotSet(
            actor=actor,
            election_id=round_.election_id,
            round_id=round_.id,
            candidate_ids=list(candidate_ids),
            method=method,
        ),
    )
    await session.flush()
    return await ballot_of(session, round_.id)
