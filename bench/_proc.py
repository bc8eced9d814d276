"""What the benchmarks read of their processes in /proc (Linux): the process tree, CPU time,
memory. CPU time per operation barely depends on the machine's other load, unlike wall time:
the benchmarks report both."""

from __future__ import annotations

import os
from pathlib import Path


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def memory_kb(pid: int) -> tuple[int, int, int]:
    """(VmRSS, VmHWM, Pss) of a process, in kB; zeros once it is gone. Pss shares the pages
    processes have in common (libraries) among them: the sum over processes is their memory."""
    rss = hwm = pss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, hwm, pss


def cpu_seconds(pids: list[int], *, reaped: bool = True) -> float:
    """CPU time (user + system) of these processes, and of their children already reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11 : 15 if reaped else 13])  # utime stime [cutime cstime]
    return total / ticks
