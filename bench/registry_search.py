"""Benchmark: voter search at a fixed request rate against a real server on 127.0.0.1.

    uv run python bench/registry_search.py [--voters 10000000] [--base-voters 1000000] [--rate 200] [--seconds 30]

1. a persistent bench database (`bench/out/registry-search/`, embedded PostgreSQL), built once
   and reused: `--base-voters` synthetic voters of every department generated on both cores
   and imported with `primaires registry import` (the real importer: ≈ 15 min for 1 M in 34,000
   commune files on this machine), then grown to `--voters` IN SQL (`amplify`: copies of the
   imported voters with names and given names recombined within their department and a new
   identity; secondary indexes dropped and rebuilt; ≈ 6 min for 10 M) — NOT through the
   importer, to save the hour a 10 M import would take (the import has its own benchmark);
   The registry's migrations are applied to it at every start (`runner.upgrade`): on the 10 M
   registry, the covering search indexes of `0002_voter_search_covering` and
   `0003_voter_area_covering` took ≈ 65 s and ≈ 51 s to build once on the shared machine
   (then 715 + 169 MB department-wide, 760 + 180 MB area, for a 2.4 GB table);
2. the real application (`bench/registry_search_app.py`: uvicorn, `--workers` processes) with a
   stand-in for polling's station → bureaux resolver (registered after the composition root);
3. an open-loop load generator at `--rate` requests per second (latency measured from each
   request's due time, so a slow server cannot hide its queue) on `--connections` keep-alive
   connections of a minimal HTTP/1.1 client; bounded: 5 s per request, and whatever is still
   queued 10 s after the last due time is abandoned (`not_sent_at_hard_stop`), so the run always
   ends. (The previous client, httpx with a 200-connection pool, hung: when the server fell
   behind, hundreds of requests queued in its pool and the client spent its CPU managing
   them while the server sat idle.) The tablets' mix: 75 % a voter of the station's own
   bureaux (name prefix, often a given name), 10 % a voter of the same department elsewhere
   (area miss → department), 5 % a voter of another department (→ national, with a given name
   and a year), 10 % commission searches in their department; each request authenticated
   (tablet session cookie or API token) and logged in the transparency log, as in production;
4. the floor, in the same run and at the same rate: GET /healthz (the app, one SELECT 1);
5. one JSON line: registry size, p50/p90/p99/max of both, statuses, server CPU per answered
   request (app workers and PostgreSQL, from /proc: robust to other load on the machine), their
   ratios, PostgreSQL's CPU by kind of process (backends, WAL writer, autovacuum…), the load
   generator's own CPU per request and event-loop lag (p50/p99/max lateness of a 5 ms sleep: a
   client that wakes late counts its lag as the server's latency), the load average and a CPU
   calibration (bare 10 M-iteration Python loop: ≈ 0.4 s on an idle core).

`--breakdown` (diagnosis, not the figure to report: it adds a /proc read per round trip): the
bench app times each search's round trips (wall, and the PostgreSQL backend's CPU from
/proc/<pid>/schedstat) and answers them in a `x-bench-timing` header; the JSON then breaks the
latency down by level reached and query shape (time before the handler — the servers' queue —,
context read, levels' statement, audit INSERT, Python), per-request records go to
`bench/out/registry-search/requests-<rate>.jsonl` and every levels' statement with its values to
`statements.jsonl` (for EXPLAIN). `bench/registry_search_same_rows.py` compares the search's SQL
with a git revision's on the same registry: same answers, PostgreSQL CPU per statement.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, also when imported as bench.<name>
from _proc import cpu_seconds, descendants  # noqa: E402

DATA = ROOT / "bench" / "out" / "registry-search"
SECRET = "s" * 40


def calibration() -> float:
    started = time.perf_counter()
    total = 0
    for value in range(10_000_000):
        total += value
    return round(time.perf_counter() - started, 3)


def _generate_part(arguments: tuple[tuple[str, ...], int, int, str]) -> tuple[int, int]:
    from voter_registry.generator import GeneratorOptions, generate

    departments, voters, seed, folder = arguments
    files = lines = 0
    for generated in generate(GeneratorOptions(departments=departments, voters=voters, seed=seed)):
        (Path(folder) / generated.name).write_bytes(generated.data)
        files += 1
        lines += generated.lines
    return files, lines


def build(url: str, voters: int, environment: dict[str, str]) -> dict:
    """Generate every department's extracts on both cores, then import them (once)."""
    from voter_registry.generator import _territory_rows

    cantons, communes, departments = _territory_rows()
    population: dict[str, int] = {}
    for commune in communes:
        if commune["kind"] == "commune":
            population[commune["department_code"]] = population.get(commune["department_code"], 0) + commune["population"]
    total = sum(population.values())
    # Two halves of similar population, each generated by one process.
    ordered = sorted(population, key=lambda code: -population[code])
    halves: list[list[str]] = [[], []]
    sums = [0, 0]
    for code in ordered:
        side = 0 if sums[0] <= sums[1] else 1
        halves[side].append(code)
        sums[side] += population[code]
    folder = DATA / "listes"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    parts = [(tuple(sorted(half)), round(voters * sums[i] / total), 2027, str(folder)) for i, half in enumerate(halves)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        counts = pool.map(_generate_part, parts)
    generation = time.perf_counter() - started
    started = time.perf_counter()
    log = DATA / "import.log"
    with open(log, "w") as output:
        status = subprocess.run(
            [sys.executable, "-c", "from services.cli import main; main()", "registry", "import", str(folder), "--election", "bench"],
            env={**environment, "COLUMNS": "160"},
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        ).returncode
    # Exit code 1 with the final table: some synthetic commune files (a single, malformed line)
    # were refused, as the import reports them; the rest is loaded.
    if status != 0 and not (status == 1 and "Import terminé" in log.read_text()):
        sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"registry import failed ({status}), see {log}")
    imported = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "generated_files": sum(c[0] for c in counts),
        "generated_lines": sum(c[1] for c in counts),
        "generation_s": round(generation, 1),
        "import_s": round(imported, 1),
    }


