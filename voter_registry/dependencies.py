"""Who may touch the registry (access rules of its routes), and loaders that authorise.

- search: station staff and tablets (their station's area first), commissions (their
  department), organisers and the high authority (the whole country); never observers nor
  the public (« où voter ? » belongs to polling and shows no list);
- import reports and counts per polling place: organisers, the high authority, commissions
  (their department);
- supplementary registrations: organisers and commissions; station staff record voters who
  present an attestation, for their own polling places only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.auth.dependencies import Access
from services.auth.principal import Principal
from services.auth.roles import Role
from services.errors import NotFound
from voter_registry.errors import OutOfScope
from voter_registry.models import RegistryImport

RegistrySearcher = Annotated[
    Principal,
    Depends(Access(Role.ORGANISER, Role.AUTHORITY, Role.COMMISSION, Role.PRESIDENT, Role.ASSESSOR, Role.TABLET)),
]
ListsReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY, Role.COMMISSION))]
NationalListsReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY))]
DepartmentListsReader = Annotated[
    Principal, Depends(Access(Role.COMMISSION, Role.ORGANISER, Role.AUTHORITY, department_param="department_code"))
]
ListsOrganiser = Annotated[Principal, Depends(Access(Role.ORGANISER))]
SupplementaryWriter = Annotated[
    Principal, Depends(Access(Role.ORGANISER, Role.COMMISSION, Role.PRESIDENT, Role.ASSESSOR, Role.TABLET))
]
SupplementaryManager = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.COMMISSION))]


def department_in_scope(principal: Principal, department: str | None) -> str | None:
    """The department a reader works on: a commission's own (refusing another), else `department`."""
    if principal.role == Role.COMMISSION:
        if department and department.upper() != principal.department_code:
            raise OutOfScope(f"Vous n'avez pas accès au département « {department} ».")
        return principal.department_code
    return department.upper() if department else None


def check_import_scope(principal: Principal, report: RegistryImport | None) -> RegistryImport:
    if report is None:
        raise NotFound("Rapport d'import introuvable.", code="import_not_found")
    if not principal.covers_department(report.department_code):
        raise OutOfScope(f"Ce rapport concerne le département {report.department_code}, hors de votre périmètre.")
    return report
