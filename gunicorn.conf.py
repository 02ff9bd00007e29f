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

from app import logs, startup  # noqa: E402
from app.config import ConfigError, bind_address, load_config  # noqa: E402
from app.db import resolve_database_url  # noqa: E402
from app.providers import PROVIDERS  # noqa: E402


def _refuse(problems):
    sys.exit("\n".join(f"configuration error: {line}" for line in problems))


try:
    settings = load_config()
except ConfigError as problems:
    _refuse(str(problems).splitlines())
# In production a provider without its real secret would refuse every callback.
if settings["WALLET_ENV"] == "production" and (
    refused := startup.production_problems(settings, PROVIDERS)
):
    _refuse(refused)

# Resolve the database once in the master, so workers inherit one URL (and the
# embedded server, when DATABASE_URL is unset, is started exactly once).
os.environ["DATABASE_URL"] = resolve_database_url(os.environ.get("DATABASE_URL"))

# Every value below was checked by load_config (app/config.py); PORT is read from the
# environment first, then .env, then 8000.
bind = bind_address(settings)
# One worker per core and one more, each with its own GIL: more workers served fewer bets,
# competing with PostgreSQL's backends for the cores (docs/performance.md).
workers = settings["WEB_CONCURRENCY"]
# gthread, reading each request whole before a thread serves it (REQUEST_READ_TIMEOUT_S),
# with gunicorn's own error answers in JSON (app/worker.py).
worker_class = settings["GUNICORN_WORKER_CLASS"]
# 2 threads: as many bets/s as 4, with a shorter tail, since a request waits less for its
# worker's GIL (docs/performance.md). Each thread keeps one pooled connection for bets and
# wins (app.db.HeldConnections), and so does the worker's audit writer; rollbacks and
# /metrics draw on the rest and the pool's overflow. load_config refuses a DB_POOL_SIZE
# smaller than this.
threads = settings["GUNICORN_THREADS"]
timeout = settings["GUNICORN_TIMEOUT"]
graceful_timeout = settings["GUNICORN_GRACEFUL_TIMEOUT"]
keepalive = settings["GUNICORN_KEEPALIVE"]
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


def on_starting(server):
    """Name each provider whose secret is missing, once, as the server starts."""
    startup.warn_missing_secrets(settings, PROVIDERS)


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
