"""Who may do what in polling, and loaders that authorise the resource.

- the tablet console: the station's staff (president, assessors) and its paired tablets,
  always on THEIR station (`principal.station_code`) and its own election;
- station management (team, credentials, papers): organisers and the station's departmental
  commission;
- plans: organisers;
- dashboards: organisers, the high authority, candidates' representatives (national and per
  department), and the departmental commission (its own department). Staff phone numbers are
  shown to organisers and commissions only;
- « où voter ? »: the public (rate-limited).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polling.models import Station
from services.auth.dependencies import Access
from services.auth.principal import Principal
from services.auth.roles import Role
from services.errors import NotFound

StationStaffMember = Annotated[Principal, Depends(Access(Role.PRESIDENT, Role.ASSESSOR, Role.TABLET))]
StationManager = Annotated[
    Principal, Depends(Access(Role.ORGANISER, Role.COMMISSION, department_param="department_code"))
]
PlanOrganiser = Annotated[Principal, Depends(Access(Role.ORGANISER))]
NationalDashboardReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER))]
DepartmentDashboardReader = Annotated[
    Principal,
    Depends(Access(Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER, Role.COMMISSION, department_param="department_code")),
]
StationsReader = Annotated[
    Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER, Role.COMMISSION))
]
StaffManager = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.COMMISSION))]


def sees_phones(principal: Principal) -> bool:
    """Staff phone numbers are personal data: organisers and commissions call the stations."""
    return principal.role in (Role.ORGANISER, Role.COMMISSION)


async def station_of(session: AsyncSession, principal: Principal) -> Station:
    """The station of a station-scoped principal (its code is in the session or the tablet)."""
    station = await session.scalar(select(Station).where(Station.code == (principal.station_code or "")))
    if station is None:
        raise NotFound(
            f"Le bureau de vote « {principal.station_code} » n'existe pas (ou plus) : appelez votre commission départementale.",
            code="unknown_station",
        )
    return station


async def department_station(session: AsyncSession, department_code: str, station_code: str) -> Station:
    """A station named in a department's URL (refused if it is in another department)."""
    station = await session.scalar(select(Station).where(Station.code == station_code))
    if station is None or station.department_code != department_code:
        raise NotFound(f"Aucun bureau de vote {station_code} dans le département {department_code}.", code="unknown_station")
    return station
