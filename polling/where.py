"""« Où voter ? » — name, birth date and commune → the address and hours of one's station.

Reveals nothing else: not whether the person is on the lists elsewhere, nor their bureau,
address, or any other detail; every miss (unknown person, other commune, no station yet)
gets the same answer. Rate-limited per client through the database (`rate_limit`), so the
limit holds with several workers; every answer, found or not, is counted (misses are what an
enumeration is made of), and the look-up is logged by the registry without what was typed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from polling import service
from polling.models import RateLimitHit, Station
from services.elections import service as elections
from services.elections.models import Election
from services.errors import InvalidInput, TooManyAttempts
from services.events import Actor
from services.settings import settings
from voter_registry import service as registry
from voter_registry.normalize import fold
from voter_registry.territory_cache import territory

PUBLIC_ACTOR = Actor(id="public:ou-voter", role="public")
LIMIT = 10  # answers per client and window
WINDOW_SECONDS = 600
NOT_FOUND = (
    "Nous ne trouvons pas de bureau de vote pour ces informations. Vérifiez le nom (de naissance ou d'usage), la date "
    "de naissance et la commune où vous êtes inscrit(e) sur les listes électorales ; si vous venez de vous inscrire, "
    "munissez-vous de votre attestation d'inscription."
)
_DATE = re.compile(r"^\s*(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})\s*$")


async def rate_limit(session: AsyncSession, bucket: str, *, limit: int = LIMIT, window_seconds: int = WINDOW_SECONDS) -> None:
    """Count one request of `bucket` in the current fixed window; refuse beyond `limit`.

    One upsert (`INSERT … ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits`): atomic
    in PostgreSQL, so several workers share the count. Old windows are deleted now and then.
    """
    now = datetime.now().astimezone()
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)
    hits = await session.scalar(
        insert(RateLimitHit)
        .values(bucket=bucket, window_start=start, hits=1)
        .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"hits": RateLimitHit.hits + 1})
        .returning(RateLimitHit.hits)
    )
    if epoch % 97 == 0:
        await session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < start - timedelta(days=1)))
    if hits is not None and hits > limit:
        retry = int((start + timedelta(seconds=window_seconds) - now).total_seconds() // 60) + 1
        raise TooManyAttempts(
            f"Trop de recherches depuis votre connexion : réessayez dans {retry} minute(s).", code="rate_limited"
        )


def client_bucket(client_ip: str) -> str:
    digest = hmac.new(settings().secret_key.encode(), f"ou-voter:{client_ip}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"ou-voter:{digest}"


@dataclass(frozen=True)
class CommuneChoice:
    code: str
    label: str


@dataclass(frozen=True)
class WhereAnswer:
    found: bool
    message: str = ""
    station_name: str = ""
    address: str = ""
    day: date | None = None
    opens_at: time | None = None
    closes_at: time | None = None
    communes: tuple[CommuneChoice, ...] = ()  # several communes match the name: choose one


def parse_birth_date(text_: str) -> tuple[int, int, int]:
    match = _DATE.match(text_ or "")
    if not match:
        raise InvalidInput("Date de naissance : écrivez jj/mm/aaaa, par exemple 12/04/1953.", code="bad_birth_date")
    day, month, year = int(match[1]), int(match[2]), int(match[3])
    try:
        date(year, month, day)
    except ValueError:
        raise InvalidInput("Cette date de naissance n'existe pas : vérifiez-la.", code="bad_birth_date") from None
    return year, month, day


async def where_to_vote(session: AsyncSession, election: Election | None, *, name: str, given_names: str, birth: str, commune: str) -> WhereAnswer:
    """Find the station (see the module docstring). Input problems raise `InvalidInput`."""
    name = " ".join((name or "").split())
    if len(name) < 2:
        raise InvalidInput("Tapez votre nom de naissance ou d'usage (au moins deux lettres).", code="name_required")
    year, month, day = parse_birth_date(birth)
    if not (commune or "").strip():
        raise InvalidInput("Indiquez la commune où vous êtes inscrit(e) (nom ou code INSEE).", code="commune_required")
    world = await territory(session)
    wanted = commune.strip().upper()
    if re.fullmatch(r"[0-9][0-9AB][0-9]{3}", wanted) and wanted in world.communes:
        info = world.communes[wanted]
        code = info.parent_code if info.kind != "commune" and info.parent_code else wanted
    else:
        found = world.communes_named(commune, limit=20)
        folded = " ".join(fold(commune))
        candidates = [c for c in found if c.folded_name == folded] or found
        if not candidates:
            raise InvalidInput(f"Commune « {commune.strip()[:60]} » inconnue : vérifiez l'orthographe ou tapez son code INSEE.", code="unknown_commune")
        if len(candidates) > 1:
            return WhereAnswer(
                False,
                "Plusieurs communes portent ce nom : choisissez la vôtre.",
                communes=tuple(CommuneChoice(c.code, f"{c.name} ({world.departments.get(c.department_code, c.department_code)})") for c in candidates[:12]),
            )
        code = candidates[0].code
    if election is None:
        return WhereAnswer(False, NOT_FOUND)
    department = world.communes[code].department_code
    results = await registry.search_voters(
        session,
        PUBLIC_ACTOR,
        registry.VoterQuery(name=name, given_names=given_names, birth=f"{day:02d}/{month:02d}/{year}", commune=code),
        registry.SearchScope(department=department, national=False),
        election=election,
        limit=10,
        channel="ou-voter",
    )
    stations: dict[int, Station] = {}
    for hit in results.hits:
        voter = hit.voter
        if (voter.birth_year, voter.birth_month, voter.birth_day) != (year, month, day):
            continue  # unknown parts on the list: too uncertain to answer
        station = await service.station_for_bureau(session, election.id, voter.department_code, voter.commune_code, voter.bureau_code)
        if station is not None:
            stations[station.id] = station
    if len(stations) != 1:
        return WhereAnswer(False, NOT_FOUND if not stations else "Plusieurs électeurs correspondent : précisez vos prénoms.")
    station = next(iter(stations.values()))
    round_ = await service.active_round(session, election.id)
    day_, opens, closes = service.station_hours(station, round_)
    return WhereAnswer(True, station_name=station.name, address=station.address or "adresse communiquée prochainement", day=day_, opens_at=opens, closes_at=closes)


async def public_election(session: AsyncSession) -> Election | None:
    return await elections.current_election(session)