async def amplify(connection, voters: int) -> dict:  # noqa: ANN001 - asyncpg connection
    """Grow the imported lists to `voters` rows in SQL, without the importer (to save the hour
    a 10 M-line import would take on this machine; the import has its own benchmark).

    Copy k of each imported voter keeps the row's commune, bureau, lists and birth date, takes
    its birth and usage names (with their search keys and particle flags) from another voter of
    the same department and its given names and sex from a third one, and gets a new identity:
    the department's name distribution is the generator's, with k times more people. The
    secondary indexes are dropped during the load and rebuilt after (as a bulk load would be),
    then the bureaux' and communes' counts are recomputed and the tables analysed.
    """
    base = await connection.fetchval("SELECT count(*) FROM voter")
    copies = max(0, round(voters / max(base, 1)) - 1)
    if copies == 0:
        return {"amplified_copies": 0}
    started = time.perf_counter()
    columns = [
        "department_code", "commune_code", "bureau_code", "lists", "identity_hash", "birth_name", "usage_name",
        "given_names", "sex", "birth_year", "birth_month", "birth_day", "birth_commune_code", "birth_commune",
        "birth_department_code", "birth_country", "nationality", "address", "order_number", "birth_key",
        "usage_key", "given_key", "name_flags",
    ]
    named = {"birth_name", "usage_name", "birth_key", "usage_key", "name_flags"}
    given = {"given_names", "given_key", "sex"}

    def source(column: str) -> str:
        if column == "identity_hash":
            return "sha256(p.identity_hash || int4send(copy.k))"
        return f"{'n' if column in named else 'g' if column in given else 'p'}.{column}"

    await connection.execute("SET maintenance_work_mem = '1GB'")
    await connection.execute("SET max_parallel_maintenance_workers = 2")
    indexes = await connection.fetch(
        "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, c.conname AS constraint_name, "
        "pg_get_constraintdef(c.oid) AS constraint_definition "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
        "WHERE x.indrelid = 'voter'::regclass AND NOT x.indisprimary"
    )
    async with connection.transaction():
        for index in indexes:
            if index["constraint_name"]:
                await connection.execute(f'ALTER TABLE voter DROP CONSTRAINT "{index["constraint_name"]}"')
            else:
                await connection.execute(f'DROP INDEX "{index["name"]}"')
        await connection.execute(
            "CREATE TEMP TABLE amplify_base AS SELECT row_number() OVER (PARTITION BY department_code ORDER BY id) AS rn, "
            "count(*) OVER (PARTITION BY department_code) AS total, * FROM voter"
        )
        await connection.execute("CREATE INDEX ON amplify_base (department_code, rn)")
        await connection.execute("ANALYZE amplify_base")
        for k in range(1, copies + 1):
            await connection.execute(
                f"INSERT INTO voter ({', '.join(columns)}) SELECT {', '.join(source(c) for c in columns)} "
                f"FROM (SELECT {k} AS k) AS copy, amplify_base AS p "
                f"JOIN amplify_base AS n ON n.department_code = p.department_code AND n.rn = 1 + (p.rn * 7 + {k * 7919}) % p.total "
                f"JOIN amplify_base AS g ON g.department_code = p.department_code AND g.rn = 1 + (p.rn * 13 + {k * 104729}) % p.total"
            )
        await connection.execute("DROP TABLE amplify_base")
        loaded = time.perf_counter()
        for index in indexes:
            if index["constraint_name"]:
                await connection.execute(
                    f'ALTER TABLE voter ADD CONSTRAINT "{index["constraint_name"]}" {index["constraint_definition"]}'
                )
            else:
                await connection.execute(index["definition"])
        await connection.execute(
            "UPDATE registry_bureau AS b SET voters = c.voters FROM (SELECT department_code, commune_code, bureau_code, "
            "count(*) AS voters FROM voter GROUP BY 1, 2, 3) AS c WHERE (b.department_code, b.commune_code, b.bureau_code) "
            "= (c.department_code, c.commune_code, c.bureau_code)"
        )
        await connection.execute(
            "UPDATE registry_commune AS m SET voters = c.voters FROM (SELECT department_code, commune_code, count(*) AS voters "
            "FROM voter GROUP BY 1, 2) AS c WHERE (m.department_code, m.commune_code) = (c.department_code, c.commune_code)"
        )
    indexed = time.perf_counter()
    await connection.execute("VACUUM ANALYZE voter")
    await connection.execute("VACUUM ANALYZE registry_bureau")
    return {
        "imported_base": int(base),
        "amplified_copies": copies,
        "amplify_insert_s": round(loaded - started, 1),
        "amplify_index_s": round(indexed - loaded, 1),
        "amplify_vacuum_s": round(time.perf_counter() - indexed, 1),
    }


