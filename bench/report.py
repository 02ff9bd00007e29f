"""The report: the rounds against the floor and pgbench, the paced runs, issue 21's targets
with PASS/FAIL, every other run, the set-up."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import Result

SCENARIOS = {
    "bets": "(a) IGPX bets over many players",
    "mix": "(b) IGPX mix: bets, results, rollbacks, 5% replays",
    "hot": "(c) one hot player (IGPX bets)",
    "dups": "(d) duplicate storm (replays of applied bets only)",
    "pgbench": "pgbench: minimal double-entry bet, many players",
    "pgbench-hot": "pgbench: the same bet on one hot row",
    "pgbench-product": "pgbench: the product's one statement, `wallet_transfer(…)`",
}
ROUND_MEMBERS = {
    "product": "IGPX bets to the product, 16 connections",
    "floor": "the same kind of bets to the floor (`bench/floor.py`), 16 connections",
    "pgbench": "pgbench running the product's statement (`bench/pgbench_product.sql`), 16 clients",
    "product-64": "IGPX bets to the product, 64 connections",
    "replays": "replays of 1,000 applied bets to the product, 16 connections",
}

CONTENDED = 0.25  # cores used by other processes during a run: marked with *


@dataclass
class Bench:
    results: dict[str, dict[int, Result]] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    rss: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    rounds: list[dict[str, Result]] = field(default_factory=list)
    paced: list[tuple[str, float, Result]] = field(default_factory=list)

    def add(self, scenario: str, result: Result) -> None:
        self.results.setdefault(scenario, {})[result.connections] = result

    def get(self, scenario: str, connections: int) -> Result | None:
        return self.results.get(scenario, {}).get(connections)

    def ratios(self, of: str, to: str) -> list[float]:
        """``of``'s rate ÷ ``to``'s in each round (runs taken back to back)."""
        return [r[of].rps / r[to].rps for r in self.rounds if of in r and to in r]

    def median_rate(self, member: str) -> float:
        rates = [r[member].rps for r in self.rounds if member in r]
        return statistics.median(rates) if rates else math.nan

    def peak(self) -> float:
        """The product's saturating bets/s: the higher median of 16 and 64 connections."""
        found = [self.median_rate(m) for m in ("product", "product-64")]
        found = [rate for rate in found if not math.isnan(rate)]
        return max(found) if found else math.nan

    def paced_runs(self, name: str, share: float) -> list[Result]:
        return [r for n, s, r in self.paced if n == name and s == share]


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def _check(value: float, limit: float, at_least: bool) -> bool | None:
    if math.isnan(value):
        return None
    return value >= limit if at_least else value <= limit


def median_and_range(values: list[float], show: Callable[[float], str]) -> str:
    """``median (min–max)`` of a figure measured once per round."""
    if not values:
        return "not measured"
    return f"{show(statistics.median(values))} ({show(min(values))}–{show(max(values))})"


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _times(value: float) -> str:
    return f"{value:.2f}×"


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _median_check(values: list[float], limit: float, at_least: bool) -> str:
    return _verdict(_check(statistics.median(values), limit, at_least) if values else None)


