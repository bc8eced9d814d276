"""Demo step of the log: after every other package's demo data, seal the log, sign a
checkpoint and verify it all, so the high authority's page shows a verified checkpoint."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from audit import keys, sequencer, service
from services.demo import DemoContext


async def seal_demo_log(session: AsyncSession, context: DemoContext) -> None:
    signer = keys.require_signer()
    while True:
        report = await sequencer.seal(session, signer)
        if report.integrated < sequencer.BATCH:
            break
    result = await service.verify_stored_log(session, "system:demo")
    state = "vérifié" if result.ok else f"ÉCHEC à l'index {result.first_bad_index}"
    context.notes.append(
        f"Journal d'audit : {report.tree_size} événements scellés, point de contrôle signé, {state} "
        "— page /journal (compte haute-autorite)."
    )
