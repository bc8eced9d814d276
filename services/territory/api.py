"""Public JSON API of the territory reference (open data, no personal data)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from services.auth.dependencies import Public
from services.db import DbSession
from services.errors import NotFound
from services.territory.models import Canton, Commune, Department, Region

router = APIRouter(prefix="/api/v1/territory", tags=["territoire"])


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    map: str
    code: str
    name: str


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    zone: str
    region_code: str | None
    region_code_before_2016: str | None


class CantonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    type: str


class CommuneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    population: int
    canton_code: str | None
    kind: str


@router.get("/regions", response_model=list[RegionOut], summary="Régions (carte 2016 ou avant 2016)")
async def list_regions(session: DbSession, _who: Public, map: str = "2016") -> list[Region]:
    return list(await session.scalars(select(Region).where(Region.map == map).order_by(Region.code)))


@router.get("/departments", response_model=list[DepartmentOut], summary="Départements")
async def list_departments(session: DbSession, _who: Public) -> list[Department]:
    return list(await session.scalars(select(Department).order_by(Department.code)))


async def _department(session: DbSession, code: str) -> Department:
    department = await session.get(Department, code.upper())
    if department is None:
        raise NotFound(f"Département inconnu : « {code} ».", code="unknown_department")
    return department


@router.get("/departments/{code}/cantons", response_model=list[CantonOut], summary="Cantons d'un département")
async def list_cantons(code: str, session: DbSession, _who: Public) -> list[Canton]:
    department = await _department(session, code)
    return list(await session.scalars(select(Canton).where(Canton.department_code == department.code).order_by(Canton.code)))


@router.get("/departments/{code}/communes", response_model=list[CommuneOut], summary="Communes d'un département")
async def list_communes(code: str, session: DbSession, _who: Public) -> list[Commune]:
    department = await _department(session, code)
    return list(
        await session.scalars(select(Commune).where(Commune.department_code == department.code).order_by(Commune.code))
    )
