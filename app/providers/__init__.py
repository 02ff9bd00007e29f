"""The provider registry: one line per provider package (see :mod:`app.providers.registry`).

Adding a provider is one package exporting ``PROVIDER`` plus its name in ``NAMES``.
Reading ``NAMES`` imports no provider (``wallet --help`` lists the providers' command
groups from it); ``PROVIDERS``, each package's ``PROVIDER``, imports them on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.providers.registry import Provider

NAMES = (
    "igpx",
    "hypetech",
    "upside",
)

PROVIDERS: tuple[Provider, ...]


def __getattr__(attribute: str) -> tuple[Provider, ...]:
    """``PROVIDERS``, imported when first asked for and kept (PEP 562)."""
    if attribute != "PROVIDERS":
        raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
    providers = tuple(import_module(f"{__name__}.{name}").PROVIDER for name in NAMES)
    globals()["PROVIDERS"] = providers
    return providers
