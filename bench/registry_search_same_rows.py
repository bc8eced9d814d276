"""A/B of the search's SQL on the 10 M-voter bench registry: the same rows, and PostgreSQL's CPU.

    uv run python bench/registry_search_same_rows.py [--against main] [--queries 600]
    uv run python bench/registry_search_same_rows.py --without-indexes ix_voter_national_birth,ix_voter_national_usage

Runs random searches in the bench's mix (bench/registry_search.py: a station's voter by name
prefix and often a given name, someone of the same department, someone elsewhere in France with
a given name and year, commission searches) through `search.run_search` of this tree AND of
`voter_registry/search.py` at the git revision `--against`, alternately first, on one
connection with the generic plans the fast path uses. Every answer must be the same (hits'
refs, levels, scores, order, truncation); PostgreSQL's CPU per levels' statement is measured
from the backend's /proc/<pid>/schedstat (ns, on this machine: robust to the other load).

`--without-indexes A,B`: this tree's SQL on both sides, « before » inside a transaction that drops
those indexes (rolled back: the database is unchanged), « after » with them — what an index
changes, same answers required.

Needs the bench database of bench/registry_search.py (`bench/out/registry-search/`).
One JSON line: queries, identical answers, answers both truncated (more than 200 matches: which
201 candidates are read is the plan's order, so the 20 shown among equal scores may differ),
mismatches, CPU per statement (mean, p90, p99) of
both sides by the level reached.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = ROOT / "bench" / "out" / "registry-search"


def _module_at(revision: str):  # noqa: ANN202
    """voter_registry/search.py as it is at `revision`, imported under another name."""
    source = subprocess.run(
        ["git", "show", f"{revision}:voter_registry/search.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / "search_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("search_at_revision", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["search_at_revision"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


async def main_async(args: argparse.Namespace) -> dict:
    import asyncpg

    from registry_search import _prefix
    from registry_search_app import bench_station_area
    from services import db
    from services.elections.models import Election
    from voter_registry import search as current
    from voter_registry.search import SearchScope, VoterQuery
    from voter_registry.service import station_scope
    from voter_registry.territory_cache import territory

    previous = _module_at(args.against)
    if "given_count: int," in subprocess.run(
        ["git", "show", f"{args.against}:voter_registry/search.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout:
        # A revision from before the given names' alternatives (« St » = « st… » OR « saint… »):
        # its `given_query_words` (one word each, abbreviations expanded) with it.
        from voter_registry.normalize import fold

        previous.given_query_words = lambda value: tuple(dict.fromkeys(fold(value)))
    from services import embedded_pg

    url, server = embedded_pg.start(DATA, database="bench")
    try:
        db.init_database(url, pool_size=2)
        async with db.session_scope() as session:
            world = await territory(session)
            election = (await session.execute(Election.__table__.select().order_by(Election.id.desc()).limit(1))).first()
            connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            sample = [
                dict(row)
                for row in await connection.fetch(
                    "SELECT department_code, commune_code, bureau_code, birth_name, usage_name, given_names, birth_year "
                    "FROM voter TABLESAMPLE SYSTEM (0.2) REPEATABLE (7) LIMIT 20000"
                )
            ]
            registry_election = await connection.fetchval("SELECT election_id FROM registry_state WHERE id = 1")
            rng = random.Random(args.seed)
            rng.shuffle(sample)
            by_department: dict[str, list[dict]] = {}
            for row in sample:
                by_department.setdefault(row["department_code"], []).append(row)
            stations = []
            for row in sample[: args.stations]:
                area = await bench_station_area(session, f"{row['commune_code']}{row['bureau_code']}")
                if area is not None:
                    stations.append((row, station_scope(area)))
            commissions = sorted(by_department)[:20]
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        schedstat = f"/proc/{connection.get_server_pid()}/schedstat"

        def backend_cpu_ms() -> float:
            with open(schedstat) as stat:
                return int(stat.read().split()[0]) / 1e6

        queries: list[tuple[VoterQuery, SearchScope]] = []
        for _ in range(args.queries):
            roll = rng.random()
            station, scope = rng.choice(stations)
            department = station["department_code"]
            if roll < 0.75:
                voters = [r for r in by_department[department] if (r["commune_code"], r["bureau_code"]) in scope.area]
                voter = rng.choice(voters) if voters else rng.choice(by_department[department])
                given = voter["given_names"].split()[0] if rng.random() < 0.6 and voter["given_names"] else ""
                name = voter["usage_name"] if voter["usage_name"] and rng.random() < 0.3 else voter["birth_name"]
                query = VoterQuery(name=_prefix(rng, name), given_names=_prefix(rng, given, 2) if given else "")
            elif roll < 0.85:
                voter = rng.choice(by_department[department])
                query = VoterQuery(
                    name=_prefix(rng, voter["birth_name"], 4),
                    given_names=voter["given_names"].split()[0] if voter["given_names"] else "",
                )
            elif roll < 0.90:
                voter = rng.choice(sample)
                query = VoterQuery(
                    name=voter["birth_name"],
                    given_names=voter["given_names"].split()[0] if voter["given_names"] else "",
                    birth=str(voter["birth_year"]),
                )
            else:
                department = rng.choice(commissions)
                voter = rng.choice(by_department[department])
                scope = SearchScope(department=department, national=False)
                query = VoterQuery(
                    name=_prefix(rng, voter["birth_name"], 4),
                    given_names=_prefix(rng, voter["given_names"].split()[0], 2) if voter["given_names"] else "",
                )
            queries.append((query, scope))

        def answer(results) -> tuple:  # noqa: ANN001
            return (
                [(hit.voter.ref, hit.level.value, hit.score, hit.full_detail, hit.eligibility.status.value) for hit in results.hits],
                [level.value for level in results.levels_searched],
                results.truncated,
                list(results.notes),
            )

        async def run(module, query: VoterQuery, scope: SearchScope) -> tuple[tuple, float]:  # noqa: ANN001
            scope_there = module.SearchScope(**{name: getattr(scope, name) for name in scope.__dataclass_fields__})
            query_there = module.VoterQuery(**{name: getattr(query, name) for name in query.__dataclass_fields__})
            prepared = module.prepare_search(query_there, scope_there, world)
            before = backend_cpu_ms()
            results = await module.run_search(
                connection, prepared, election=election, registry_election=registry_election
            )
            return answer(results), backend_cpu_ms() - before

        cpu: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
        all_answers: list[dict[str, tuple]] = [{} for _query in queries]
        spent_by: dict[str, dict[int, float]] = {"before": {}, "after": {}}

        def measured(side: str, index: int, answer_: tuple, spent: float) -> None:
            level = answer_[1][-1] if answer_[1] else "none"
            cpu[side].setdefault(level, []).append(spent)
            cpu[side].setdefault("all", []).append(spent)
            all_answers[index][side] = answer_
            spent_by[side][index] = spent

        started = time.perf_counter()
        if args.without_indexes:
            # The same SQL (this tree's) with and without the named indexes: « before » runs in a
            # transaction that drops them (rolled back: nothing changes), then « after » with
            # them. Not interleaved (the transaction locks the table), both warmed first.
            dropped = connection.transaction()
            await dropped.start()
            try:
                for name in args.without_indexes.split(","):
                    await connection.execute(f'DROP INDEX "{name.strip()}"')
                for query, scope in queries[:50]:
                    await run(current, query, scope)
                for index, (query, scope) in enumerate(queries):
                    measured("before", index, *await run(current, query, scope))
            finally:
                await dropped.rollback()
            for query, scope in queries[:50]:
                await run(current, query, scope)
            for index, (query, scope) in enumerate(queries):
                measured("after", index, *await run(current, query, scope))
        else:
            # Warm both sides' statements (and the caches) before measuring.
            for query, scope in queries[:50]:
                await run(current, query, scope)
                await run(previous, query, scope)
            for index, (query, scope) in enumerate(queries):
                order = [("before", previous), ("after", current)]
                if index % 2:
                    order.reverse()
                for side, module in order:
                    measured(side, index, *await run(module, query, scope))
        same = truncated_elsewhere = 0
        mismatches = []
        # The queries whose given names hold an abbreviation (« St », « Sté »), which this tree
        # reads both ways: how many reach another level, and what they cost on each side.
        from voter_registry.normalize import given_query_words

        abbreviated = {"n": 0, "other_level_reached": 0, "other_answer": 0, "found_before": 0, "found_after": 0}
        abbreviated_cpu: dict[str, list[float]] = {"before": [], "after": []}
        levels_reached: dict[str, dict[str, int]] = {"before": {}, "after": {}}
        for index, ((query, scope), answers) in enumerate(zip(queries, all_answers, strict=True)):
            if any(len(alternatives) > 1 for alternatives in given_query_words(query.given_names)):
                abbreviated["n"] += 1
                abbreviated["other_level_reached"] += answers["before"][1][-1:] != answers["after"][1][-1:]
                abbreviated["other_answer"] += answers["before"] != answers["after"]
                abbreviated["found_before"] += bool(answers["before"][0])
                abbreviated["found_after"] += bool(answers["after"][0])
                for side in ("before", "after"):
                    abbreviated_cpu[side].append(spent_by[side][index])
                    reached = answers[side][1][-1] if answers[side][1] else "none"
                    levels_reached[side][reached] = levels_reached[side].get(reached, 0) + 1
                if answers["before"] != answers["after"]:
                    continue  # the intended change, counted above
            if answers["before"] == answers["after"]:
                same += 1
            elif answers["before"][2] and answers["after"][2] and answers["before"][1:] == answers["after"][1:]:
                # Both truncated (more than 200 people match, « type more »): which 201 of them
                # are read is the plan's order, not a ranking — the same on both sides otherwise.
                truncated_elsewhere += 1
            elif len(mismatches) < 5:
                mismatches.append({"query": query.__dict__, "scope": scope.kind, "before": answers["before"], "after": answers["after"]})
        await connection.close()
        await db.database().dispose()
        return {
            "benchmark": "registry_search_same_rows",
            "against": f"sans {args.without_indexes}" if args.without_indexes else args.against,
            "queries": len(queries),
            "identical_answers": same,
            "both_truncated_other_candidates": truncated_elsewhere,
            "mismatches": mismatches,
            "given_name_abbreviations": {
                **abbreviated,
                "levels_reached": levels_reached,
                "db_cpu_ms_total": {side: round(sum(values), 3) for side, values in abbreviated_cpu.items()},
                "db_cpu_ms_mean": {side: round(sum(values) / len(values), 3) if values else 0 for side, values in abbreviated_cpu.items()},
            },
            "db_cpu_ms_per_statement": {
                side: {
                    level: {
                        "n": len(values),
                        "mean": round(sum(values) / len(values), 3),
                        "p90": _percentile(values, 0.9),
                        "p99": _percentile(values, 0.99),
                    }
                    for level, values in sorted(levels.items())
                }
                for side, levels in cpu.items()
            },
            "seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        embedded_pg.stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="git revision of voter_registry/search.py to compare with")
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--without-indexes",
        default="",
        help="comma-separated indexes: compare this tree's SQL without them (« before », in a rolled-back "
        "transaction that drops them) and with them (« after ») instead of against a git revision",
    )
    args = parser.parse_args()
    from services.settings import Mode, configure

    configure(mode=Mode.TEST, secret_key="s" * 40)
    print(json.dumps(asyncio.run(main_async(args)), ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
