"""Benchmark: import of REU extracts vs a raw COPY of the same rows into the same table.

    uv run python bench/registry_import.py [--departments 33] [--voters 1100000]

1. generates synthetic extracts (default: Gironde with its real size, ≈ 1.1 M voters over 534
   commune files, so that files have realistic sizes) into a temporary folder;
2. imports them with `primaires registry import` in a child process (one transaction per
   commune, parsing, validation, normalisation, COPY, bureaux, reports, audit events) and
   reads the child's peak RSS;
3. the floor: exports the imported rows in PostgreSQL's binary COPY format, empties the
   table (same indexes) and times one raw `COPY voter FROM STDIN (FORMAT binary)` of exactly
   those rows — the server's own ingest speed, no Python work at all; twice (it varies by up
   to 25 % from one run to the next here), both reported, the ratio to their mean;
4. prints one JSON line: both throughputs, their ratio (target ≥ 0.6), the peak memory (target
   ≤ 300 MB: `import_peak_rss_mb` is the largest SUM of the resident set sizes (VmRSS) of the
   command and all its descendants — workers, multiprocessing's resource tracker, the short
   migration check — sampled every 0.1 s; RSS counts the shared library pages once per
   process, the PSS sum (`import_peak_pss_sum_mb`) shares them out; each process's own peaks
   are listed too, command first, with when each was seen), CPU per row (import processes, PostgreSQL, the floor's PostgreSQL) and a CPU calibration (time of a bare 10 M-iteration Python loop: ≈ 0.4 s on an
   idle core; more means the machine was busy with other work during the run).

Its own embedded PostgreSQL in a temporary folder; nothing is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, also when imported as bench.<name>
from _proc import cpu_seconds, descendants, memory_kb  # noqa: E402


def calibration() -> float:
    started = time.perf_counter()
    total = 0
    for value in range(10_000_000):
        total += value
    return round(time.perf_counter() - started, 3)


async def prepare(url: str) -> None:
    from services import db
    from services.elections import service as elections
    from services.elections.schemas import ElectionCreate
    from services.events import Actor
    from services.territory.service import load_territory

    db.init_database(url, pool_size=2)
    async with db.session_scope() as session:
        await load_territory(session)
        await elections.create_election(session, Actor(id="bench", role="organiser"), ElectionCreate(slug="bench", name="Bench"))
    await db.database().dispose()


FLOOR_RUNS = 2


async def floor(url: str, dump: Path, postmaster: int) -> tuple[int, list[float], float, float]:
    import asyncpg

    from voter_registry.reu import VOTER_COLUMNS

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(plain)
    try:
        rows = await connection.fetchval("SELECT count(*) FROM voter")
        await connection.copy_from_table("voter", columns=list(VOTER_COLUMNS), output=str(dump), format="binary")
        # Twice, each into the emptied table after a checkpoint: the floor varies by up to
        # 25 % from one COPY to the next on this shared machine; the ratio uses their mean.
        elapsed: list[float] = []
        database_cpu = 0.0
        for _run in range(FLOOR_RUNS):
            await connection.execute("TRUNCATE voter")
            await connection.execute("CHECKPOINT")
            cpu_before = cpu_seconds([postmaster, *descendants(postmaster)])
            started = time.perf_counter()
            async with connection.transaction():
                await connection.copy_to_table("voter", source=str(dump), columns=list(VOTER_COLUMNS), format="binary")
            elapsed.append(time.perf_counter() - started)
            database_cpu += (cpu_seconds([postmaster, *descendants(postmaster)]) - cpu_before) / FLOOR_RUNS
        # For information: the same rows in COPY's text format (what the importer sends).
        text_dump = dump.with_suffix(".txt")
        await connection.copy_from_table("voter", columns=list(VOTER_COLUMNS), output=str(text_dump), format="text")
        await connection.execute("TRUNCATE voter")
        await connection.execute("CHECKPOINT")
        started = time.perf_counter()
        async with connection.transaction():
            await connection.copy_to_table("voter", source=str(text_dump), columns=list(VOTER_COLUMNS), format="text")
        text_elapsed = time.perf_counter() - started
        return int(rows), elapsed, text_elapsed, database_cpu
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departments", default="33")
    parser.add_argument("--voters", type=int, default=1_100_000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--jobs", type=int, default=2, help="files imported concurrently (primaires registry import --jobs)")
    parser.add_argument(
        "--cold-bytecode", action="store_true", help="let the import compile its modules from source (PYTHONDONTWRITEBYTECODE)"
    )
    parser.add_argument(
        "--sample", action="store_true", help="sample pg_stat_activity, pg_locks and per-process CPU during the import (report on stderr)"
    )
    parser.add_argument(
        "--input",
        type=Path,
        help="folder of generated extracts to reuse between runs (generated there at the first run; "
        "give it to one set of --departments/--voters/--seed only)",
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy flame graph of the import processes (SVG) — slows the import, for study only"
    )
    args = parser.parse_args()

    from services import embedded_pg
    from services.migrations import runner
    from services.settings import Mode, configure
    from voter_registry.generator import GeneratorOptions, generate

    configure(mode=Mode.TEST, secret_key="b" * 40)
    work = Path(tempfile.mkdtemp(prefix="bench-registry-", dir="/tmp"))
    url, server = embedded_pg.start(work, database="bench")
    try:
        runner.upgrade(url)
        asyncio.run(prepare(url))
        folder = args.input or work / "listes"
        started = time.perf_counter()
        files = lines = malformed = 0
        total_bytes = 0
        summary = folder / "generated.json"
        if args.input is not None and summary.exists():
            # Generated by an earlier run with the same options (same seed: same bytes).
            files, lines, malformed, total_bytes = json.loads(summary.read_text())
        else:
            folder.mkdir(parents=True, exist_ok=True)
            options = GeneratorOptions(departments=tuple(args.departments.split(",")), voters=args.voters, seed=args.seed)
            for generated in generate(options):
                (folder / generated.name).write_bytes(generated.data)
                files += 1
                lines += generated.lines
                malformed += generated.malformed
                total_bytes += len(generated.data)
            if args.input is not None:
                summary.write_text(json.dumps([files, lines, malformed, total_bytes]))
        generation_seconds = time.perf_counter() - started
        cpu_before = calibration()
        # Configured as on a server: the application's restricted role writes, the owner's URL
        # serves the migrations and the final ANALYZE.
        environment = {
            **os.environ,
            "DATABASE_URL": embedded_pg.app_url(url),
            "PRIMAIRES_MIGRATION_DATABASE_URL": url,
            "PRIMAIRES_MODE": "test",
            "PRIMAIRES_SECRET_KEY": "b" * 40,
        }
        # Bytecode as on an installed server: this environment may set PYTHONDONTWRITEBYTECODE,
        # and then every process of the import (the command and each --jobs worker) compiles
        # the whole application from source again (≈ 8 s of CPU for the command, ≈ 4 s per
        # worker) — CPython's compiler, not the import. The bytecode goes to a cache in this
        # run's temporary folder, warmed before the clock starts (`--cold-bytecode` keeps the
        # old measurement).
        if not args.cold_bytecode:
            environment.pop("PYTHONDONTWRITEBYTECODE", None)
            environment["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
            subprocess.run(
                [sys.executable, "-c", "import services.cli, voter_registry.import_job"], env=environment, cwd=ROOT, check=True
            )
        postmaster = int((work / "pgdata" / "postmaster.pid").read_text().split()[0])
        load_before = os.getloadavg()
        database_cpu = cpu_seconds([postmaster, *descendants(postmaster)])
        started = time.perf_counter()
        # The installed `primaires` script, as the organisers run it: its worker processes
        # (multiprocessing's spawn) import the script's module again (`services.cli`), which
        # `python -c` would spare them.
        script = Path(sys.executable).parent / "primaires"
        command = [str(script)] if script.exists() else [sys.executable, "-c", "from services.cli import main; main()"]
        child = subprocess.Popen(
            [*command, "registry", "import", str(folder), "--election", "bench", "--jobs", str(args.jobs)],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(work / "import.err", "wb"),  # noqa: SIM115
        )
        profiler = None
        if args.profile is not None:
            profiler = subprocess.Popen(
                ["py-spy", "record", "--subprocesses", "--rate", "200", "--format", {".json": "speedscope", ".txt": "raw"}.get(args.profile.suffix, "flamegraph"),
                 "-o", str(args.profile), "--pid", str(child.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        sampler = None
        if args.sample:
            from _import_sampler import Sampler

            sampler = Sampler(url, postmaster)
            sampler.start(child.pid)
        # The memory of the import: the command and its worker processes (--jobs), summed at
        # each sample (every 0.1 s), and each process's own high-water mark (VmHWM). wait4's
        # ru_maxrss would also count the memory this script had when it forked the child.
        peak_sum_kb, peak_each_kb, peak_pss_kb = 0, 0, 0
        peak_rss_by_pid: dict[int, int] = {}  # each process's own peaks (sampled), command first
        peak_pss_by_pid: dict[int, int] = {}
        seen_by_pid: dict[int, list[float]] = {}  # first and last sample (s since the start)
        import_cpu: dict[int, float] = {}
        while child.poll() is None:
            total = total_pss = 0
            processes = [child.pid, *descendants(child.pid)]
            for pid in processes:
                import_cpu[pid] = cpu_seconds([pid], reaped=False)  # each process's own, sampled
                rss, hwm, pss = memory_kb(pid)
                peak_rss_by_pid[pid] = max(peak_rss_by_pid.get(pid, 0), rss)
                peak_pss_by_pid[pid] = max(peak_pss_by_pid.get(pid, 0), pss)
                seen = seen_by_pid.setdefault(pid, [time.perf_counter() - started] * 2)
                seen[1] = time.perf_counter() - started
                total += rss
                total_pss += pss
                peak_each_kb = max(peak_each_kb, hwm)
            peak_sum_kb = max(peak_sum_kb, total)
            peak_pss_kb = max(peak_pss_kb, total_pss)
            time.sleep(0.1)
        import_seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.wait(timeout=60)
        if sampler is not None:
            sampler.stop()
            sys.stderr.write(sampler.summary() + "\n")
        load_after = os.getloadavg()
        # The command's own CPU includes its reaped workers (cutime); the last sample of each
        # worker is kept for those that were still running then.
        python_cpu = sum(import_cpu.values())
        database_cpu = cpu_seconds([postmaster, *descendants(postmaster)]) - database_cpu
        peak_rss_mb = peak_sum_kb / 1024
        if child.returncode != 0:
            sys.stderr.write((work / "import.err").read_text()[-3000:])
        rows, floor_seconds, text_floor_seconds, floor_database_cpu = asyncio.run(floor(url, work / "voters.copy", postmaster))
        cpu_after = calibration()
        import_rate = rows / import_seconds
        floor_rates = [rows / seconds for seconds in floor_seconds]
        floor_rate = sum(floor_rates) / len(floor_rates)
        print(
            json.dumps(
                {
                    "benchmark": "registry_import",
                    "departments": args.departments,
                    "jobs": args.jobs,
                    "bytecode": "cold" if args.cold_bytecode else "cached",
                    "files": files,
                    "lines": lines,
                    "malformed_lines": malformed,
                    "input_mb": round(total_bytes / 1e6, 1),
                    "voters_imported": rows,
                    "generation_s": round(generation_seconds, 1),
                    "import_s": round(import_seconds, 1),
                    "import_rows_per_s": round(import_rate),
                    "floor_raw_copy_s": [round(seconds, 1) for seconds in floor_seconds],
                    "floor_runs_rows_per_s": [round(rate) for rate in floor_rates],
                    "floor_rows_per_s": round(floor_rate),
                    "ratio_import_to_floor": round(import_rate / floor_rate, 3),
                    "info_text_format_copy_s": round(text_floor_seconds, 1),
                    "info_ratio_to_text_copy": round(text_floor_seconds / import_seconds, 3),
                    "target_ratio": 0.6,
                    "import_peak_rss_mb": round(peak_rss_mb, 1),
                    "import_peak_pss_sum_mb": round(peak_pss_kb / 1024, 1),
                    "import_peak_rss_largest_process_mb": round(peak_each_kb / 1024, 1),
                    # Each process's own sampled peak, the command first, then its workers.
                    "import_peak_rss_by_process_mb": [round(kb / 1024, 1) for kb in peak_rss_by_pid.values()],
                    "import_peak_pss_by_process_mb": [round(kb / 1024, 1) for kb in peak_pss_by_pid.values()],
                    "import_processes_seen_s": [[round(t, 1) for t in seen] for seen in seen_by_pid.values()],
                    "target_peak_rss_mb": 300,
                    "import_python_cpu_us_per_row": round(python_cpu * 1e6 / max(rows, 1), 1),
                    "import_database_cpu_us_per_row": round(database_cpu * 1e6 / max(rows, 1), 1),
                    "floor_database_cpu_us_per_row": round(floor_database_cpu * 1e6 / max(rows, 1), 1),
                    # Cores the import kept busy on average (its processes and PostgreSQL's):
                    # 2 on an idle 2-core machine if nothing serialises it.
                    "import_cores_busy": round((python_cpu + database_cpu) / import_seconds, 2),
                    "ratio_cpu_floor_to_import": round(floor_database_cpu / max(python_cpu + database_cpu, 1e-9), 3),
                    "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
                    "import_exit_code": child.returncode,
                    "cpu_calibration_s_before_after": [cpu_before, cpu_after],
                    "national_48M_estimate_min": round(48_000_000 / import_rate / 60, 1),
                },
                ensure_ascii=False,
            )
        )
    finally:
        embedded_pg.stop(server)
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
