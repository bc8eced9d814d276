"""Benchmark: aggregation of 15,000 station reports, station → canton → department → region →
nation, on the real territory (2016 regions, COG cantons).

Prints one final JSON line: the median wall time of `results.aggregation.aggregate` over the
runs (and its CPU time: the machine is shared, the load average is printed too), the floor
measured in the same run (one bare loop summing the same integers from the same report
objects), and the ratio. Target: ≤ 200 ms.

    uv run python bench/bench_aggregation.py [--stations 15000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

from results.aggregation import CountedReport, Station, aggregate
from results.report import StationReport
from services.territory.service import cantons, departments

CANDIDATES = 6


def build(station_count: int, seed: int = 2027) -> tuple[list[Station], list[CountedReport], dict[str, str]]:
    rng = random.Random(seed)
    department_regions = {row["code"]: row["region_code"] for row in departments()}
    canton_rows = [row for row in cantons() if row["department_code"] in department_regions]
    stations: list[Station] = []
    reports: list[CountedReport] = []
    for index in range(station_count):
        canton = canton_rows[index % len(canton_rows)]
        code = f"{index:06d}"
        signatures = rng.randint(50, 900)
        blank, null = rng.randint(0, 8), rng.randint(0, 6)
        remaining = signatures - blank - null - rng.randint(0, 2)
        votes = []
        for _ in range(CANDIDATES - 1):
            share = rng.randint(0, remaining // 2)
            votes.append(share)
            remaining -= share
        votes.append(max(remaining, 0))
        stations.append(Station(code, canton["department_code"], canton["code"], signatures * 10))
        contributions = signatures * 100 + rng.randint(0, signatures * 150) if rng.random() < 0.9 else None
        reports.append(CountedReport(code, StationReport(signatures, blank, null, tuple(votes), contributions)))
    return stations, reports, department_regions


def floor_sum(reports: list[CountedReport]) -> int:
    total = 0
    for item in reports:
        report = item.report
        total += report.signatures + report.blank + report.null + sum(report.votes) + (report.contributions_cents or 0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=15000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    stations, reports, department_regions = build(args.stations)

    aggregate_times, floor_times, aggregate_cpu, floor_cpu = [], [], [], []
    result = None
    for _ in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = aggregate(stations, reports, candidate_count=CANDIDATES, department_regions=department_regions)
        aggregate_times.append(time.perf_counter() - started)
        aggregate_cpu.append(time.process_time() - cpu)
        started, cpu = time.perf_counter(), time.process_time()
        bare = floor_sum(reports)
        floor_times.append(time.perf_counter() - started)
        floor_cpu.append(time.process_time() - cpu)
    assert result is not None
    nation = result.nation
    exact = (
        nation.signatures + nation.blank + nation.null + sum(nation.votes) + nation.contributions_cents == bare
        and nation.stations_reported == args.stations
    )
    median_ms = statistics.median(aggregate_times) * 1000
    floor_ms = statistics.median(floor_times) * 1000
    print(
        json.dumps(
            {
                "benchmark": "aggregation",
                "stations": args.stations,
                "candidates": CANDIDATES,
                "cantons": len(result.cantons),
                "departments": len(result.departments),
                "regions": len(result.regions),
                "runs": args.runs,
                "aggregate_ms_median": round(median_ms, 2),
                "aggregate_ms_max": round(max(aggregate_times) * 1000, 2),
                "aggregate_cpu_ms_median": round(statistics.median(aggregate_cpu) * 1000, 2),
                "floor": "one bare loop summing the same integers of the same report objects",
                "floor_ms_median": round(floor_ms, 2),
                "floor_cpu_ms_median": round(statistics.median(floor_cpu) * 1000, 2),
                "ratio": round(median_ms / floor_ms, 2),
                "target_ms": 200,
                "within_target": median_ms <= 200,
                "load_average_1min": round(os.getloadavg()[0], 2),
                "national_totals_exact": exact,
            }
        )
    )


if __name__ == "__main__":
    main()
