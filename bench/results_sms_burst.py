"""Benchmark: the closing burst of results SMS, and the live aggregation that follows.

    uv run python bench/results_sms_burst.py [--stations 15000] [--reports 15000] [--workers 2] [--concurrency 32]

What is measured (all on 127.0.0.1, servers started by this script and stopped at the end):

- **the burst**: `--workers` server processes, each `primaires serve` (the production
  command, the log's sealing job running) on its own port, the client's connections spread
  evenly over them as a load balancer would (`primaires serve --workers N`, uvicorn's own
  supervisor, lost its children at start-up on this machine: see the report), an election whose round 1 polls have closed, `--stations`
  stations spread over the communes of France (one per commune, each with its president's
  phone and PIN). Each station sends its results SMS as a real Twilio webhook
  (``X-Twilio-Signature`` computed with the SDK over the public URL):
  ``T1 <code> <PIN> V.. B.. N.. <6 figures> E..``; the client reads the 4-character code in
  the TwiML reply and sends ``OK <code>`` (signed too) from the same number. A report counts
  only after its OK: the figure is **reports per second = stations / elapsed**, two signed
  requests each (parse, station, sender, PIN, checks, stored report and event; then the
  confirmation, its event and the station's « reported » state with its event).
- **the floor**: a bare FastAPI endpoint under uvicorn, as many processes, that
  parses the same form and inserts one row with asyncpg, hit with the same two requests per
  station: the least a webhook that stores its message must do.
- **national totals exact**: after the burst, the national totals of the real aggregation
  (`results.publication.compute_snapshot`, live provisional results: SQL + station → canton →
  department → region → nation) equal the sums of the figures the client sent.
- **the aggregation/publication**: the same live snapshot timed (median of 5), against the
  floor of one raw SQL query summing the same counted reports.

The last line printed is one JSON object with the figures, the floors and the ratios.
"""

import argparse
import asyncio
import gc
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, also when imported as bench.<name>
from _proc import cpu_seconds as tree_cpu_seconds  # noqa: E402
from _proc import descendants  # noqa: E402
from _servers import bench_database, free_port, read_response, wait_ready  # noqa: E402

BENCH_SECRET = "bench-secret-" + "r" * 32
BENCH_TOKEN = "bench-twilio-token-" + "t" * 16
FLOOR_TABLE = "bench_floor_results_sms"
CANDIDATES = 6
RESULTS_NUMBER = "+33644000000"
CODE_IN_REPLY = re.compile(rb"OK ([A-Z0-9]{4})")


# --- The floor server (uvicorn workers import this module) ---------------------------------------------


def floor_app():  # noqa: ANN201 - a FastAPI app, built in each uvicorn worker
    from contextlib import asynccontextmanager

    import asyncpg
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

    database_url = os.environ["BENCH_FLOOR_DATABASE_URL"]
    pool: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        pool.append(await asyncpg.create_pool(database_url, min_size=4, max_size=10))
        yield
        await pool[0].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/twilio/sms")
    async def floor(request: Request) -> Response:
        form = await request.form()
        async with pool[0].acquire() as connection:
            await connection.execute(f"INSERT INTO {FLOOR_TABLE} (sid, body) VALUES ($1, $2)", form["MessageSid"], form["Body"])
        return Response("<Response><Message>Merci. Repondez OK ABCD</Message></Response>", media_type="application/xml")

    return app


# --- Database and seed ------------------------------------------------------------------------------------


