"""An event kind used by the log's tests only."""

from __future__ import annotations

from typing import ClassVar

from services.events import Event


class ProbeRecorded(Event):
    kind: ClassVar[str] = "test.probe"
    subject_fields: ClassVar[tuple[str, ...]] = ("station_code",)
    station_code: str
    marker: str
    number: int
