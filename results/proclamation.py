"""The high authority proclaims a round, on a signed checkpoint of the transparency log.

The proclamation is an audited act that names the checkpoint it rests on: the final figures
are computed at the latest signed checkpoint (only facts whose events are in its tree), and
must equal the figures computed live — otherwise the log has not yet sealed the last
validations, and the authority is asked to try again a few seconds later. The checkpoint's
size and root hash go in the event and in `results_proclamation`; the round then moves to
« proclaimed » (`elections.change_phase`, whose transition check refuses a proclamation that
did not go through here). From then on, only a recorded decision of the high authority
changes a figure (`results.service.record_decision`), and the publication says « correction ».
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from results import events
from results.figures import Kind
from results.models import ResultsProclamation
from results.publication import compute_snapshot, latest_stamp
from results.service import unvalidated_stations
from services.elections import service as elections
from services.elections.models import Phase, Round
from services.errors import Conflict, Forbidden, WrongPhase
from services.events import Actor, record


async def proclaim_round(session: AsyncSession, actor: Actor, round_: Round, *, account_id: int | None = None) -> ResultsProclamation:
    if actor.role != "authority":
        raise Forbidden("Seule la Haute Autorité proclame les résultats.", code="authority_only")
    elections.require_phase(round_, Phase.RESULTS_VALIDATED, "proclamer les résultats")
    missing = await unvalidated_stations(session, round_)
    if missing:
        raise WrongPhase(f"{len(missing)} bureau(x) sans résultats validés : proclamation impossible.", code="stations_unvalidated")
    stamp = await latest_stamp(session)
    if stamp is None:
        raise Conflict(
            "Aucun point de contrôle du journal n'est signé : la proclamation doit reposer sur un point de contrôle. "
            "Vérifiez la clé de signature du journal (primaires audit keygen).",
            code="no_checkpoint",
        )
    at_checkpoint = await compute_snapshot(session, round_, Kind.FINAL, stamp, use_cache=False)
    live = await compute_snapshot(session, round_, Kind.FINAL, None)
    if at_checkpoint.aggregation.stations != live.aggregation.stations:
        raise Conflict(
            f"Le dernier point de contrôle signé du journal (taille {stamp.tree_size}) ne contient pas encore toutes "
            "les validations : réessayez dans quelques secondes.",
            code="checkpoint_behind",
        )
    nation = at_checkpoint.nation
    outcome = at_checkpoint.outcome
    ballot = at_checkpoint.rules.ballot
    event = record(
        session,
        events.RoundProclaimed(
            actor=actor,
            election_id=round_.election_id,
            round_id=round_.id,
            number=round_.number,
            checkpoint_tree_size=stamp.tree_size,
            checkpoint_root_hash=stamp.root_hash,
            stations=nation.stations,
            signatures=nation.signatures,
            blank=nation.blank,
            null=nation.null,
            votes=list(nation.votes),
            valid_votes=nation.valid_votes,
            contributions_cents=nation.contributions_cents,
            outcome=outcome.kind.value,
            elected_candidate_id=ballot[outcome.elected].candidate_id if outcome.elected is not None else None,
            qualified_candidate_ids=[ballot[i].candidate_id for i in outcome.qualified],
            explanation=outcome.explanation,
        ),
    )
    await session.flush()
    proclamation = ResultsProclamation(
        round_id=round_.id,
        tree_size=stamp.tree_size,
        root_hash=stamp.root_hash,
        checkpoint_note=stamp.note,
        summary={
            "stations": nation.stations,
            "signatures": nation.signatures,
            "blank": nation.blank,
            "null": nation.null,
            "votes": list(nation.votes),
            "candidates": [c.full_name for c in ballot],
            "valid_votes": nation.valid_votes,
            "contributions_cents": nation.contributions_cents,
            "outcome": outcome.kind.value,
            "explanation": outcome.explanation,
            "elected": ballot[outcome.elected].full_name if outcome.elected is not None else None,
            "qualified": [ballot[i].full_name for i in outcome.qualified],
        },
        account_id=account_id,
        actor=actor.id,
        event_id=event.id,
    )
    session.add(proclamation)
    await session.flush()
    await elections.change_phase(session, actor, round_, Phase.PROCLAIMED)
    return proclamation
