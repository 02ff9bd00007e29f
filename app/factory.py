"""The wallet's Flask application factory: :func:`create_app` (``app.create_app``)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from flask import Flask, abort, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, NotFound

from app import logs
from app.config import load_config
from app.db import Database, HeldConnections, budget, make_engine, resolve_database_url
from app.web.json_answers import OrjsonProvider

if TYPE_CHECKING:
    from app.providers.registry import Provider

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = structlog.get_logger("app.request")


def create_app(
    test_config: dict[str, Any] | None = None,
    providers: Sequence[Provider] | None = None,
    *,
    web: bool = True,
) -> Flask:
    """Build the app from the environment, or from defaults plus ``test_config`` in tests.

    ``providers`` is the provider registry (:data:`app.providers.PROVIDERS` by default).
    ``web=False`` builds what a ``wallet`` command needs: the settings and the database,
    without routes, the request log, error handlers or the audit trail.
    """
    registry = _default_registry() if providers is None else tuple(providers)
    if test_config is None:
        settings = load_config(providers=registry)
    else:
        settings = {**load_config({}, registry), **test_config}
    settings["DATABASE_URL"] = resolve_database_url(settings["DATABASE_URL"])
    app = Flask(__name__, static_folder=None)
    # A doubled slash is not a route: "/igpx//transaction" is a 404 in JSON, not an HTML
    # redirect (a leading one is refused in _start below).
    app.url_map.merge_slashes = False
    app.json = OrjsonProvider(app)
    app.config.from_mapping(settings, MAX_CONTENT_LENGTH=settings["MAX_BODY_BYTES"])
    logs.configure(settings["LOG_LEVEL"])
    app.extensions["wallet.engine"] = make_engine(
        settings["DATABASE_URL"],
        pool_size=settings["DB_POOL_SIZE"],
        lock_timeout_ms=settings["DB_LOCK_TIMEOUT_MS"],
        statement_timeout_ms=settings["DB_STATEMENT_TIMEOUT_MS"],
        pool_timeout_s=settings["REQUEST_BUDGET_MS"] / 1000,
        prepare_threshold=settings["DB_PREPARE_THRESHOLD"],
    )
    app.extensions["wallet.held"] = HeldConnections()
    app.extensions["wallet.db"] = Database(
        app.extensions["wallet.engine"], app.extensions["wallet.held"]
    )
    app.extensions["wallet.providers"] = registry
    if web:
        _serve(app, registry)
    return app


def _serve(app: Flask, registry: tuple[Provider, ...]) -> None:
    """What answering HTTP needs: the routes, and the hooks and handlers around them."""
    _register_blueprints(app, registry)
    # after_request hooks run last registered first: the request log settles a callback's
    # outcome before the audit trail stores it.
    _register_audit(app, registry)
    _register_request_log(app, {provider.name for provider in registry})
    _register_telemetry_allowlist(app)
    _register_error_handlers(app)


def _default_registry() -> tuple[Provider, ...]:
    from app.providers import PROVIDERS

    return PROVIDERS


def _register_blueprints(app: Flask, registry: tuple[Provider, ...]) -> None:
    from app.web import health, metrics, openapi

    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics.blueprint)
    app.register_blueprint(openapi.blueprint)
    for provider in registry:
        app.register_blueprint(provider.blueprint)


def _register_audit(app: Flask, registry: tuple[Provider, ...]) -> None:
    from app.web import audit

    audit.register(
        app,
        {provider.name for provider in registry},
        [header for provider in registry for header in provider.secret_headers],
    )


def _register_request_log(app: Flask, providers: set[str]) -> None:
    from app.web import metrics, outcomes

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.started = time.perf_counter()
        config = app.config
        budget.start(
            config["REQUEST_BUDGET_MS"],
            config["DB_STATEMENT_TIMEOUT_MS"],
            config["DB_LOCK_TIMEOUT_MS"],
        )
        logs.new_context(request_id=g.request_id, path=request.path)
        if request.environ["PATH_INFO"].startswith("//"):
            # werkzeug routes "//igpx/transaction" as "/igpx/transaction": no route here.
            request.url_rule, request.routing_exception = None, NotFound()

    @app.after_request
    def _finish(response: Any) -> Any:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        if request.blueprint in providers:
            logs.bind(provider=request.blueprint, outcome=outcomes.of(response, logs.bound()))
            metrics.observe_callback(logs.bound(), seconds)
        metrics.sample_pool(app.extensions["wallet.engine"])
        log.info("request", status=response.status_code, latency_ms=round(seconds * 1000, 2))
        return response

    @app.teardown_request
    def _end(_: BaseException | None) -> None:
        budget.clear()
        logs.new_context()  # gunicorn's lines between requests carry no request's fields


TELEMETRY_BLUEPRINTS = {"metrics", "openapi"}


def _register_telemetry_allowlist(app: Flask) -> None:
    """/metrics and /openapi.json answer only addresses in ``METRICS_ALLOW_IPS`` (if set)."""
    from app.web import metrics

    @app.before_request
    def _refuse_telemetry_to_other_addresses() -> None:
        if request.blueprint not in TELEMETRY_BLUEPRINTS:
            return
        if not metrics.address_allowed(request.remote_addr, app.config["METRICS_ALLOW_IPS"]):
            where = f"{request.path} is not served to {request.remote_addr} (METRICS_ALLOW_IPS)"
            abort(403, description=where)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify(error=exc.name, message=exc.description), exc.code or 500

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error")
        return jsonify(error="INTERNAL_ERROR", message="internal error"), 500
