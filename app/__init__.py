"""The operator's seamless wallet. :func:`create_app` (``app/factory.py``) builds its
Flask application.

Importing this package imports nothing else: the ``wallet`` command starts by importing
``app.cli``, and Flask's app machinery, SQLAlchemy and the providers are imported only
when a command needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.factory import create_app as create_app


def __getattr__(name: str) -> Any:
    """``create_app`` is imported from ``app.factory`` on first use (PEP 562)."""
    if name != "create_app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from app.factory import create_app

    return create_app
