"""``wallet simulate PROVIDER``: the command around :func:`app.simulate.simulate`."""

from __future__ import annotations

import os
import sys
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

import click
import requests
from flask import current_app
from flask.cli import with_appcontext

from app import simulate as simulation
from app.cli.support import (
    emit,
    fail,
    json_option,
    provider_metavar,
    registered_provider,
    run_as_admin,
)


class Percent(click.ParamType):
    """``5%`` (or ``5``) → 0.05."""

    name = "percent"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float):
            return value
        try:
            share = Decimal(str(value).strip().removesuffix("%")) / 100
        except InvalidOperation:
            share = Decimal(-1)
        if not 0 <= share <= 1:
            self.fail(f"{value!r} is not a percentage from 0% to 100%", param, ctx)
        return float(share)


@click.command("simulate")
@click.argument("provider", metavar=provider_metavar("simulator"))
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="The wallet to play against [http://127.0.0.1:$PORT]. Repeat it for several "
    "hosts: requests, retries and duplicates go to each in turn.",
)
@click.option("--players", default=10, show_default=True, type=click.IntRange(1, 10000))
@click.option("--rounds", default=20, show_default=True, type=click.IntRange(1, 100000))
@click.option("--duplicates", default="5%", show_default=True, type=Percent())
@click.option("--rollbacks", default="2%", show_default=True, type=Percent())
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--seed", default=None, type=int, help="Replay the same choices.")
@json_option
@with_appcontext
def simulate(
    provider: str,
    urls: tuple[str, ...],
    players: int,
    rounds: int,
    duplicates: float,
    rollbacks: float,
    concurrency: int,
    seed: int | None,
    as_json: bool,
) -> None:
    """Play a provider against a running wallet.

    Then check every player's balance against the ledger. PROVIDER is any provider of
    the registry with a simulator client. Creates players
    sim-<run>-<n> with 100 each in this deployment's database (and what else the provider
    needs, e.g. an Upside game, its pool, an API key and tokens), plays their rounds as
    the provider would (signed, with retries, duplicates and rollbacks, some before their
    bet) and compares each balance with the ledger. Exits 1 on any unexpected answer or
    mismatch.

    Example: wallet simulate igpx --players 20 --rounds 50
    """
    base_urls = urls or (f"http://127.0.0.1:{os.environ.get('PORT', '8000')}",)
    client = _client(provider, base_urls[0])
    for base_url in base_urls:
        _check_ready(base_url)
    options = simulation.Options(
        base_urls, players, rounds, duplicates, rollbacks, concurrency, seed
    )
    lock = threading.Lock()
    label = f"{provider}: {players} players × {rounds} rounds"
    with click.progressbar(length=players * rounds, label=label, file=sys.stderr) as bar:

        def advance() -> None:
            with lock:
                bar.update(1)

        summary = simulation.simulate(client, options, run_as_admin, advance)
    data = summary.as_dict()
    emit(data, as_json, text=_text(data))
    if not summary.ok:
        sys.exit(1)


def _client(name: str, base_url: str) -> simulation.ProviderClient:
    """The registered provider's simulator client, signing with the wallet's own secrets."""
    config = current_app.config
    provider = registered_provider(name, "simulator")
    assert provider.simulator is not None
    for needs in provider.secrets:
        if not config.get(needs):
            fail(f"set {needs} to the value the wallet uses: the simulator signs as {name} does")
    return provider.simulator(config, base_url)


def _check_ready(base_url: str) -> None:
    try:
        response = requests.get(f"{base_url.rstrip('/')}/readyz", timeout=5)
    except requests.RequestException as exc:
        fail(f"no wallet answers at {base_url} ({type(exc).__name__}): start it with make run")
    if response.status_code != 200:
        fail(f"the wallet at {base_url} is not ready: {response.text.strip()[:200]}")


def _text(data: dict[str, Any]) -> str:
    rate = f" ({data['requests_per_second']}/s)" if data["requests_per_second"] else ""
    lines = [
        f"{data['provider']} run {data['run']} against {', '.join(data['urls'])}: "
        f"{data['players']} players × {data['rounds']} rounds in {data['seconds']} s",
        f"  {data['requests']} requests{rate}, {data['retries']} retries, "
        f"{data['duplicates']} duplicates, {data['rollbacks']} rollbacks "
        f"({data['rollbacks_before_bet']} before their bet), {data['declined']} declined, "
        f"{data['abandoned_sessions']} abandoned sessions",
        f"  balances: {data['balances_checked']} checked against the ledger, "
        f"{len(data['mismatched_balances'])} mismatched",
    ]
    lines += [
        f"  MISMATCH {m['player_id']}: expected {m['expected']}, ledger {m['actual']}"
        for m in data["mismatched_balances"]
    ]
    lines += [f"  PROBLEM {problem}" for problem in data["problems"]]
    lines.append("OK" if data["ok"] else f"FAILED ({data['problem_count']} problems)")
    return "\n".join(lines)