async def setup(url: str, voters: int, base_voters: int, environment: dict[str, str], stations: int) -> dict:
    import asyncpg
    from sqlalchemy import select

    from services import db
    from services.auth import service as auth
    from services.auth.models import Account
    from services.auth.roles import Role
    from services.elections import service as elections
    from services.elections.models import Election
    from services.elections.schemas import ElectionCreate
    from services.events import Actor
    from services.territory.service import load_territory

    actor = Actor(id="bench", role="organiser")
    db.init_database(url, pool_size=2)
    async with db.session_scope() as session:
        await load_territory(session)
        if await session.scalar(select(Election).where(Election.slug == "bench")) is None:
            await elections.create_election(session, actor, ElectionCreate(slug="bench", name="Banc d'essai"))
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(plain)
    built: dict = {}
    try:
        loaded = await connection.fetchval("SELECT coalesce(sum(voters), 0) FROM registry_commune")
        if loaded < min(voters, base_voters) * 0.95:
            await db.database().dispose()
            built = build(url, min(voters, base_voters), environment)
            db.init_database(url, pool_size=2)
            await connection.execute("VACUUM ANALYZE voter")
            await connection.execute("VACUUM ANALYZE registry_bureau")
            loaded = await connection.fetchval("SELECT coalesce(sum(voters), 0) FROM registry_commune")
        if loaded < voters * 0.95:
            built.update(await amplify(connection, voters))
            loaded = await connection.fetchval("SELECT coalesce(sum(voters), 0) FROM registry_commune")
        sample = await connection.fetch(
            "SELECT department_code, commune_code, bureau_code, birth_name, usage_name, given_names, birth_year "
            "FROM voter TABLESAMPLE SYSTEM (0.2) REPEATABLE (7) LIMIT 20000"
        )
        table_mb = await connection.fetchval("SELECT pg_total_relation_size('voter') / 1000000")
    finally:
        await connection.close()
    rng = random.Random(7)
    sample = list(sample)
    rng.shuffle(sample)
    tablets: list[dict] = []
    tokens: dict[str, str] = {}
    async with db.session_scope() as session:
        organiser = await session.scalar(select(Account).where(Account.username == "bench-organisation"))
        if organiser is None:
            organiser = await auth.create_account(
                session, actor, auth.AccountSpec("bench-organisation", "Banc", "mot-de-passe-banc", Role.ORGANISER)
            )
        for row in sample[:stations]:
            station = f"{row['commune_code']}{row['bureau_code']}"
            _pairing, code = await auth.issue_pairing_code(session, actor, station)
            _tablet, token = await auth.pair_tablet(session, code, "Tablette de banc", "127.0.0.1")
            tablets.append({"station": station, "cookie": token, "department": row["department_code"], "commune": row["commune_code"], "bureau": row["bureau_code"]})
        for department in sorted({row["department_code"] for row in sample})[:20]:
            username = f"bench-commission-{department.lower()}"
            account = await session.scalar(select(Account).where(Account.username == username))
            if account is None:
                account = await auth.create_account(
                    session, actor, auth.AccountSpec(username, "Banc", "mot-de-passe-banc", Role.COMMISSION, department_code=department)
                )
            _token, raw = await auth.create_api_token(session, actor, account, "banc")
            tokens[department] = raw
    await db.database().dispose()
    return {"loaded": int(loaded), "sample": [dict(r) for r in sample], "tablets": tablets, "tokens": tokens, "built": built, "table_mb": table_mb}


