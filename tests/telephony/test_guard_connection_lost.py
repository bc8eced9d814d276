"""A database restart in the middle of an SMS or a call is not « Erreur interne »."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from services.telephony.guard import RollbackHooks, run_guarded


async def test_a_lost_connection_is_raised_for_the_resend_answer_a_bug_is_contained(session) -> None:  # noqa: ANN001
    async def connection_dies() -> None:
        raise DBAPIError("SELECT 1", {}, ConnectionResetError("connexion perdue"), connection_invalidated=True)

    # The application's handler turns it into « La base de données redémarre … renvoyez »
    # (tests/test_errors_and_health.py); the guard must let it through.
    with pytest.raises(DBAPIError):
        await run_guarded(session, connection_dies, RollbackHooks(), what="test")

    async def bug() -> None:
        raise ZeroDivisionError

    contained = await run_guarded(session, bug, RollbackHooks(), what="test")
    assert contained.failed and not contained.ok
