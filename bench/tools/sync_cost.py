"""The cost of synchronous replication on bets/s, with the failover tests' pair.

    .venv/bin/python -m bench.tools.sync_cost [--rounds 3] [--duration 6] [--connections 1,16]

A primary and a hot standby on this machine (tests/ha/pair.py, fsync on unless
``--no-fsync``), the ``wallet`` database on them with 1,000 players, the product under
gunicorn as ``make run`` starts it, over both hosts. Then wrk sends fresh IGPX bets,
alternating the standby asynchronous (``synchronous_standby_names = ''``) and synchronous
(``'s1'``: every commit waits for the standby's flush), ``--rounds`` times each at each
connection count, the order swapped every round against drift. Prints each run (bets/s,
latency, the CPU of the app and both servers per bet, the WAL written per bet, the
machine's CPU by group), the
medians, the ratios, and ``wallet ledger verify``. Needs wrk (apt-get installs it when
missing, as for ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import loadgen, procstat, servers, traffic
from tests.ha.pair import Pair

SECRET = "sync-cost-igpx-secret"  # noqa: S105  (a throwaway key for a local run)
MODES = {"async": "", "sync": "s1"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=6, help="seconds per run")
    parser.add_argument("--connections", default="1,16", help="comma-separated counts")
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--no-fsync", dest="fsync", action="store_false")
    args = parser.parse_args(argv)
    pair = Pair.create(fsync=args.fsync, prefix="wallet-sync-cost-")
    try:
        with tempfile.TemporaryDirectory(prefix="wallet-sync-cost-") as work:
            results = measure(pair, Path(work), args)
    finally:
        pair.destroy()
    for conns in sorted({r["connections"] for r in results}):
        medians = {
            mode: statistics.median(
                r["bets_per_s"] for r in results if (r["mode"], r["connections"]) == (mode, conns)
            )
            for mode in MODES
        }
        summary = {"connections": conns, **{m: round(v, 1) for m, v in medians.items()}}
        summary["sync/async"] = round(medians["sync"] / medians["async"], 3)
        print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


def measure(pair: Pair, work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    pair.primary.execute("CREATE DATABASE wallet")
    url = pair.url("wallet")
    servers.wallet(url, "db", "upgrade")
    players = [f"p{n:06d}" for n in range(1, args.players + 1)]
    servers.write_players_csv(work / "players.csv", players, "1000000.00", "p000000")
    servers.import_players(url, work / "players.csv")
    igpx = traffic.Igpx(SECRET)
    results = []
    with servers.gunicorn(url, SECRET, work / "gunicorn.log") as app:
        warm = traffic.write_files(work, "warm", 2, 2000, traffic.Stream.bet, [igpx], players)
        loadgen.wrk(app.base_url, warm, 8, 2, {}, "warm-up")
        groups = {
            "app": app.processes,
            "primary": _server(pair.primary.postmaster_pid()),
            "standby": _server(pair.standby.postmaster_pid()),
        }
        for conns in (int(c) for c in args.connections.split(",")):
            threads = loadgen.threads_for(conns)
            per_thread = math.ceil(4000 * args.duration * 1.2 / threads)
            for n in range(args.rounds):
                for mode in MODES if n % 2 == 0 else reversed(MODES):
                    _switch(pair, mode)
                    pair.primary.execute("CHECKPOINT")
                    name = f"{mode}{conns}-{n}"
                    files = traffic.write_files(
                        work, name, threads, per_thread, traffic.Stream.bet, [igpx], players
                    )
                    start = pair.primary.execute("SELECT pg_current_wal_lsn()")[0][0]
                    run = loadgen.wrk(app.base_url, files, conns, args.duration, groups, name)
                    wal = pair.primary.execute(
                        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (str(start),)
                    )[0][0]
                    results.append(_report(mode, n, run, int(wal)))
    _switch(pair, "async")
    verify = json.loads(servers.wallet(url, "ledger", "verify", "--json"))
    print(f"wallet ledger verify: {'ok' if verify['ok'] else verify}", flush=True)
    return results


def _server(postmaster: int | None) -> Callable[[], list[int]]:
    assert postmaster is not None
    return lambda: [postmaster, *procstat.children(postmaster)]


def _switch(pair: Pair, mode: str) -> None:
    if mode == "sync":
        pair.make_synchronous()
    else:
        pair.set_synchronous_standbys(MODES[mode])
        pair.wait_for_streaming()


def _report(mode: str, round_: int, run: loadgen.Result, wal_bytes: int) -> dict[str, Any]:
    assert run.cpu is not None
    ours = sum(run.cpu.cores.get(group, 0.0) for group in ("app", "primary", "standby"))
    print(
        f"{mode:5} c={run.connections:<3} round {round_ + 1}: {run.rps:7,.0f} bets/s  "
        f"p50 {run.p50:6.2f}  p99 {run.p99:6.2f} ms  errors {run.errors}  "
        f"cpu per bet {ours / run.rps * 1000:.2f} ms  "
        f"WAL per bet {wal_bytes / max(run.requests, 1):,.0f} B  cpu: {run.cpu.text()}",
        flush=True,
    )
    return {"mode": mode, "connections": run.connections, "bets_per_s": run.rps}


if __name__ == "__main__":
    raise SystemExit(main())