def _prefix(rng: random.Random, text: str, minimum: int = 3) -> str:
    """The beginning staff type; a family name's goes past its particles (« LE G » is refused
    as too vague — two letters after « le » at least — and nobody types it to find someone)."""
    from voter_registry.normalize import name_query_keys

    cut = rng.randint(minimum, max(minimum, min(len(text), 9)))
    if minimum >= 3:
        while cut < len(text) and not ((keys := name_query_keys(text[:cut])) and len(keys[0].prefix) >= 2):
            cut += 1
    return text[:cut]


def make_requests(state: dict, count: int, seed: int) -> list[tuple[str, dict, dict]]:
    """(path, params, headers) of `count` searches in the tablets' mix."""
    rng = random.Random(seed)
    sample = state["sample"]
    by_department: dict[str, list[dict]] = {}
    for row in sample:
        by_department.setdefault(row["department_code"], []).append(row)
    tablets = state["tablets"]
    requests = []
    for _ in range(count):
        roll = rng.random()
        tablet = rng.choice(tablets)
        headers = {"cookie": f"primaires_session={tablet['cookie']}"}
        if roll < 0.75:
            # A voter of this station: someone registered in its first bureau.
            voters = [r for r in by_department[tablet["department"]] if r["commune_code"] == tablet["commune"] and r["bureau_code"] == tablet["bureau"]]
            voter = rng.choice(voters) if voters else rng.choice(by_department[tablet["department"]])
            given = voter["given_names"].split()[0] if rng.random() < 0.6 and voter["given_names"] else ""
            name = voter["usage_name"] if voter["usage_name"] and rng.random() < 0.3 else voter["birth_name"]
            params = {"nom": _prefix(rng, name), "prenoms": _prefix(rng, given, 2) if given else ""}
        elif roll < 0.85:
            voter = rng.choice(by_department[tablet["department"]])
            params = {"nom": _prefix(rng, voter["birth_name"], 4), "prenoms": voter["given_names"].split()[0] if voter["given_names"] else ""}
        elif roll < 0.90:
            voter = rng.choice(sample)
            params = {"nom": voter["birth_name"], "prenoms": voter["given_names"].split()[0] if voter["given_names"] else "", "naissance": str(voter["birth_year"])}
        else:
            department = rng.choice(sorted(state["tokens"]))
            voter = rng.choice(by_department[department])
            headers = {"authorization": f"Bearer {state['tokens'][department]}"}
            params = {"nom": _prefix(rng, voter["birth_name"], 4), "prenoms": _prefix(rng, voter["given_names"].split()[0], 2) if voter["given_names"] else ""}
        requests.append(("/api/v1/registry/search", {k: v for k, v in params.items() if v}, headers))
    return requests


