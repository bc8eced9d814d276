"""Running a domain handler so that a refusal or a failure changes nothing.

Every SMS command handler, voice-field validator and voice-flow final handler runs inside a
SAVEPOINT of the request's transaction (`run_guarded`):

- it returns normally → its changes stay, and are committed with the stored reply;
- it raises an `AppError` → its changes are rolled back, its French message is the reply;
- it raises anything else, or changed audited state without recording an event → its
  changes are rolled back, the error is logged, the reply is the generic French failure
  message. Twilio never sees a 500 and nothing is half applied.

The inbound message itself (and the reply) is written outside the savepoint, so a refused or
failed message is still stored once and a redelivery gets the same answer.

What must survive a refusal — a failed PIN attempt that counts towards the lock-out, an
audited « report refused » event — is registered by the handler with
``context.after_rollback(callback)``: the callbacks run after the rollback, in the request's
transaction, each in its own savepoint (a failing callback is logged and dropped).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.db import UnauditedChange, connection_lost
from services.errors import AppError

logger = logging.getLogger("primaires.telephony")

T = TypeVar("T")
AfterRollback = Callable[[AsyncSession], Awaitable[None]]

GENERIC_FAILURE = (
    "Erreur technique : rien n'a été enregistré. Renvoyez votre message dans quelques minutes ; "
    "si cela persiste, appelez votre commission départementale."
)


@dataclass
class RollbackHooks:
    """The callbacks a handler registered to run if its changes are rolled back."""

    callbacks: list[AfterRollback] = field(default_factory=list)

    def add(self, callback: AfterRollback) -> None:
        self.callbacks.append(callback)

    def take(self) -> list[AfterRollback]:
        taken, self.callbacks = self.callbacks, []
        return taken


@dataclass
class Guarded(Generic[T]):
    value: T | None = None
    refusal: AppError | None = None
    failed: bool = False

    @property
    def ok(self) -> bool:
        return self.refusal is None and not self.failed


def _check_audited(session: AsyncSession) -> None:
    info = session.sync_session.info
    wrote = info.get("audited_writes")
    if wrote and not info.get("audit_events"):
        raise UnauditedChange(f"Modification de « {wrote} » sans événement d'audit (commande téléphonique).")


async def run_guarded(
    session: AsyncSession, work: Callable[[], Awaitable[T]], hooks: RollbackHooks, *, what: str
) -> Guarded[T]:
    """Run `work` in a savepoint; see the module docstring. `what` names it in the logs."""
    try:
        async with session.begin_nested():
            value = await work()
            await session.flush()
            _check_audited(session)
    except AppError as refusal:
        await _run_after_rollback(session, hooks, what)
        return Guarded(refusal=refusal)
    except Exception as error:  # noqa: BLE001 - any failure becomes a French reply, never a 500 to Twilio
        hooks.take()
        if connection_lost(error):
            # Not a failure of the command: the database restarted. The application's handler
            # answers « rien n'a été enregistré, renvoyez » (TwiML), not « Erreur interne ».
            raise
        logger.exception("Échec inattendu de %s : modifications annulées", what)
        return Guarded(failed=True)
    hooks.take()
    return Guarded(value=value)


async def _run_after_rollback(session: AsyncSession, hooks: RollbackHooks, what: str) -> None:
    for callback in hooks.take():
        try:
            async with session.begin_nested():
                await callback(session)
                await session.flush()
                _check_audited(session)
        except Exception:  # noqa: BLE001 - the refusal reply still goes out
            logger.exception("Échec d'une action après refus (%s) : ignorée", what)
