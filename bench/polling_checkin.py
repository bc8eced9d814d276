"""Benchmark: tablet check-ins per second, against a floor measured in the same run.

    uv run python bench/polling_checkin.py [--requests 3000] [--concurrency 16] [--rate 200] [--seconds 15]

What is measured (all on 127.0.0.1, servers started by this script and stopped at the end):

- **check-in**: the real application (`services.app.create_app`) under uvicorn, one process.
  Each request is what a paired tablet sends: ``POST /api/v1/polling/checkins`` (JSON) with
  its session cookie and CSRF token. The server authenticates the tablet, loads its station
  and round, re-reads the voter in the registry, checks the station's area, eligibility,
  charter and contribution, derives the keyed token (HMAC) and encrypts the display data
  (AES-GCM), inserts the check-in (unique per round and token), updates the station's
  counters, records the audit event, answers JSON (see polling/README.md, « hot path »: one
  read and one self-contained write, autocommitted, no BEGIN/COMMIT).
- **the floor**: a bare FastAPI endpoint under the same uvicorn settings that parses the same
  JSON and inserts one row with asyncpg: the least any check-in that stores something must do.

Two measures: (1) throughput with `--concurrency` keep-alive connections, both servers twice,
alternately, best round kept; (2) latency at a fixed rate (`--rate` check-ins per second,
open loop: each request is sent at its scheduled time, latency counted from that time, so a
slow server cannot hide its queue), for `--seconds`. The national peak need is ≈ 200/s.

With no DATABASE_URL, an embedded PostgreSQL (pgserver) is started in a temporary folder;
with DATABASE_URL, a fresh database ``primaires_bench_polling`` is created next to it.
The last line printed is one JSON object with the figures, the floor and the ratio.
"""

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, also when imported as bench.<name>
from _proc import cpu_seconds as tree_cpu_seconds  # noqa: E402
from _proc import descendants  # noqa: E402
from _servers import bench_database, free_port, read_response, wait_ready  # noqa: E402

BENCH_SECRET = "bench-secret-" + "p" * 32
FLOOR_TABLE = "bench_floor_checkin"
CSRF_COOKIE = "bench-csrf-cookie"
VOTERS = 30_000


# --- Servers (run in child processes) --------------------------------------------------------------


def serve_app(port: int, database_url: str) -> None:
    import uvicorn

    from services.app import create_app
    from services.settings import Mode, configure

    configure(mode=Mode.DEMO, database_url=database_url, secret_key=BENCH_SECRET, public_url=f"http://127.0.0.1:{port}")
    app = create_app(run_background_jobs=False)
    if os.environ.get("BENCH_PROFILE"):  # developer aid: where the check-in's time goes
        import cProfile
        import signal

        # CPU time, not wall time: on a loaded machine, wall time charges the scheduler's delays
        # to whatever function happened to be running (a socket write waking PostgreSQL...).
        profile = cProfile.Profile(time.process_time)

        def dump(*_: object) -> None:  # uvicorn re-raises SIGTERM after its shutdown: dump then
            profile.disable()
            profile.dump_stats(os.environ["BENCH_PROFILE"])
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        profile.enable()
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_floor(port: int, database_url: str) -> None:
    from contextlib import asynccontextmanager

    import asyncpg
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    pool: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        pool.append(await asyncpg.create_pool(database_url, min_size=10, max_size=10))
        yield
        await pool[0].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/polling/checkins")
    async def floor(request: Request) -> JSONResponse:
        body = await request.json()
        async with pool[0].acquire() as connection:
            await connection.execute(
                f"INSERT INTO {FLOOR_TABLE} (ref, contribution_cents) VALUES ($1, $2)", body["ref"], body["contribution_cents"]
            )
        return JSONResponse({"station_code": "floor"}, status_code=201)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- Data -------------------------------------------------------------------------------------------


