"""Errors of the registry (French messages for organisers, commissions and station staff)."""

from __future__ import annotations

from services.errors import Conflict, Forbidden, InvalidInput


class FileRefused(InvalidInput):
    """A whole file is refused (wrong format, unknown commune, nothing valid): nothing changed."""

    code = "file_refused"

    def __init__(self, message: str, *, rejections: list | None = None, rejected: int = 0) -> None:
        super().__init__(message)
        self.rejections = rejections or []
        self.rejected = rejected


class OlderExtract(Conflict):
    code = "older_extract"


class RegistryBoundElsewhere(Conflict):
    code = "registry_other_election"


class OutOfScope(Forbidden):
    code = "out_of_scope"


class QueryTooVague(InvalidInput):
    code = "query_too_vague"
