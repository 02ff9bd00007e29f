"""Start-up that tells the truth: what ``make run`` checks before gunicorn starts, and what
gunicorn checks as it starts.

``python -m app.startup`` (the first step of ``make run``) checks every setting, gunicorn's
included (gunicorn reads ``WEB_CONCURRENCY`` itself, before its config file, and stops
with a traceback on a bad one); then, by ``WALLET_ENV``:

* ``development`` (the default): each provider secret the registry names that is set
  nowhere, neither in the environment nor in ``.env``, is written to ``.env`` with a
  random value, with what the provider needs besides to be played on this machine
  (Hypetech's webhook URL), and printed once. A value already set is never replaced.
* ``production``: start-up is refused while a provider secret is unset or is one of those
  development values, one line each.

``gunicorn.conf.py`` applies the same refusal, and names each provider whose secret is
missing in a warning as the server starts.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import structlog
from dotenv import dotenv_values

from app.config import ConfigError, load_config

if TYPE_CHECKING:
    from app.providers.registry import Provider

ENV_FILE = Path(__file__).resolve().parents[1] / ".env"
DEVELOPMENT_PREFIX = "dev-only-"
log = structlog.get_logger(__name__)


def missing_secrets(
    config: Mapping[str, Any], registry: Sequence[Provider]
) -> list[tuple[str, str]]:
    """(provider, setting) for each provider secret that is unset."""
    return [(p.name, name) for p in registry for name in p.secrets if not config.get(name)]


def production_problems(config: Mapping[str, Any], registry: Sequence[Provider]) -> list[str]:
    """Why ``WALLET_ENV=production`` refuses to start: a provider secret that is unset, or
    one a first ``make run`` wrote for development."""
    problems = [
        f"{name} is not set: in production {provider} callbacks need its real secret"
        for provider, name in missing_secrets(config, registry)
    ]
    problems += [
        f"{name} is the development secret make run wrote to .env: set {p.name}'s real one"
        for p in registry
        for name in p.secrets
        if str(config.get(name) or "").startswith(DEVELOPMENT_PREFIX)
    ]
    return problems


def warn_missing_secrets(config: Mapping[str, Any], registry: Sequence[Provider]) -> None:
    for provider, name in missing_secrets(config, registry):
        log.warning(
            f"{name} is not set: every {provider} callback is refused",
            provider=provider,
            setting=name,
        )


def development_settings(
    registry: Sequence[Provider], port: int, already_set: Iterable[str]
) -> dict[str, str]:
    """A random value for each provider secret not set yet, and each provider's other
    development settings (given the wallet's port) not set yet."""
    wanted: dict[str, str] = {}
    for provider in registry:
        for name in provider.secrets:
            wanted[name] = DEVELOPMENT_PREFIX + secrets.token_urlsafe(32)
        if provider.development_settings is not None:
            wanted.update(provider.development_settings(port))
    skip = set(already_set)
    return {name: value for name, value in wanted.items() if name not in skip}


def write_development_settings(env_file: Path, settings: Mapping[str, str]) -> None:
    """Append ``settings`` to ``env_file`` (created if missing), under a comment saying
    what they are."""
    existing = env_file.read_text() if env_file.exists() else ""
    lines = [
        "# Development secrets written by `make run` (app/startup.py): random values for",
        "# this machine only. WALLET_ENV=production refuses to start with them.",
        *(f"{name}={value}" for name, value in settings.items()),
    ]
    separator = "" if not existing or existing.endswith("\n") else "\n"
    env_file.write_text(existing + separator + "\n".join(lines) + "\n")
    env_file.chmod(0o600)


def run(
    env_file: Path,
    environ: Mapping[str, str],
    registry: Sequence[Provider],
    out: TextIO,
    err: TextIO,
) -> int:
    """``make run``'s check: 0 to go on, 1 (with one line per problem on ``err``) to stop."""
    from_file = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    env = {**from_file, **environ}  # the real environment wins, as in load_config
    try:
        config = load_config(env, registry)
    except ConfigError as problems:
        return _refuse(str(problems).splitlines(), err)
    if config["WALLET_ENV"] == "production":
        refused = production_problems(config, registry)
        return _refuse(refused, err) if refused else 0
    new = development_settings(registry, config["PORT"], [*environ, *from_file])
    if new:
        write_development_settings(env_file, new)
        print(f"These provider settings were not set; make run wrote them to {env_file}:", file=out)
        for name, value in new.items():
            print(f"  {name}={value}", file=out)
        print("They are for development only: WALLET_ENV=production refuses them.", file=out)
    return 0


def _refuse(problems: list[str], err: TextIO) -> int:
    for problem in problems:
        print(f"configuration error: {problem}", file=err)
    return 1 if problems else 0


def main() -> None:
    from app.providers import PROVIDERS

    sys.exit(run(ENV_FILE, os.environ, PROVIDERS, sys.stdout, sys.stderr))


if __name__ == "__main__":
    main()