def targets(bench: Bench) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/FAIL) for each target of issue 21; a figure measured in
    several rounds is judged on its median, its range shown beside it."""
    floor = bench.ratios("product", "floor")
    rows = [
        (
            "product ≥ 0.85 × floor, 16 conns",
            median_and_range(floor, _percent),
            _median_check(floor, 0.85, True),
        ),
        (
            "stretch: product ≥ 0.95 × floor",
            median_and_range(floor, _percent),
            _median_check(floor, 0.95, True),
        ),
    ]
    for share, p99_limit, p999_limit in ((0.5, 10.0, 25.0), (0.8, 25.0, None)):
        runs = bench.paced_runs("product", share)
        p99 = [r.p99 for r in runs]
        target = f"paced at {share:.0%} of peak: p99 ≤ {p99_limit:g} ms"
        rows.append((target, median_and_range(p99, _ms), _median_check(p99, p99_limit, False)))
        if p999_limit is not None:
            p999 = [r.p999 for r in runs]
            target = f"paced at {share:.0%} of peak: p99.9 ≤ {p999_limit:g} ms"
            rows.append(
                (target, median_and_range(p999, _ms), _median_check(p999, p999_limit, False))
            )
    at64 = bench.ratios("product-64", "product")
    rows.append(
        (
            "bets/s at 64 conns ≥ 90% of peak (÷ 16 conns in the same round)",
            median_and_range(at64, _percent),
            _median_check(at64, 0.9, True),
        )
    )
    replays = bench.ratios("replays", "product")
    rows.append(
        (
            "replays/s ≥ 1.5 × fresh bets/s, 16 conns",
            median_and_range(replays, _times),
            _median_check(replays, 1.5, True),
        )
    )
    rows.append(_rss_target(bench))
    runs = [r for members in bench.rounds for r in members.values()]
    runs += [r for _, _, r in bench.paced]
    runs += [r for s in ("bets", "hot", "dups", "mix") for r in bench.results.get(s, {}).values()]
    errors = sum(r.errors for r in runs)
    rows.append(
        ("every request accepted (no non-200, no error answer)", str(errors), _verdict(errors == 0))
    )
    verified = bench.extra.get("ledger_ok")
    rows.append(("`wallet ledger verify` after the run", str(verified), _verdict(verified)))
    return rows


def headline(bench: Bench) -> list[str]:
    """The ratios, one line each: median of the rounds (lowest–highest round), and what a
    bet costs the serving processes and PostgreSQL in each."""
    lines = [
        f"- **product ÷ {to}** at 16 connections: "
        + median_and_range(bench.ratios("product", to), _percent)
        for to in ("floor", "pgbench")
    ]
    for member in ("product", "floor", "pgbench"):
        app = [cpu_per_request(r[member], "app") for r in bench.rounds if member in r]
        pg = [cpu_per_request(r[member], "postgres") for r in bench.rounds if member in r]
        if app and member != "pgbench":
            lines.append(
                f"- CPU per bet, {member}: gunicorn {median_and_range(app, _us)}, "
                f"PostgreSQL {median_and_range(pg, _us)}"
            )
        elif pg:
            lines.append(f"- CPU per bet, {member}: PostgreSQL {median_and_range(pg, _us)}")
    return lines


def cpu_per_request(result: Result, group: str) -> float:
    """The CPU ``group`` spent per answered request in ``result`` (µs); NaN without one."""
    if result.cpu is None or not result.rps:
        return math.nan
    return result.cpu.cores.get(group, 0.0) / result.rps * 1e6


def _us(value: float) -> str:
    return f"{value:,.0f} µs"


def rounds_table(bench: Bench) -> list[str]:
    members = [m for m in ROUND_MEMBERS if any(m in r for r in bench.rounds)]
    lines = [
        "| round | " + " | ".join(f"{m} /s (p99 ms)" for m in members) + " | ÷ floor | ÷ pgbench |",
        "|---:" * (len(members) + 3) + "|",
    ]
    for n, results in enumerate(bench.rounds, 1):
        cells = [
            f"{results[m].rps:,.0f} ({results[m].p99:.1f})" if m in results else "" for m in members
        ]
        product = results["product"].rps
        ratios = f"{product / results['floor'].rps:.1%} | {product / results['pgbench'].rps:.1%}"
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {ratios} |")
    return lines


def paced_table(bench: Bench) -> list[str]:
    lines = [
        "| served by | offered | offered /s | achieved /s | p50 ms | p99 ms | p99.9 ms | "
        "sent late (worst, ms) | errors | CPU app / pg / loadgen / other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, share, r in sorted(bench.paced, key=lambda p: (p[1], p[0] != "product")):
        lines.append(
            f"| {name} | {share:.0%} of peak | {r.offered or 0:,.0f} | {r.rps:,.0f} | "
            f"{r.p50:.2f} | {r.p99:.2f} | {r.p999:.2f} | {r.late} ({r.lag_max:.1f}) | "
            f"{r.errors} | {_cpu(r)} |"
        )
    return lines


def _rss_target(bench: Bench) -> tuple[str, str, str]:
    if len(bench.rss) < 2:
        return ("worker RSS within 10% from 10k to 100k requests", "not measured", "n/a")
    first, last = bench.rss[0], bench.rss[-1]
    growth = max(
        (last["rss_kib"][i] - first["rss_kib"][i]) / first["rss_kib"][i]
        for i in range(min(len(first["rss_kib"]), len(last["rss_kib"])))
    )
    return (
        "worker RSS within 10% from 10k to 100k requests",
        f"max growth {growth:+.1%}",
        _verdict(growth <= 0.10),
    )


def _cpu(result: Result) -> str:
    if result.cpu is None:
        return ""
    cores = result.cpu.cores
    used = [cores.get(k, 0.0) for k in ("app", "postgres", "loadgen")] + [result.cpu.other]
    return " / ".join(f"{u:.2f}" for u in used)


def runs_table(bench: Bench) -> list[str]:
    lines = [
        "| scenario | conns | req/s | p50 ms | p95 ms | p99 ms | errors | vs pgbench | "
        "CPU app / pg / loadgen / other (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scenario, by_conns in bench.results.items():
        baseline = "pgbench-hot" if scenario == "hot" else "pgbench"
        for conns, r in sorted(by_conns.items()):
            base = bench.get(baseline, conns)
            ratio = f"{r.rps / base.rps:.1%}" if base and not scenario.startswith("pg") else ""
            errors = str(r.errors)
            if r.codes:
                errors += " (" + ", ".join(f"{k} {v}" for k, v in sorted(r.codes.items())) + ")"
            if r.cpu is not None and r.cpu.other > CONTENDED:
                errors += " *"
            if r.exhausted:
                errors += " [ran out of requests: rate is a lower bound]"
            lines.append(
                f"| {scenario} | {conns} | {r.rps:,.0f} | {r.p50:.2f} | {r.p95:.2f} | "
                f"{r.p99:.2f} | {errors} | {ratio} | {_cpu(r)} |"
            )
    return lines


def markdown(bench: Bench) -> str:
    s = bench.setup
    out = [
        "# Benchmarks",
        "",
        "One run of `make bench` (`bench/run.py`) on the machine below. `make bench` writes",
        "this report to `bench/out/benchmarks.md`; `docs/benchmarks.md` is a copy of one run,",
        "kept by hand. The headline figures are ratios between runs taken back to back: on a",
        "machine shared with other work the absolute rates drift from minute to minute.",
        "",
        *headline(bench),
        "",
        "## Set-up",
        "",
        *[f"- **{k}**: {v}" for k, v in s.items()],
        "",
        "## Targets",
        "",
        "A figure measured once per round is given as its median (lowest–highest round).",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *[f"| {t} | {m} | {v} |" for t, m, v in targets(bench)],
        "",
        "## The rounds, back to back",
        "",
        "Each round runs, one right after the other, "
        + "; ".join(f"`{k}`: {v}" for k, v in ROUND_MEMBERS.items())
        + ". The order rotates by one every round. Bets go to 1,000 players.",
        "",
        *rounds_table(bench),
        "",
        "## Paced load",
        "",
        "Bets offered at a fixed rate (50% and 80% of the product's peak in this run, the",
        "higher median of its 16- and 64-connection runs), spread over the connections by",
        "`bench/wrk.lua`'s schedule; the floor at the same rates for the stack's own latency.",
        "A request no connection was free to send on time is counted as sent late.",
        "",
        *paced_table(bench),
        "",
        "## Every other run",
        "",
        "Scenarios: " + "; ".join(f"`{k}` = {v}" for k, v in SCENARIOS.items()) + ".",
        "Latencies are wrk's (HTTP, from the client side) or pgbench's per-transaction log.",
        "`vs pgbench` compares with the pgbench script at the same client count (`hot` with the",
        "hot-row script). CPU is in cores (2.0 = the whole machine): the gunicorn master and",
        "its workers, every PostgreSQL process of the server, the load generator, and the rest",
        "of the machine (other processes on this shared machine; `other` above ~0.1 means the",
        "run competed for the CPU). Runs marked `*` had more than 0.25 cores taken by other",
        "processes: their figures are lower than this machine gives when it is quiet.",
        "",
        *runs_table(bench),
        "",
        "## Worker memory",
        "",
        "| requests served (fresh gunicorn, IGPX mix, 16 conns) | RSS per worker (MiB) |",
        "|---:|---|",
        *[
            f"| {row['requests']:,} | "
            + ", ".join(f"{kib / 1024:.1f}" for kib in row["rss_kib"])
            + " |"
            for row in bench.rss
        ],
        "",
        "## Other figures",
        "",
        *[f"- **{k}**: {v}" for k, v in bench.extra.items()],
        "",
    ]
    return "\n".join(out)
