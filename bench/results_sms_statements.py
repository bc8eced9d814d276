"""Benchmark (diagnostic): the results SMS fast path's statements, one at a time, in process.

    uv run python bench/results_sms_statements.py [--stations 3000]

No HTTP, no concurrency: the fast handlers (`results.sms_fast.report` and `.confirm`) are called
directly, one station after the other, on ONE asyncpg connection, and every statement's
PostgreSQL CPU is read from the backend's /proc entry before and after it. What it tells: where
the database's share of a report goes (the read, the write of `T1`, the read, the write of
`OK`), and the handlers' own Python CPU per message (parsing, checks, audit rows, reply).

The floor is one `INSERT` of a message row (sid, body) on the same connection, per message.
The last line printed is one JSON object.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_sms_burst import BENCH_SECRET, FLOOR_TABLE, RESULTS_NUMBER, figures_for, prepare_database, report_body, seed  # noqa: E402

CODE_IN_REPLY = re.compile(r"OK ([A-Z0-9]{4})")


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Measured:
    """An asyncpg connection whose statements are timed in the backend's CPU, by statement."""

    def __init__(self, connection, pid: int, names: dict[str, str]) -> None:  # noqa: ANN001
        self.connection = connection
        self.pid = pid
        self.names = names
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.last: dict[str, tuple] = {}

    def _name(self, sql: str) -> str:
        return self.names.get(sql, sql.strip().split("\n")[0][:40])

    async def _run(self, method: str, sql: str, *args):  # noqa: ANN002, ANN202
        before = backend_cpu(self.pid)
        result = await getattr(self.connection, method)(sql, *args)
        name = self._name(sql)
        self.cpu[name] += backend_cpu(self.pid) - before
        self.calls[name] += 1
        self.last[sql] = args
        return result

    async def fetch(self, sql: str, *args):  # noqa: ANN002, ANN201
        return await self._run("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args):  # noqa: ANN002, ANN201
        return await self._run("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args):  # noqa: ANN002, ANN201
        return await self._run("fetchval", sql, *args)

    async def execute(self, sql: str, *args):  # noqa: ANN002, ANN201
        return await self._run("execute", sql, *args)

    def is_in_transaction(self) -> bool:
        return self.connection.is_in_transaction()


async def measure(owner_url: str, app_url: str, stations: int) -> dict[str, object]:
    import asyncpg

    from results import service, sms_fast
    from services import db
    from services.elections.models import Round
    from services.telephony import fastpath
    from services.telephony.registry import sms_commands
    from services.telephony.service import clean_text  # noqa: F401 - the same module the gateway uses
    from services.telephony.sms_text import fit_sms

    round_id, seeded = await seed(owner_url, app_url, stations)
    database = db.init_database(app_url, pool_size=2)
    async with db.session_scope() as session:
        await service.round_rules(session, await session.get(Round, round_id))
    await database.dispose()
    plain = app_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(plain)
    pid = await connection.fetchval("SELECT pg_backend_pid()")
    names = {
        sms_fast.STATION_FACTS_SQL: "T1 read",
        sms_fast.FIRST_REPORT_SQL: "T1 write",
        sms_fast.PENDING_REPORT_SQL: "OK read",
        sms_fast.CONFIRM_SQL: "OK write",
    }
    for statement in filter(None, os.environ.get("BENCH_SESSION_SQL", "").split(";")):
        await connection.execute(statement)
    measured = Measured(connection, pid, names)
    link = fastpath.Link(measured, own=True, session=None)
    python_cpu = {"T1": 0.0, "OK": 0.0}
    from datetime import datetime, timezone

    async def send(sid: str, phone: str, text: str, kind: str) -> str:
        resolution = sms_commands.resolve(text)
        command = resolution.command
        now = datetime.now(timezone.utc)
        sms = fastpath.FastSms(
            sid, phone, RESULTS_NUMBER, text, now,
            claim=(sid, phone, RESULTS_NUMBER, sms_commands.stored_text(text, resolution), resolution.keyword[:32], now),
            fit=lambda reply: fit_sms(reply, command.max_segments),
        )  # fmt: skip
        started = time.process_time()
        result = await command.fast(None, link, sms)
        python_cpu[kind] += time.process_time() - started
        if result.reply is None:
            raise SystemExit(f"{kind} {text!r} : pas de réponse du chemin rapide")
        return result.reply

    # A warm-up (statements prepared, caches filled), not counted.
    warm = 50
    for index, (code, phone, pin) in enumerate(seeded[:warm]):
        reply = await send(f"SMw{index:030d}", phone, report_body(code, pin, figures_for(index)), "T1")
        await send(f"SMx{index:030d}", phone, f"OK {CODE_IN_REPLY.search(reply).group(1)}", "OK")
    measured.cpu.clear()
    measured.calls.clear()
    python_cpu.update(T1=0.0, OK=0.0)
    work = seeded[warm:]
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for index, (code, phone, pin) in enumerate(work):
        reply = await send(f"SMr{index:030d}", phone, report_body(code, pin, figures_for(index)), "T1")
        await send(f"SMo{index:030d}", phone, f"OK {CODE_IN_REPLY.search(reply).group(1)}", "OK")
    if profiler is not None:
        import pstats

        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(45)
    floor_before = backend_cpu(pid)
    for index in range(len(work)):
        await connection.execute(f"INSERT INTO {FLOOR_TABLE} (sid, body) VALUES ($1, $2)", f"SMf{index:030d}", "T1 x")
    floor_ms = (backend_cpu(pid) - floor_before) * 1000 / len(work)
    explained = {}
    loops = int(os.environ.get("BENCH_LOOP", "0"))
    if loops:
        import importlib

        variants = importlib.import_module(os.environ.get("BENCH_VARIANTS", "variants_sms")).variants(names, measured.last)
        owner = await asyncpg.connect(owner_url.replace("postgresql+asyncpg://", "postgresql://"))
        for setup in variants.get("setup", []):
            await owner.execute(setup)
        await owner.close()
        for label, (sql, args) in variants["statements"].items():
            for _ in range(20):
                await connection.fetch(sql, *args)
            before = backend_cpu(pid)
            started = time.process_time()
            for _ in range(loops):
                await connection.fetch(sql, *args)
            print(f"loop {label}: {(backend_cpu(pid) - before) * 1000 / loops:.3f} ms PG, "
                  f"{(time.process_time() - started) * 1000 / loops:.3f} ms client", file=sys.stderr)
    for row in await connection.fetch("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"):
        name = names.get(row["statement"], row["statement"].strip()[:50])
        print(f"plans {name}: generic {row['generic_plans']}, custom {row['custom_plans']}", file=sys.stderr)
    if os.environ.get("BENCH_EXPLAIN"):
        for sql, args in measured.last.items():
            if names.get(sql, "").endswith("read"):
                plan = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
                explained[names[sql]] = [row[0] for row in plan]
        print(json.dumps(explained, indent=1, ensure_ascii=False), file=sys.stderr)
    await connection.close()
    reports = len(work)
    per_statement = {name: round(cpu * 1000 / reports, 3) for name, cpu in sorted(measured.cpu.items())}
    total_pg = sum(measured.cpu.values()) * 1000 / reports
    return {
        "benchmark": "results_sms_statements",
        "reports": reports,
        "postgres_cpu_ms_per_statement": per_statement,
        "statements_per_report": {name: count / reports for name, count in sorted(measured.calls.items())},
        "postgres_cpu_ms_per_report": round(total_pg, 3),
        "python_cpu_ms_per_message": {kind: round(cpu * 1000 / reports, 3) for kind, cpu in python_cpu.items()},
        "floor": "one INSERT of the message row, same connection",
        "floor_postgres_cpu_ms_per_insert": round(floor_ms, 3),
        "ratio": round(total_pg / (2 * floor_ms), 2) if floor_ms else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=3000)
    args = parser.parse_args()
    from services import embedded_pg
    from services.settings import configure  # noqa: F401 - seed configures the settings

    owner, app_url, server, folder = prepare_database()
    try:
        figures = asyncio.run(measure(owner, app_url, args.stations))
    finally:
        if server is not None:
            embedded_pg.stop(server)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
