"""The wallet's Flask application factory."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from flask import Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, NotFound

from app import budget, logs, metrics
from app.config import load_config
from app.db import HeldConnections, make_engine, resolve_database_url
from app.json_answers import OrjsonProvider

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = structlog.get_logger("app.request")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, or from defaults plus ``test_config`` in tests."""
    settings = load_config() if test_config is None else {**load_config({}), **test_config}
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
    _register_blueprints(app)
    _register_request_log(app)
    _register_error_handlers(app)
    _register_audit(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from app import health, openapi
    from app.providers import PROVIDERS

    app.register_blueprint(health.blueprint)
    app.register_blueprint(metrics.blueprint)
    app.register_blueprint(openapi.blueprint)
    for provider in PROVIDERS:
        app.register_blueprint(provider.blueprint)


def _register_audit(app: Flask) -> None:
    from app import audit
    from app.providers import PROVIDERS

    audit.register(app, {provider.NAME for provider in PROVIDERS})


def _register_request_log(app: Flask) -> None:
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
        metrics.observe_callback(logs.bound(), seconds)
        metrics.sample_pool(app.extensions["wallet.engine"])
        log.info("request", status=response.status_code, latency_ms=round(seconds * 1000, 2))
        return response

    @app.teardown_request
    def _end(_: BaseException | None) -> None:
        budget.clear()
        logs.new_context()  # gunicorn's lines between requests carry no request's fields


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify(error=exc.name, message=exc.description), exc.code or 500

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error")
        return jsonify(error="INTERNAL_ERROR", message="internal error"), 500
