"""Background jobs of the log, run by every server worker (see services/composition.py).

With several workers, each job takes a PostgreSQL advisory lock per run: one worker does the
work, the others find the lock taken and wait for the next tick. Errors are logged and retried:
the log must never take the server down, and recording events never depends on these jobs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select, text

from audit import keys, sequencer, service
from audit.models import AuditVerification
from services import db
from services.db import utcnow
from services.settings import settings

logger = logging.getLogger("primaires.audit")

VERIFICATION_LOCK = 0x76657269  # "veri"


async def sealing_job() -> None:
    """Seal every `audit_seal_interval_seconds`: integrate the final events, sign a checkpoint.

    While events arrive a checkpoint is signed at each run, so an event is covered by a signed
    checkpoint a few seconds after it commits; when nothing happens, nothing is signed.
    """
    warned = False
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            try:
                signer = keys.signer()
            except Exception as error:  # noqa: BLE001 - a bad key file is reported; integration goes on
                signer = None
                if not warned:
                    logger.error("Journal d'audit : clé de signature inutilisable (%s) ; intégration sans signature.", error)
                    warned = True
            if signer is None and not warned:
                logger.warning("Journal d'audit : aucune clé de signature configurée ; aucun point de contrôle n'est signé.")
                warned = True
            await sequencer.seal_all(signer)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged, retried at the next tick
            logger.exception("Journal d'audit : échec du scellement, nouvel essai au prochain cycle.")
        # A steady rhythm: the time spent sealing counts in the period, so the checkpoint lag
        # stays about one period plus one run, even when a run has much to integrate.
        await asyncio.sleep(max(0.1, settings().audit_seal_interval_seconds - (loop.time() - started)))


async def verify_if_due(requested_by: str = "system:verification-periodique") -> AuditVerification | None:
    """Run a full verification unless another worker did one recently."""
    interval = timedelta(minutes=settings().audit_verify_interval_minutes)
    async with db.session_scope() as session:
        if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": VERIFICATION_LOCK}):
            return None
        last = await session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))
        if last is not None and utcnow() - last.verified_at < interval * 0.9:
            return None
        result = await service.verify_stored_log(session, requested_by)
    if not result.ok:
        logger.error("Journal d'audit : vérification complète en ÉCHEC à l'index %s : %s", result.first_bad_index, result.message)
    return result


async def verification_job() -> None:
    """Re-verify the whole stored log with the independent verifier, periodically."""
    while True:
        await asyncio.sleep(settings().audit_verify_interval_minutes * 60)
        try:
            await verify_if_due()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged, retried at the next tick
            logger.exception("Journal d'audit : la vérification périodique n'a pas pu s'exécuter.")
