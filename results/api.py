"""Open data of the results: JSON and CSV per station, department and nation, and the NIST SP
1500-100 Common Data Format export. Public, under the same embargo as the pages, computed at
a signed checkpoint of the transparency log (the latest, or ``?point=N``) and stamped with it
(in the body, in every CSV line, and in the ``X-Primaires-Checkpoint`` header).

    GET /resultats/tour/{number}/donnees/{nation|departements|bureaux}.{json|csv}[?resultats=provisoires|definitifs][&point=N]
    GET /resultats/tour/{number}/donnees/cdf.json
"""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from results import publication
from results.views import _public_snapshot
from results.proclamation import proclaim_round
from services.auth.dependencies import Authority, Public
from services.elections import service as elections
from services.elections.schemas import RoundOut
from services.db import DbSession
from services.errors import NotFound

router = APIRouter(tags=["résultats"])


@router.post(
    "/api/v1/rounds/{round_id}/proclamation",
    response_model=RoundOut,
    summary="Proclamer les résultats d'un tour (Haute Autorité), sur le dernier point de contrôle signé du journal",
)
async def proclaim(round_id: int, session: DbSession, who: Authority) -> RoundOut:
    # The proclamation lives here, not in the platform's election API: it names the signed log
    # checkpoint its figures rest on, which only the results package can compute.
    round_ = await elections.get_round(session, round_id)
    await proclaim_round(session, who.actor, round_, account_id=who.account_id)
    return RoundOut.model_validate(round_)


def _headers(snapshot: publication.Snapshot, name: str) -> dict[str, str]:
    headers = {
        "Content-Disposition": f'inline; filename="{name}"',
        "Cache-Control": "public, max-age=10",
        "Access-Control-Allow-Origin": "*",
    }
    if snapshot.stamp is not None:
        headers["X-Primaires-Checkpoint"] = f"{snapshot.stamp.tree_size} {snapshot.stamp.root_hash}"
    return headers


@router.get(
    "/resultats/tour/{number}/donnees/{fichier}",
    summary="Données ouvertes des résultats (JSON, CSV, CDF NIST SP 1500-100)",
    response_class=Response,
)
async def open_data(
    number: int,
    fichier: str,
    session: DbSession,
    _who: Public,
    resultats: str | None = None,
    point: str | None = None,
) -> Response:
    level, _, extension = fichier.partition(".")
    if fichier == "cdf.json":
        snapshot = await _public_snapshot(session, number, resultats, point)
        body = json.dumps(publication.cdf_document(snapshot), ensure_ascii=False, indent=1)
        return Response(body, media_type="application/json", headers=_headers(snapshot, f"resultats-tour{number}-cdf.json"))
    if level not in publication.LEVELS or extension not in ("json", "csv"):
        raise NotFound(
            "Fichier inconnu : nation, departements ou bureaux, en .json ou .csv, ou cdf.json.", code="unknown_open_data"
        )
    snapshot = await _public_snapshot(session, number, resultats, point)
    name = f"resultats-tour{number}-{snapshot.kind.value}-{level}.{extension}"
    if extension == "json":
        body = json.dumps(publication.open_data_json(snapshot, level), ensure_ascii=False, indent=1)
        return Response(body, media_type="application/json", headers=_headers(snapshot, name))
    return Response(publication.open_data_csv(snapshot, level), media_type="text/csv; charset=utf-8", headers=_headers(snapshot, name))
