"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from app.db import migrate

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up (no database call)."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers and every migration is applied."""
    try:
        current = migrate.is_current(current_app.extensions["wallet.engine"])
    except SQLAlchemyError:
        return jsonify(status="unavailable", reason="database unreachable"), 503
    if not current:
        return jsonify(status="unavailable", reason="migrations pending"), 503
    return jsonify(status="ready")
