"""Benchmark: the independent verifier (`primaires audit verify`) on a large export.

    uv run python bench/audit_verify.py [--events 2000000] [--checkpoint-every 4000]

Writes a synthetic export in a temporary folder — entries shaped like real events (~330
bytes of canonical JSON: check-ins, results reports), signed checkpoints every
`--checkpoint-every` events (about every 2 s at 2,000 events/s) — then measures, in the same
run and on the same files:

- the verifier, run as its own process exactly as the high authority would
  (`python -m audit.verifier DIR`, one worker process per core), its wall time and its peak
  resident memory (main process + largest worker), on the full export and on a quarter of it
  (memory must not grow with the log); and again with a single process;
- the floor: a bare SHA-256 chain over the same bytes (h = SHA-256(h || line), line by line,
  read the same way), the least any verifier reading every byte must do — in CPU seconds of
  this one-threaded loop, what its wall time is on a quiet machine; measured before and
  after the verifier runs, the faster kept (on a shared machine the ratio is a lower bound).

Prints one final JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from audit import merkle, verifier  # noqa: E402
from audit.checkpoints import Signer  # noqa: E402

KINDS = ("checkin.recorded", "report.received", "report.validated", "station.opened")


def entry(number: int) -> bytes:
    station = f"{75 + number % 20:02d}{number % 997:04d}"
    kind = KINDS[number % len(KINDS)]
    return (
        '{"actor":{"id":"tablet:%d","role":"tablet","scope":"%s"},"at":"2027-10-09T%02d:%02d:%02d.%06d+00:00",'
        '"kind":"%s","payload":{"contribution_cents":200,"round_id":1,"token":"%032x"},'
        '"subjects":{"election_id":1,"station_code":"%s"},"v":1}'
        % (number % 15000, station, 9 + number // 3_600_000 % 10, number // 60_000 % 60, number // 1000 % 60,
           number % 1_000_000, kind, number * 2654435761 % (1 << 128), station)
    ).encode()


def write_export(folder: Path, count: int, every: int, signer: Signer) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frontier = merkle.Frontier()
    notes = []
    with open(folder / verifier.EVENTS_FILE, "wb") as events:
        buffer = []
        for number in range(count):
            data = entry(number)
            leaf = merkle.leaf_hash(data)
            frontier.append(leaf)
            buffer.append(verifier.event_line(number, leaf, data))
            if frontier.size % every == 0 or frontier.size == count:
                notes.append(signer.sign_checkpoint(frontier.size, frontier.root()))
            if len(buffer) >= 10_000:
                events.writelines(buffer)
                buffer.clear()
        events.writelines(buffer)
    (folder / verifier.CHECKPOINTS_FILE).write_bytes(b"".join(verifier.checkpoint_line(note) for note in notes))
    (folder / verifier.KEY_FILE).write_text(signer.verifier_key + "\n")


def sha256_chain(path: Path) -> tuple[float, int]:
    """The floor: one SHA-256 per line, chained, over the same bytes read the same way."""
    started = time.process_time()
    digest = b"\x00" * 32
    sha256 = hashlib.sha256
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.readlines(verifier.READ_CHUNK):
            for line in chunk:
                digest = sha256(digest + line).digest()
            lines += len(chunk)
    return time.process_time() - started, lines


def run_verifier(folder: Path, key: str, processes: int) -> tuple[float, int, float]:
    """The verifier in its own process; returns (seconds, peak RSS in KiB of it and its
    workers, CPU seconds of it and its workers)."""
    code = (
        "import resource, sys, time\n"
        "from audit import verifier\n"
        "started = time.perf_counter()\n"
        f"status = verifier.main([{str(folder)!r}, '--cle', {key!r}, '--processus', '{processes}'])\n"
        "elapsed = time.perf_counter() - started\n"
        "me, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "rss = me.ru_maxrss + workers.ru_maxrss\n"
        "cpu = me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime\n"
        "print('BENCH', elapsed, rss, cpu)\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"verification failed: {result.stderr}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH"))
    _tag, seconds, rss, cpu = line.split()
    return float(seconds), int(rss), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=4000)
    args = parser.parse_args()

    load = [round(value, 2) for value in os.getloadavg()]
    signer = Signer.generate("bench.primaires/journal")
    base = Path(tempfile.mkdtemp(prefix="primaires-verify-"))
    try:
        small, large = base / "quart", base / "complet"
        started = time.perf_counter()
        write_export(small, args.events // 4, args.checkpoint_every, signer)
        write_export(large, args.events, args.checkpoint_every, signer)
        generation = time.perf_counter() - started
        size = (large / verifier.EVENTS_FILE).stat().st_size

        floor_seconds, lines = sha256_chain(large / verifier.EVENTS_FILE)
        assert lines == args.events
        processes = os.cpu_count() or 1
        small_seconds, small_rss, _ = run_verifier(small, signer.verifier_key, processes)
        large_seconds, large_rss, large_cpu = run_verifier(large, signer.verifier_key, processes)
        sequential_seconds, sequential_rss, sequential_cpu = run_verifier(large, signer.verifier_key, 1)
        # The machine may be shared: measure the floor again after, and keep the faster one
        # (the ratio is then a lower bound).
        floor_seconds = min(floor_seconds, sha256_chain(large / verifier.EVENTS_FILE)[0])
        # And the same export with one byte changed near the end must fail, naming its index.
        events = large / verifier.EVENTS_FILE
        with open(events, "r+b") as handle:
            handle.seek(size - 100)
            byte = handle.read(1)
            handle.seek(size - 100)
            handle.write(b"X" if byte != b"X" else b"Y")
        tampered = subprocess.run(
            [sys.executable, "-m", "audit.verifier", str(large)], cwd=ROOT, capture_output=True, text=True, check=False
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)

    verify_rate = args.events / large_seconds
    floor_rate = args.events / floor_seconds
    print(
        json.dumps(
            {
                "benchmark": "audit_verify",
                "events": args.events,
                "export_bytes": size,
                "checkpoints": -(-args.events // args.checkpoint_every),
                "cores": os.cpu_count(),
                "load_average_at_start": load,
                "generation_seconds": round(generation, 1),
                "verify_processes": processes,
                "verify_seconds": round(large_seconds, 2),
                "verify_events_per_second": round(verify_rate),
                "verify_one_process_events_per_second": round(args.events / sequential_seconds),
                "peak_rss_mib_one_process": round(sequential_rss / 1024, 1),
                "verify_cpu_seconds": round(large_cpu, 2),
                "verify_one_process_cpu_seconds": round(sequential_cpu, 2),
                "verify_one_process_events_per_cpu_second": round(args.events / sequential_cpu),
                "floor_sha256_chain_seconds": round(floor_seconds, 2),
                "floor_events_per_second": round(floor_rate),
                "ratio_to_floor": round(verify_rate / floor_rate, 3),
                "peak_rss_mib_full": round(large_rss / 1024, 1),
                "peak_rss_mib_quarter": round(small_rss / 1024, 1),
                "quarter_verify_seconds": round(small_seconds, 2),
                "tampered_export_detected": tampered.returncode != 0,
                "tampered_message": tampered.stderr.strip().splitlines()[0] if tampered.stderr else "",
                "target": ">= 500000 events/s, memory flat",
                "meets_target": verify_rate >= 500_000 and large_rss < small_rss * 1.2 and tampered.returncode != 0,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
