"""Hypetech: the webhook adapter, its ``Hype-Hash`` signature (with JavaScript's JSON
serialization), RFC 7807 problems, its settings and OpenAPI description, the outbound
client, its CLI group, its simulator client, its contract driver and its report layout,
exported to the registry as ``PROVIDER``."""

from app.providers.hypetech import adapter, answers, report, settings, simulator
from app.providers.hypetech.cli import cli
from app.providers.hypetech.contract import HypetechContract
from app.providers.registry import Provider

PROVIDER = Provider(
    name=adapter.NAME,
    blueprint=adapter.blueprint,
    settings=settings.read,
    secrets=settings.SECRETS,
    development_settings=settings.development,
    secret_headers=adapter.SECRET_HEADERS,
    operations=answers.OPERATIONS,
    cli=cli,
    simulator=simulator.from_config,
    report=report.LAYOUT,
    contract=HypetechContract,
)
