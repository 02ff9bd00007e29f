"""The system under test: a fresh bench database, the product under gunicorn, the players."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from app import config
from app.db import embedded
from bench import procstat

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH_DB = "wallet_bench"


def admin_url() -> str:
    """``DATABASE_URL``'s server, else the embedded one (started if needed)."""
    return os.environ.get("DATABASE_URL") or embedded.server_url()


def fresh_database(admin: str, name: str = BENCH_DB) -> str:
    """Drop and create ``name`` on the admin URL's server; return its URL."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return embedded.with_database(admin, name)


def scalar(conn: psycopg.Connection, sql: str, params: tuple | None = None) -> object:
    """The first column of the first row (``params`` None: ``%`` in ``sql`` is literal)."""
    row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


def postmaster_pid(url: str) -> int:
    """The server's postmaster: the parent of our own backend."""
    with psycopg.connect(url) as conn:  # read while the backend lives
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert backend is not None
        found = procstat.parent(int(backend[0]))
    if found is None:
        raise RuntimeError("PostgreSQL is not on this machine: cannot measure its CPU")
    return found


def run_wallet(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``wallet`` CLI against ``url`` with ``env`` set, whatever it exits with."""
    full_env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", **env}
    return subprocess.run(
        [str(BIN / "wallet"), *args], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


def wallet(url: str, *args: str) -> str:
    """Run the ``wallet`` CLI against ``url``; return its stdout."""
    done = run_wallet(url, *args)
    if done.returncode != 0:
        raise RuntimeError(f"wallet {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def import_players(url: str, csv_path: Path) -> dict:
    """``wallet players import --json``; adds the wall time of the whole command."""
    started = time.monotonic()
    summary = json.loads(wallet(url, "players", "import", str(csv_path), "--json"))
    summary["wall_seconds"] = round(time.monotonic() - started, 3)
    return summary


def write_players_csv(path: Path, players: list[str], balance: str, hot: str) -> None:
    with path.open("w") as handle:
        handle.write("player_id,currency,balance\n")
        handle.write(f"{hot},USD,1000000000.00\n")
        for player in players:
            handle.write(f"{player},USD,{balance}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PRODUCT = ("--config", "gunicorn.conf.py", "wsgi:app")


def floor_arguments(workers: int, threads: int) -> tuple[str, ...]:
    """The floor (bench/floor.py) under stock ``gthread``, laid out as the product is. It
    runs in bench/, where no gunicorn.conf.py is read, so it is imported as ``floor``."""
    return (
        *("--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads)),
        *("--keep-alive", "5", "--timeout", "30", "floor:app"),
    )


class Gunicorn:
    """``gunicorn --config gunicorn.conf.py wsgi:app``, as ``make run`` starts it, or
    gunicorn with other ``arguments`` (the floor)."""

    def __init__(
        self,
        url: str,
        secret: str,
        log_path: Path,
        extra_env: dict[str, str],
        arguments: tuple[str, ...] = PRODUCT,
    ):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "IGPX_SECURITY_HASH": secret,
            **extra_env,
        }
        cwd = ROOT
        if arguments != PRODUCT:  # gunicorn.conf.py binds to HOST:PORT itself
            arguments = (*arguments, "--bind", f"127.0.0.1:{self.port}")
            cwd = ROOT / "bench"
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), *arguments],
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def workers(self) -> list[int]:
        return procstat.children(self.pid)

    def processes(self) -> list[int]:
        return [self.pid, *self.workers()]

    def wait_until_up(self, expected_workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            if len(self.workers()) >= expected_workers and self._healthy():
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start in {timeout:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self._log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@contextmanager
def gunicorn(
    url: str,
    secret: str,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    floor: bool = False,
) -> Iterator[Gunicorn]:
    """The product (or with ``floor``, bench/floor.py) serving ``url``, up and healthy."""
    workers = int((extra_env or {}).get("WEB_CONCURRENCY") or _default_workers())
    threads = int((extra_env or {}).get("GUNICORN_THREADS") or _default_threads())
    arguments = floor_arguments(workers, threads) if floor else PRODUCT
    server = Gunicorn(url, secret, log_path, extra_env or {}, arguments)
    try:
        server.wait_until_up(workers)
        yield server
    finally:
        server.stop()


def _default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY") or config.default_workers())


def _default_threads() -> int:
    return int(os.environ.get("GUNICORN_THREADS") or 2)
