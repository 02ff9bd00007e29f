"""Every command and setting reads a duration the same way (``app.core.durations``):
``--older-than``, ``--since``, ``--expires``, ``--for`` and the duration settings accept
the same spellings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.cli.support import parse_duration, parse_moment
from app.core import durations
from app.errors import InvalidRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("0", timedelta(0)),
        ("90", timedelta(seconds=90)),
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("3mo", timedelta(days=90)),
        (" 12h ", timedelta(hours=12)),
    ],
)
def test_a_duration_is_a_count_and_a_unit(text, span):
    assert parse_duration(text) == span


@pytest.mark.parametrize("text", ["", "m", "5 m", "5y", "1.5h", "-1d", "yesterday"])
def test_anything_else_is_not_a_duration(text):
    with pytest.raises(ValueError, match="not a duration like 90s, 5m, 2h, 1d, 2w or 3mo"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0", "90", "90s", "5m", "2h", "7d", "2w", "3mo"])
def test_the_commands_and_the_settings_read_one_grammar(text):
    """A timedelta counts a month as 30 days; the settings keep calendar months."""
    assert parse_duration(text) == durations.parse(text).approximate()


def test_a_refused_duration_reads_the_same_everywhere():
    with pytest.raises(ValueError) as cli:
        parse_duration("5y")
    with pytest.raises(InvalidRequest) as core:
        durations.parse("5y")
    assert str(cli.value) == str(core.value)


def test_a_moment_is_a_duration_ahead_or_ago_or_an_iso_time():
    assert parse_moment("30d", NOW, ahead=True) == NOW + timedelta(days=30)
    assert parse_moment("1mo", NOW, ahead=False) == NOW - timedelta(days=30)
    assert parse_moment("2026-11-21T20:00:00Z", NOW, ahead=False) == datetime(
        2026, 11, 21, 20, tzinfo=UTC
    )
    assert parse_moment("2026-11-21", NOW, ahead=True) == datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "9999999w"])
def test_a_moment_that_is_no_time_is_refused(text):
    with pytest.raises(ValueError, match="neither an ISO 8601 time nor a duration"):
        parse_moment(text, NOW, ahead=True)


def test_the_commands_take_the_same_spellings(runner):
    assert runner(["report", "open-sessions", "--older-than", "1w"]).exit_code == 0
    assert runner(["callbacks", "list", "--since", "1mo"]).exit_code == 0
    assert runner(["upside", "games", "create", "g1", "--max-multiplier", "2"]).exit_code == 0
    created = runner(["upside", "keys", "create", "--game", "g1", "--expires", "2w"])
    assert created.exit_code == 0, created.output
    refused = runner(["upside", "keys", "create", "--game", "g1", "--expires", "soon"])
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "Error: --expires 'soon' must be an ISO 8601 time or a duration like 30d"
    )
