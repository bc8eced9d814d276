"""Planning stations from the electoral lists: draft, review, adjust, apply.

The pure planner (`polling.planner`) groups the official bureaux into stations. This module
feeds it the registry's counts per bureau (`voter_registry.service.bureau_counts`), keeps the
result as a *draft* the organiser reviews (CSV and summary, `primaires stations plan` or the
organiser's page), lets them split, merge and move — each adjustment re-checked against the
rules by the planner — and finally applies it: one station per planned station, with its code,
its bureaux and its per-round state. Applied stations are what sheets are printed from: a
department's stations are created once.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polling import events, planner, service
from polling.models import Station, StationPlanDraft
from polling.planner import Bureau, BureauKey, Plan
from services.db import utcnow
from services.elections.models import Election
from services.errors import Conflict, InvalidInput, NotFound
from services.events import Actor, record
from voter_registry import service as registry


async def planning_bureaux(session: AsyncSession, department: str | None = None) -> list[Bureau]:
    """The registry's bureaux with their registered voters (lists + supplementary registrations)."""
    return [
        Bureau(
            department_code=count.department_code,
            commune_code=count.commune_code,
            code=count.bureau_code,
            label=count.bureau_label,
            canton_code=count.canton_code,
            registered=count.total,
            commune_name=count.commune_name,
        )
        for count in await registry.bureau_counts(session, department)
    ]


def _to_json(plan: Plan) -> list[dict]:
    return [
        {
            "key": station.key,
            "department_code": station.department_code,
            "canton_code": station.canton_code,
            "bureaux": [[key.commune_code, key.code] for key in station.bureaux],
        }
        for station in plan.stations
    ]


def plan_of(draft: StationPlanDraft, bureaux: list[Bureau]) -> Plan:
    """The draft as a planner `Plan` (names and figures recomputed from the current counts)."""
    index = {bureau.key: bureau for bureau in bureaux}
    assignments = [
        (entry["key"], entry["department_code"], entry["canton_code"], tuple(BureauKey(c, b) for c, b in entry["bureaux"]))
        for entry in draft.stations
    ]
    assigned = {key for _k, _d, _c, keys in assignments for key in keys}
    unassigned = [key for key in index if key not in assigned]
    return planner._build_plan(assignments, index, planner.effective_cantons(bureaux), draft.max_voters, unassigned)


