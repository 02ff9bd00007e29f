"""Upside game-actions, the server side: the adapter and its eight triggers, Upside's own
domain (API keys, worker and player authentication, games and their WIN pools, sessions,
history, WIN units), its settings and OpenAPI description, its CLI group and report, and
its simulator client and report layout, exported to the registry as ``PROVIDER``."""

from app.providers.registry import Provider
from app.providers.upside import adapter, answers, report, settings, simulator
from app.providers.upside.cli import cli
from app.providers.upside.sessions_cli import open_sessions

PROVIDER = Provider(
    name=adapter.NAME,
    blueprint=adapter.blueprint,
    settings=settings.read,
    secrets=settings.SECRETS,
    secret_headers=adapter.SECRET_HEADERS,
    operations=answers.OPERATIONS,
    cli=cli,
    reports=(open_sessions,),
    simulator=simulator.from_config,
    report=report.LAYOUT,
)
