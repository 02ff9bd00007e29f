"""``make bench``: the product against its stack's floor and pgbench, on one server.

Steps: a fresh ``wallet_bench`` database on ``DATABASE_URL``'s server (or the embedded
one), migrated with ``wallet db upgrade``; players loaded with ``wallet players import``;
the product under gunicorn as ``make run`` starts it, and beside it the floor
(``bench/floor.py``: the least a correct bet handler does, under stock ``gthread``).

``pairs`` (the headline): rounds of signed IGPX bets at 16 connections to the product
and to the floor, pgbench running the product's own statement at 16 clients, the
product at 64 connections and replays at 16, back to back, the order rotated every
round; the product's bets/s as a fraction of the floor's and of pgbench's, per round.
``paced``: bets offered at a fixed rate, 50% and 80% of the product's peak measured in
the same run, to the product and to the floor; latency percentiles at that load.
Optional sweeps (``bets``, ``mix``, ``hot``, ``dups``, ``pgbench``) over 1–64
connections give context. Then a fresh gunicorn for the worker-memory run and
``wallet ledger verify``. The report is printed and written to
``bench/out/benchmarks.md`` (not committed); copy it to ``docs/benchmarks.md`` by hand
when its figures are meant to be kept.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench import loadgen, procstat, roundtrips, servers, traffic
from bench.report import Bench, markdown, targets

SECRET = "bench-igpx-secret"  # noqa: S105  (a throwaway key for the local bench)
HOT = "p000000"
OUT = servers.ROOT / "bench" / "out"
SCENARIOS = ("pairs", "paced", "bets", "mix", "hot", "dups", "pgbench")
DEFAULT_SCENARIOS = ("pairs", "paced")
# What each round runs back to back (bench.report.ROUND_MEMBERS says what each is).
ROUND = ("product", "floor", "pgbench", "product-64", "replays")
PACED_SHARES = (0.5, 0.8)  # of the product's peak


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="1,8,16,32,64")
    parser.add_argument("--duration", type=int, default=6, help="seconds per measured run")
    parser.add_argument("--players", type=int, default=5000)
    parser.add_argument(
        "--pairs", type=int, default=4, help="rounds of product/floor/pgbench, back to back"
    )
    parser.add_argument("--paced-rounds", type=int, default=2, help="paced runs at each rate")
    parser.add_argument("--paced-duration", type=int, default=12, help="seconds per paced run")
    parser.add_argument(
        "--paced-connections", type=int, default=32, help="connections of a paced run"
    )
    parser.add_argument("--database", default=servers.BENCH_DB, help="dropped and re-created")
    parser.add_argument("--max-rps", type=int, default=4000, help="requests written per second")
    parser.add_argument("--rss-requests", type=int, default=100_000, help="0 skips the RSS run")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy a worker of each during bets"
    )
    parser.add_argument(
        "--output", type=Path, default=OUT / "benchmarks.md", help="'-' prints only"
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_SCENARIOS),
        help="comma-separated subset of " + ",".join(SCENARIOS),
    )
    return parser.parse_args(argv)


class Run:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.conns = [int(c) for c in args.connections.split(",")]
        self.players = [f"p{n:06d}" for n in range(1, args.players + 1)]
        self.igpx = traffic.Igpx(SECRET)
        self.bench = Bench()
        self.pg_pids: list[int] = []
        self.scenarios = set(args.scenarios.split(","))
        unknown = self.scenarios - set(SCENARIOS)
        if unknown:
            raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")

    # --- set-up --------------------------------------------------------------------

    def prepare_database(self) -> None:
        admin = servers.admin_url()
        self.url = servers.fresh_database(admin, self.args.database)
        servers.wallet(self.url, "db", "upgrade")
        csv_path = self.work / "players.csv"
        servers.write_players_csv(csv_path, self.players, "1000000.00", HOT)
        summary = servers.import_players(self.url, csv_path)
        self.bench.extra["players import"] = (
            f"{summary['rows']:,} rows in {summary['seconds']} s = "
            f"{summary['rows_per_second']:,} rows/s inside the command "
            f"({summary['wall_seconds']} s wall for the whole `wallet players import`)"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO accounts (name, currency) VALUES ('house:pgbench', 'USD') RETURNING id"
            ).fetchone()
            assert row is not None
            self.house_id = int(row[0])
            self.superuser = servers.scalar(
                conn, "SELECT rolsuper FROM pg_roles WHERE rolname = user"
            )
            self.bench.setup.update(_server_facts(conn))
        postmaster = servers.postmaster_pid(self.url)
        database = self.args.database
        self.postgres = lambda: procstat.postgres_processes(postmaster, database)

    def checkpoint(self) -> None:
        """Start each measured run from a clean checkpoint (when we are allowed to)."""
        if self.superuser:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")

    # --- HTTP scenarios ------------------------------------------------------------

    def files(
        self, name: str, conns: int, make_line: object, players: list[str] | None = None
    ) -> Path:
        threads = loadgen.threads_for(conns)
        per_thread = math.ceil(self.args.max_rps * self.args.duration * 1.2 / threads)
        return traffic.write_files(
            self.work,
            name,
            threads,
            per_thread,
            make_line,
            [self.igpx],
            players or self.players,  # type: ignore[arg-type]
        )

    def http(
        self, app: servers.Gunicorn, scenario: str, conns: int, files: Path, mode: str
    ) -> None:
        groups = {"app": app.processes, "postgres": self.postgres}
        self.checkpoint()
        result = loadgen.wrk(app.base_url, files, conns, self.args.duration, groups, scenario, mode)
        self.bench.add(scenario, result)
        _print_result(scenario, result)
        for path in self.work.glob(f"{files.name}.*"):
            path.unlink()

    def http_scenarios(self, app: servers.Gunicorn) -> None:
        mix = traffic.Mix()
        hot = [HOT]
        for conns in self.conns if "bets" in self.scenarios else []:
            self.http(
                app, "bets", conns, self.files(f"bets{conns}", conns, traffic.Stream.bet), "once"
            )
        for conns in self.conns if "mix" in self.scenarios else []:
            files = self.files(f"mix{conns}", conns, lambda s: s.mixed(mix))
            self.http(app, "mix", conns, files, "once")
        for conns in self.conns if "hot" in self.scenarios else []:
            threads = loadgen.threads_for(conns)
            per_thread = math.ceil(self.args.max_rps * self.args.duration * 1.2 / threads)
            files = traffic.write_files(
                self.work, f"hot{conns}", threads, per_thread, traffic.Stream.bet, [self.igpx], hot
            )
            self.http(app, "hot", conns, files, "once")
        if "dups" in self.scenarios:
            self.duplicate_storm(app)

    def duplicate_storm(self, app: servers.Gunicorn) -> None:
        pool = self.replay_pool(app)
        for conns in self.conns:
            files = traffic.write_pool(self.work, f"dups{conns}", loadgen.threads_for(conns), pool)
            self.http(app, "dups", conns, files, "cycle")

    def replay_pool(self, app: servers.Gunicorn) -> list[str]:
        """1,000 bets applied once: every later run of them only replays."""
        if hasattr(self, "_replay_pool"):
            return self._replay_pool
        stream = traffic.Stream("dup", [self.igpx], self.players, seed=7)
        pool = [stream.bet() for _ in range(1000)]
        missing = pool
        for _ in range(20):  # each pass sends only the bets not applied yet
            files = traffic.write_pool(self.work, "dups-apply", loadgen.threads_for(8), missing)
            loadgen.wrk(app.base_url, files, 8, 2, {}, "apply", mode="cycle")
            done = self.applied("dup-")
            missing = [line for line in pool if traffic.transaction_id(line) not in done]
            if not missing:
                break
        else:
            raise RuntimeError("the storm's bets were not all applied before the storm")
        self._replay_pool = pool
        return pool

    def applied(self, prefix: str) -> set[str]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT external_id FROM provider_transactions "
                "WHERE provider = 'igpx' AND external_id LIKE %s AND status = 'applied'",
                (prefix + "%",),
            ).fetchall()
        return {row[0] for row in rows}

    def profile(self, server: servers.Gunicorn, name: str) -> None:
        """py-spy one worker of ``server`` while bets run at 16 connections (not part of the
        table), files ``profile-<name>-16-<kind>.txt``.

        Two recordings: ``--gil`` samples only the thread holding the GIL (where the
        worker's CPU goes), ``--idle`` samples every thread (where a request's wall time
        goes, waiting on PostgreSQL included).
        """
        py_spy = shutil.which("py-spy") or str(servers.BIN / "py-spy")
        if not Path(py_spy).exists():
            print("py-spy is not installed: skipping the profile", flush=True)
            return
        OUT.mkdir(exist_ok=True)
        for kind in ("gil", "idle"):
            files = self.files(f"profiled-{name}-{kind}", 16, traffic.Stream.bet)
            worker = server.workers()[0]
            collapsed = OUT / f"profile-{name}-16-{kind}.txt"
            command = [py_spy, "record", "-p", str(worker), "-d", str(self.args.duration)]
            command += ["-r", "250", "-f", "raw", "-o", str(collapsed), "--nonblocking"]
            spy = subprocess.Popen(  # noqa: S603
                [*command, f"--{kind}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                result = loadgen.wrk(server.base_url, files, 16, self.args.duration, {}, "profiled")
            finally:
                spy.wait(timeout=60)
            self.bench.extra[f"profiled run ({name}, {kind})"] = (
                f"bets at 16 conns under `py-spy record --{kind}` of worker {worker}: "
                f"{result.rps:,.0f} req/s; stacks in `bench/out/{collapsed.name}` "
                "(not committed; `python -m bench.tools.profile FILE` summarizes)"
            )

    def paired(self, app: servers.Gunicorn, floor: servers.Gunicorn) -> None:
        """The headline, ``--pairs`` rounds: the product and the floor at 16 connections,
        pgbench running the product's own statement at 16 clients, the product at 64
        connections and replays at 16, one right after the other, the order rotated by one
        every round (so a machine that speeds up or slows down favours no member).

        On a shared machine the speed drifts by tens of percent between minutes, so a ratio
        is only meaningful between runs taken back to back: each round gives its own, the
        targets judge their median, and their range is the run-to-run spread.
        """
        players = self.players[:1000]
        pool = self.replay_pool(app)
        for n in range(self.args.pairs):
            shift = n % len(ROUND)
            results: dict[str, loadgen.Result] = {}
            for member in ROUND[shift:] + ROUND[:shift]:
                self.checkpoint()
                results[member] = self.round_member(member, n, app, floor, players, pool)
                _print_result(f"round {n + 1} {member}", results[member])
            self.bench.rounds.append(results)
            product = results["product"].rps
            print(
                f"  round {n + 1}: product ÷ floor {product / results['floor'].rps:.1%}, "
                f"÷ pgbench {product / results['pgbench'].rps:.1%}",
                flush=True,
            )

    def round_member(
        self,
        member: str,
        n: int,
        app: servers.Gunicorn,
        floor: servers.Gunicorn,
        players: list[str],
        pool: list[str],
    ) -> loadgen.Result:
        duration = self.args.duration
        if member == "pgbench":
            variables = {"lo": "1", "hi": str(len(players))}
            groups = {"app": list, "postgres": self.postgres}
            script = loadgen.HERE / "pgbench_product.sql"
            return loadgen.pgbench(
                self.url, script, 16, duration, groups, member, variables, self.work
            )
        server = floor if member == "floor" else app
        groups = {"app": server.processes, "postgres": self.postgres}
        conns = 64 if member == "product-64" else 16
        prefix = f"round{n}-{member}"
        if member == "replays":
            files = traffic.write_pool(self.work, prefix, loadgen.threads_for(conns), pool)
            result = loadgen.wrk(server.base_url, files, conns, duration, groups, member, "cycle")
        else:
            files = self.files(prefix, conns, traffic.Stream.bet, players)
            result = loadgen.wrk(server.base_url, files, conns, duration, groups, member)
        for path in self.work.glob(f"{prefix}.*"):
            path.unlink()
        return result

    def paced(self, app: servers.Gunicorn, floor: servers.Gunicorn) -> None:
        """Bets offered at a fixed rate, 50% and 80% of the product's peak in this run, to
        the product and (the stack's own latency at that load) to the floor; the order is
        reversed every other round."""
        peak = self.bench.peak()
        if math.isnan(peak):
            raise SystemExit("paced runs need the product's peak: run the pairs too")
        conns, duration = self.args.paced_connections, self.args.paced_duration
        threads = loadgen.threads_for(conns)
        plan = [(share, name) for share in PACED_SHARES for name in ("product", "floor")]
        for n in range(self.args.paced_rounds):
            for share, name in plan if n % 2 == 0 else plan[::-1]:
                server = app if name == "product" else floor
                rate = peak * share
                prefix = f"paced{n}-{name}-{share}"
                lines = math.ceil(rate * duration * 1.2 / threads) + conns
                files = traffic.write_files(
                    self.work,
                    prefix,
                    threads,
                    lines,
                    traffic.Stream.bet,
                    [self.igpx],
                    self.players,  # type: ignore[arg-type]
                )
                self.checkpoint()
                groups = {"app": server.processes, "postgres": self.postgres}
                label = f"paced {name} {share:.0%}"
                result = loadgen.wrk(
                    server.base_url, files, conns, duration, groups, label, rate=rate
                )
                self.bench.paced.append((name, share, result))
                _print_result(label, result)
                for path in self.work.glob(f"{prefix}.*"):
                    path.unlink()

    # --- pgbench -------------------------------------------------------------------

    def pgbench(self) -> None:
        groups = {"app": list, "postgres": self.postgres}
        many = {"lo": "1", "hi": str(len(self.players)), "house": str(self.house_id)}
        hot = {**many, "lo": "0", "hi": "0"}
        plan = [("pgbench", "pgbench_bet.sql", many, self.conns)]
        plan.append(("pgbench-hot", "pgbench_bet.sql", hot, self.conns))
        plan.append(("pgbench-product", "pgbench_product.sql", many, [16]))
        for scenario, script, variables, conn_list in plan:
            for conns in conn_list:
                free = self.free_connections()
                if conns > free:
                    note = f"skipped at {conns} conns: the server had {free} free connections"
                    self.bench.extra[f"{scenario} c={conns}"] = note
                    print(f"{scenario:16} c={conns:<3} {note}", flush=True)
                    continue
                self.checkpoint()
                result = loadgen.pgbench(
                    self.url,
                    loadgen.HERE / script,
                    conns,
                    self.args.duration,
                    groups,
                    scenario,
                    variables,
                    self.work,
                )
                self.bench.add(scenario, result)
                _print_result(scenario, result)

    def free_connections(self) -> int:
        """Connections left on the server (other sessions may be using it too)."""
        with psycopg.connect(self.url) as conn:
            free = servers.scalar(
                conn,
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
                " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
            )
        return int(free) + 1  # type: ignore[call-overload]  # our own connection closes

    # --- worker memory -------------------------------------------------------------

    def rss(self, app: servers.Gunicorn) -> None:
        """Mix at 16 conns in 5 s chunks; RSS of each worker once past 10k and past the end."""
        served, marks, chunk = 0, [10_000, self.args.rss_requests], 0
        mix = traffic.Mix()
        while marks and chunk < 200:
            chunk += 1
            files = self.files(f"rss{chunk}", 16, lambda s: s.mixed(mix))
            result = loadgen.wrk(app.base_url, files, 16, 5, {}, "rss")
            for path in self.work.glob(f"rss{chunk}.*"):
                path.unlink()
            served += result.requests
            if served >= marks[0]:
                marks.pop(0)
                rss = [procstat.rss_kib(pid) or 0 for pid in app.workers()]
                self.bench.rss.append({"requests": served, "rss_kib": rss})
                print(
                    f"  rss after {served:,} requests: {[r // 1024 for r in rss]} MiB", flush=True
                )

    def count_round_trips(self) -> None:
        for name, (trips, statements, audit_trips) in roundtrips.measure(self.url).items():
            self.bench.extra[f"round trips: {name}"] = (
                f"{trips} ({len(statements)} statement{'' if len(statements) == 1 else 's'}); "
                "the audit trail's batch it joins: "
                f"{audit_trips}"
            )

    def verify_ledger(self) -> None:
        try:
            report = json.loads(servers.wallet(self.url, "ledger", "verify", "--json"))
            self.bench.extra["ledger_ok"] = True
            self.bench.extra["ledger verify"] = json.dumps(report)[:300]
        except RuntimeError as exc:
            self.bench.extra["ledger_ok"] = False
            self.bench.extra["ledger verify"] = str(exc)[:300]

    def main(self) -> None:
        started = time.monotonic()
        self.prepare_database()
        self.bench.setup.update(_machine_facts(self))
        with (
            servers.gunicorn(self.url, SECRET, self.work / "gunicorn.log") as app,
            servers.gunicorn(self.url, SECRET, self.work / "floor.log", floor=True) as floor,
        ):
            self.bench.setup["gunicorn"] = _gunicorn_facts(app)
            self.bench.setup["floor"] = _floor_facts(floor)
            for server in (app, floor):
                warm = self.files("warm", 8, traffic.Stream.bet)
                loadgen.wrk(server.base_url, warm, 8, 2, {}, "warm-up")
            if "pairs" in self.scenarios:
                self.paired(app, floor)
            if "paced" in self.scenarios:
                self.paced(app, floor)
            self.http_scenarios(app)
            if self.args.profile:
                self.profile(app, "product")
                self.profile(floor, "floor")
        self.count_round_trips()
        if "pgbench" in self.scenarios:
            self.pgbench()
        if self.args.rss_requests:
            with servers.gunicorn(self.url, SECRET, self.work / "gunicorn-rss.log") as app:
                self.rss(app)
        self.verify_ledger()
        self.bench.setup["bench wall time"] = f"{time.monotonic() - started:.0f} s"
        text = markdown(self.bench)
        for target, measured, verdict in targets(self.bench):
            print(f"{verdict:5} {target}: {measured}")
        if str(self.args.output) != "-":
            self.args.output.parent.mkdir(parents=True, exist_ok=True)
            self.args.output.write_text(text)
            print(f"wrote {self.args.output}")


def _print_result(scenario: str, r: loadgen.Result) -> None:
    cpu = r.cpu.text() if r.cpu else ""
    flag = " EXHAUSTED" if r.exhausted else ""
    print(
        f"{scenario:16} c={r.connections:<3} {r.rps:9,.0f}/s  p50 {r.p50:6.2f}  p95 {r.p95:6.2f}  "
        f"p99 {r.p99:6.2f} ms  errors {r.errors}{flag}  cpu: {cpu}",
        flush=True,
    )


def _server_facts(conn: psycopg.Connection) -> dict[str, str]:
    def show(name: str) -> str:
        return str(servers.scalar(conn, f"SHOW {name}"))

    version = str(servers.scalar(conn, "SELECT version()")).split(" on ")[0]
    settings = ", ".join(
        f"{n}={show(n)}"
        for n in ("synchronous_commit", "fsync", "shared_buffers", "max_connections")
    )
    return {"PostgreSQL": f"{version} ({settings})"}


def _machine_facts(run: Run) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = Path("/proc/meminfo").read_text().split()[1]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=servers.ROOT, capture_output=True, text=True
    ).stdout.strip()
    where = "DATABASE_URL's server" if os.environ.get("DATABASE_URL") else "embedded server"
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores ({cpu}), {int(mem) // 1024 // 1024} GiB, "
        f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "commit": commit,
        "database": f"`{run.args.database}` on the {where}",
        "command": f"`make bench` = `{command}`",
        "runs": f"{run.args.duration} s each ({run.args.paced_duration} s paced, "
        f"{run.args.paced_connections} connections); {len(run.players):,} players with "
        f"1,000,000.00 USD each, hot player {HOT}",
        "load generators": "wrk 4.1 (Lua over pre-signed request files, "
        "threads = min(conns, 2)); pgbench -M prepared -j min(conns, 2)",
    }


def _floor_facts(floor: servers.Gunicorn) -> str:
    workers = len(floor.workers())
    threads = os.environ.get("GUNICORN_THREADS", "2")
    return (
        f"`bench/floor.py` under stock `gthread`: {workers} workers × {threads} threads, "
        "one psycopg connection per thread; HMAC, orjson, `wallet_transfer(…)`, answer"
    )


def _gunicorn_facts(app: servers.Gunicorn) -> str:
    env = os.environ
    workers = env.get("WEB_CONCURRENCY") or f"{len(app.workers())} (cores + 1)"
    worker_class = env.get("GUNICORN_WORKER_CLASS", "app.worker.BufferingWorker")
    threads = env.get("GUNICORN_THREADS", "2")
    pool = env.get("DB_POOL_SIZE", "4")
    return (
        f"`gunicorn --config gunicorn.conf.py wsgi:app`: {workers} `{worker_class}` workers × "
        f"{threads} threads, DB_POOL_SIZE {pool} (+ as many overflow), "
        f"LOG_LEVEL={env.get('LOG_LEVEL', 'INFO')}, "
        f"CALLBACK_AUDIT={env.get('CALLBACK_AUDIT', 'on')}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    work = Path(tempfile.mkdtemp(prefix="wallet-bench-"))
    try:
        Run(args, work).main()
    except KeyboardInterrupt:
        print("interrupted: gunicorn and wrk stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
