"""`wallet limits …`, `wallet players exclude|timeout|unexclude` and `wallet report
limits-hit`, as an operator types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from app.core import limits
from tests.factories import PlayerFactory, balance, run_committed
from tests.protection_helpers import bet


def ok(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_limits_show_gives_amount_period_use_and_what_is_left(runner):
    player = PlayerFactory(balance="100.00")
    changes = ok(
        runner(
            ["limits", "set", player, "--currency", "usd", "--loss", "50/day"]
            + ["--wager", "500/week", "--by", "support:ann", "--json"]
        )
    )
    assert [(c["kind"], c["period"], c["action"], c["new"]) for c in changes["changes"]] == [
        ("loss", "day", "set", "50.00"),
        ("wager", "week", "set", "500.00"),
    ]
    bet("b1", player, "20")

    shown = ok(runner(["limits", "show", player, "--json"]))

    assert shown["timezone"] == "UTC" and shown["exclusion"] is None
    loss, wager = shown["limits"]
    assert {k: loss[k] for k in ("currency", "kind", "period", "amount", "used", "remaining")} == {
        "currency": "USD",
        "kind": "loss",
        "period": "day",
        "amount": "50.00",
        "used": "20.00",
        "remaining": "30.00",
    }
    assert loss["pending"] is None and loss["period_start"].endswith("T00:00:00+00:00")
    assert (wager["used"], wager["remaining"]) == ("20.00", "480.00")


def test_an_increase_shows_pending_with_its_time_then_takes_effect(runner, engine):
    player = PlayerFactory(balance="100.00")
    runner(["limits", "set", player, "--currency", "USD", "--loss", "10/day"])

    raised = ok(
        runner(["limits", "set", player, "--currency", "USD", "--loss", "40/day", "--json"])
    )

    change = raised["changes"][0]
    assert (change["action"], change["pending"]) == ("increase", True)
    effective = datetime.fromisoformat(change["effective_at"])
    assert timedelta(hours=23, minutes=59) < effective - datetime.now(UTC) <= timedelta(hours=24)
    loss = ok(runner(["limits", "show", player, "--json"]))["limits"][0]
    assert loss["amount"] == "10.00"
    assert loss["pending"] == {
        "action": "increase",
        "amount": "40.00",
        "effective_at": loss["pending"]["effective_at"],
    }
    assert datetime.fromisoformat(loss["pending"]["effective_at"]) == effective

    _cooling_off_passes(engine, player)

    loss = ok(runner(["limits", "show", player, "--json"]))["limits"][0]
    assert (loss["amount"], loss["pending"]) == ("40.00", None)
    assert bet("b1", player, "40").reason is None


def test_a_removal_is_pending_then_the_limit_is_gone(runner, engine):
    player = PlayerFactory()
    runner(["limits", "set", player, "--currency", "USD", "--deposit", "100/month"])

    removal = ok(
        runner(["limits", "remove", player, "--currency", "USD", "--deposit", "month", "--json"])
    )

    assert removal["changes"][0]["action"] == "remove" and removal["changes"][0]["pending"]
    pending = ok(runner(["limits", "show", player, "--json"]))["limits"][0]["pending"]
    assert (pending["action"], pending["amount"]) == ("remove", None)
    _cooling_off_passes(engine, player)
    assert ok(runner(["limits", "show", player, "--json"]))["limits"] == []


def test_history_lists_every_change_with_who_made_it(runner):
    player = PlayerFactory()
    runner(["limits", "set", player, "--currency", "USD", "--loss", "10/day", "--by", "ann"])
    runner(["limits", "set", player, "--currency", "USD", "--loss", "20/day", "--by", "bob"])
    runner(["limits", "set", player, "--currency", "USD", "--loss", "5/day", "--by", "cy"])
    runner(["players", "timeout", player, "--for", "24h", "--by", "dee"])

    history = ok(runner(["limits", "history", player, "--json"]))

    assert [(c["action"], c["old"], c["new"], c["by"]) for c in history["changes"]] == [
        ("set", None, "10.00", "ann"),
        ("increase", "10.00", "20.00", "bob"),
        ("decrease", "10.00", "5.00", "cy"),
    ]
    assert history["changes"][2]["note"] == "cancels the pending increase to 20.00"
    assert [(e["kind"], e["by"]) for e in history["exclusions"]] == [("timeout", "dee")]


def test_by_defaults_to_the_os_user(runner, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "operator7")
    player = PlayerFactory()
    runner(["limits", "set", player, "--currency", "USD", "--loss", "10/day"])
    assert ok(runner(["limits", "history", player, "--json"]))["changes"][0]["by"] == "operator7"


def test_a_deposit_past_the_deposit_limit_is_refused_in_one_line(runner):
    player = PlayerFactory(balance="0")
    runner(["limits", "set", player, "--currency", "USD", "--deposit", "1000/month"])
    ok(runner(["deposit", player, "600", "USD", "--reference", "d1", "--json"]))

    line = refused(runner(["deposit", player, "500", "USD", "--reference", "d2"]))

    assert line == (
        "Error: deposit declined: limit_exceeded (deposit/month limit: 400.00 USD left); "
        "balance is 600.00 USD"
    )
    assert balance(player) == Decimal("600.00")


def test_an_excluded_player_cannot_deposit_but_can_withdraw(runner):
    player = PlayerFactory(balance="50.00")
    excluded = ok(
        runner(["players", "exclude", player, "--for", "180d", "--reason", "asked", "--json"])
    )
    assert (excluded["kind"], excluded["reason"], excluded["permanent"]) == (
        "exclusion",
        "asked",
        False,
    )

    line = refused(runner(["deposit", player, "10", "USD", "--reference", "d1"]))

    assert line.startswith("Error: deposit declined: player_excluded")
    ok(runner(["withdraw", player, "50", "USD", "--reference", "w1", "--json"]))
    assert balance(player) == Decimal("0.00")


def test_unexclude_refuses_before_the_end_and_says_until_when(runner):
    player = PlayerFactory()
    made = ok(runner(["players", "exclude", player, "--until", "2031-02-01", "--json"]))
    assert made["ends_at"] == "2031-02-01T00:00:00+00:00"

    line = refused(runner(["players", "unexclude", player]))

    assert line == (
        f"Error: player {player!r} has a self-exclusion until 2031-02-01T00:00:00+00:00: "
        "it cannot be lifted before it ends"
    )


def test_unexclude_after_the_end_records_the_check(runner, engine):
    player = PlayerFactory()
    ok(runner(["players", "exclude", player, "--for", "30m", "--json"]))
    with engine.begin() as conn:  # the half hour passes
        conn.execute(
            text(
                "UPDATE player_exclusions SET starts_at = now() - interval '2 hours', "
                "ends_at = now() - interval '1 hour'"
            )
        )

    checked = ok(runner(["players", "unexclude", player, "--by", "ann", "--json"]))

    assert [r["reviewed_by"] for r in checked["reviewed"]] == ["ann"]


def test_a_permanent_exclusion_says_it_can_never_be_lifted(runner):
    player = PlayerFactory()
    ok(runner(["players", "exclude", player, "--permanent", "--json"]))
    assert "permanently self-excluded" in refused(runner(["players", "unexclude", player]))


def test_exclude_needs_exactly_one_end(runner):
    player = PlayerFactory()
    assert "exactly one" in refused(runner(["players", "exclude", player]))
    both = runner(["players", "exclude", player, "--for", "1d", "--permanent"])
    assert "exactly one" in refused(both)
    bad = runner(["players", "timeout", player, "--for", "3y"])
    assert bad.exit_code == 2 and "not a duration" in bad.stderr


def test_limits_hit_lists_declines_by_limit_and_exclusion(runner):
    player = PlayerFactory(balance="100.00")
    other = PlayerFactory(balance="100.00")
    runner(["limits", "set", player, "--currency", "USD", "--loss", "5/day"])
    runner(["players", "timeout", other, "--for", "1h"])
    bet("b1", player, "6")
    bet("b2", other, "1")
    bet("b3", player, "5")
    today = datetime.now(UTC).date().isoformat()

    rows = ok(runner(["report", "limits-hit", "--from", today, "--to", today, "--json"]))["rows"]

    assert [(r["external_id"], r["reason"], r["limit"], r["remaining"]) for r in rows] == [
        ("b1", "limit_exceeded", "loss/day", "5.00"),
        ("b2", "player_excluded", None, None),
    ]


def test_a_bad_limit_is_refused_in_one_line(runner):
    player = PlayerFactory()
    assert "period of day, week or month" in refused(
        runner(["limits", "set", player, "--currency", "USD", "--loss", "50/year"])
    )
    assert "at most 2 decimal places" in refused(
        runner(["limits", "set", player, "--currency", "USD", "--loss", "0.001/day"])
    )
    assert "at least one of" in refused(runner(["limits", "set", player, "--currency", "USD"]))
    assert "no EUR wallet" in refused(
        runner(["limits", "set", player, "--currency", "EUR", "--loss", "5/day"])
    )


def test_db_upgrade_stores_limits_timezone(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "LIMITS_TIMEZONE", "Europe/Malta")
    try:
        ok_run = runner(["db", "upgrade"])
        assert ok_run.exit_code == 0, ok_run.output
        assert run_committed(limits.timezone) == "Europe/Malta"
    finally:
        run_committed(limits.store_timezone, "UTC")


def _cooling_off_passes(engine, player: str) -> None:
    """LIMIT_INCREASE_DELAY goes by: the pending change's time is moved to the past."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE player_limits l SET pending_at = now() - interval '1 second' "
                "FROM accounts a WHERE a.id = l.account_id AND a.player_id = :p"
            ),
            {"p": player},
        )