class _HttpConnection:
    """One keep-alive HTTP/1.1 connection to the server under test: just enough of the protocol
    for GET requests (Content-Length or chunked bodies). The load generator must cost far less
    CPU per request than the server it measures: httpx's pool, when a slow server lets hundreds
    of requests queue in it, spends its time rescanning its waiters (the hang of the last run:
    client busy, server idle with 316 connections)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_timing = ""  # the bench app's `x-bench-timing` header (BENCH_SEARCH_TIMING=1)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    def encoded(self, target: str, headers: dict[str, str]) -> bytes:
        """The request's bytes (built before the timed phase: the generator's CPU per request
        is spent on the wire, not on formatting)."""
        lines = [f"GET {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def get(self, target: str, headers: dict[str, str], encoded: bytes | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(encoded if encoded is not None else self.encoded(target, headers))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if colon:
                fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            body = bytes(body)
        else:
            body = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        self.last_timing = fields.get("x-bench-timing", "")
        return status, body


def _last_level(body: bytes) -> str:
    """The last of `levels_searched` in a search's answer (the key follows every result, so its
    last occurrence is the answer's own); "" if none."""
    start = body.rfind(b'"levels_searched":[')
    if start < 0:
        return ""
    inside = body[start + 19 : body.index(b"]", start)]
    return inside.rsplit(b",", 1)[-1].strip(b'"').decode() if inside else ""


NOT_SENT = -2  # still queued at the hard stop
FAILED = -1  # connection error or per-request timeout


async def load(
    base: str,
    requests: list[tuple[str, dict, dict]],
    rate: float,
    *,
    connections: int = 64,
    request_timeout: float = 5.0,
    grace: float = 10.0,
    timings: list[dict | None] | None = None,
    loop_lags_ms: list[float] | None = None,
) -> tuple[list[float], list[int], list[str]]:
    """Open loop: request i is due at start + i / rate whatever happened before.

    A dispatcher queues each request at its due time; `connections` keep-alive connections
    take them in order. Latency is counted from the due time, so a slow server cannot hide its
    queue. Bounded: each request times out after `request_timeout` s, and `grace` s after the
    last due time whatever is still queued is abandoned (status NOT_SENT, latency = the wait):
    the run always ends by itself.
    """
    from urllib.parse import urlencode, urlsplit

    if loop_lags_ms is None:
        loop_lags_ms = []

    address = urlsplit(base)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    count = len(requests)
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [NOT_SENT] * count
    levels: list[str] = [""] * count
    targets = [path + ("?" + urlencode(params) if params else "") for path, params, _headers in requests]
    encoded = [_HttpConnection(host, port).encoded(target, request[2]) for target, request in zip(targets, requests, strict=True)]
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    start = time.perf_counter() + 0.2
    wall_offset = time.time() - time.perf_counter()  # perf_counter → the server's time.time()
    hard_stop = start + count / rate + grace

    async def dispatcher() -> None:
        for index in range(count):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(index)
        for _ in range(connections):
            queue.put_nowait(None)

    async def worker() -> None:
        connection = _HttpConnection(host, port)
        try:
            while (index := await queue.get()) is not None:
                scheduled = start + index / rate
                if time.perf_counter() >= hard_stop:
                    latencies[index] = (time.perf_counter() - scheduled) * 1000
                    continue
                try:
                    async with asyncio.timeout(min(request_timeout, max(0.01, hard_stop - time.perf_counter()))):
                        status, body = await connection.get(targets[index], requests[index][2], encoded[index])
                    statuses[index] = status
                    if status == 200 and requests[index][0].endswith("/search"):
                        if timings is None:
                            # Only the level reached: read from the answer's tail, not by decoding
                            # the whole answer (the generator's CPU is counted in the tail).
                            levels[index] = _last_level(body)
                        else:
                            answer = json.loads(body)
                            levels[index] = (answer.get("levels_searched") or [""])[-1]
                            timings[index] = {
                                "timing": connection.last_timing,
                                "due": wall_offset + scheduled,
                                "hits": len(answer.get("results") or ()),
                                "levels": answer.get("levels_searched") or [],
                            }
                except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                    statuses[index] = FAILED
                    await connection.close()
                latencies[index] = (time.perf_counter() - scheduled) * 1000
        finally:
            await connection.close()

    async def lag_probe() -> None:
        """The load generator's own event-loop lag: how late a 5 ms sleep wakes up. A lagging
        client delays sending and reading, and its lag is counted as the server's latency."""
        while time.perf_counter() < hard_stop and not finished.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.005)
            loop_lags_ms.append((time.perf_counter() - asked - 0.005) * 1000)

    finished = asyncio.Event()
    probe = asyncio.create_task(lag_probe())
    await asyncio.gather(dispatcher(), *(worker() for _ in range(connections)))
    finished.set()
    await probe
    return latencies, statuses, levels


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(ordered[-1], 2)}


