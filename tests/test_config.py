"""Configuration comes from the environment and is validated at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, bind_address, load_config


def test_defaults():
    config = load_config({})
    assert config["PORT"] == 8000
    assert config["DATABASE_URL"] is None
    assert config["IGPX_INSUFFICIENT_FUNDS_CODE"] == "INSUFFICIENT_FUNDS"
    assert config["IGPX_SECURITY_HASH"] is None


def test_values_are_read_from_the_environment():
    config = load_config(
        {
            "PORT": "9001",
            "IGPX_SECURITY_HASH": "s3",
            "IGPX_INSUFFICIENT_FUNDS_CODE": "INSUFFICENT_FUNDS",
        }
    )
    assert config["PORT"] == 9001
    assert config["IGPX_SECURITY_HASH"] == "s3"
    assert config["IGPX_INSUFFICIENT_FUNDS_CODE"] == "INSUFFICENT_FUNDS"


def test_every_problem_is_reported_on_its_own_line():
    with pytest.raises(ConfigError) as raised:
        load_config({"PORT": "eighty", "DATABASE_URL": "mysql://x", "LOG_LEVEL": "LOUD"})
    lines = str(raised.value).splitlines()
    assert len(lines) == 3
    assert any("PORT" in line for line in lines)
    assert any("DATABASE_URL" in line for line in lines)
    assert any("LOG_LEVEL" in line for line in lines)


def test_a_request_has_ten_seconds_to_arrive_by_default():
    assert load_config({})["REQUEST_READ_TIMEOUT_S"] == 10
    assert load_config({"REQUEST_READ_TIMEOUT_S": "2"})["REQUEST_READ_TIMEOUT_S"] == 2


@pytest.mark.parametrize("raw", ["0", "301", "ten", "1.5"])
def test_a_read_deadline_outside_one_to_300_seconds_is_refused(raw):
    with pytest.raises(ConfigError, match="REQUEST_READ_TIMEOUT_S"):
        load_config({"REQUEST_READ_TIMEOUT_S": raw})


@pytest.mark.parametrize(
    ("raw", "threshold"), [(None, 5), ("0", 0), ("12", 12), ("off", None), ("None", None)]
)
def test_prepared_statements_can_be_turned_off_for_a_pooler(raw, threshold):
    env = {} if raw is None else {"DB_PREPARE_THRESHOLD": raw}
    assert load_config(env)["DB_PREPARE_THRESHOLD"] == threshold


@pytest.mark.parametrize("raw", ["sometimes", "-1"])
def test_a_prepare_threshold_that_is_neither_a_count_nor_off_is_refused(raw):
    with pytest.raises(ConfigError, match="DB_PREPARE_THRESHOLD"):
        load_config({"DB_PREPARE_THRESHOLD": raw})


@pytest.mark.parametrize(("setting", "expected"), [({}, 5), ({"DB_PREPARE_THRESHOLD": None}, None)])
def test_the_engines_connections_carry_the_threshold(database_url, setting, expected):
    """What psycopg was given: None never prepares a statement on the server."""
    app = create_app({"DATABASE_URL": database_url, **setting})
    engine = app.extensions["wallet.engine"]
    try:
        with engine.connect() as conn:
            assert conn.connection.driver_connection.prepare_threshold == expected
    finally:
        engine.dispose()


def test_test_app_uses_the_test_database(app, database_url):
    assert app.config["DATABASE_URL"] == database_url


def gunicorn_config(database_url: str, option: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``gunicorn --config gunicorn.conf.py <option> wsgi:app`` with ``env`` set (and
    gunicorn's own variables unset, so that the defaults are the file's)."""
    full_env = {
        **{k: v for k, v in os.environ.items() if k not in GUNICORN_VARIABLES},
        "DATABASE_URL": database_url,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", option, "wsgi:app"],
        cwd=Path(__file__).resolve().parent.parent,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


GUNICORN_VARIABLES = {
    "WEB_CONCURRENCY",
    "GUNICORN_WORKER_CLASS",
    "GUNICORN_THREADS",
    "GUNICORN_KEEPALIVE",
    "DB_POOL_SIZE",
}


@pytest.mark.slow
def test_gunicorn_defaults_are_the_measured_ones(database_url):
    """gthread with the read deadline (docs/performance.md, "Stock gthread again"), cores
    + 1 processes ("Fourth round"), gunicorn's own log lines in JSON."""
    printed = gunicorn_config(database_url, "--print-config")
    assert printed.returncode == 0, printed.stderr[-2000:]
    settings = dict(
        (name.strip(), value.strip())
        for name, _, value in (line.partition("=") for line in printed.stdout.splitlines())
    )
    assert settings["worker_class"] == "app.worker.BufferingWorker"
    assert "JsonLogger" in settings["logger_class"]
    assert settings["workers"] == str((os.cpu_count() or 1) + 1)
    assert settings["threads"] == "2"
    assert settings["keepalive"] == "5"


@pytest.mark.slow
@pytest.mark.parametrize(("threads", "refused"), [(8, True), (4, False)])
def test_gunicorn_refuses_more_threads_than_pooled_connections(database_url, threads, refused):
    """Each gunicorn thread keeps one pooled connection: a pool smaller than the threads
    would leave rollbacks and the audit writer waiting, so the server does not start."""
    checked = gunicorn_config(
        database_url, "--check-config", GUNICORN_THREADS=str(threads), DB_POOL_SIZE="4"
    )
    message = "GUNICORN_THREADS (8) is more than DB_POOL_SIZE (4)"
    assert (checked.returncode != 0) is refused, checked.stderr[-2000:]
    assert (message in checked.stderr) is refused


@pytest.mark.slow
def test_a_bad_gunicorn_setting_is_one_line_not_a_traceback(database_url):
    checked = gunicorn_config(database_url, "--check-config", GUNICORN_THREADS="abc")
    assert checked.returncode != 0
    assert checked.stderr.splitlines() == [
        "configuration error: GUNICORN_THREADS must be a whole number from 1 to 256, got 'abc'"
    ]


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("GUNICORN_THREADS", "abc"),
        ("GUNICORN_THREADS", "0"),
        ("WEB_CONCURRENCY", "-2"),
        ("GUNICORN_KEEPALIVE", "5s"),
        ("GUNICORN_TIMEOUT", "0"),
        ("GUNICORN_GRACEFUL_TIMEOUT", "1.5"),
        ("GUNICORN_WORKER_CLASS", "threads"),
        ("GUNICORN_WORKER_CLASS", "app.nowhere.Worker"),
        ("HOST", "wallet host"),
    ],
)
def test_each_bad_server_setting_is_one_problem(name, raw):
    with pytest.raises(ConfigError) as raised:
        load_config({name: raw})
    assert len(lines := str(raised.value).splitlines()) == 1
    assert lines[0].startswith(name)


