"""Benchmark: a whole rehearsal as fast as it goes, against the floor of the same server.

    uv run python bench/rehearse_day.py [--stations 200] [--voters 60000] [--turnout 0.09]
                                        [--workers 2] [--concurrency 24] [--floor 2000]

What is measured (servers on 127.0.0.1 only, started and stopped by the rehearsal itself):

- **check-ins per second**: `primaires rehearse` with `--speedup 0` (no pacing: the day is
  compressed as far as the server allows) — every check-in is the real
  ``POST /api/v1/polling/checkins`` of a station's president (API token): registry re-read,
  area, eligibility, keyed token, encrypted display data, insert, counters, audit event;
- **results per second**: the night's burst (SMS with confirmation, phone calls key by key,
  tablet entry and countersignature, paper double entry);
- **the floor**: ``GET /healthz`` (one ``SELECT 1``) on the same server, same client, same
  concurrency, measured in the same run right after the day;
- the **ratio** check-ins / floor, and the projection to national scale: 4.4 M voters in a day
  whose busiest hour carries 14 % of them need ≈ 171 check-ins per second at peak.

The last line printed is one JSON object with the figures, the floor and the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

from rehearsal.cli import run_rehearsal
from rehearsal.day import HOURLY_PROFILE

NATIONAL_VOTERS = 4_400_000
NATIONAL_STATIONS = 15_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--voters", type=int, default=60_000)
    parser.add_argument("--turnout", type=float, default=0.09)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--floor", type=int, default=2000, help="requêtes GET /healthz du plancher")
    parser.add_argument("--faults", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rep-") as folder:
        result = run_rehearsal(
            stations=args.stations, voters=args.voters, speedup=0, faults=args.faults, workers=args.workers,
            concurrency=args.concurrency, turnout=args.turnout, output=Path(folder), floor_requests=args.floor,
        )  # fmt: skip
    document = result.document
    throughput = document["throughput"]
    peak_need = NATIONAL_VOTERS * max(HOURLY_PROFILE) / 3600
    rate = throughput["checkins_per_second"] or 0.0
    figures = {
        "bench": "rehearse_day",
        "ok": result.ok,
        "stations": document["election"]["stations"],
        "voters_on_lists": document["election"]["voters_on_lists"],
        "checkins": throughput["checkins"],
        "checkins_per_second": rate,
        "checkin_p50_ms": document["latency"].get("POST /api/v1/polling/checkins", {}).get("p50_ms"),
        "checkin_p95_ms": document["latency"].get("POST /api/v1/polling/checkins", {}).get("p95_ms"),
        "reports_per_second": throughput["reports_per_second"],
        "floor_healthz_per_second": throughput["floor_healthz_per_second"],
        "ratio_checkins_to_floor": throughput["ratio_checkins_to_floor"],
        "national_peak_checkins_per_second_needed": round(peak_need, 1),
        "machines_like_this_one_for_national_peak": math.ceil(peak_need / rate) if rate else None,
        "national_results_burst_minutes_at_this_rate": (
            round(NATIONAL_STATIONS / throughput["reports_per_second"] / 60, 1) if throughput["reports_per_second"] else None
        ),
        "workers": args.workers,
        "concurrency": args.concurrency,
        "log_events": document["log"]["events"],
        "log_verify_seconds": document["log"]["verify_seconds"],
        "timings_seconds": document["timings_seconds"],
    }
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
