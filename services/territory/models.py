"""France's territory: regions (two maps), departments, cantons, communes with population.

Codes are strings everywhere: departments `01`…`19`, `2A`, `2B`, `21`…`95`, `971`…`976` and
the overseas collectivities; communes are 5-character INSEE codes. Reference data, loaded
from the compact copy shipped in `services/territory/data/` (see ATTRIBUTION.md there).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, utcnow

# The two region maps: the 22 (+ overseas) regions before 2016, used by the 2011 sponsorship
# rules ("from at least 4 regions"), and the current map.
REGION_MAPS = ("2016", "avant-2016")


class Region(Base):
    __tablename__ = "region"

    map: Mapped[str] = mapped_column(String(12), primary_key=True)
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Department(Base):
    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    zone: Mapped[str] = mapped_column(String(5))  # metro | drom | com
    region_code: Mapped[str | None] = mapped_column(String(3))
    region_code_before_2016: Mapped[str | None] = mapped_column(String(3))
    chef_lieu: Mapped[str | None] = mapped_column(String(5))


class Canton(Base):
    __tablename__ = "canton"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"), index=True)
    name: Mapped[str] = mapped_column(Text)
    # C: canton, V: canton-ville (a city split into several cantons), N: fictitious.
    type: Mapped[str] = mapped_column(String(1))


class Commune(Base):
    __tablename__ = "commune"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(3))
    population: Mapped[int] = mapped_column(Integer, default=0)
    canton_code: Mapped[str | None] = mapped_column(String(6), index=True)
    # "commune", or "arrondissement" for the municipal arrondissements of Paris, Lyon, Marseille.
    kind: Mapped[str] = mapped_column(String(14), default="commune")
    # For an arrondissement, its commune (75056 Paris, 69123 Lyon, 13055 Marseille).
    parent_code: Mapped[str | None] = mapped_column(String(5))


class ReferenceDataVersion(Base):
    """Which version (SHA-256 of the shipped files) of a reference data set is loaded."""

    __tablename__ = "reference_data_version"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
