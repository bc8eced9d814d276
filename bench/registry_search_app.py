"""The application as the search benchmark serves it: the real app, plus a stand-in for what
the polling package will register — the polling places (bureaux) each station covers.

A benchmark station's code is its first bureau: « {commune INSEE code}{bureau code} »; its
area is that bureau and the next ones of the commune, up to about 5,000 registered voters
(the size of a primary station), read from `registry_bureau` as polling's resolver would; the
same area as SQL (`area_sql`) for the search's session-less path (403 of 403 sampled stations
give the same area both ways on the 10 M registry).

    DATABASE_URL=… python bench/registry_search_app.py --port 8765
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STATION_VOTERS = 5_000
_STATEMENTS_LOG = os.environ.get("BENCH_SEARCH_STATEMENTS", "")


# One statement on the driver connection, as polling's resolver (`polling.service.station_area`)
# would be on its hot path: station → its bureaux.
_BUREAUX = (
    "SELECT bureau_code, voters FROM registry_bureau WHERE department_code = $1 "
    "AND commune_code = $2 AND bureau_code >= $3 ORDER BY bureau_code LIMIT 12"
)


async def bench_station_area(session, station_code: str):  # noqa: ANN001, ANN201
    from services.db import driver_connection
    from voter_registry.service import StationArea
    from voter_registry.territory_cache import territory

    commune_code, first_bureau = station_code[:5], station_code[5:]
    commune = (await territory(session)).communes.get(commune_code)
    if commune is None or not first_bureau:
        return None
    rows = await (await driver_connection(session)).fetch(_BUREAUX, commune.department_code, commune_code, first_bureau)
    bureaux, total = [], 0
    for code, voters in rows:
        if bureaux and total + voters > STATION_VOTERS:
            break
        bureaux.append((commune_code, code))
        total += voters
    return StationArea(station_code, commune.department_code, tuple(bureaux)) if bureaux else None


# The same area in SQL (`voter_registry.service.station_area_sql`): the search's session-less path
# reads it within its context statement. The first bureau always, then the next ones while the
# running total stays within STATION_VOTERS (the total only grows: the loop's `break`).
bench_station_area.area_sql = (  # type: ignore[attr-defined]
    "SELECT department_code, commune_code, bureau_code FROM ("
    "SELECT first.department_code, first.commune_code, first.bureau_code, "
    "row_number() OVER w AS position, sum(first.voters) OVER w AS running FROM ("
    "SELECT b.department_code, b.commune_code, b.bureau_code, b.voters FROM registry_bureau AS b "
    "JOIN commune AS c ON c.code = left({station}, 5) AND b.department_code = c.department_code "
    "WHERE b.commune_code = left({station}, 5) AND b.bureau_code >= substr({station}, 6) "
    "AND length({station}) > 5 ORDER BY b.bureau_code LIMIT 12) AS first "
    f"WINDOW w AS (ORDER BY first.bureau_code)) AS area WHERE position = 1 OR running <= {STATION_VOTERS}"
)


class _TimedConnection:
    """The search's driver connection, timing each of its round trips (the bench's breakdown of a
    search: context read, levels' statement, audit INSERT)."""

    def __init__(self, connection) -> None:  # noqa: ANN001 - an asyncpg connection
        self._connection = connection
        self.spans: list[float] = []  # seconds, in the order of the calls
        self.backend_cpu: list[float] = []  # the PostgreSQL backend's CPU seconds, per call
        self.rows = -1
        self._schedstat = f"/proc/{connection.get_server_pid()}/schedstat"

    def _backend_cpu(self) -> float:
        """The backend's CPU time, in ns precision (/proc/<pid>/schedstat: on the same machine)."""
        try:
            with open(self._schedstat) as stat:
                return int(stat.read().split()[0]) / 1e9
        except OSError:
            return 0.0

    async def fetchrow(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        started, cpu = time.perf_counter(), self._backend_cpu()
        try:
            return await self._connection.fetchrow(*args, **kwargs)
        finally:
            self.spans.append(time.perf_counter() - started)
            self.backend_cpu.append(self._backend_cpu() - cpu)

    async def fetch(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        started, cpu = time.perf_counter(), self._backend_cpu()
        try:
            rows = await self._connection.fetch(*args, **kwargs)
            self.rows = len(rows)
            return rows
        finally:
            self.spans.append(time.perf_counter() - started)
            self.backend_cpu.append(self._backend_cpu() - cpu)
            if _STATEMENTS_LOG:  # every levels' statement with its values and backend CPU, for EXPLAIN
                with open(_STATEMENTS_LOG, "a") as log:
                    log.write(json.dumps({"cpu_ms": self.backend_cpu[-1] * 1000, "sql": args[0], "args": list(args[1:])}) + "\n")

    async def execute(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        started, cpu = time.perf_counter(), self._backend_cpu()
        try:
            return await self._connection.execute(*args, **kwargs)
        finally:
            self.spans.append(time.perf_counter() - started)
            self.backend_cpu.append(self._backend_cpu() - cpu)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._connection, name)


def _timed(handler):  # noqa: ANN001, ANN202
    """The search's fast path, answering with a `x-bench-timing` header: the wall clock when the
    handler started (time.time(), to compare with the load generator's due time), the handler's
    own duration, each round trip's, the rows the levels' statement returned, and the process
    CPU time spent during the handler (includes whatever other request ran meanwhile)."""

    async def timed_search(request, connection):  # noqa: ANN001, ANN202
        entered = time.time()
        started = time.perf_counter()
        cpu = time.process_time()
        timed = _TimedConnection(connection)
        response = await handler(request, timed)
        total = time.perf_counter() - started
        spans = ",".join(f"{span * 1000:.3f}" for span in timed.spans)
        backend = ",".join(f"{span * 1000:.3f}" for span in timed.backend_cpu)
        response.headers["x-bench-timing"] = (
            f"{entered:.6f};{total * 1000:.3f};{spans};{timed.rows};{(time.process_time() - cpu) * 1000:.3f};{os.getpid()};{backend}"
        )
        return response

    return timed_search


def create_bench_app():  # noqa: ANN201 - uvicorn factory (one per worker process)
    from services.app import create_app
    from voter_registry.service import register_station_area_resolver

    if os.environ.get("BENCH_SEARCH_TIMING") == "1":
        from voter_registry import api

        api.search.driver_fast_path = _timed(api._driver_search)  # noqa: SLF001
    app = create_app()
    # After the composition root, which registers polling's resolver: the benchmark's stations
    # are not planned by polling (registered before, the stand-in was replaced and every tablet
    # search answered 409 « station_without_area » — the last run's 365 errors out of 400).
    register_station_area_resolver(bench_station_area)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    import uvicorn

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    uvicorn.run(
        "registry_search_app:create_bench_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
