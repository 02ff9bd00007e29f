"""Prometheus metrics at ``GET /metrics``, correct under several gunicorn workers.

gunicorn.conf.py sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, so each
worker writes its samples there and a scrape answered by any worker sums them all. Outside
gunicorn (tests, the CLI) the process's own registry is used.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from app.web import outcomes

CALLBACKS = Counter(
    "wallet_callbacks_total",
    "Provider callbacks answered, by provider, action and outcome",
    ["provider", "action", "outcome"],
)
LATENCY = Histogram(
    "wallet_callback_seconds",
    "Time to answer a provider callback",
    ["provider", "action"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REPLAYS = Counter(
    "wallet_replays_total", "Idempotent replays answered from the stored outcome", ["provider"]
)
DECLINES = Counter("wallet_declines_total", "Declined money requests", ["provider", "reason"])
POOL_CHECKED_OUT = Gauge(
    "wallet_db_connections_in_use",
    "Database connections checked out of the pools (sampled after each request)",
    multiprocess_mode="livesum",
)

blueprint = Blueprint("metrics", __name__)


def observe_callback(fields: Mapping[str, Any], seconds: float) -> None:
    """Count one answered callback from its request log fields: its provider, action and
    outcome (:mod:`app.web.outcomes`)."""
    provider = str(fields["provider"])
    action = str(fields.get("action") or "unknown")
    outcome = str(fields["outcome"])
    callbacks, latency, replays, declines = _series(provider, action, outcome)
    callbacks.inc()
    latency.observe(seconds)
    if fields.get("replayed"):
        replays.inc()
    if declines is not None:
        declines.inc()


# Each callback's labelled samples, looked up once per (provider, action, outcome):
# ``labels()`` takes the metric's lock and builds its key on every call, which cost as
# much as the increments themselves. The outcomes are a short fixed vocabulary
# (app.web.outcomes), and the actions each provider's own, so the cache stays small.
@functools.cache
def _series(provider: str, action: str, outcome: str) -> tuple[Any, Any, Any, Any]:
    return (
        CALLBACKS.labels(provider, action, outcome),
        LATENCY.labels(provider, action),
        REPLAYS.labels(provider),
        DECLINES.labels(provider, outcome) if outcome in outcomes.DECLINES else None,
    )


_last_in_use: int | None = None


def sample_pool(engine: Engine) -> None:
    """Record this worker's connections in use (after each request, written only when it
    changed: each thread keeps its connection, so it seldom does; pool checkout/checkin
    events cost two writes plus SQLAlchemy's event dispatch per request)."""
    global _last_in_use
    in_use = engine.pool.checkedout()  # type: ignore[attr-defined]
    if in_use != _last_in_use:
        _last_in_use = in_use
        POOL_CHECKED_OUT.set(in_use)


class LedgerCollector(Collector):
    """Totals read from the database at scrape time: player money and negative balances."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        totals = GaugeMetricFamily(
            "wallet_player_balances", "Sum of player balances", labels=["currency"]
        )
        negative = GaugeMetricFamily(
            "wallet_negative_balances", "Player accounts below zero", labels=["currency"]
        )
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(text(_LEDGER_TOTALS)).all()
        except SQLAlchemyError:
            rows = []
        for row in rows:
            totals.add_metric([row.currency], float(row.total))
            negative.add_metric([row.currency], row.negative)
        yield totals
        yield negative


_LEDGER_TOTALS = """
SELECT currency, sum(balance) AS total, count(*) FILTER (WHERE balance < 0) AS negative
FROM accounts WHERE player_id IS NOT NULL GROUP BY currency ORDER BY currency
"""


def address_allowed(
    remote_addr: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """``METRICS_ALLOW_IPS``: no networks allow everyone; an IPv4 client seen by a dual-stack
    socket (``::ffff:10.0.0.5``) is matched as its IPv4 address."""
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


@blueprint.get("/metrics")
def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_samples = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_samples)
    else:
        process_samples = REGISTRY
    ledger = CollectorRegistry()
    ledger.register(LedgerCollector(current_app.extensions["wallet.engine"]))
    body = generate_latest(process_samples) + generate_latest(ledger)
    return Response(body, content_type=CONTENT_TYPE_LATEST)
