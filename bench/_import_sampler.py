"""Where an import waits: samples taken during `registry_import.py --sample` (evidence, not a figure).

Every `period` seconds, in a thread of the benchmark:
- `pg_stat_activity` of the client backends (state, wait_event_type:wait_event, the first
  words of the query) and the background processes' wait events;
- `pg_locks` not granted (who waits for which lock);
- the CPU time (`/proc/<pid>/stat`) of each import process and of each PostgreSQL process,
  classified by its title (client backend, walwriter, checkpointer, autovacuum…).

`summary()` gives the share of samples in each state, the lock waits, and a CPU timeline
(cores busy per second: import processes, backends, background), plus the share of
intervals in which each import process was idle (< 10 % of a core).
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from pathlib import Path

from _proc import descendants

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def _schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of all the process's threads."""
    on = waiting = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0, 0.0
    for task in tasks:
        try:
            values = (task / "schedstat").read_text().split()
        except OSError:
            continue
        on += int(values[0])
        waiting += int(values[1])
    return on / 1e9, waiting / 1e9


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _pg_kind(title: str) -> str:
    if not title.startswith("postgres:"):
        return "postmaster"
    rest = title[len("postgres:") :].strip()
    for kind in ("walwriter", "checkpointer", "background writer", "autovacuum launcher", "autovacuum worker", "logical replication launcher", "walsender"):
        if rest.startswith(kind):
            return kind
    return "backend"


class Sampler:
    def __init__(self, owner_url: str, postmaster: int, period: float = 0.05) -> None:
        self.url = owner_url.replace("postgresql+asyncpg://", "postgresql://")
        self.postmaster = postmaster
        self.period = period
        self.import_root: int | None = None
        self.stop_event = threading.Event()
        self.states: collections.Counter[str] = collections.Counter()
        self.background: collections.Counter[str] = collections.Counter()
        self.lock_waits: collections.Counter[str] = collections.Counter()
        self.samples = 0
        # (time, {pid: (group, cpu seconds)})
        self.cpu_samples: list[tuple[float, dict[int, tuple[str, float]]]] = []
        # first and last (time, on-CPU, run-queue wait) seen of each process (schedstat)
        self.sched_first: dict[int, tuple[str, float, float, float]] = {}
        self.sched_last: dict[int, tuple[str, float, float, float]] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, import_root: int) -> None:
        self.import_root = import_root
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.url)
        own = await connection.fetchval("SELECT pg_backend_pid()")
        titles: dict[int, str] = {}
        try:
            while not self.stop_event.is_set():
                started = time.perf_counter()
                rows = await connection.fetch(
                    "SELECT pid, backend_type, state, wait_event_type, wait_event, left(query, 40) AS query "
                    "FROM pg_stat_activity WHERE pid <> $1",
                    own,
                )
                locks = await connection.fetch(
                    "SELECT l.pid, l.locktype, l.mode, coalesce(l.relation::regclass::text, l.objid::text, '') AS what, "
                    "left(a.query, 40) AS query FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted"
                )
                self.samples += 1
                for row in rows:
                    if row["backend_type"] == "client backend":
                        if row["state"] == "idle":
                            key = "idle"
                        else:
                            wait = f"{row['wait_event_type']}:{row['wait_event']}" if row["wait_event_type"] else "CPU"
                            words = " ".join((row["query"] or "").split()[:2])
                            key = f"{row['state']} | {wait} | {words}"
                        self.states[key] += 1
                    else:
                        wait = f"{row['wait_event_type']}:{row['wait_event']}" if row["wait_event_type"] else "CPU"
                        self.background[f"{row['backend_type']} | {wait}"] += 1
                for lock in locks:
                    self.lock_waits[f"{lock['locktype']} {lock['mode']} {lock['what']} | {' '.join((lock['query'] or '').split()[:3])}"] += 1
                now = time.perf_counter()
                cpu: dict[int, tuple[str, float]] = {}
                assert self.import_root is not None
                for pid in [self.import_root, *descendants(self.import_root)]:
                    value = _cpu(pid)
                    if value is not None:
                        cpu[pid] = ("import", value)
                for pid in [self.postmaster, *descendants(self.postmaster)]:
                    if pid not in titles:
                        titles[pid] = _title(pid)
                    value = _cpu(pid)
                    if value is not None:
                        cpu[pid] = (_pg_kind(titles[pid]), value)
                self.cpu_samples.append((now, cpu))
                for pid, (group, _value) in cpu.items():
                    on, waiting = _schedstat(pid)
                    self.sched_first.setdefault(pid, (group, now, on, waiting))
                    self.sched_last[pid] = (group, now, on, waiting)
                await asyncio.sleep(max(0.0, self.period - (time.perf_counter() - started)))
        finally:
            await connection.close()

    def summary(self) -> str:
        out = [f"samples: {self.samples} every {self.period * 1000:.0f} ms"]
        total_backend = sum(self.states.values()) or 1
        out.append("client backends (share of backend-samples):")
        for key, count in self.states.most_common(25):
            out.append(f"  {count / total_backend:6.1%}  {key}")
        out.append("background processes:")
        for key, count in self.background.most_common(15):
            out.append(f"  {count / max(self.samples, 1):6.1%}  {key}")
        out.append("locks not granted (samples):" + ("" if self.lock_waits else " none"))
        for key, count in self.lock_waits.most_common(10):
            out.append(f"  {count}  {key}")
        # CPU timeline, one line per second: cores used by group.
        if len(self.cpu_samples) > 1:
            start = self.cpu_samples[0][0]
            buckets: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
            idle: collections.Counter[int] = collections.Counter()
            intervals: collections.Counter[int] = collections.Counter()
            for (t0, before), (t1, after) in zip(self.cpu_samples, self.cpu_samples[1:]):
                second = int(t1 - start)
                for pid, (group, value) in after.items():
                    if pid in before:
                        used = value - before[pid][1]
                        buckets[second][group] += used
                        if group == "import":
                            intervals[pid] += 1
                            if used < 0.1 * (t1 - t0):
                                idle[pid] += 1
            groups = sorted({g for counter in buckets.values() for g in counter})
            out.append("CPU (cores busy) per second: " + " ".join(f"{g[:10]:>10}" for g in groups))
            for second in sorted(buckets):
                out.append(f"  {second:4d} s                     " + " ".join(f"{buckets[second][g]:10.2f}" for g in groups))
            totals = collections.Counter()
            for counter in buckets.values():
                totals.update(counter)
            out.append("CPU seconds in total: " + ", ".join(f"{g} {totals[g]:.1f}" for g in groups))
            # Each process over its life: on a CPU, runnable but waiting for a CPU (the machine's
            # other load), asleep (waiting for something: the other side of the COPY, a lock…).
            out.append("per process over its sampled life (schedstat): wall s, on-CPU, waiting for a CPU, asleep")
            for pid, (group, t1, on1, wait1) in sorted(self.sched_last.items()):
                _group, t0, on0, wait0 = self.sched_first[pid]
                wall = t1 - t0
                if wall < 0.5 or on1 - on0 < 0.05:
                    continue
                on, waiting = on1 - on0, wait1 - wait0
                out.append(
                    f"  {group:>12} {pid:7d}: {wall:6.1f} s  cpu {on / wall:6.1%}  runqueue {waiting / wall:6.1%}  asleep {1 - (on + waiting) / wall:6.1%}"
                )
            for pid in sorted(intervals):
                out.append(f"import process {pid}: idle (< 10 % of a core) in {idle[pid] / intervals[pid]:.1%} of {intervals[pid]} intervals")
        return "\n".join(out)
