"""CPU time and memory of process groups, read from /proc (Linux only)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from "state" (field 3) on


def cpu_seconds(pid: int) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def children(ppid: int) -> list[int]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == ppid:
                found.append(int(entry.name))
    return sorted(found)


def cmdline(pid: int) -> str:
    """The process's title as ``ps`` shows it (PostgreSQL backends name their database)."""
    try:
        return (
            (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def postgres_processes(postmaster: int, database: str) -> list[int]:
    """The server's own processes and the backends of ``database``: on a server shared with
    other work, the backends serving other databases are not ours to count."""
    found = [postmaster]
    for pid in children(postmaster):
        title = cmdline(pid)
        client = "(" in title or "[local]" in title  # "… 127.0.0.1(41702) idle"
        if not client or f" {database} " in title:
            found.append(pid)
    return found


def parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def rss_kib(pid: int) -> int | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / TICK, total / TICK


Groups = dict[str, Callable[[], Iterable[int]]]


@dataclass
class CpuSplit:
    """Cores used by each group during a measured interval (1.0 = one core busy)."""

    wall: float
    cores: dict[str, float]
    machine: float

    def text(self) -> str:
        parts = [f"{name} {used:.2f}" for name, used in self.cores.items()]
        return ", ".join(parts) + f", other {self.other:.2f} (machine {self.machine:.2f})"

    @property
    def other(self) -> float:
        """Everything else on the machine (other users' processes, the kernel, us)."""
        return max(0.0, self.machine - sum(self.cores.values()))


class CpuMeter:
    """``start()`` then ``stop()``: CPU seconds per group, divided by the wall time.

    A background thread re-reads the groups every ``interval`` seconds, so processes
    that come and go during the run (pgbench's backends) are counted up to their last
    sample before they exit.
    """

    def __init__(self, groups: Groups, interval: float = 0.25) -> None:
        self._groups = groups
        self._interval = interval
        self._first: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict[int, float]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self) -> None:
        for name, pids in self._groups.items():
            first = self._first.setdefault(name, {})
            last = self._last.setdefault(name, {})
            for pid in pids():
                used = cpu_seconds(pid)
                if used is not None:
                    first.setdefault(pid, 0.0 if self._started else used)
                    last[pid] = used

    def _poll(self) -> None:
        while not self._done.wait(self._interval):
            self._sample()

    def start(self) -> None:
        self._started = False
        self._sample()  # processes alive now count from here; later ones from zero
        self._started = True
        self._machine = machine_busy_seconds()[0]
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> CpuSplit:
        self._done.set()
        self._thread.join()
        self._sample()
        wall = time.monotonic() - self._t0
        machine = machine_busy_seconds()[0] - self._machine
        cores = {}
        for name, last in self._last.items():
            first = self._first[name]
            cores[name] = sum(t - first[pid] for pid, t in last.items()) / wall
        return CpuSplit(wall, cores, machine / wall)
