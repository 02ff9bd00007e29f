"""IGPX sportsbook: the callback adapter, its settings and OpenAPI description, the
outbound client, its CLI group, its simulator client, its contract driver and its report
layout, exported to the registry as ``PROVIDER``."""

from app.providers.igpx import adapter, answers, report, settings, simulator
from app.providers.igpx.cli import cli
from app.providers.igpx.contract import IgpxContract
from app.providers.registry import Provider

PROVIDER = Provider(
    name=adapter.NAME,
    blueprint=adapter.blueprint,
    settings=settings.read,
    secrets=settings.SECRETS,
    secret_headers=adapter.SECRET_HEADERS,
    operations=answers.OPERATIONS,
    cli=cli,
    simulator=simulator.from_config,
    report=report.LAYOUT,
    contract=IgpxContract,
)