def prepare_database() -> tuple[str, str, object | None, Path | None]:
    return bench_database(
        "primaires_bench_results",
        [
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (sid text PRIMARY KEY, body text NOT NULL, "
            "received_at timestamptz NOT NULL DEFAULT now())",
            f"GRANT SELECT, INSERT ON {FLOOR_TABLE} TO primaires_app",
        ],
    )


async def seed(owner_url: str, app_url: str, stations: int) -> tuple[int, list[tuple[str, str, str]]]:
    """An election (6 candidates), `stations` stations (one per commune) with a president's phone
    and a PIN, round 1 polls closed. Returns (round id, [(station code, phone, PIN)])."""
    from datetime import date, timedelta

    import asyncpg
    from sqlalchemy import select

    from polling import service as polling
    from services import db
    from services.db import utcnow
    from services.elections import service as elections
    from services.elections.models import CandidateStatus, Phase
    from services.elections.schemas import CandidateCreate, ElectionCreate, RoundSpec
    from services.events import Actor
    from services.settings import Mode, configure
    from services.territory.models import Commune
    from services.territory.service import load_territory

    configure(mode=Mode.DEMO, database_url=app_url, migration_database_url=owner_url, secret_key=BENCH_SECRET)
    organiser, authority = Actor(id="system:bench", role="organiser"), Actor(id="system:bench", role="authority")
    database = db.init_database(owner_url, pool_size=2)
    yesterday = date.today() - timedelta(days=1)
    async with db.session_scope() as session:
        await load_territory(session, organiser)
    async with db.session_scope() as session:
        election = await elections.create_election(
            session, organiser,
            ElectionCreate(slug="bench-resultats", name="Primaire de mesure des résultats", contribution_min_cents=100,
                           list_extraction_date=yesterday - timedelta(days=60), majority_date=yesterday,
                           supplementary_deadline=yesterday - timedelta(days=30),
                           rounds=[RoundSpec(number=1, polling_date=yesterday)]),
        )  # fmt: skip
        ids = []
        for index in range(CANDIDATES):
            candidate = await elections.add_candidate(session, organiser, election, CandidateCreate(given_name="Candidat", family_name=f"Numéro{index + 1}"))
            await elections.set_candidate_status(session, authority, candidate, CandidateStatus.VALIDATED)
            ids.append(candidate.id)
        round_1 = await elections.round_by_number(session, election.id, 1)
        await elections.set_ballot(session, organiser, round_1, ids)
        await elections.change_phase(session, organiser, round_1, Phase.POLLS_OPEN)
        round_id, election_id = round_1.id, election.id
        communes = list(
            (await session.execute(
                select(Commune.code, Commune.department_code, Commune.canton_code)
                .where(Commune.kind == "commune", Commune.canton_code.is_not(None)).order_by(Commune.code)
            )).all()
        )  # fmt: skip
    if len(communes) < stations:
        raise SystemExit(f"{len(communes)} communes seulement pour {stations} bureaux.")
    chosen = random.Random(15).sample(communes, stations)
    created: list[tuple[int, str, str]] = []
    for start in range(0, stations, 2500):
        async with db.session_scope() as session:
            from services.elections.models import Election

            election = await session.get(Election, election_id)
            batch = await polling.create_stations(
                session, organiser, election,
                [polling.StationSpec(dep, canton, code, f"B{start + i:05d}", f"Bureau {code}", [(code, "0001", 900)])
                 for i, (code, dep, canton) in enumerate(chosen[start : start + 2500])],
            )  # fmt: skip
            created += [(station.id, station.code, station.department_code) for station in batch]
    # Staff, PINs and the close of polls in bulk (set-up, not measured: the services do one
    # event per station, which would take minutes here).
    rng = random.Random(7)
    pins = {code: f"{rng.randrange(10**6):06d}" for _id, code, _dep in created}
    phones = {code: f"+3361{index:08d}" for index, (_id, code, _dep) in enumerate(created)}
    now = utcnow()
    connection = await asyncpg.connect(owner_url)
    try:
        await connection.copy_records_to_table(
            "station_staff",
            records=[(sid, dep, "president", "Présidence", phones[code], now) for sid, code, dep in created],
            columns=["station_id", "department_code", "role", "name", "phone", "created_at"],
        )
        await connection.copy_records_to_table(
            "station_pin",
            records=[(sid, polling.pin_hash(code, pins[code]), 1, now) for sid, code, _dep in created],
            columns=["station_id", "pin_hash", "version", "issued_at"],
        )
        await connection.execute("UPDATE station_round SET state = 'closed', updated_at = now() WHERE round_id = $1", round_id)
        # The planner's statistics, as a production database has them (its stations are created
        # days before results night, and autovacuum analyses them): right after this bulk load
        # they still describe empty tables, and the station read of every `T1` then walks every
        # station of the round (0.8 ms of database CPU per message instead of 0.1, measured).
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    async with db.session_scope() as session:
        round_1 = await elections.get_round(session, round_id)
        await elections.change_phase(session, organiser, round_1, Phase.POLLS_CLOSED)
    await database.dispose()
    return round_id, [(code, phones[code], pins[code]) for _id, code, _dep in created]


# --- The client ---------------------------------------------------------------------------------------


def figures_for(index: int) -> tuple[int, int, int, tuple[int, ...], int]:
    rng = random.Random(index)
    votes = tuple(rng.randint(0, 120) for _ in range(CANDIDATES))
    blank, null = rng.randint(0, 6), rng.randint(0, 4)
    signatures = sum(votes) + blank + null
    return signatures, blank, null, votes, signatures * 100 + rng.randint(0, 40) * 50


def report_body(code: str, pin: str, figures: tuple[int, int, int, tuple[int, ...], int]) -> str:
    signatures, blank, null, votes, cents = figures
    return f"T1 {code} {pin} V{signatures} B{blank} N{null} {' '.join(map(str, votes))} E{cents // 100},{cents % 100:02d}"


class Signer:
    def __init__(self, port: int) -> None:
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(BENCH_TOKEN)
        self.port = port
        self.url = f"http://127.0.0.1:{port}/twilio/sms"

    def request(self, sid: str, phone: str, body: str) -> bytes:
        params = {
            "MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone, "To": RESULTS_NUMBER,
            "Body": body, "NumMedia": "0", "NumSegments": "1",
        }  # fmt: skip
        encoded = urlencode(params).encode()
        headers = [
            "POST /twilio/sms HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(encoded)}",
            "User-Agent: TwilioProxy/1.1",
            f"X-Twilio-Signature: {self.validator.compute_signature(self.url, params)}",
        ]
        return ("\r\n".join(headers) + "\r\n\r\n").encode() + encoded


async def burst(ports: list[int], jobs: list[list[tuple[str, str, bytes]]], concurrency: int, prefix: str) -> dict[str, float]:
    """`jobs[i]`: the requests for the server on `ports[i]`, each (station code, phone, pre-built
    signed report request); the OK is built from the reply. The connections are spread evenly
    over the servers (as a load balancer in front of them would)."""
    latencies: list[float] = []
    failures: list[str] = []
    cursors = [iter(enumerate(server_jobs)) for server_jobs in jobs]

    async def worker(number: int) -> None:
        port = ports[number % len(ports)]
        signer = Signer(port)
        cursor = cursors[number % len(ports)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index, (code, phone, raw) in cursor:
                started = time.perf_counter()
                writer.write(raw)
                status, body = await read_response(reader)
                found = CODE_IN_REPLY.search(body)
                if status != 200 or found is None:
                    failures.append(f"{code} : {status} {body[:300]!r}")
                    continue
                writer.write(signer.request(f"SM{prefix}o{port}{index:024d}"[:34], phone, f"OK {found.group(1).decode()}"))
                status, body = await read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status != 200 or (b"Merci" not in body and prefix != "f"):
                    failures.append(f"OK {code} : {status} {body[:300]!r}")
        finally:
            writer.close()

    started, client_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(number) for number in range(concurrency)))
    elapsed, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
    if failures:
        raise SystemExit(f"{len(failures)} réponses inattendues, par exemple : {failures[0]}")
    latencies.sort()
    reports = sum(len(server_jobs) for server_jobs in jobs)
    return {
        "reports": reports,
        "seconds": elapsed,
        "per_s": reports / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        # The load generator's own CPU (it shares the cores): the T1 requests are built and
        # signed before the timed window; the OK's signature needs the code the reply gives.
        "client_cpu_ms": client_cpu * 1000 / max(reports, 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): comparable on a shared, loaded machine
    where wall-clock throughput is not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(folder: Path | None) -> float | None:
    """CPU seconds of the embedded PostgreSQL (postmaster, its live backends and those reaped),
    None with an external server (DATABASE_URL): the database's share of each message."""
    if folder is None:
        return None
    try:
        postmaster = int((folder / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return tree_cpu_seconds([postmaster, *descendants(postmaster)])


def start_gateway(port: int, app_url: str, data_dir: Path) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PRIMAIRES_") and key != "DATABASE_URL"}
    env.update(
        DATABASE_URL=app_url, PRIMAIRES_MODE="demo", PRIMAIRES_SECRET_KEY=BENCH_SECRET, PRIMAIRES_TWILIO_AUTH_TOKEN=BENCH_TOKEN,
        PRIMAIRES_PUBLIC_URL=f"http://127.0.0.1:{port}", PRIMAIRES_DATA_DIR=str(data_dir), PRIMAIRES_ELECTION="bench-resultats",
        PRIMAIRES_DB_POOL_SIZE=os.environ.get("BENCH_POOL_SIZE", "10"),
    )  # fmt: skip
    # Without uvicorn's per-request access log, as the floor's servers and every other bench's
    # app server run (≈ 5 % of the server's CPU): behind a reverse proxy, the proxy keeps that
    # log; `primaires serve` keeps it on by default (`--no-access-log` to turn it off).
    command = [
        str(Path(sys.executable).parent / "primaires"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--no-access-log",
    ]  # fmt: skip
    log = open(data_dir / f"serve-{port}.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_ready(port, process)
    return process


def start_floor(port: int, owner_url: str) -> subprocess.Popen:
    env = {**os.environ, "BENCH_FLOOR_DATABASE_URL": owner_url}
    command = [
        sys.executable, "-m", "uvicorn", "bench.results_sms_burst:floor_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    wait_ready(port, process)
    return process


# --- After the burst: totals and the aggregation ---------------------------------------------------------


async def check_and_time_aggregation(owner_url: str, app_url: str, round_id: int, expected: dict[str, object]) -> dict[str, object]:
    from sqlalchemy import text

    from results import publication
    from results.figures import Kind
    from services import db
    from services.elections.models import Round

    database = db.init_database(app_url, pool_size=2)
    try:
        async with db.session_scope() as session:
            round_ = await session.get(Round, round_id)
            assert round_ is not None
            timings, cpu, snapshot = [], [], None
            for _ in range(5):
                started, started_cpu = time.perf_counter(), time.process_time()
                snapshot = await publication.compute_snapshot(session, round_, Kind.PROVISIONAL, None, use_cache=False)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            assert snapshot is not None
            floor_sql = text(
                """
                SELECT count(*), sum(r.signatures), sum(r.blank), sum(r.nulls), sum(r.contributions_cents)
                FROM results_report r JOIN results_confirmation c ON c.report_id = r.id WHERE r.round_id = :round_id
                """
            )
            floor_times = []
            for _ in range(5):
                started = time.perf_counter()
                floor_row = (await session.execute(floor_sql, {"round_id": round_id})).one()
                floor_times.append(time.perf_counter() - started)
        nation = snapshot.aggregation.nation
        got = {
            "stations_reported": nation.stations_reported, "signatures": nation.signatures, "blank": nation.blank,
            "null": nation.null, "votes": list(nation.votes), "contributions_cents": nation.contributions_cents,
        }  # fmt: skip
        aggregate_ms, floor_ms = statistics.median(timings) * 1000, statistics.median(floor_times) * 1000
        return {
            "national_totals_exact": got == expected and floor_row[0] == expected["stations_reported"],
            "national_totals": got,
            "snapshot_ms_median": round(aggregate_ms, 1),
            "snapshot_ms_min": round(min(timings) * 1000, 1),
            "snapshot_cpu_ms_median": round(statistics.median(cpu) * 1000, 1),
            "snapshot_floor": "one raw SQL query summing the counted reports",
            "snapshot_floor_ms_median": round(floor_ms, 1),
            "snapshot_ratio": round(aggregate_ms / floor_ms, 2),
        }
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=15_000)
    parser.add_argument("--reports", type=int, default=None, help="bureaux qui transmettent (par défaut : tous)")
    parser.add_argument("--workers", type=int, default=2, help="processus serveurs (primaires serve, un par port, derrière un répartiteur)")
    parser.add_argument("--concurrency", type=int, default=32, help="connexions simultanées (téléphones en parallèle)")
    args = parser.parse_args()

    from services import embedded_pg

    owner, app_url, server, folder = prepare_database()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-results-data-"))
    processes: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        round_id, stations = asyncio.run(seed(owner, app_url, args.stations))
        print(f"préparation : {len(stations)} bureaux en {time.perf_counter() - started:.0f} s", file=sys.stderr)
        # The load generator's heap (the application imported for the set-up, the prepared
        # requests) frozen out of its cyclic collector's reach: a full collection while it
        # times requests is counted as the server's latency (300 ms once, see polling_checkin).
        gc.collect()
        gc.freeze()
        seeded = len(stations)
        stations = stations[: args.reports or seeded]
        figures = [figures_for(index) for index in range(len(stations))]
        expected = {
            "stations_reported": len(stations),
            "signatures": sum(f[0] for f in figures), "blank": sum(f[1] for f in figures), "null": sum(f[2] for f in figures),
            "votes": [sum(f[3][i] for f in figures) for i in range(CANDIDATES)],
            "contributions_cents": sum(f[4] for f in figures),
        }  # fmt: skip
        servers = args.workers
        floor_ports = [free_port() for _ in range(servers)]
        processes += [start_floor(port, owner) for port in floor_ports]
        floor_jobs = []
        for number, port in enumerate(floor_ports):
            signer = Signer(port)
            floor_jobs.append([
                (code, phone, signer.request(f"SMf{port}{index:026d}"[:34], phone, report_body(code, pin, figures[index])))
                for index, (code, phone, pin) in enumerate(stations) if index % servers == number
            ])  # fmt: skip
        before, pg_before = sum(cpu_seconds(process.pid) for process in processes), postgres_cpu(folder)
        floor_run = asyncio.run(burst(floor_ports, floor_jobs, args.concurrency, "f"))
        floor_cpu_ms = (sum(cpu_seconds(process.pid) for process in processes) - before) * 1000 / len(stations)
        pg_after = postgres_cpu(folder)
        floor_pg_ms = (pg_after - pg_before) * 1000 / len(stations) if pg_before is not None and pg_after is not None else None
        print(f"plancher : {floor_run['per_s']:.0f} paires de requêtes/s", file=sys.stderr)
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        processes.clear()
        gateway_ports = [free_port() for _ in range(servers)]
        for port in gateway_ports:
            try:
                processes.append(start_gateway(port, app_url, data_dir))
            except SystemExit:
                print((data_dir / f"serve-{port}.log").read_text()[-3000:], file=sys.stderr)
                raise
        jobs = []
        for number, port in enumerate(gateway_ports):
            signer = Signer(port)
            jobs.append([
                (code, phone, signer.request(f"SMg{port}{index:026d}"[:34], phone, report_body(code, pin, figures[index])))
                for index, (code, phone, pin) in enumerate(stations) if index % servers == number
            ])  # fmt: skip
        # `primaires serve --workers 1` runs uvicorn in the CLI's own process: its pid is the server's.
        before, pg_before = sum(cpu_seconds(process.pid) for process in processes), postgres_cpu(folder)
        try:
            run = asyncio.run(burst(gateway_ports, jobs, args.concurrency, "g"))
        except (OSError, SystemExit):
            # A reset connection or an unexpected reply: the servers' own account of it.
            for port in gateway_ports:
                print(f"--- serve-{port}.log", (data_dir / f"serve-{port}.log").read_text()[-3000:], sep="\n", file=sys.stderr)
                kept = ROOT / "bench" / "out" / f"sms-burst-serve-{port}.log"
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text((data_dir / f"serve-{port}.log").read_text())
                print(f"journal complet : {kept}", file=sys.stderr)
            raise
        gateway_cpu_ms = (sum(cpu_seconds(process.pid) for process in processes) - before) * 1000 / len(stations)
        pg_after = postgres_cpu(folder)
        gateway_pg_ms = (pg_after - pg_before) * 1000 / len(stations) if pg_before is not None and pg_after is not None else None
        print(f"passerelle : {run['per_s']:.0f} rapports confirmés/s", file=sys.stderr)
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        processes.clear()
        after = asyncio.run(check_and_time_aggregation(owner, app_url, round_id, expected))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        if server is not None:
            embedded_pg.stop(server)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "results_sms_burst",
                "stations": seeded,
                "stations_reporting": len(stations),
                "workers": args.workers,
                "concurrency": args.concurrency,
                "reports_per_s": round(run["per_s"], 1),
                "burst_seconds": round(run["seconds"], 1),
                "report_plus_ok_p50_ms": round(run["p50_ms"], 1),
                "report_plus_ok_p99_ms": round(run["p99_ms"], 1),
                "servers": "primaires serve --workers 1, one per port, connections spread evenly (a load balancer's work)",
                "floor": "bare FastAPI endpoint, as many processes: form parse + one asyncpg INSERT, twice per station",
                "floor_per_s": round(floor_run["per_s"], 1),
                "ratio": round(run["per_s"] / floor_run["per_s"], 3),
                "server_cpu_ms_per_report": round(gateway_cpu_ms, 1),
                "floor_server_cpu_ms_per_report": round(floor_cpu_ms, 2),
                "cpu_ratio": round(floor_cpu_ms / gateway_cpu_ms, 3) if gateway_cpu_ms else None,
                "postgres_cpu_ms_per_report": round(gateway_pg_ms, 2) if gateway_pg_ms is not None else None,
                "client_cpu_ms_per_report": round(run["client_cpu_ms"], 2),
                "floor_client_cpu_ms_per_report": round(floor_run["client_cpu_ms"], 2),
                "floor_postgres_cpu_ms_per_report": round(floor_pg_ms, 2) if floor_pg_ms is not None else None,
                "target_reports_per_s": 300,
                "within_target": run["per_s"] >= 300,
                "load_average_1min": round(os.getloadavg()[0], 2),
                **after,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
