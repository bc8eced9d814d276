from __future__ import annotations

from typing import ClassVar

from services.events import Event


class TerritoryLoaded(Event):
    kind: ClassVar[str] = "territory.loaded"
    sha256: str
    regions: int
    departments: int
    cantons: int
    communes: int
