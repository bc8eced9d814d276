"""Diagnosis: the CPU of one search, in process, without HTTP nor load — robust to a busy machine.

    uv run python bench/registry_search_handler.py [--requests 2000] [--profile]

Calls the search's session-less path (`voter_registry.api._driver_search`, what
`services.app.FastPaths` runs for GET /api/v1/registry/search) one request after the other on
one asyncpg connection to the bench registry of bench/registry_search.py (10 M voters, its
tablets and commission tokens, the same request mix and seed), and measures per search:
the Python CPU of the handler (`time.process_time`, this process only: no server, no load
generator), and the PostgreSQL backend's CPU of each round trip (context read, levels'
statement, audit INSERT; /proc/<pid>/schedstat, ns). The floor, in the same run and on the
same connection: one `SELECT 1` round trip per request, its Python and PostgreSQL CPU.
`--profile`: a cProfile of the handler (by own time) on stderr.

Sequential and in process: it measures CPU, not latency (bench/registry_search.py does, at
200 requests per second). One JSON line. Writes the look-ups' audit rows, as the search does.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import registry_search as bench  # noqa: E402


class _Split:
    """The search's driver connection, adding each round trip's backend CPU to a running total."""

    def __init__(self, connection, read_cpu, totals: list[float]) -> None:  # noqa: ANN001
        self._connection, self._read_cpu, self._totals, self._call = connection, read_cpu, totals, 0

    async def _timed(self, method: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        before = self._read_cpu()
        try:
            return await getattr(self._connection, method)(*args, **kwargs)
        finally:
            if self._call < len(self._totals) - 1:
                self._totals[self._call] += self._read_cpu() - before
            self._call += 1
            self._totals[-1] += 1  # round trips

    async def fetchrow(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return await self._timed("fetchrow", *args, **kwargs)

    async def fetch(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return await self._timed("fetch", *args, **kwargs)

    async def execute(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return await self._timed("execute", *args, **kwargs)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._connection, name)


async def run(url: str, args: argparse.Namespace) -> dict:
    import asyncpg
    from starlette.requests import Request

    from registry_search_app import bench_station_area
    from services import db
    from services.app import create_app
    from voter_registry import api
    from voter_registry.service import register_station_area_resolver
    from voter_registry.territory_cache import territory

    state = await bench.setup(url, args.voters, args.voters, {}, args.stations)
    create_app(run_background_jobs=False)
    register_station_area_resolver(bench_station_area)  # after the composition root, as the bench app
    db.init_database(url, pool_size=2)
    async with db.session_scope() as session:
        await territory(session)  # the process cache the fast path answers from
    await db.database().dispose()
    requests = bench.make_requests(state, args.requests + args.warmup, seed=2)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    schedstat = f"/proc/{connection.get_server_pid()}/schedstat"
    # As `services.db.pooled_driver_connection` sets it on the hot paths' connections (a cached
    # searcher's ONE statement needs it in force before it is bound).
    await connection.execute("SET plan_cache_mode = force_generic_plan")

    def backend_cpu() -> float:
        with open(schedstat) as stat:
            return int(stat.read().split()[0]) / 1e9

    def request(path: str, params: dict, headers: dict) -> Request:
        scope = {
            "type": "http", "method": "GET", "path": path, "query_string": urlencode(params).encode(),
            "headers": [(name.encode(), value.encode()) for name, value in headers.items()], "state": {},
        }

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        return Request(scope, receive)

    totals = [0.0, 0.0, 0.0, 0.0]  # CPU of the 1st, 2nd, 3rd round trip; round trips
    try:
        for path, params, headers in requests[: args.warmup]:
            await api._driver_search(request(path, params, headers), connection)  # noqa: SLF001
        gc.collect()
        gc.freeze()
        measured = requests[args.warmup :]
        built = [request(*item) for item in measured]  # the Request objects are not the handler's work
        profile = cProfile.Profile() if args.profile else None
        # The cyclic collector during the measured searches: collections per generation and
        # their longest pause (the server freezes its start-up heap the same way).
        pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        started_at: list[float] = [0.0]

        def collector(phase: str, info: dict) -> None:
            if phase == "start":
                started_at[0] = time.perf_counter()
            else:
                pauses[info["generation"]].append(time.perf_counter() - started_at[0])

        gc.callbacks.append(collector)
        failed = 0
        cpu, db_cpu = time.process_time(), backend_cpu()
        if profile:
            profile.enable()
        for item in built:
            try:
                await api._driver_search(item, _Split(connection, backend_cpu, totals))  # noqa: SLF001
            except Exception:  # noqa: BLE001 - a hand-over to the regular route: counted
                failed += 1
        if profile:
            profile.disable()
        cpu, db_cpu = time.process_time() - cpu, backend_cpu() - db_cpu
        gc.callbacks.remove(collector)
        # The split's own /proc reads are Python CPU of this process: measured, then subtracted.
        probe = time.process_time()
        for _ in range(len(built) * 6):
            backend_cpu()
        probe = time.process_time() - probe
        floor_cpu, floor_db = time.process_time(), backend_cpu()
        for _ in built:
            await connection.fetchval("SELECT 1")
        floor_cpu, floor_db = time.process_time() - floor_cpu, backend_cpu() - floor_db
    finally:
        await connection.close()
    if profile:
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    n = len(built)
    search_ms = {
        "app_cpu_ms": round((cpu - probe) * 1000 / n, 3),
        "db_cpu_ms": round(db_cpu * 1000 / n, 3),
        "db_cpu_ms_by_round_trip": dict(
            # Since `search8`, the levels' statement also writes the audit row (« auto » widening);
            # a separate audit INSERT (third round trip) remains for « elargir=tout » only. Since
            # `search10`, a searcher whose context is cached sends ONE statement (the levels, the
            # audit row and the context's re-check): the first round trip is then that statement.
            zip(("first", "second", "third"), (round(t * 1000 / n, 3) for t in totals[:3]), strict=True)
        ),
        "round_trips_per_search": round(totals[3] / n, 3),
    }
    floor_ms = {"app_cpu_ms": round(floor_cpu * 1000 / n, 3), "db_cpu_ms": round(floor_db * 1000 / n, 3)}
    return {
        "benchmark": "registry_search_handler",
        "voters_in_registry": state["loaded"],
        "requests": n,
        "handed_over": failed,
        "search_per_request": search_ms,
        "floor_select_1_round_trip": floor_ms,
        "ratio_cpu_to_one_round_trip": round(
            (search_ms["app_cpu_ms"] + search_ms["db_cpu_ms"]) / max(0.001, floor_ms["app_cpu_ms"] + floor_ms["db_cpu_ms"]), 2
        ),
        "gc_collections": {
            f"gen{generation}": {"count": len(values), "max_ms": round(max(values, default=0.0) * 1000, 3)}
            for generation, values in pauses.items()
        },
        "profiled": bool(args.profile),
        "cpu_calibration_s": bench.calibration(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--voters", type=int, default=10_000_000, help="the bench registry's size (never built here)")
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from services import embedded_pg
    from services.migrations import runner
    from services.settings import Mode, configure

    configure(mode=Mode.TEST, secret_key=bench.SECRET)
    if not (bench.DATA / "pgdata").exists():
        raise SystemExit(f"Pas de registre de banc dans {bench.DATA} : lancez d'abord bench/registry_search.py.")
    url, server = embedded_pg.start(bench.DATA, database="bench")
    try:
        runner.upgrade(url)
        print(json.dumps(asyncio.run(run(url, args)), ensure_ascii=False))
    finally:
        embedded_pg.stop(server)


if __name__ == "__main__":
    main()
