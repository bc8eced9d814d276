"""Who is making a request: a signed-in account, a script with an API token, or a paired tablet."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.auth.roles import NATIONAL_ROLES, Role
from services.events import Actor


@dataclass(frozen=True)
class Principal:
    role: Role
    name: str
    account_id: int | None = None
    tablet_id: int | None = None
    department_code: str | None = None
    station_code: str | None = None
    via: str = "session"  # session | token | tablet
    # The raw browser-session token (never stored in clear): binds CSRF tokens to the session.
    session_token: str | None = None

    @property
    def actor(self) -> Actor:
        if self.tablet_id is not None:
            ident = f"tablet:{self.tablet_id}"
        else:
            ident = f"account:{self.account_id}"
        return _actor(ident, self.role.value, self.scope)

    @property
    def scope(self) -> str:
        if self.role == Role.COMMISSION and self.department_code:
            return self.department_code
        if self.station_code:
            return self.station_code
        return "national"

    @property
    def is_national(self) -> bool:
        return self.role in NATIONAL_ROLES

    def covers_department(self, department_code: str) -> bool:
        """May this principal see the department's business? (National roles see everything.)"""
        return self.is_national or (self.role == Role.COMMISSION and self.department_code == department_code)

    def covers_station(self, station_code: str, station_department: str | None = None) -> bool:
        if self.station_code is not None:
            return self.station_code == station_code
        if station_department is not None:
            return self.covers_department(station_department)
        return self.is_national


@lru_cache(maxsize=4096)
def _actor(ident: str, role: str, scope: str) -> Actor:
    """Actors are frozen values: one per (id, role, scope), built once (a tablet checks in
    hundreds of voters a day, each check-in records its actor)."""
    return Actor(id=ident, role=role, scope=scope)
