"""Benchmark: signed Twilio SMS webhooks per second, against a floor measured in the same run.

    uv run python bench/telephony_sms.py [--requests 4000] [--concurrency 16]

What is measured (all on 127.0.0.1, servers started by this script and stopped at the end):

- **the gateway**: the real application (`services.app.create_app`) under uvicorn, one
  process, with a trivial registered command (``BENCH`` → « OK »). Each request is a real
  Twilio webhook: form body, ``X-Twilio-Signature`` computed by the SDK over the public URL.
  The server checks the signature, claims the MessageSid (INSERT … ON CONFLICT DO NOTHING),
  runs the command in a savepoint, stores the reply, commits, and answers TwiML.
- **the floor**: a bare FastAPI endpoint under the same uvicorn settings that parses the same
  form and inserts one row with asyncpg (no signature, no idempotency, no savepoint): the
  least any webhook that stores its message must do.

The client is a minimal HTTP/1.1 keep-alive client on raw asyncio streams with pre-built
requests, so that the measure is the server's, not the client library's. Both servers are
measured twice, alternately, after a warm-up; the best round of each is kept. The last line
printed is one JSON object with the figures, the floor and the ratio.

With no DATABASE_URL, an embedded PostgreSQL (pgserver) is started in a temporary folder;
with DATABASE_URL, a fresh database ``primaires_bench_telephony`` is created next to it.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, also when imported as bench.<name>
from _servers import bench_database, free_port, read_response, wait_ready  # noqa: E402

BENCH_SECRET = "bench-secret-" + "b" * 32
FLOOR_TABLE = "bench_floor_sms"
BENCH_BODY = "BENCH 1000190 123456"


# --- Servers (run in child processes) --------------------------------------------------------------


def serve_gateway(port: int, database_url: str) -> None:
    import uvicorn

    from services.app import create_app
    from services.settings import Mode, configure
    from services.telephony import sms_command

    configure(
        mode=Mode.DEMO,  # the documented test token signs the requests (no PRIMAIRES_TWILIO_AUTH_TOKEN)
        database_url=database_url,
        secret_key=BENCH_SECRET,
        public_url=f"http://127.0.0.1:{port}",
    )

    @sms_command("BENCH", summary="BENCH : commande de mesure")
    async def bench(session, sms):  # noqa: ANN001, ANN202
        return "OK"

    app = create_app(run_background_jobs=False)
    if os.environ.get("BENCH_PROFILE"):  # developer aid: where the gateway's time goes
        import cProfile

        with cProfile.Profile() as profile:
            uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        profile.dump_stats(os.environ["BENCH_PROFILE"])
        return
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_floor(port: int, database_url: str) -> None:
    from contextlib import asynccontextmanager

    import asyncpg
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

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

    @app.post("/twilio/sms")
    async def floor(request: Request) -> Response:
        form = await request.form()
        async with pool[0].acquire() as connection:
            await connection.execute(
                f"INSERT INTO {FLOOR_TABLE} (sid, body) VALUES ($1, $2)", form["MessageSid"], form["Body"]
            )
        return Response("<Response><Message>OK</Message></Response>", media_type="application/xml")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- The client ---------------------------------------------------------------------------------------


def build_requests(port: int, count: int, prefix: str, *, signed: bool) -> list[bytes]:
    from twilio.request_validator import RequestValidator

    from services.telephony.signature import TEST_AUTH_TOKEN

    validator = RequestValidator(TEST_AUTH_TOKEN)
    url = f"http://127.0.0.1:{port}/twilio/sms"
    built = []
    for index in range(count):
        sid = f"SM{prefix}{index:030d}"[:34]
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": f"+3361{index % 10_000_000:08d}",
            "To": "+33757000000",
            "Body": BENCH_BODY,
            "NumMedia": "0",
        }
        body = urlencode(params).encode()
        headers = [
            "POST /twilio/sms HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            "User-Agent: TwilioProxy/1.1",
        ]
        if signed:
            headers.append(f"X-Twilio-Signature: {validator.compute_signature(url, params)}")
        built.append(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
    return built


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
                if status != 200 or b"<Message>OK</Message>" not in body:
                    failures.append(f"{status} {body[:200]!r}")
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to compare servers on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(port: int, pid: int, requests: list[bytes], concurrency: int) -> dict[str, float]:
    before = cpu_seconds(pid)
    result = asyncio.run(run_load(port, requests, concurrency))
    result["server_cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / len(requests)
    return result


def start_server(kind: str, port: int, database_url: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port), "--database-url", database_url],
        cwd=ROOT,
    )
    wait_ready(port, process)
    return process


def prepare_database() -> tuple[str, object | None, Path | None]:
    """The gateway and the floor both connect as the owner here."""
    url, _app, server, folder = bench_database(
        "primaires_bench_telephony",
        [
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (sid text PRIMARY KEY, body text NOT NULL, "
            "received_at timestamptz NOT NULL DEFAULT now())",
        ],
    )
    return url, server, folder


async def count_rows(url: str) -> tuple[int, int]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        gateway = await connection.fetchval("SELECT count(*) FROM telephony_inbound_sms WHERE reply = 'OK'")
        floor = await connection.fetchval(f"SELECT count(*) FROM {FLOOR_TABLE}")
    finally:
        await connection.close()
    return gateway, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requêtes mesurées par manche et par serveur")
    parser.add_argument("--concurrency", type=int, default=16, help="connexions simultanées")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--serve", choices=["gateway", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "gateway":
        return serve_gateway(args.port, args.database_url)
    if args.serve == "floor":
        return serve_floor(args.port, args.database_url)

    from services import embedded_pg

    url, server, folder = prepare_database()
    gateway_port, floor_port = free_port(), free_port()
    processes = []
    try:
        processes.append(start_server("gateway", gateway_port, url))
        processes.append(start_server("floor", floor_port, url))
        rounds = 2
        total = args.warmup + rounds * args.requests
        gateway_requests = build_requests(gateway_port, total, "g", signed=True)
        floor_requests = build_requests(floor_port, total, "f", signed=False)
        asyncio.run(run_load(gateway_port, gateway_requests[: args.warmup], args.concurrency))
        asyncio.run(run_load(floor_port, floor_requests[: args.warmup], args.concurrency))
        gateway_runs, floor_runs = [], []
        for index in range(rounds):
            start = args.warmup + index * args.requests
            window = slice(start, start + args.requests)
            floor_runs.append(measured(floor_port, processes[1].pid, floor_requests[window], args.concurrency))
            gateway_runs.append(measured(gateway_port, processes[0].pid, gateway_requests[window], args.concurrency))
            print(
                f"manche {index + 1} : passerelle {gateway_runs[-1]['per_s']:.0f} SMS/s "
                f"(p99 {gateway_runs[-1]['p99_ms']:.1f} ms, {gateway_runs[-1]['server_cpu_ms']:.2f} ms CPU/SMS), "
                f"plancher {floor_runs[-1]['per_s']:.0f} req/s (p99 {floor_runs[-1]['p99_ms']:.1f} ms, "
                f"{floor_runs[-1]['server_cpu_ms']:.2f} ms CPU/req)",
                file=sys.stderr,
            )
        stored_gateway, stored_floor = asyncio.run(count_rows(url))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        if server is not None:
            embedded_pg.stop(server)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if stored_gateway != total or stored_floor != total:
        raise SystemExit(
            f"Lignes enregistrées inattendues : passerelle {stored_gateway}, plancher {stored_floor}, attendu {total}."
        )
    best_gateway = max(gateway_runs, key=lambda run: run["per_s"])
    best_floor = max(floor_runs, key=lambda run: run["per_s"])
    print(
        json.dumps(
            {
                "benchmark": "telephony_sms_webhook",
                "requests_per_round": args.requests,
                "rounds": rounds,
                "concurrency": args.concurrency,
                "sms_per_s": round(best_gateway["per_s"], 1),
                "p50_ms": round(best_gateway["p50_ms"], 2),
                "p99_ms": round(best_gateway["p99_ms"], 2),
                "floor": "bare FastAPI endpoint: form parse + one asyncpg INSERT",
                "floor_per_s": round(best_floor["per_s"], 1),
                "floor_p50_ms": round(best_floor["p50_ms"], 2),
                "floor_p99_ms": round(best_floor["p99_ms"], 2),
                "ratio": round(best_gateway["per_s"] / best_floor["per_s"], 3),
                "server_cpu_ms_per_sms": round(min(run["server_cpu_ms"] for run in gateway_runs), 3),
                "floor_server_cpu_ms_per_request": round(min(run["server_cpu_ms"] for run in floor_runs), 3),
                "stored_exactly_once": True,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