def _process_cpu(pids: list[int]) -> dict[int, tuple[str, float]]:
    """Each process's title (PostgreSQL's: « postgres: walwriter », « postgres: bench bench
    127.0.0.1(…) idle »…) and its own CPU seconds (user + system)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found[pid] = (title, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def _process_kind(title: str) -> str:
    """A PostgreSQL process's role from its title (the backends' addresses and states dropped)."""
    if not title.startswith("postgres:"):
        return "postmaster"
    rest = title.removeprefix("postgres:").strip()
    if "127.0.0.1" in rest or "[local]" in rest:
        return "backend"
    return rest.split("   ")[0].split(" (")[0]


def per_process_cpu(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], reaped_s: float) -> dict:
    """CPU seconds per kind of PostgreSQL process during a phase; `reaped_s`: the CPU of the
    processes that ended during it (autovacuum workers…), counted by the postmaster."""
    kinds: dict[str, float] = {}
    for pid, (title, seconds) in after.items():
        spent = seconds - (before[pid][1] if pid in before else 0.0)
        kind = _process_kind(title)
        kinds[kind] = kinds.get(kind, 0.0) + spent
    kinds["ended_during_the_phase"] = reaped_s
    return {kind: round(seconds, 2) for kind, seconds in sorted(kinds.items(), key=lambda item: -item[1]) if seconds > 0}


def _shape_of(params: dict, headers: dict) -> str:
    """A request's query shape, as the breakdown groups them."""
    parts = [f"nom{min(len(params.get('nom', '')), 9)}"]
    if params.get("prenoms"):
        parts.append("prenom")
    if params.get("naissance"):
        parts.append("annee")
    parts.append("jeton" if "authorization" in headers else "tablette")
    return "+".join(parts)


