"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app.db import migrate

blueprint = Blueprint("health", __name__)
T = TypeVar("T")


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up (no database call)."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """A primary answers (not a read-only standby) and every migration is applied.

    After a failover this is 503 until a host of ``DATABASE_URL`` is the primary, and 200
    from the first probe after that."""
    engine = current_app.extensions["wallet.engine"]
    try:
        writable = _once_more_if_lost(_writable, engine)
        current = migrate.is_current(engine)
    except SQLAlchemyError:
        return jsonify(status="unavailable", reason="database unreachable"), 503
    if not writable:
        return jsonify(status="unavailable", reason="database is read-only (a standby)"), 503
    if not current:
        return jsonify(status="unavailable", reason="migrations pending"), 503
    return jsonify(status="ready")


def _writable(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "off"


def _once_more_if_lost(check: Callable[[Engine], T], engine: Engine) -> T:
    """A pooled connection opened before the server was lost fails once, and every such
    connection is then replaced: ask again, on a new one."""
    try:
        return check(engine)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return check(engine)
