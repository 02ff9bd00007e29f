"""``make bench-pooler``: the wallet on two hosts through PgBouncer in transaction mode.

docs/scaling.md ("A connection pooler") says what the wallet needs behind PgBouncer in
transaction mode; this checks it for real on one machine, against ``DATABASE_URL``'s
server (or the embedded one), in a fresh ``wallet_pooler`` database:

1. **Session state.** PgBouncer drops the ``options`` startup parameter the wallet sends
   its timeouts in (``ignore_startup_parameters``), so they are set on the database; a
   session through PgBouncer must see them, and one client's transactions must land on
   several server connections (the pool is smaller than the clients).
2. **Prepared statements, the control.** One gunicorn with ``DB_PREPARE_THRESHOLD=0``
   (prepare at once) through PgBouncer 1.18 must fail bets: a statement prepared on one
   server connection is missing on the next. If it did not fail, the checks below would
   prove nothing.
3. **Prepared statements off.** Two gunicorn hosts with ``DB_PREPARE_THRESHOLD=off``:
   ``wallet simulate`` for each provider spreads its requests, retries and duplicates
   over both hosts, and every balance must match the ledger.
4. **Exactly once across hosts.** The same pre-signed bets sent to both hosts at once
   (wrk on each): every answer accepted, each bet applied once.
5. **What the pooler costs.** Fresh bets at 16 connections over the two hosts, through
   PgBouncer and then directly, as bets/s.
6. ``wallet ledger verify``.

It prints each result and exits 1 if a check fails. Run as root, PgBouncer (which will
not run as root) is started as the ``postgres`` user (the embedded server's own user when
``DATABASE_URL`` is unset), and installed with apt-get when missing, as ``make bench``
does for wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench import loadgen, servers, traffic

DATABASE = "wallet_pooler"
SECRETS = {
    "IGPX_SECURITY_HASH": "pooler-igpx-secret",
    "HYPETECH_API_KEY": "pooler-hypetech-key",
    "HYPETECH_WEBHOOK_BASE_URL": "https://wallet.example.com",
    "UPSIDE_JWT_SECRET": "pooler-upside-secret",
}
# The timeouts the wallet would send in ``options`` (its defaults), set on the database.
TIMEOUTS = {"lock_timeout": "1s", "statement_timeout": "1500ms"}
SERVER_CONNECTIONS = 3  # PgBouncer's pool: fewer than the wallet's client connections
PLAYERS = [f"p{n:06d}" for n in range(1, 1001)]


@contextmanager
def pgbouncer(direct_url: str, work: Path) -> Iterator[str]:
    """PgBouncer in transaction mode in front of ``direct_url``; yields its URL."""
    server = conninfo_to_dict(direct_url)
    user = str(server.get("user") or "postgres")
    port = servers.free_port()
    ini = work / "pgbouncer.ini"
    (work / "users.txt").write_text(f'"{user}" ""\n')
    ini.write_text(
        "[databases]\n"
        f"{DATABASE} = host={server.get('host', '127.0.0.1')} port={server.get('port', 5432)} "
        f"dbname={DATABASE}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {work / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\n"
        "max_client_conn = 500\nignore_startup_parameters = options\n"
    )
    work.chmod(0o755)
    command = [loadgen.ensure_command("pgbouncer"), *_run_as(str(server.get("host", ""))), str(ini)]
    log = (work / "pgbouncer.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, work / "pgbouncer.log")
        yield f"postgresql://{user}@127.0.0.1:{port}/{DATABASE}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _run_as(host: str) -> list[str]:
    """PgBouncer will not run as root: as root, run it as the user that may reach the
    server (the owner of a Unix socket's directory, e.g. the embedded server's), else
    ``postgres``."""
    if os.geteuid() != 0:
        return []
    if host.startswith("/"):
        return ["-u", pwd.getpwuid(Path(host).stat().st_uid).pw_name]
    return ["-u", "postgres"]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"pgbouncer exited:\n{log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("pgbouncer did not listen within 10 s")


class Check:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str, detail: str) -> None:
        print(f"{'PASS' if ok else 'FAIL':5} {what}: {detail}", flush=True)
        if not ok:
            self.failed.append(what)


def session_state(pooled: str, check: Check) -> None:
    with psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as conn:
        seen = {name: servers.scalar(conn, f"SHOW {name}") for name in TIMEOUTS}
        backends = {servers.scalar(conn, "SELECT pg_backend_pid()") for _ in range(20)}
        # Two other clients hold server connections in open transactions, so ours must
        # take another of the pool's three.
        others = [psycopg.connect(pooled, prepare_threshold=None) for _ in range(2)]
        try:
            for other in others:
                other.execute("SELECT 1")
            backends |= {servers.scalar(conn, "SELECT pg_backend_pid()") for _ in range(20)}
        finally:
            for other in others:
                other.close()
    check(seen == TIMEOUTS, "timeouts through PgBouncer", f"{seen} (set on the database)")
    check(
        len(backends) > 1,
        "one client's transactions move between server connections",
        f"{len(backends)} server backends answered one client connection",
    )


def bets(work: Path, name: str, threads: int, per_thread: int) -> Path:
    igpx = traffic.Igpx(SECRETS["IGPX_SECURITY_HASH"])
    return traffic.write_files(
        work,
        name,
        threads,
        per_thread,
        traffic.Stream.bet,
        [igpx],
        PLAYERS,  # type: ignore[arg-type]
    )


def hosts(url: str, work: Path, count: int, **env: str) -> list[servers.Gunicorn]:
    started = [
        servers.Gunicorn(
            url, SECRETS["IGPX_SECURITY_HASH"], work / f"host{n}.log", {**SECRETS, **env}
        )
        for n in range(count)
    ]
    for host in started:
        host.wait_until_up(int(os.environ.get("WEB_CONCURRENCY") or servers._default_workers()))
    return started


def wrk_each(hosts_: list[servers.Gunicorn], files: list[Path], conns: int, seconds: int) -> list:
    """wrk against every host at once (host n gets ``files[n]``)."""
    results: list = [None] * len(hosts_)

    def run(n: int) -> None:
        results[n] = loadgen.wrk(hosts_[n].base_url, files[n], conns, seconds, {}, f"host{n}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(hosts_))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def prepared_statements_control(pooled: str, work: Path, check: Check) -> None:
    (host,) = hosts(pooled, work, 1, DB_PREPARE_THRESHOLD="0")
    try:
        result = loadgen.wrk(host.base_url, bets(work, "control", 2, 2000), 8, 3, {}, "control")
    finally:
        host.stop()
    log = (work / "host0.log").read_text(errors="replace")
    failed = log.count('"sqlstate":"26000"') + log.count('"sqlstate":"42P05"')
    check(
        result.errors > 0 and failed > 0,
        "control: prepared statements through PgBouncer 1.18 fail",
        f"{result.errors} of {result.requests} bets answered INTERNAL_ERROR, {failed} logged "
        "with SQLSTATE 26000 or 42P05 (a statement prepared on another server connection) "
        "and the hint to set DB_PREPARE_THRESHOLD=off",
    )


def simulations(pooled: str, urls: list[str], check: Check) -> None:
    for provider in ("igpx", "hypetech", "upside"):
        args = ["simulate", provider, "--json", *[x for url in urls for x in ("--url", url)]]
        args += ["--players", "20", "--rounds", "20", "--duplicates", "20%", "--rollbacks", "10%"]
        done = _wallet(pooled, *args, "--concurrency", "16")
        try:
            summary = json.loads(done.stdout)
        except ValueError:
            summary = {"ok": False, "problems": [done.stderr.strip()[-300:]]}
        detail = (
            f"{summary.get('requests')} requests over {len(urls)} hosts, "
            f"{summary.get('duplicates')} duplicates, {summary.get('rollbacks')} rollbacks, "
            f"{len(summary.get('mismatched_balances', []))} balances mismatched"
            if summary.get("ok")
            else f"{summary.get('problems')}"
        )
        check(bool(summary.get("ok")), f"wallet simulate {provider}, two hosts", detail)


def same_bets_on_both_hosts(
    pooled: str, work: Path, running: list[servers.Gunicorn], check: Check
) -> None:
    files = bets(work, "both", 2, 1500)
    first, second = wrk_each(running, [files, files], 8, 4)
    with psycopg.connect(pooled, prepare_threshold=None) as conn:
        applied = servers.scalar(
            conn, "SELECT count(*) FROM provider_transactions WHERE external_id LIKE 'both-%'"
        )
        debited = servers.scalar(
            conn,
            "SELECT coalesce(sum(balance_before - balance_after), 0) FROM provider_transactions "
            "WHERE external_id LIKE 'both-%'",
        )
    sent = first.requests + second.requests
    ok = first.errors == second.errors == 0 and debited == applied * Decimal(traffic.AMOUNT)
    check(
        ok and sent > applied,
        "the same bets on both hosts at once",
        f"{first.requests} + {second.requests} answers, "
        f"{first.errors + second.errors} errors; {applied} bets applied once each "
        f"({sent - applied} answered as replays), "
        f"{debited:.2f} debited",
    )


def pooler_cost(
    pooled_hosts: list[servers.Gunicorn], direct: str, work: Path, check: Check
) -> None:
    through = wrk_each(pooled_hosts, [bets(work, f"via{n}", 2, 10000) for n in (0, 1)], 8, 5)
    for host in pooled_hosts:
        host.stop()
    direct_hosts = hosts(direct, work, 2)
    try:
        plain = wrk_each(direct_hosts, [bets(work, f"direct{n}", 2, 10000) for n in (0, 1)], 8, 5)
    finally:
        for host in direct_hosts:
            host.stop()
    via, straight = sum(r.rps for r in through), sum(r.rps for r in plain)
    errors = sum(r.errors for r in (*through, *plain))
    check(
        errors == 0,
        "bets/s at 16 connections over two hosts",
        f"through PgBouncer {via:,.0f}/s, direct {straight:,.0f}/s "
        f"({via / straight:.0%}; PgBouncer shares the same 2 cores); {errors} errors",
    )


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    check = Check()
    work = Path(tempfile.mkdtemp(prefix="wallet-pooler-"))
    try:
        admin = servers.admin_url()
        direct = servers.fresh_database(admin, DATABASE)
        servers.wallet(direct, "db", "upgrade")
        csv_path = work / "players.csv"
        servers.write_players_csv(csv_path, PLAYERS, "1000000.00", "p000000")
        servers.import_players(direct, csv_path)
        with psycopg.connect(direct, autocommit=True) as conn:
            for name, value in TIMEOUTS.items():
                conn.execute(f"ALTER DATABASE {DATABASE} SET {name} = '{value}'")
        with pgbouncer(direct, work) as pooled:
            session_state(pooled, check)
            prepared_statements_control(pooled, work, check)
            running = hosts(pooled, work, 2, DB_PREPARE_THRESHOLD="off")
            try:
                simulations(pooled, [host.base_url for host in running], check)
                same_bets_on_both_hosts(pooled, work, running, check)
                pooler_cost(running, direct, work, check)
            finally:
                for host in running:
                    host.stop()
            verified = _wallet(pooled, "ledger", "verify")
            check(verified.returncode == 0, "wallet ledger verify", verified.stdout.strip()[-300:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("OK" if not check.failed else f"FAILED: {', '.join(check.failed)}")
    return 1 if check.failed else 0


def _wallet(pooled: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``wallet`` CLI through PgBouncer, as an operator would run it there."""
    return servers.run_wallet(pooled, *args, **SECRETS, DB_PREPARE_THRESHOLD="off")


if __name__ == "__main__":
    sys.exit(main())
