"""gunicorn settings for ``make run``; every value can be overridden from the environment."""

import multiprocessing
import os

from app.db import resolve_database_url

# Resolve the database once in the master, so workers inherit one URL (and the
# embedded server, when DATABASE_URL is unset, is started exactly once).
os.environ["DATABASE_URL"] = resolve_database_url(os.environ.get("DATABASE_URL"))

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = None
errorlog = "-"
