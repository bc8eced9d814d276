"""One error hierarchy for the whole application.

Every refusal a user can meet is an `AppError` carrying its HTTP status, a stable machine
`code` (for scripts and integrations) and a French `message` written for election staff:
it says what is wrong and, where possible, what to do. One handler (see `services.app`)
renders it as a French HTML page, as JSON or as an SMS/voice reply depending on the route.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 400
    code: str = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail or {}

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return body


class InvalidInput(AppError):
    status = 422
    code = "invalid_input"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class Conflict(AppError):
    status = 409
    code = "conflict"


class WrongPhase(AppError):
    """An operation attempted while the round is not in a phase that allows it."""

    status = 409
    code = "wrong_phase"


class TooManyAttempts(AppError):
    status = 429
    code = "too_many_attempts"