def breakdown(requests: list[tuple[str, dict, dict]], latencies: list[float], timings: list[dict | None]) -> tuple[dict, list[dict]]:
    """Per request: the level reached, rows, server-side split (before the handler, context read,
    levels' statement, audit INSERT, the rest of the handler, after it) and the latency; then
    p50/p90/p99 by level and by query shape, and where the time of the slowest 1 % went."""
    records = []
    for (path, params, headers), latency, timing in zip(requests, latencies, timings, strict=True):
        if timing is None or not timing["timing"]:
            continue
        entered, total, spans, rows, cpu, pid, backend = timing["timing"].split(";")
        spans_ms = [float(x) for x in spans.split(",")] if spans else []
        context, statement, insert = (spans_ms + [0.0, 0.0, 0.0])[:3]
        backend_ms = [float(x) for x in backend.split(",")] if backend else []
        context_cpu, statement_cpu, insert_cpu = (backend_ms + [0.0, 0.0, 0.0])[:3]
        before = (float(entered) - timing["due"]) * 1000
        records.append(
            {
                "latency_ms": round(latency, 3),
                "level": (timing["levels"] or [""])[-1],
                "levels": len(timing["levels"]),
                "shape": _shape_of(params, headers),
                "rows": int(rows),
                "hits": timing["hits"],
                "before_handler_ms": round(before, 3),
                "handler_ms": float(total),
                "context_ms": context,
                "statement_ms": statement,
                "insert_ms": insert,
                "python_ms": round(float(total) - context - statement - insert, 3),
                "after_handler_ms": round(latency - before - float(total), 3),
                "handler_cpu_ms": float(cpu),
                "db_context_cpu_ms": context_cpu,
                "db_statement_cpu_ms": statement_cpu,
                "db_insert_cpu_ms": insert_cpu,
                "pid": int(pid),
                "params": params,
            }
        )

    def summary(group: list[dict]) -> dict:
        figures = percentiles([r["latency_ms"] for r in group])
        figures["n"] = len(group)
        figures["statement_p50_ms"] = percentiles([r["statement_ms"] for r in group])["p50_ms"]
        figures["statement_p99_ms"] = percentiles([r["statement_ms"] for r in group])["p99_ms"]
        figures["rows_mean"] = round(sum(r["rows"] for r in group) / len(group), 1)
        for part in ("db_context_cpu_ms", "db_statement_cpu_ms", "db_insert_cpu_ms", "handler_cpu_ms"):
            figures[part.removesuffix("_ms") + "_mean_ms"] = round(sum(r[part] for r in group) / len(group), 3)
        figures["db_statement_cpu_p99_ms"] = percentiles([r["db_statement_cpu_ms"] for r in group])["p99_ms"]
        return figures

    def grouped(key: str) -> dict:
        groups: dict[str, list[dict]] = {}
        for record in records:
            groups.setdefault(str(record[key]), []).append(record)
        return {name: summary(group) for name, group in sorted(groups.items(), key=lambda item: -len(item[1]))}

    if not records:
        return {}, records
    slowest = sorted(records, key=lambda r: -r["latency_ms"])[: max(1, len(records) // 100)]
    parts = (
        "before_handler_ms", "context_ms", "statement_ms", "insert_ms", "python_ms", "after_handler_ms",
        "db_context_cpu_ms", "db_statement_cpu_ms", "db_insert_cpu_ms", "handler_cpu_ms",
    )
    return {
        "by_level": grouped("level"),
        "by_shape": grouped("shape"),
        "slowest_1pct_mean_split_ms": {part: round(sum(r[part] for r in slowest) / len(slowest), 2) for part in parts},
        "slowest_1pct_levels": {lvl: sum(1 for r in slowest if r["level"] == lvl) for lvl in {r["level"] for r in slowest}},
        "all_mean_split_ms": {part: round(sum(r[part] for r in records) / len(records), 2) for part in parts},
    }, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000_000)
    parser.add_argument(
        "--base-voters", type=int, default=1_000_000, help="voters generated and imported; the rest is grown in SQL (amplify)"
    )
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections of the load generator")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--stations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the server")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="time each search's round trips in the server (x-bench-timing header) and break the latency down "
        "by level and query shape; per-request records in bench/out/registry-search/requests-<rate>.jsonl",
    )
    args = parser.parse_args()

    from services import embedded_pg
    from services.migrations import runner
    from services.settings import Mode, configure

    configure(mode=Mode.TEST, secret_key=SECRET)
    DATA.mkdir(parents=True, exist_ok=True)
    url, server = embedded_pg.start(DATA, database="bench")
    environment = {**os.environ, "DATABASE_URL": url, "PRIMAIRES_MODE": "development", "PRIMAIRES_SECRET_KEY": SECRET}
    app = None
    try:
        runner.upgrade(url)
        state = asyncio.run(setup(url, args.voters, args.base_voters, environment, args.stations))
        # The load generator's heap (the application imported for the set-up, the prepared
        # requests) frozen out of its cyclic collector's reach: a full collection while it
        # times requests is counted as the server's latency (300 ms once, see polling_checkin).
        gc.collect()
        gc.freeze()
        app = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "registry_search_app.py"), "--port", str(args.port), "--workers", str(args.workers)],
            env={
                **environment,
                "BENCH_SEARCH_TIMING": "1" if args.breakdown else "0",
                "BENCH_SEARCH_STATEMENTS": str(DATA / "statements.jsonl") if args.breakdown else "",
            },
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{args.port}"
        import httpx

        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        count = int(args.rate * args.seconds)
        postmaster = int((DATA / "pgdata" / "postmaster.pid").read_text().split()[0])

        timings: list[dict | None] = []

        def measured(requests: list[tuple[str, dict, dict]]) -> tuple[list[float], list[int], list[str], dict]:
            """One load phase, with the CPU the app's and PostgreSQL's processes spent on it."""
            app_pids = [app.pid, *descendants(app.pid)]
            db_pids = [postmaster, *descendants(postmaster)]
            app_before, db_before = cpu_seconds(app_pids), cpu_seconds(db_pids)
            processes_before = _process_cpu(db_pids)
            reaped_before = cpu_seconds([postmaster]) - cpu_seconds([postmaster], reaped=False)
            timings[:] = [None] * len(requests)
            lags: list[float] = []
            started = time.perf_counter()
            client_cpu = time.process_time()
            latencies, statuses, levels = asyncio.run(
                load(
                    base, requests, args.rate, connections=args.connections,
                    timings=timings if args.breakdown else None, loop_lags_ms=lags,
                )
            )
            client_cpu = time.process_time() - client_cpu
            elapsed = time.perf_counter() - started
            app_cpu = cpu_seconds(app_pids) - app_before
            db_cpu = cpu_seconds([postmaster, *descendants(postmaster)]) - db_before
            reaped = cpu_seconds([postmaster]) - cpu_seconds([postmaster], reaped=False) - reaped_before
            answered = max(1, sum(1 for status in statuses if status > 0))
            figures = {
                "achieved_rate_per_s": round(len(requests) / elapsed, 1),
                "answered": answered,
                # Per request answered: a server that falls behind leaves requests unsent.
                "app_cpu_ms_per_request": round(app_cpu * 1000 / answered, 2),
                "db_cpu_ms_per_request": round(db_cpu * 1000 / answered, 2),
                # The load generator itself (this process): its CPU per request and how late its
                # event loop wakes up (p99, max) — a busy client would count its lag as latency.
                "client_cpu_ms_per_request": round(client_cpu * 1000 / max(1, len(requests)), 3),
                "client_loop_lag_ms": {
                    "p50": percentiles(lags)["p50_ms"] if lags else None,
                    "p99": percentiles(lags)["p99_ms"] if lags else None,
                    "max": percentiles(lags)["max_ms"] if lags else None,
                },
                # PostgreSQL's CPU seconds by process kind (backends, walwriter, autovacuum…).
                "db_cpu_s_by_process": per_process_cpu(
                    processes_before, _process_cpu([postmaster, *descendants(postmaster)]), reaped
                ),
            }
            return latencies, statuses, levels, figures

        warm = make_requests(state, int(args.rate * args.warmup), seed=1)
        measured(warm)
        cpu = calibration()
        load_before = os.getloadavg()
        requests = make_requests(state, count, seed=2)
        (DATA / "statements.jsonl").unlink(missing_ok=True)  # the warm-up's
        latencies, statuses, levels, search_cpu = measured(requests)
        split, records = breakdown(requests, latencies, timings) if args.breakdown else ({}, [])
        if records:
            with open(DATA / f"requests-{int(args.rate)}.jsonl", "w") as output:
                for record in records:
                    output.write(json.dumps(record) + "\n")
        floor_requests = [("/healthz", {}, {})] * count
        floor_latencies, floor_statuses, _, floor_cpu = measured(floor_requests)
        search = percentiles(latencies)
        floor = percentiles(floor_latencies)

        def outcome(statuses: list[int]) -> dict[str, int]:
            names = {NOT_SENT: "not_sent_at_hard_stop", FAILED: "failed_or_timeout"}
            counted: dict[str, int] = {}
            for status in statuses:
                counted[names.get(status, str(status))] = counted.get(names.get(status, str(status)), 0) + 1
            return counted

        print(
            json.dumps(
                {
                    "benchmark": "registry_search",
                    "voters_in_registry": state["loaded"],
                    "voter_table_mb": state["table_mb"],
                    "built_this_run": state["built"] or None,
                    "rate_per_s": args.rate,
                    "server_workers": args.workers,
                    "client_connections": args.connections,
                    "requests": count,
                    "search": {**search, **search_cpu},
                    "search_statuses": outcome(statuses),
                    "levels_reached": {level: levels.count(level) for level in sorted(set(levels))},
                    **({"breakdown": split} if split else {}),
                    "floor_healthz": {**floor, **floor_cpu},
                    "floor_statuses": outcome(floor_statuses),
                    "ratio_p99_search_to_floor": round(search["p99_ms"] / max(floor["p99_ms"], 0.01), 2),
                    "ratio_server_cpu_search_to_floor": round(
                        (search_cpu["app_cpu_ms_per_request"] + search_cpu["db_cpu_ms_per_request"])
                        / max(0.001, floor_cpu["app_cpu_ms_per_request"] + floor_cpu["db_cpu_ms_per_request"]),
                        2,
                    ),
                    "target_p99_ms": 20,
                    "cpu_calibration_s": cpu,
                    "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
                },
                ensure_ascii=False,
            )
        )
    finally:
        if app is not None:
            app.send_signal(signal.SIGINT)
            try:
                app.wait(timeout=20)
            except subprocess.TimeoutExpired:
                app.kill()
        embedded_pg.stop(server)


if __name__ == "__main__":
    main()
