"""The schema built by the migrations is exactly the one the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.composition import import_models
from services.db import Base, to_async_url
from services.migrations import runner


async def test_models_match_the_migrated_schema(database_url: str) -> None:
    import_models()
    engine = create_async_engine(to_async_url(database_url))

    def diff(connection):  # noqa: ANN001, ANN202
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    await engine.dispose()
    assert differences == []


def test_every_package_branch_is_a_single_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(runner.alembic_config("postgresql://unused/unused"))
    heads = script.get_heads()
    labels = [label for head in heads for label in (script.get_revision(head).branch_labels or ())]
    # One head per package branch at most (branches may be extended, never forked).
    assert len(heads) == len({rev for rev in heads})
    assert "services" in {label for rev in script.walk_revisions() for label in (rev.branch_labels or ())}
    assert len(heads) <= len(runner.PACKAGES), labels
