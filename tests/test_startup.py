"""Start-up tells the truth: a developer's first ``make run`` gets development secrets in
``.env`` (written once, never over a value already set), production refuses to start
without real ones, and gunicorn names each provider whose secret is missing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from app import startup
from app.config import load_config
from app.providers import PROVIDERS
from tests import toy_provider as toy
from tests.live import start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ["IGPX_SECURITY_HASH", "HYPETECH_API_KEY", "UPSIDE_JWT_SECRET"]
NO_SECRETS = {name: "" for name in SECRETS}


def first_run(env_file: Path, **environ: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = startup.run(env_file, environ, PROVIDERS, out, err)
    return status, out.getvalue(), err.getvalue()


def test_a_first_run_writes_a_random_secret_for_every_provider_and_says_so(tmp_path):
    env_file = tmp_path / ".env"
    status, printed, _ = first_run(env_file, PORT="8123")
    assert status == 0
    written = dotenv_values(env_file)
    assert set(written) == {*SECRETS, "HYPETECH_WEBHOOK_BASE_URL"}
    assert written["HYPETECH_WEBHOOK_BASE_URL"] == "http://127.0.0.1:8123"
    for name in SECRETS:
        assert str(written[name]).startswith(startup.DEVELOPMENT_PREFIX)
        assert len(str(written[name])) > 40
        assert f"{name}={written[name]}" in printed
    assert "for development only" in printed
    assert env_file.stat().st_mode & 0o077 == 0
    config = load_config(dict(written))  # type: ignore[arg-type]
    assert startup.missing_secrets(config, PROVIDERS) == []


def test_the_secrets_are_written_once_and_printed_once(tmp_path):
    env_file = tmp_path / ".env"
    first_run(env_file)
    before = env_file.read_text()
    status, printed, _ = first_run(env_file)
    assert (status, printed) == (0, "")
    assert env_file.read_text() == before


def test_a_value_already_set_is_never_replaced(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9000\nIGPX_SECURITY_HASH=from-igpx\nHYPETECH_API_KEY=\n")
    _, printed, _ = first_run(env_file, UPSIDE_JWT_SECRET="from-the-environment")
    written = dotenv_values(env_file)
    assert written["IGPX_SECURITY_HASH"] == "from-igpx"
    assert written["HYPETECH_API_KEY"] == ""  # there, if empty: left as the operator wrote it
    assert "UPSIDE_JWT_SECRET" not in written  # set in the real environment
    assert written["HYPETECH_WEBHOOK_BASE_URL"] == "http://127.0.0.1:9000"
    assert [line.split("=")[0] for line in printed.splitlines() if line.startswith("  ")] == [
        "  HYPETECH_WEBHOOK_BASE_URL"
    ]


def test_a_provider_of_the_registry_gets_its_secret_without_naming_it_here(tmp_path):
    env_file = tmp_path / ".env"
    startup.run(env_file, {}, (*PROVIDERS, toy.PROVIDER), io.StringIO(), io.StringIO())
    assert str(dotenv_values(env_file)["TOY_SECRET"]).startswith(startup.DEVELOPMENT_PREFIX)


def test_production_refuses_to_start_without_each_secret_one_line_each(tmp_path):
    env_file = tmp_path / ".env"
    status, printed, refused = first_run(env_file, WALLET_ENV="production")
    assert status == 1 and printed == ""
    assert not env_file.exists()
    lines = refused.splitlines()
    assert len(lines) == len(SECRETS)
    for name, line in zip(SECRETS, lines, strict=True):
        assert line.startswith(f"configuration error: {name} is not set")


def test_production_refuses_the_development_secrets(tmp_path):
    env_file = tmp_path / ".env"
    first_run(env_file)
    status, _, refused = first_run(env_file, WALLET_ENV="production", UPSIDE_JWT_SECRET="real")
    assert status == 1
    assert [line.split()[2] for line in refused.splitlines()] == SECRETS[:2]
    assert "development secret" in refused


def test_production_starts_with_real_secrets(tmp_path):
    real = {name: f"real-{name.lower()}" for name in SECRETS}
    assert first_run(tmp_path / ".env", WALLET_ENV="production", **real) == (0, "", "")


def test_an_unknown_environment_is_refused():
    with pytest.raises(ValueError, match="WALLET_ENV must be development or production"):
        load_config({"WALLET_ENV": "staging"})


def test_settings_are_checked_before_anything_is_written(tmp_path):
    """gunicorn reads WEB_CONCURRENCY before its config file and stops with a traceback on
    a bad one: make run's first step reports it as one line."""
    env_file = tmp_path / ".env"
    status, _, refused = first_run(env_file, WEB_CONCURRENCY="many", GUNICORN_THREADS="abc")
    assert status == 1 and not env_file.exists()
    assert refused.splitlines() == [
        "configuration error: WEB_CONCURRENCY must be a whole number from 1 to 256, got 'many'",
        "configuration error: GUNICORN_THREADS must be a whole number from 1 to 256, got 'abc'",
    ]


def gunicorn_check(database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--check-config"]
        + ["wsgi:app"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_gunicorn_in_production_refuses_without_the_secrets(database_url):
    """Also when started without make run (empty values: the project's .env, if any, is
    not read over a variable that is set)."""
    checked = gunicorn_check(database_url, WALLET_ENV="production", **NO_SECRETS)
    assert checked.returncode != 0
    assert [line.split()[2] for line in checked.stderr.splitlines()] == SECRETS


@pytest.mark.slow
def test_gunicorn_names_each_provider_whose_secret_is_missing_as_it_starts(settings):
    env = {key: str(value) for key, value in settings.items()}
    env |= {"IGPX_SECURITY_HASH": "", "UPSIDE_JWT_SECRET": "", "LOG_LEVEL": "INFO"}
    with start_gunicorn(env, workers=1, threads=2) as server:
        output = server.output()
    warnings = [
        line
        for line in map(json.loads, filter(None, output.splitlines()))
        if line.get("logger") == "app.startup"
    ]
    assert [(w["level"], w["provider"], w["setting"]) for w in warnings] == [
        ("warning", "igpx", "IGPX_SECURITY_HASH"),
        ("warning", "upside", "UPSIDE_JWT_SECRET"),
    ]
    assert "every igpx callback is refused" in warnings[0]["event"]