@pytest.mark.parametrize(
    ("env", "bind"),
    [
        ({}, "0.0.0.0:8000"),
        ({"HOST": "::1", "PORT": "9000"}, "[::1]:9000"),
        ({"HOST": "db-1"}, "db-1:8000"),
    ],
)
def test_gunicorn_binds_host_and_port(env, bind):
    assert bind_address(load_config(env)) == bind


@pytest.mark.parametrize("worker", ["gthread", "sync", "app.worker.BufferingWorker"])
def test_gunicorns_workers_and_class_paths_are_accepted(worker):
    assert load_config({"GUNICORN_WORKER_CLASS": worker})["GUNICORN_WORKER_CLASS"] == worker


SHOW_BIND = """
import runpy, sys
from dotenv import load_dotenv

load_dotenv(sys.argv[1])  # as config.load_config loads the project's .env
print(runpy.run_path("gunicorn.conf.py")["bind"])
"""


def bind_under_make(tmp_path: Path, database_url: str, dotenv: str, **env: str) -> str:
    """The address gunicorn.conf.py binds when run from the Makefile, as `make run` runs
    it, with ``dotenv`` as the .env file and ``env`` as the real environment."""
    (tmp_path / ".env").write_text(dotenv)
    (tmp_path / "show_bind.py").write_text(SHOW_BIND)
    recipe = f"show-bind: ; @{sys.executable} {tmp_path / 'show_bind.py'} {tmp_path / '.env'}"
    full_env = {
        **{k: v for k, v in os.environ.items() if k not in {"PORT", "HOST", "MAKEFLAGS"}},
        "DATABASE_URL": database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **env,
    }
    shown = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", recipe, "show-bind"],
        cwd=Path(__file__).resolve().parent.parent,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    return shown.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dotenv", "env", "bind"),
    [
        ("PORT=9123\n", {}, "0.0.0.0:9123"),
        ("PORT=9123\n", {"PORT": "9555"}, "0.0.0.0:9555"),
        ("", {}, "0.0.0.0:8000"),
    ],
)
def test_make_run_takes_port_from_the_environment_then_dotenv_then_8000(
    tmp_path, database_url, dotenv, env, bind
):
    assert bind_under_make(tmp_path, database_url, dotenv, **env) == bind


@pytest.mark.parametrize("port", ["0", "65536"])
def test_a_port_outside_1_to_65535_is_refused(port):
    with pytest.raises(ConfigError, match="PORT must be between 1 and 65535"):
        load_config({"PORT": port})
