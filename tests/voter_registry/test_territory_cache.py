"""The registry's in-memory territory: loaded ONCE per process, even when the first requests
after a start arrive together (each used to read the 35,000 communes itself)."""

from __future__ import annotations

import asyncio

from voter_registry import territory_cache


async def test_concurrent_first_requests_load_the_territory_once(database, monkeypatch) -> None:  # noqa: ANN001
    loads: list[int] = []
    real_load = territory_cache._load

    async def counted_load(session):  # noqa: ANN001, ANN202
        loads.append(1)
        await asyncio.sleep(0.05)  # the others arrive while the first is still reading
        return await real_load(session)

    monkeypatch.setattr(territory_cache, "_load", counted_load)
    territory_cache.clear_cache()
    sessions = [database.sessionmaker() for _ in range(4)]
    try:
        worlds = await asyncio.gather(*(territory_cache.territory(s) for s in sessions))
    finally:
        for s in sessions:
            await s.close()
    assert len(loads) == 1
    assert all(world is worlds[0] for world in worlds)
    assert worlds[0].communes["33063"].name == "Bordeaux"
    assert worlds[0].departments["2A"]


async def test_the_loaded_territory_is_served_from_memory(session) -> None:  # noqa: ANN001
    first = await territory_cache.territory(session)
    assert await territory_cache.territory(session) is first
    assert first.communes_named("bordeaux", "33")[0].code == "33063"


async def test_the_import_territory_has_no_names_and_never_serves_the_pages(database) -> None:  # noqa: ANN001
    """The import processes load the communes without their names (they never read them); the
    complete territory is never replaced by it, and is given to the import where it is loaded."""
    territory_cache.clear_cache()
    async with database.sessionmaker() as session:
        slim = await territory_cache.import_territory(session)
        assert await territory_cache.import_territory(session) is slim
        assert slim.communes["33063"].name == "" and slim.communes["33063"].folded_name == ""
        full = await territory_cache.territory(session)
        assert full is not slim and full.communes["33063"].name == "Bordeaux"
        assert full.communes_named("bordeaux", "33")[0].code == "33063"
        # Everything the import reads is the same in both.
        assert slim.communes.keys() == full.communes.keys()
        for code, commune in full.communes.items():
            other = slim.communes[code]
            assert (other.code, other.department_code, other.canton_code, other.kind, other.parent_code) == (
                commune.code, commune.department_code, commune.canton_code, commune.kind, commune.parent_code
            )  # fmt: skip
        assert (slim.departments, slim.cantons, slim.canton_by_signature) == (full.departments, full.cantons, full.canton_by_signature)
        # Once the complete one is loaded, the import uses it (no second copy in a web process).
        assert await territory_cache.import_territory(session) is full
    territory_cache.clear_cache()
