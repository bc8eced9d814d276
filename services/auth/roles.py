"""The roles of the primary and the scope each one works in."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ORGANISER = "organiser"  # comité national d'organisation
    COMMISSION = "commission"  # commission départementale (one department)
    PRESIDENT = "president"  # président de bureau de vote (one station)
    ASSESSOR = "assessor"  # assesseur (one station)
    TABLET = "tablet"  # a tablet paired to one station
    AUTHORITY = "authority"  # Haute Autorité: reads everything, rules on disputes
    OBSERVER = "observer"  # représentant de candidat: reads, never writes

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def scope_kind(self) -> str:
        if self in (Role.COMMISSION,):
            return "department"
        if self in STATION_ROLES:
            return "station"
        return "national"


ROLE_LABELS = {
    Role.ORGANISER: "Comité national d'organisation",
    Role.COMMISSION: "Commission départementale",
    Role.PRESIDENT: "Président de bureau de vote",
    Role.ASSESSOR: "Assesseur",
    Role.TABLET: "Tablette de bureau de vote",
    Role.AUTHORITY: "Haute Autorité",
    Role.OBSERVER: "Représentant de candidat",
}

STATION_ROLES = frozenset({Role.PRESIDENT, Role.ASSESSOR, Role.TABLET})
NATIONAL_ROLES = frozenset({Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER})
# Roles that may read everything in their scope but change nothing.
READ_ONLY_ROLES = frozenset({Role.OBSERVER})
