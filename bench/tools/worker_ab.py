"""gunicorn worker classes against each other, alternating, on one machine in one run.

Every class named by ``--classes`` serves the same fresh database from its own gunicorn
(``gunicorn.conf.py`` as ``make run`` starts it, ``GUNICORN_WORKER_CLASS`` set), all
started before the first measurement. Then ``--rounds`` rounds of signed IGPX bets at
``--connections`` (wrk, a fresh file of unique ids each run) go to each server in turn;
the order is reversed every other round, so a machine that speeds up or slows down
during the run does not favour one class. Other work on the machine shows as the spread
between a class's own runs, which the summary prints beside the medians.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.tools.worker_ab --classes gthread,app.worker.BufferingWorker
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg

from bench import loadgen, servers, traffic
from bench.report import cpu_per_request

SECRET = "bench-igpx-secret"  # noqa: S105  (a throwaway key for the local bench)
DATABASE = "wallet_bench_worker_ab"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="gthread", help="comma-separated worker classes")
    parser.add_argument("--rounds", type=int, default=6, help="runs of each class")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--workers", default="3", help="WEB_CONCURRENCY of every server")
    parser.add_argument("--threads", default="2", help="GUNICORN_THREADS of every server")
    parser.add_argument(
        "--rate",
        type=float,
        help="bets/s offered (paced) instead of saturating: compare the workers' CPU per bet",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    classes = args.classes.split(",")
    work = Path(tempfile.mkdtemp(prefix="wallet-worker-ab-"))
    try:
        url = prepare_database(work, args.players)
        players = [f"p{n:06d}" for n in range(1, args.players + 1)]
        env = {"WEB_CONCURRENCY": args.workers, "GUNICORN_THREADS": args.threads}
        with contextlib.ExitStack() as stack:
            apps = {
                name: stack.enter_context(
                    servers.gunicorn(
                        url, SECRET, work / f"{name}.log", {**env, "GUNICORN_WORKER_CLASS": name}
                    )
                )
                for name in classes
            }
            results = measure(args, work, url, apps, players)
        report(args, classes, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def prepare_database(work: Path, players: int) -> str:
    url = servers.fresh_database(servers.admin_url(), DATABASE)
    servers.wallet(url, "db", "upgrade")
    csv_path = work / "players.csv"
    ids = [f"p{n:06d}" for n in range(1, players + 1)]
    servers.write_players_csv(csv_path, ids, "1000000.00", "p000000")
    servers.import_players(url, csv_path)
    return url


def measure(
    args: argparse.Namespace,
    work: Path,
    url: str,
    apps: dict[str, servers.Gunicorn],
    players: list[str],
) -> dict[str, list[loadgen.Result]]:
    threads = loadgen.threads_for(args.connections)
    per_thread = math.ceil(4000 * args.duration * 1.2 / threads)
    igpx = traffic.Igpx(SECRET)
    results: dict[str, list[loadgen.Result]] = {name: [] for name in apps}
    for number, app in enumerate(apps.values()):  # warm every server before measuring
        files = traffic.write_files(
            work,
            f"warm{number}",
            threads,
            2000,
            traffic.Stream.bet,
            [igpx],
            players,  # type: ignore[arg-type]
        )
        loadgen.wrk(app.base_url, files, args.connections, 2, {}, "warm-up")
    for round_ in range(args.rounds):
        order = list(apps) if round_ % 2 == 0 else list(reversed(apps))
        for name in order:
            prefix = f"r{round_}-{list(apps).index(name)}"
            files = traffic.write_files(
                work,
                prefix,
                threads,
                per_thread,
                traffic.Stream.bet,
                [igpx],
                players,  # type: ignore[arg-type]
            )
            checkpoint(url)
            groups = {"app": apps[name].processes}
            result = loadgen.wrk(
                apps[name].base_url,
                files,
                args.connections,
                args.duration,
                groups,
                name,
                rate=args.rate,
            )
            results[name].append(result)
            print(
                f"round {round_ + 1} {name:28} {result.rps:7.0f}/s  p50 {result.p50:6.2f}  "
                f"p99 {result.p99:6.2f} ms  errors {result.errors}  "
                f"workers' CPU {cpu_per_request(result, 'app'):5.0f} µs/bet",
                flush=True,
            )
            for path in work.glob(f"{prefix}.*"):
                path.unlink()
    return results


def checkpoint(url: str) -> None:
    """Start each run from a clean checkpoint, when the role may (as bench/run.py does)."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def report(args: argparse.Namespace, classes: list[str], results: dict) -> None:
    print(
        f"\n{args.rounds} runs each, {args.duration} s, {args.connections} connections, "
        f"{args.workers} workers x {args.threads} threads, signed IGPX bets"
    )
    print("| round | " + " | ".join(f"{c} bets/s (p99 ms)" for c in classes) + " |")
    print("|---" * (len(classes) + 1) + "|")
    for round_ in range(args.rounds):
        cells = [f"{results[c][round_].rps:.0f} ({results[c][round_].p99:.1f})" for c in classes]
        print(f"| {round_ + 1} | " + " | ".join(cells) + " |")
    for name in classes:
        rates = [r.rps for r in results[name]]
        cpu = statistics.median(cpu_per_request(r, "app") for r in results[name])
        print(f"{name}: workers' CPU per bet, median {cpu:.0f} µs")
        print(
            f"{name}: median {statistics.median(rates):.0f}/s, "
            f"min {min(rates):.0f}, max {max(rates):.0f}, "
            f"spread {max(rates) - min(rates):.0f}/s "
            f"({(max(rates) - min(rates)) / statistics.median(rates):.0%} of its median)"
        )


if __name__ == "__main__":
    sys.exit(main())