@dataclass
class DraftView:
    draft: StationPlanDraft
    plan: Plan
    bureaux: list[Bureau]
    violations: list[str]

    @property
    def summary(self) -> list[str]:
        return planner.plan_summary(self.plan, self.bureaux)

    def csv_bytes(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(planner.PLAN_COLUMNS)
        writer.writerows(planner.plan_table(self.plan, self.bureaux))
        return ("\ufeff" + out.getvalue()).encode("utf-8")


async def draft_plan(
    session: AsyncSession, actor: Actor, election: Election, *, department: str | None = None, max_voters: int = planner.DEFAULT_MAX_VOTERS
) -> DraftView:
    """Compute a plan for a department (or the whole country) and keep it as a draft."""
    if isinstance(max_voters, bool) or not isinstance(max_voters, int) or not 100 <= max_voters <= 100_000:
        raise InvalidInput("Le maximum d'inscrits par bureau doit être un entier entre 100 et 100 000.", code="bad_max_voters")
    bureaux = await planning_bureaux(session, department)
    if not bureaux:
        where = f"du département {department}" if department else "importées"
        raise NotFound(f"Aucun bureau dans les listes électorales {where} : importez d'abord les listes.", code="no_bureaux")
    try:
        plan = planner.plan_stations(bureaux, max_voters)
    except planner.InvalidBureaux as error:
        raise InvalidInput("Listes incohérentes : " + " ".join(error.problems[:10]), code="invalid_bureaux") from None
    draft = StationPlanDraft(
        election_id=election.id, department_code=department, max_voters=max_voters, stations=_to_json(plan)
    )
    session.add(draft)
    await session.flush()
    record(
        session,
        events.StationPlanDrafted(
            actor=actor,
            election_id=election.id,
            department_code=department,
            plan_id=draft.id,
            max_voters=max_voters,
            stations=len(plan.stations),
            bureaux=len(bureaux),
            registered=plan.registered,
            lower_bound=plan.lower_bound,
        ),
    )
    return DraftView(draft, plan, bureaux, [])


async def get_draft(session: AsyncSession, plan_id: int) -> DraftView:
    draft = await session.get(StationPlanDraft, plan_id)
    if draft is None:
        raise NotFound(f"Plan n° {plan_id} introuvable.", code="plan_not_found")
    bureaux = await planning_bureaux(session, draft.department_code)
    plan = plan_of(draft, bureaux)
    return DraftView(draft, plan, bureaux, planner.check_plan(plan, bureaux))


async def drafts_of(session: AsyncSession, election_id: int) -> list[StationPlanDraft]:
    return list(
        await session.scalars(
            select(StationPlanDraft).where(StationPlanDraft.election_id == election_id).order_by(StationPlanDraft.id.desc())
        )
    )


def parse_bureau(text: str) -> BureauKey:
    """« 33063:0012 » (or « 33063-0012 », « 33063 0012 ») → BureauKey."""
    for separator in (":", "-", " ", "/"):
        if separator in text.strip():
            commune, _, code = text.strip().partition(separator)
            if commune.strip() and code.strip():
                return BureauKey(commune.strip().upper(), code.strip())
    raise InvalidInput(f"Bureau « {text[:20]} » illisible : écrivez code commune:bureau, par exemple 33063:0012.", code="bad_bureau")


async def adjust_draft(
    session: AsyncSession,
    actor: Actor,
    plan_id: int,
    *,
    adjustment: str,
    station: str = "",
    other: str = "",
    bureaux: list[str] | None = None,
) -> DraftView:
    """Split a station (`station`, `bureaux` to detach), merge two (`station` keeps, `other` is
    absorbed) or move a bureau (`bureaux[0]` to `station`). Refused with the planner's French
    violations when the result would break a rule; the draft is unchanged then."""
    view = await get_draft(session, plan_id)
    if view.draft.applied_at is not None:
        raise Conflict("Ce plan est déjà appliqué : les bureaux de vote existent, il ne se modifie plus.", code="plan_applied")
    keys = [parse_bureau(text) for text in (bureaux or []) if text.strip()]
    if adjustment == "split":
        result = planner.split_station(view.plan, view.bureaux, station, keys)
        detail = {"station": station, "bureaux": [f"{k.commune_code}:{k.code}" for k in keys]}
    elif adjustment == "merge":
        result = planner.merge_stations(view.plan, view.bureaux, station, other)
        detail = {"station": station, "absorbed": other}
    elif adjustment == "move":
        if len(keys) != 1:
            raise InvalidInput("Indiquez un seul bureau à déplacer (code commune:bureau).", code="bad_bureau")
        result = planner.move_bureau(view.plan, view.bureaux, keys[0], station)
        detail = {"bureau": f"{keys[0].commune_code}:{keys[0].code}", "to": station}
    else:
        raise InvalidInput("Ajustement inconnu : séparer, fusionner ou déplacer.", code="bad_adjustment")
    if not result.ok:
        raise InvalidInput("Ajustement refusé : " + " ".join(result.violations[:5]), code="adjustment_refused", detail={"violations": list(result.violations)})
    view.draft.stations = _to_json(result.plan)
    record(
        session,
        events.StationPlanAdjusted(
            actor=actor,
            election_id=view.draft.election_id,
            department_code=view.draft.department_code,
            plan_id=view.draft.id,
            adjustment=adjustment,
            detail=detail,
            stations=len(result.plan.stations),
        ),
    )
    await session.flush()
    return DraftView(view.draft, result.plan, view.bureaux, [])


async def apply_draft(session: AsyncSession, actor: Actor, election: Election, plan_id: int) -> list[Station]:
    """Create the stations of a reviewed draft. Refused if the plan breaks a rule or if the
    department already has stations in this election (their codes are printed)."""
    view = await get_draft(session, plan_id)
    draft = view.draft
    if draft.election_id != election.id:
        raise InvalidInput("Ce plan a été calculé pour une autre élection.", code="plan_other_election")
    if draft.applied_at is not None:
        raise Conflict("Ce plan est déjà appliqué.", code="plan_applied")
    if view.violations:
        raise InvalidInput(
            "Plan refusé, il enfreint les règles : " + " ".join(view.violations[:5]),
            code="plan_invalid",
            detail={"violations": view.violations},
        )
    departments = sorted({station.department_code for station in view.plan.stations})
    existing = await session.scalar(
        select(func.count()).select_from(Station).where(Station.election_id == election.id, Station.department_code.in_(departments))
    )
    if existing:
        raise Conflict(
            "Des bureaux de vote existent déjà pour ce territoire dans cette élection : un plan ne s'applique qu'une fois.",
            code="stations_exist",
        )
    index = {bureau.key: bureau for bureau in view.bureaux}
    specs = []
    for station in view.plan.stations:
        per_commune: dict[str, int] = {}
        for key in station.bureaux:
            per_commune[key.commune_code] = per_commune.get(key.commune_code, 0) + index[key].registered
        main = sorted(per_commune, key=lambda commune: (-per_commune[commune], commune))[0]
        specs.append(
            service.StationSpec(
                department_code=station.department_code,
                canton_code=station.canton_code,
                commune_code=main,
                plan_key=station.key,
                name=station.name,
                bureaux=[(key.commune_code, key.code, index[key].registered) for key in station.bureaux],
                oversized=station.oversized,
            )
        )
    stations = await service.create_stations(session, actor, election, specs)
    draft.applied_at = utcnow()
    record(
        session,
        events.StationPlanApplied(
            actor=actor,
            election_id=election.id,
            department_code=draft.department_code,
            plan_id=draft.id,
            stations=len(stations),
            bureaux=sum(len(spec.bureaux) for spec in specs),
        ),
    )
    await session.flush()
    return stations