async def seed(owner_url: str, app_url: str) -> list[tuple[str, str]]:
    """An election, 30,000 voters of department 33, its stations open, one tablet per station.
    Returns (voter ref, tablet session token) for every adult voter, shuffled."""
    import random
    from datetime import date, datetime, timedelta

    from sqlalchemy import select

    from polling import plans, service
    from polling.models import StationBureau, StaffRole
    from services import db
    from services.auth import service as auth_service
    from services.elections import service as elections
    from services.elections.models import CandidateStatus, Phase
    from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
    from services.events import Actor
    from services.settings import Mode, configure
    from services.territory.service import load_territory
    from voter_registry.generator import GeneratorOptions, generate
    from voter_registry.importer import bytes_file, import_commune_file, refresh_statistics
    from voter_registry.models import Voter
    from voter_registry.reu import PARIS

    configure(mode=Mode.DEMO, database_url=app_url, migration_database_url=owner_url, secret_key=BENCH_SECRET)
    organiser, authority = Actor(id="system:bench", role="organiser"), Actor(id="system:bench", role="authority")
    database = db.init_database(owner_url, pool_size=2)
    today = date.today()
    async with db.session_scope() as session:
        await load_territory(session)
    async with db.session_scope() as session:
        election = await elections.create_election(
            session, organiser,
            ElectionCreate(slug="bench", name="Primaire de mesure", list_extraction_date=today - timedelta(days=60),
                           majority_date=today, supplementary_deadline=today - timedelta(days=30),
                           rounds=[RoundSpec(number=1, polling_date=today)]),
        )  # fmt: skip
        candidates = []
        for given, family in (("Camille", "Laurent"), ("Mathieu", "Garnier")):
            candidate = await elections.add_candidate(session, organiser, election, CandidateCreate(given_name=given, family_name=family))
            await elections.set_candidate_status(session, authority, candidate, CandidateStatus.VALIDATED)
            candidates.append(candidate)
        round_1 = await elections.round_by_number(session, election.id, 1)
        await elections.set_ballot(session, organiser, round_1, [c.id for c in candidates])
    options = GeneratorOptions(departments=("33",), voters=VOTERS, seed=7, malformed_share=0, bureau_size=800,
                               extracted_at=datetime.combine(today - timedelta(days=60), datetime.min.time(), tzinfo=PARIS))
    for generated in generate(options):
        async with db.session_scope() as session:
            from services.elections.models import Election

            election = await session.get(Election, election.id)
            await import_commune_file(session, organiser, election, bytes_file(generated.name, generated.data), today=today - timedelta(days=60))
    # As `primaires registry import` leaves the lists (and autovacuum any import, a minute later):
    # analysed. Without statistics the plans of the voter's re-read depend on when autovacuum
    # happens to visit the table during the measure.
    await refresh_statistics(owner_url)
    tablets: dict[int, str] = {}
    async with db.session_scope() as session:
        election = await session.get(Election, election.id)
        view = await plans.draft_plan(session, organiser, election, department="33")
        stations = await plans.apply_draft(session, organiser, election, view.draft.id)
        round_1 = await elections.round_by_number(session, election.id, 1)
        await elections.change_phase(session, organiser, round_1, Phase.POLLS_OPEN)
        for index, station in enumerate(stations):
            await service.add_staff(session, organiser, station, role=StaffRole.PRESIDENT, name="Président", phone=f"+3319900{index:04d}")
            await service.issue_pin(session, organiser, station)
            await service.mark_ready(session, organiser, station)
            await service.open_station(session, organiser, station, round_1)
            _pairing, code = await auth_service.issue_pairing_code(session, organiser, station.code)
            _tablet, token = await auth_service.pair_tablet(session, code, f"Tablette {index}", "127.0.0.1")
            tablets[station.id] = token
        rows = await session.execute(
            select(Voter.department_code, Voter.id, StationBureau.station_id)
            .join(StationBureau, (StationBureau.department_code == Voter.department_code)
                  & (StationBureau.commune_code == Voter.commune_code) & (StationBureau.bureau_code == Voter.bureau_code)
                  & (StationBureau.election_id == election.id))
            .where(Voter.birth_year <= today.year - 19)
        )  # fmt: skip
        voters = [(f"L-{dep}-{voter_id}", tablets[station_id]) for dep, voter_id, station_id in rows]
    await database.dispose()
    random.Random(1).shuffle(voters)
    return voters


