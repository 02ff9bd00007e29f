"""gunicorn settings for ``make run``; every value can be overridden from the environment."""

import os
import shutil
import tempfile

# Metrics from every worker are summed through files in this directory (prometheus-client
# multiprocess mode). It must be set before prometheus_client is first imported, and it is
# emptied at start so counters begin at zero with the server.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="wallet-metrics-")
shutil.rmtree(metrics_dir, ignore_errors=True)
os.makedirs(metrics_dir)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

import sys  # noqa: E402

from gunicorn.glogging import Logger  # noqa: E402

from app import logs  # noqa: E402
from app.config import (  # noqa: E402  (after the metrics directory)
    ConfigError,
    default_workers,
    load_config,
)
from app.db import resolve_database_url  # noqa: E402

try:
    settings = load_config()
except ConfigError as problems:
    sys.exit(f"configuration error:\n{problems}")

# Resolve the database once in the master, so workers inherit one URL (and the
# embedded server, when DATABASE_URL is unset, is started exactly once).
os.environ["DATABASE_URL"] = resolve_database_url(os.environ.get("DATABASE_URL"))

# PORT as load_config read it: the environment first, then .env, then 8000.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{settings['PORT']}"
# One worker per core and one more, each with its own GIL: more workers served fewer bets,
# competing with PostgreSQL's backends for the cores (docs/performance.md).
workers = int(os.environ.get("WEB_CONCURRENCY") or default_workers())
# gthread, reading each request whole before a thread serves it (REQUEST_READ_TIMEOUT_S),
# with gunicorn's own error answers in JSON (app/worker.py).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "app.worker.BufferingWorker")
# 2 threads: as many bets/s as 4, with a shorter tail, since a request waits less for its
# worker's GIL (docs/performance.md).
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Each thread keeps one pooled connection for bets and wins (app.db.HeldConnections), and
# so does the worker's audit writer; rollbacks and /metrics draw on the rest and the
# pool's overflow.
if threads > settings["DB_POOL_SIZE"]:
    sys.exit(
        f"configuration error:\nGUNICORN_THREADS ({threads}) is more than DB_POOL_SIZE "
        f"({settings['DB_POOL_SIZE']}): each thread keeps one of the pool's connections; "
        f"set DB_POOL_SIZE to at least {threads}"
    )
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# No control socket: its default path is shared by every gunicorn on the machine.
control_socket_disable = True
accesslog = None
errorlog = "-"


class JsonLogger(Logger):
    """gunicorn's own lines (start, workers booting, exiting or killed, invalid requests)
    as the app's: one JSON object per line on stderr, at LOG_LEVEL (app/logs.py)."""

    def setup(self, cfg):
        super().setup(cfg)
        logs.configure(settings["LOG_LEVEL"])
        self.error_log.handlers.clear()
        self.error_log.propagate = True  # to the root logger, which writes JSON
        self.error_log.setLevel(settings["LOG_LEVEL"])


logger_class = JsonLogger


def post_fork(server, worker):
    """app.worker.BufferingWorker's read deadline and largest body, from the settings."""
    worker.read_timeout_s = settings["REQUEST_READ_TIMEOUT_S"]
    worker.max_body_bytes = settings["MAX_BODY_BYTES"]


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Store the audit rows still queued before the worker's process ends."""
    import sys

    wsgi = sys.modules.get("wsgi")
    if wsgi is not None:
        from app.web import audit

        audit.flush(wsgi.app, timeout_s=5)
