"""What a limit costs a bet: bets/s for players with limits against players without, A/B.

Two groups of players in one fresh database (``wallet_bench_limits`` on
``DATABASE_URL``'s server): ``a…`` without limits, ``b…`` each with a daily loss and a
weekly wager limit too large to decline anything, so every bet runs the check and keeps
the two period totals. The groups are measured in turns (A B, B A, A B, …) with the
same load, so the machine's drift falls on both; the answer is the median of the
per-round ratios B/A.

* ``--via http``: IGPX bets through gunicorn (``make run``'s server), driven by wrk;
* ``--via sql``: ``SELECT * FROM wallet_transfer(…)`` driven by pgbench, the function's
  own cost without HTTP and Python.

    .venv/bin/python -m bench.tools.limits_ab --via http --rounds 6 --duration 8
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app import db
from app.core import durations, limits
from bench import loadgen, servers, traffic

SECRET = "bench-igpx-secret"  # noqa: S105  (a throwaway key for the local bench)
DATABASE = "wallet_bench_limits"
GROUPS = ("a", "b")
BIG = "1000000000.00"

_SQL_BET = """\\set n random(1, :players)
\\set r random(1, 9000000000000000000)
SELECT id FROM wallet_transfer('pgbench', CAST(:client_id AS text) || '-' || CAST(:r AS text),
    'bet', '{group}' || lpad(CAST(:n AS text), 6, '0'), 'USD', 1, NULL, 'house-pgbench', NULL);
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--via", choices=("http", "sql"), default="http")
    parser.add_argument("--players", type=int, default=1000, help="per group")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-rps", type=int, default=3000, help="requests written per second")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = servers.fresh_database(servers.admin_url(), DATABASE)
    servers.wallet(url, "db", "upgrade")
    players = {group: [f"{group}{n:06d}" for n in range(1, args.players + 1)] for group in GROUPS}
    with tempfile.TemporaryDirectory(prefix="limits-ab-") as work:
        _import(url, Path(work), players)
        _limit(url, players["b"])
        measure = _over_http if args.via == "http" else _over_sql
        rates = measure(url, Path(work), players, args)
    _report(args, rates)


def _import(url: str, work: Path, players: dict[str, list[str]]) -> None:
    csv_path = work / "players.csv"
    with csv_path.open("w") as handle:
        handle.write("player_id,currency,balance\n")
        for group in GROUPS:
            handle.writelines(f"{player},USD,{BIG}\n" for player in players[group])
    servers.import_players(url, csv_path)


def _limit(url: str, players: list[str]) -> None:
    """A daily loss and a weekly wager limit on each of ``players``, never reached."""
    wanted = [
        limits.parse("loss", f"{BIG}/day", "USD"),
        limits.parse("wager", f"{BIG}/week", "USD"),
    ]
    engine = create_engine(db.sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for player in players:
                limits.set_limits(conn, player, "USD", wanted, "bench", durations.parse("0"))
    finally:
        engine.dispose()


def _rounds(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(round, group) in turns: A B, B A, A B, …"""
    order = []
    for number in range(args.rounds):
        pair = GROUPS if number % 2 == 0 else tuple(reversed(GROUPS))
        order += [(f"r{number}", group) for group in pair]
    return order


def _over_http(
    url: str, work: Path, players: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, list[float]]:
    igpx = traffic.Igpx(SECRET)
    threads = loadgen.threads_for(args.connections)
    per_thread = math.ceil(args.max_rps * args.duration * 1.2 / threads)
    rates: dict[str, list[float]] = {group: [] for group in GROUPS}
    with servers.gunicorn(url, SECRET, work / "gunicorn.log", {"LOG_LEVEL": "WARNING"}) as app:
        for name, group in [("warm", "a"), ("warm", "b"), *_rounds(args)]:
            label = f"{name}-{group}"
            files = traffic.write_files(
                work, label, threads, per_thread, traffic.Stream.bet, [igpx], players[group]
            )
            duration = 2 if name == "warm" else args.duration
            result = loadgen.wrk(app.base_url, files, args.connections, duration, {}, label)
            if result.errors or result.exhausted:
                raise SystemExit(f"{label}: {result.errors} errors, exhausted={result.exhausted}")
            if name != "warm":
                rates[group].append(result.rps)
                print(f"{label}: {result.rps:.0f} bets/s, p99 {result.p99:.1f} ms", flush=True)
            for path in work.glob(f"{label}.*"):
                path.unlink()
    return rates


def _over_sql(
    url: str, work: Path, players: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, list[float]]:
    scripts = {}
    for group in GROUPS:
        scripts[group] = work / f"bet-{group}.sql"
        scripts[group].write_text(_SQL_BET.format(group=group))
    variables = {"players": str(args.players)}
    rates: dict[str, list[float]] = {group: [] for group in GROUPS}
    for name, group in [("warm", "a"), ("warm", "b"), *_rounds(args)]:
        label = f"{name}-{group}"
        duration = 2 if name == "warm" else args.duration
        result = loadgen.pgbench(
            url, scripts[group], args.connections, duration, {}, label, variables, work
        )
        if result.errors:
            raise SystemExit(f"{label}: {result.errors} failed transactions")
        if name != "warm":
            rates[group].append(result.rps)
            print(f"{label}: {result.rps:.0f} bets/s, p99 {result.p99:.1f} ms", flush=True)
    return rates


def _report(args: argparse.Namespace, rates: dict[str, list[float]]) -> None:
    ratios = [b / a for a, b in zip(rates["a"], rates["b"], strict=True)]
    print(
        f"\nvia {args.via}, {args.connections} connections, {args.rounds} rounds of "
        f"{args.duration} s per group, {args.players} players per group"
    )
    print(f"without limits: median {statistics.median(rates['a']):.0f} bets/s")
    print(f"with limits:    median {statistics.median(rates['b']):.0f} bets/s")
    print(
        f"with/without:   median of per-round ratios {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
