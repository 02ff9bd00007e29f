"""What a provider brings to the wallet, in one object.

A provider package exports one :class:`Provider`; :data:`app.providers.PROVIDERS` lists
them, and every part of the product that differs by provider loops over that list
instead of naming providers: ``create_app`` registers each blueprint,
``config.load_config`` reads each provider's settings (and the previous value of each
rotating secret), a developer's first ``make run`` writes its secrets (``app.startup``),
the audit trail redacts each provider's credential headers, ``/openapi.json`` documents
each provider's routes, the ``wallet`` command adds each CLI group and report, ``wallet
simulate`` plays each provider's simulator client, ``wallet reconcile`` reads each
provider's transaction report by its layout, and the contract tests drive each
provider's contract (:mod:`app.providers.contract`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
from flask import Blueprint

if TYPE_CHECKING:
    from app.core.report_layout import Layout
    from app.providers.contract import Contract
    from app.simulate import ProviderClient
    from app.web.openapi import Operation

Settings = Callable[[Mapping[str, str], list[str]], dict[str, Any]]
Simulator = Callable[[Mapping[str, Any], str], "ProviderClient"]
ContractDriver = Callable[[Mapping[str, Any]], "Contract"]


@dataclass(frozen=True)
class Provider:
    """One provider protocol. ``name`` is also its blueprint's name: the audit trail and
    the metrics know a callback's provider by the blueprint that answered it."""

    name: str
    blueprint: Blueprint
    settings: Settings
    """Reads the provider's settings from the environment, appending what is wrong."""
    secrets: tuple[str, ...] = ()
    """Settings that rotate: ``<NAME>_PREVIOUS`` is accepted too (:mod:`app.rotation`)."""
    development_settings: Callable[[int], dict[str, str]] | None = None
    """Settings besides ``secrets`` that a developer's first ``make run`` writes to ``.env``
    when unset (:mod:`app.startup`), given the wallet's port: Hypetech's webhook URL."""
    secret_headers: tuple[str, ...] = ()
    """Request headers that carry credentials: stored as ``[redacted]`` in the audit trail."""
    operations: Mapping[str, Operation] = field(default_factory=dict)
    """How ``/openapi.json`` describes each of the blueprint's routes, by endpoint."""
    cli: click.Group | None = None
    reports: tuple[click.Command, ...] = ()
    """Commands the provider adds to ``wallet report``."""
    simulator: Simulator | None = None
    """Builds the ``wallet simulate`` client from the app's settings and the wallet's URL."""
    contract: ContractDriver | None = None
    """Builds the contract driver from the app's settings; None for a protocol the shared
    promises do not fit (Upside has no rollback and refuses a repeated request)."""
    report: Layout | None = None
    """How ``wallet reconcile`` reads the provider's transaction report; None: no report."""

    def __post_init__(self) -> None:
        if self.blueprint.name != self.name:
            raise ValueError(f"provider {self.name!r} has blueprint {self.blueprint.name!r}")
