"""Demo data of the registry: synthetic lists of the demo departments, a few supplementary
registrations, so that a newcomer sees imports, rejects, bureaux, cantons and search at once."""

from __future__ import annotations

import time
from datetime import datetime, time as clock, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.demo import DEMO_ACTOR, DemoContext
from services.errors import AppError
from voter_registry import service
from voter_registry.generator import GeneratorOptions, generate
from voter_registry.importer import bytes_file, import_commune_file
from voter_registry.reu import PARIS
from voter_registry.schemas import SupplementaryCreate

# ≈ 30,000 voters over 75, 33, 2A and 971 (≈ 700 commune files): big enough to search and
# plan stations, small enough for the demo to start in seconds on a laptop.
DEMO_VOTERS = 30_000
DEMO_SEED = 2027


async def seed_registry(session: AsyncSession, context: DemoContext) -> None:
    election = context.election
    started = time.monotonic()
    extracted = election.list_extraction_date or datetime.now(PARIS).date()
    options = GeneratorOptions(
        departments=context.departments,
        voters=DEMO_VOTERS,
        seed=DEMO_SEED,
        extracted_at=datetime.combine(extracted, clock(10, 0), tzinfo=PARIS),
        bureau_size=600,
    )
    voters = rejected = files = 0
    for generated in generate(options):
        report = await import_commune_file(
            session, DEMO_ACTOR, election, bytes_file(generated.name, generated.data), today=extracted
        )
        files += 1
        voters += report.voters
        rejected += report.rejected
    # A few supplementary registrations, recorded as if entered before the deadline.
    registered_on = (election.supplementary_deadline or extracted) - timedelta(days=3)
    counts = await service.bureau_counts(session, "33")
    bordeaux = next((count for count in counts if count.commune_code == "33063"), counts[0] if counts else None)
    if bordeaux is not None:
        majority = election.majority_date or registered_on
        samples = [
            SupplementaryCreate(
                kind="member", category="minor", birth_name="Lefèvre-Nguyen", given_names="Zoé Anh", sex="F",
                birth_date=f"15/03/{majority.year - 17}", birth_commune_code="33063", birth_commune="Bordeaux",
                birth_department_code="33", commune_code=bordeaux.commune_code, bureau_code=bordeaux.bureau_code,
                party="Jeunes des communs",
            ),
            SupplementaryCreate(
                kind="member", category="foreign", birth_name="Oliveira Santos", given_names="João Pedro", sex="M",
                birth_date="02/07/1988", birth_commune="Porto", birth_department_code="99", birth_country="PORTUGAL",
                birth_commune_code="99139", nationality="Brésilienne", commune_code=bordeaux.commune_code,
                bureau_code=bordeaux.bureau_code, party="Parti des communs",
            ),
            SupplementaryCreate(
                kind="attestation", category="mairie", birth_name="N'Diaye", given_names="Awa Marie", sex="F",
                birth_date="21/11/1999", birth_commune_code="75056", birth_commune="Paris", birth_department_code="75",
                commune_code=bordeaux.commune_code, bureau_code=bordeaux.bureau_code,
                proof_date=extracted + timedelta(days=10),
            ),
        ]  # fmt: skip
        for spec in samples:
            try:
                async with session.begin_nested():
                    await service.register_supplementary(session, DEMO_ACTOR, election, spec, today=registered_on)
            except AppError:
                continue  # demo data only: a rule of the demo election may refuse one sample
    seconds = time.monotonic() - started
    context.notes.append(
        f"Listes électorales : {voters:_} électeurs de synthèse dans {files} communes ({rejected} lignes malformées "
        f"rejetées, en {seconds:.0f} s) → /registre ; recherche → /registre/recherche (essayez « de la fontaine », "
        "« N'Diaye », « lefevre »).".replace("_", "\u202f")
    )
