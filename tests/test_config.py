"""Configuration comes from the environment and is validated at start-up."""

import pytest

from app.config import ConfigError, load_config


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


def test_test_app_uses_the_test_database(app, database_url):
    assert app.config["DATABASE_URL"] == database_url
