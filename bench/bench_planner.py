"""Benchmark: plan the polling stations of the whole of France (issue 5: ≤ 30 s).

Input: a synthetic but realistic national electoral list built from the territory reference
shipped in `services/territory/data/` — every commune (34,969; the arrondissements of Paris,
Lyon and Marseille are not counted twice), its canton as shipped (communes without canton go to
their department's pseudo-canton), registered voters ≈ population × 48 M / 69 M, cut into
bureaux of about 1,000 voters (one bureau for a village, 1,470 for Paris), sizes varying
±35 % around the mean with a fixed seed.

Prints progress to stderr and ONE final JSON line on stdout: the planning time (wall clock, and
CPU time of the process, which the machine's other load does not inflate), the stations,
the lower bound Σ⌈canton voters / 5 000⌉ and the ratio stations / bound, and the floor measured in
the same run — grouping the bureaux by canton with one sort — with the ratio time / floor.

    uv run python bench/bench_planner.py [--max-voters 5000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polling.planner import Bureau, check_plan, effective_cantons, plan_stations, plan_summary  # noqa: E402
from services.territory.service import communes  # noqa: E402

NATIONAL_REGISTERED = 48_000_000
VOTERS_PER_BUREAU = 1_000
SPREAD = 0.35


def synthetic_france(seed: int = 2027) -> list[Bureau]:
    rows = [row for row in communes() if row["kind"] == "commune"]
    population = sum(row["population"] for row in rows)
    share = NATIONAL_REGISTERED / population
    bureaux: list[Bureau] = []
    for row in rows:
        voters = round(row["population"] * share)
        count = max(1, round(voters / VOTERS_PER_BUREAU))
        rng = random.Random(f"{seed}:{row['code']}")
        weights = [rng.uniform(1 - SPREAD, 1 + SPREAD) for _ in range(count)]
        total_weight = sum(weights)
        sizes = [int(voters * w / total_weight) for w in weights]
        for i in range(voters - sum(sizes)):  # hand out the rounding remainder
            sizes[i % count] += 1
        for number, size in enumerate(sizes, start=1):
            bureaux.append(
                Bureau(
                    department_code=row["department_code"],
                    commune_code=row["code"],
                    code=f"{number:04d}",
                    label=f"Bureau {number}",
                    canton_code=row["canton_code"],
                    registered=size,
                    commune_name=row["name"],
                )
            )
    return bureaux


def floor_group_by_canton(bureaux: list[Bureau]) -> int:
    """The least a planner must do: one sort of the bureaux by canton, then one pass."""
    cantons = effective_cantons(bureaux)
    ordered = sorted(bureaux, key=lambda b: (b.department_code, cantons[b.key], b.commune_code, b.code))
    groups = 0
    for _, members in itertools.groupby(ordered, key=lambda b: cantons[b.key]):
        sum(b.registered for b in members)
        groups += 1
    return groups


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-voters", type=int, default=5_000)
    args = parser.parse_args()

    started = time.perf_counter()
    bureaux = synthetic_france()
    built = time.perf_counter() - started
    print(f"{len(bureaux)} bureaux, {sum(b.registered for b in bureaux)} inscrits ({built:.1f} s)", file=sys.stderr)

    started, cpu_started = time.perf_counter(), time.process_time()
    cantons = floor_group_by_canton(bureaux)
    floor_seconds = time.perf_counter() - started
    floor_cpu_seconds = time.process_time() - cpu_started

    started, cpu_started = time.perf_counter(), time.process_time()
    plan = plan_stations(bureaux, max_voters=args.max_voters)
    plan_seconds = time.perf_counter() - started
    plan_cpu_seconds = time.process_time() - cpu_started
    print(f"plan: {len(plan.stations)} stations in {plan_seconds:.2f} s", file=sys.stderr)

    started = time.perf_counter()
    violations = check_plan(plan, bureaux)
    check_seconds = time.perf_counter() - started
    if violations:
        print("\n".join(violations[:20]), file=sys.stderr)

    print("\n".join(plan_summary(plan, bureaux)), file=sys.stderr)
    totals: dict[str, int] = {}
    for b in bureaux:
        totals[b.commune_code] = totals.get(b.commune_code, 0) + b.registered
    large_split = [c for c in plan.split_communes if totals[c] > args.max_voters]
    small_split = [c for c in plan.split_communes if totals[c] <= args.max_voters]
    print(
        json.dumps(
            {
                "benchmark": "planner_france",
                "bureaux": len(bureaux),
                "registered": sum(b.registered for b in bureaux),
                "cantons": cantons,
                "max_voters": args.max_voters,
                "seconds": round(plan_seconds, 3),
                "cpu_seconds": round(plan_cpu_seconds, 3),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "stations": len(plan.stations),
                "lower_bound": plan.lower_bound,
                "gap": plan.gap,
                "ratio_stations_bound": round(plan.ratio, 4),
                "cantons_above_bound": sum(1 for c in plan.cantons if c.gap > 0),
                "communes_cut_above_max": len(large_split),
                "communes_cut_under_max": len(small_split),
                "oversized_stations": len(plan.oversized_stations),
                "violations": len(violations),
                "check_seconds": round(check_seconds, 3),
                "floor_seconds": round(floor_seconds, 3),
                "floor_cpu_seconds": round(floor_cpu_seconds, 3),
                "ratio_time_floor": round(plan_seconds / floor_seconds, 1),
                "ratio_cpu_floor": round(plan_cpu_seconds / floor_cpu_seconds, 1),
                "limit_seconds": 30,
            }
        )
    )


if __name__ == "__main__":
    main()