# --- The client ---------------------------------------------------------------------------------------


def csrf_for(session_token: str) -> str:
    return hmac.new(BENCH_SECRET.encode(), f"{CSRF_COOKIE}|{session_token}".encode(), hashlib.sha256).hexdigest()[:40]


def build_requests(port: int, voters: list[tuple[str, str]], *, authenticated: bool) -> list[bytes]:
    built = []
    for ref, token in voters:
        body = json.dumps({"ref": ref, "contribution_cents": 200, "payment": "cash", "charter_signed": True}).encode()
        headers = [
            "POST /api/v1/polling/checkins HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json",
            "Accept: application/json",
            f"Content-Length: {len(body)}",
        ]
        if authenticated:
            headers += [f"Cookie: primaires_session={token}; primaires_csrf={CSRF_COOKIE}", f"X-CSRF-Token: {csrf_for(token)}"]
        built.append(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
    return built


def _check(status: int, body: bytes, failures: list[str]) -> None:
    if status != 201 or b'"station_code"' not in body:
        failures.append(f"{status} {body[:300]!r}")


async def run_load(port: int, requests: list[bytes], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    failures: list[str] = []
    cursor = iter(requests)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for raw in cursor:
                started = time.perf_counter()
                writer.write(raw)
                status, body = await read_response(reader)
                latencies.append(time.perf_counter() - started)
                _check(status, body, failures)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} réponses inattendues, par exemple : {failures[0]}")
    latencies.sort()
    return {
        "requests": len(requests),
        "per_s": len(requests) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def run_rate(port: int, requests: list[bytes], rate: float, connections: int = 64) -> dict[str, float]:
    """Open loop: request i is due at t0 + i/rate; latency is counted from that due time."""
    latencies: list[float] = []
    failures: list[str] = []
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    start = time.perf_counter() + 0.05

    async def one(index: int, raw: bytes) -> None:
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        reader, writer = await pool.get()
        try:
            writer.write(raw)
            status, body = await read_response(reader)
        finally:
            pool.put_nowait((reader, writer))
        latencies.append(time.perf_counter() - due)
        _check(status, body, failures)

    await asyncio.gather(*(one(index, raw) for index, raw in enumerate(requests)))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        _reader, writer = pool.get_nowait()
        writer.close()
    if failures:
        raise SystemExit(f"{len(failures)} réponses inattendues, par exemple : {failures[0]}")
    latencies.sort()
    return {
        "requests": len(requests),
        "achieved_per_s": len(requests) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def postgres_pids(folder: Path | None) -> list[int]:
    """The embedded PostgreSQL's processes (postmaster, backends, writers); none for an external
    server (DATABASE_URL): its CPU is then not reported."""
    if folder is None:
        return []
    try:
        postmaster = int((folder / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [postmaster, *descendants(postmaster)]


def _process_cpu(pids: list[int]) -> dict[int, tuple[str, float]]:
    """(command line, CPU seconds) of each process still alive."""
    found = {}
    for pid in pids:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found[pid] = (title, tree_cpu_seconds([pid], reaped=False))
    return found


def database_breakdown(before: dict[int, tuple[str, float]], folder: Path | None, operations: int) -> str:
    """PostgreSQL's CPU per operation by process (developer aid, BENCH_PG_BREAKDOWN=1): the
    backends, the WAL writer, autovacuum, the checkpointer; processes started during the run
    (connections opened, autovacuum workers) are counted whole."""
    after = _process_cpu(postgres_pids(folder))
    lines = []
    for pid, (title, seconds) in sorted(after.items()):
        spent = seconds - before.get(pid, (title, 0.0))[1]
        if spent > 0:
            new = "" if pid in before else " (nouveau)"
            lines.append(f"  {spent * 1000 / operations:.3f} ms/op  {pid}{new} {title[:70]}")
    return "\n".join(lines)


def measured(port: int, pid: int, requests: list[bytes], concurrency: int, database_pids: list[int], folder: Path | None = None) -> dict[str, float]:
    user, system = cpu_seconds(pid)
    breakdown = _process_cpu(postgres_pids(folder)) if os.environ.get("BENCH_PG_BREAKDOWN") else None
    database = tree_cpu_seconds(database_pids, reaped=False)
    result = asyncio.run(run_load(port, requests, concurrency))
    if breakdown is not None:
        print(f"PostgreSQL par processus ({port}) :\n" + database_breakdown(breakdown, folder, len(requests)), file=sys.stderr)
    user_after, system_after = cpu_seconds(pid)
    result["server_cpu_ms"] = (user_after - user + system_after - system) * 1000 / len(requests)
    result["server_system_cpu_ms"] = (system_after - system) * 1000 / len(requests)
    result["database_cpu_ms"] = (tree_cpu_seconds(database_pids, reaped=False) - database) * 1000 / len(requests)
    return result


def start_server(kind: str, port: int, database_url: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port), "--database-url", database_url], cwd=ROOT
    )
    wait_ready(port, process)
    return process


def prepare_database() -> tuple[str, str, object | None, Path | None]:
    return bench_database(
        "primaires_bench_polling",
        [
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, ref text NOT NULL, "
            "contribution_cents integer NOT NULL, at timestamptz NOT NULL DEFAULT now())",
            f"GRANT SELECT, INSERT ON {FLOOR_TABLE} TO primaires_app",
            f"GRANT USAGE ON SEQUENCE {FLOOR_TABLE}_id_seq TO primaires_app",
        ],
    )


async def count_rows(url: str) -> tuple[int, int]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        checkins = await connection.fetchval("SELECT count(*) FROM checkin")
        counters = await connection.fetchval("SELECT coalesce(sum(checkins_tablet), 0) FROM station_round")
        events = await connection.fetchval("SELECT count(*) FROM audit_event WHERE kind = 'polling.checked_in'")
        floor = await connection.fetchval(f"SELECT count(*) FROM {FLOOR_TABLE}")
    finally:
        await connection.close()
    if not checkins == counters == events:
        raise SystemExit(f"Incohérence : {checkins} émargements, compteurs {counters}, événements {events}.")
    return checkins, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requêtes mesurées par manche et par serveur")
    parser.add_argument("--concurrency", type=int, default=16, help="connexions simultanées (débit)")
    parser.add_argument("--rate", type=float, default=200, help="émargements par seconde (latence)")
    parser.add_argument("--seconds", type=float, default=15, help="durée de la mesure de latence")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--serve", choices=["app", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "app":
        return serve_app(args.port, args.database_url)
    if args.serve == "floor":
        return serve_floor(args.port, args.database_url)

    from services import embedded_pg

    owner, app_url, server, folder = prepare_database()
    processes = []
    try:
        started = time.monotonic()
        voters = asyncio.run(seed(owner, app_url))
        print(f"données : {len(voters)} électeurs majeurs, en {time.monotonic() - started:.0f} s", file=sys.stderr)
        # The load generator's own heap (the application imported for the seed, the prepared
        # requests) out of its cyclic collector's reach: a full collection while it times
        # requests (300 ms, once, at the start of the open-loop window) was counted as the
        # server's latency.
        gc.collect()
        gc.freeze()
        rounds = 2
        at_rate = int(args.rate * args.seconds)
        needed = args.warmup + rounds * args.requests + at_rate
        if needed > len(voters):
            raise SystemExit(f"Pas assez d'électeurs ({len(voters)}) pour {needed} émargements : réduisez --requests.")
        app_port, floor_port = free_port(), free_port()
        processes.append(start_server("app", app_port, app_url))
        processes.append(start_server("floor", floor_port, app_url))
        app_requests = build_requests(app_port, voters[:needed], authenticated=True)
        floor_requests = build_requests(floor_port, voters[:needed], authenticated=False)
        asyncio.run(run_load(app_port, app_requests[: args.warmup], args.concurrency))
        asyncio.run(run_load(floor_port, floor_requests[: args.warmup], args.concurrency))
        app_runs, floor_runs = [], []
        for index in range(rounds):
            start = args.warmup + index * args.requests
            window = slice(start, start + args.requests)
            database_pids = postgres_pids(folder)  # the backends of both servers' pools, by now
            floor_runs.append(measured(floor_port, processes[1].pid, floor_requests[window], args.concurrency, database_pids, folder))
            app_runs.append(measured(app_port, processes[0].pid, app_requests[window], args.concurrency, database_pids, folder))
            print(
                f"manche {index + 1} : émargements {app_runs[-1]['per_s']:.0f}/s (p99 {app_runs[-1]['p99_ms']:.1f} ms, "
                f"{app_runs[-1]['server_cpu_ms']:.2f} ms CPU dont {app_runs[-1]['server_system_cpu_ms']:.2f} système, "
                f"PostgreSQL {app_runs[-1]['database_cpu_ms']:.2f} ms), plancher {floor_runs[-1]['per_s']:.0f} req/s "
                f"(p99 {floor_runs[-1]['p99_ms']:.1f} ms, {floor_runs[-1]['server_cpu_ms']:.2f} ms CPU, "
                f"PostgreSQL {floor_runs[-1]['database_cpu_ms']:.2f} ms)",
                file=sys.stderr,
            )
        tail = slice(args.warmup + rounds * args.requests, needed)
        at_rate_app = asyncio.run(run_rate(app_port, app_requests[tail], args.rate))
        at_rate_floor = asyncio.run(run_rate(floor_port, floor_requests[tail], args.rate))
        print(
            f"à {args.rate:.0f}/s : émargements p50 {at_rate_app['p50_ms']:.1f} ms, p99 {at_rate_app['p99_ms']:.1f} ms ; "
            f"plancher p99 {at_rate_floor['p99_ms']:.1f} ms",
            file=sys.stderr,
        )
        stored, stored_floor = asyncio.run(count_rows(owner))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        if server is not None:
            embedded_pg.stop(server)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if stored != needed or stored_floor != needed:
        raise SystemExit(f"Lignes enregistrées inattendues : émargements {stored}, plancher {stored_floor}, attendu {needed}.")
    best_app = max(app_runs, key=lambda run: run["per_s"])
    best_floor = max(floor_runs, key=lambda run: run["per_s"])
    print(
        json.dumps(
            {
                "benchmark": "polling_checkin",
                "requests_per_round": args.requests,
                "rounds": rounds,
                "concurrency": args.concurrency,
                "checkins_per_s": round(best_app["per_s"], 1),
                "p50_ms": round(best_app["p50_ms"], 2),
                "p99_ms": round(best_app["p99_ms"], 2),
                "floor": "bare FastAPI endpoint: JSON parse + one asyncpg INSERT",
                "floor_per_s": round(best_floor["per_s"], 1),
                "floor_p99_ms": round(best_floor["p99_ms"], 2),
                "ratio": round(best_app["per_s"] / best_floor["per_s"], 3),
                "server_cpu_ms_per_checkin": round(min(run["server_cpu_ms"] for run in app_runs), 3),
                "floor_server_cpu_ms_per_request": round(min(run["server_cpu_ms"] for run in floor_runs), 3),
                # CPU per request is less sensitive than throughput to the other load of a shared
                # machine: the same ratio measured on the servers' own CPU time.
                "ratio_cpu": round(
                    min(run["server_cpu_ms"] for run in floor_runs) / min(run["server_cpu_ms"] for run in app_runs), 3
                ),
                # PostgreSQL's CPU per request (embedded server only): on 2 cores it shares the
                # machine with the server, so it bounds the throughput as much as the server's.
                "database_cpu_ms_per_checkin": round(min(run["database_cpu_ms"] for run in app_runs), 3),
                "floor_database_cpu_ms_per_request": round(min(run["database_cpu_ms"] for run in floor_runs), 3),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "at_rate_per_s": args.rate,
                "at_rate_achieved_per_s": round(at_rate_app["achieved_per_s"], 1),
                "at_rate_p50_ms": round(at_rate_app["p50_ms"], 2),
                "at_rate_p99_ms": round(at_rate_app["p99_ms"], 2),
                "at_rate_max_ms": round(at_rate_app["max_ms"], 2),
                "floor_at_rate_p99_ms": round(at_rate_floor["p99_ms"], 2),
                "stored_checkins": stored,
                "counters_and_events_match": True,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
