"""An Upside key's rate limit: N requests per second, minute, hour or day, as the
operator wrote it, counted in ``upside_rate_windows`` by every worker alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from alembic import command
from sqlalchemy import select

from app.db import make_engine, migrate
from app.errors import InvalidRequest
from app.providers.upside import keys as upside_keys
from app.providers.upside.errors import RateLimited
from app.providers.upside.keys import RateLimit
from app.providers.upside.models import upside_rate_windows
from tests.factories import run_committed
from tests.upside_helpers import Worker, act, make_game, make_player, token

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "count", "window_s", "shown"),
    [
        ("10/s", 10, 1, "10/s"),
        ("600/min", 600, 60, "600/min"),
        ("120", 120, 60, "120/min"),
        ("30/h", 30, 3600, "30/h"),
        ("30/hour", 30, 3600, "30/h"),
        ("5000/d", 5000, 86400, "5000/d"),
    ],
)
def test_a_rate_is_kept_per_its_own_window_and_shown_back_alike(raw, count, window_s, shown):
    rate = upside_keys.parse_rate_limit(raw)
    assert rate == RateLimit(count, window_s)
    assert str(rate) == shown


@pytest.mark.parametrize("raw", ["0/h", "30/week", "30/", "thirty/h"])
def test_a_rate_without_a_known_window_is_refused(raw):
    with pytest.raises(InvalidRequest, match="--rate-limit"):
        upside_keys.parse_rate_limit(raw)


def test_keys_create_30_per_hour_is_listed_as_30_per_hour(runner, client):
    make_game("g1")
    created = json.loads(
        runner(
            ["upside", "keys", "create", "--game", "g1", "--rate-limit", "30/h", "--json"]
        ).stdout
    )
    listed = json.loads(runner(["upside", "keys", "list", "--json"]).stdout)["keys"]
    assert [key["rate_limit"] for key in listed] == ["30/h"]
    worker, jwt = Worker(**created), token(make_player())
    for _ in range(2):  # once stored as 1 per minute, the second was refused
        act(client, worker, jwt, {"trigger": "getBalance"})


@pytest.mark.parametrize(
    ("rate", "start"),
    [
        ("2/s", NOON),
        ("30/h", NOON),
        ("3/d", NOON.replace(hour=0)),
    ],
)
def test_a_key_gets_its_count_in_its_window_and_not_one_more(app, rate, start):
    limit = upside_keys.parse_rate_limit(rate)
    key = _key_with(limit)
    window = timedelta(seconds=limit.window_s)
    step = window / limit.count
    for n in range(limit.count):  # spread over the window, the last one in its last part
        run_committed(upside_keys.count_request, key, start + n * step)
    last_moment = start + window - timedelta(microseconds=1)
    with pytest.raises(RateLimited, match=f"rate limit of {rate} requests reached"):
        run_committed(upside_keys.count_request, key, last_moment)
    assert _counted(key.key) == [(start, limit.count)]
    run_committed(upside_keys.count_request, key, start + window)  # the next window
    assert _counted(key.key) == [(start + window, 1)]


def test_keys_limited_per_minute_before_the_change_stay_per_minute(scratch_databases):
    """Migration 0007 keeps a stored ``rate_limit_per_minute`` of 100 as 100/min."""
    url = scratch_databases("0007")
    command.upgrade(migrate.alembic_config(url), "0006")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO upside_api_keys (key, secret_ciphertext, passphrase_hash, games, "
            "rate_limit_per_minute) VALUES ('upk_old', 'x', 'x', '{g1}', 100)"
        )
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        old = upside_keys.find(conn, "upk_old")
    engine.dispose()
    assert old is not None and old.rate_limit == RateLimit(100, 60)


def _key_with(limit: RateLimit) -> upside_keys.ApiKey:
    make_game("g1")
    box = upside_keys.SecretBox("rate-limit-test-material")
    new = run_committed(lambda conn: upside_keys.create(conn, box, ["g1"], rate_limit=limit))
    key = run_committed(upside_keys.find, new.key)
    assert key is not None and key.rate_limit == limit
    return key


def _counted(key: str) -> list[tuple[datetime, int]]:
    rows = run_committed(
        lambda conn: conn.execute(
            select(upside_rate_windows.c.window_start, upside_rate_windows.c.count).where(
                upside_rate_windows.c.key == key
            )
        ).all()
    )
    return [(row.window_start, row.count) for row in rows]
