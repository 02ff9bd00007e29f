"""The ``wallet`` command tree: loaded lazily, every command listed, help a person can
read, its own version, and no Flask options."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app.cli.main import COMMANDS, cli, load
from app.providers import NAMES, PROVIDERS

HELP_WIDTH = 78  # click's help formatter: min(terminal, 80) - 2


def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name}"
            yield from walk(sub, f"{path} {name}")


def every_command() -> list[tuple[str, click.Command]]:
    return list(walk(cli, "wallet"))


def test_the_root_lists_every_command_and_each_provider_group():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:\n")[1].splitlines()]
    assert listed == sorted([*COMMANDS, *NAMES])
    assert {p.name for p in PROVIDERS if p.cli is not None} <= set(listed)
    for name in COMMANDS:
        assert load(name) is not None, name
    for provider in PROVIDERS:
        assert load(provider.name) is provider.cli


def test_each_line_of_the_root_help_is_its_commands_first_sentence():
    for name, (_, summary) in COMMANDS.items():
        command = load(name)
        assert command is not None
        assert command.get_short_help_str(limit=1000) == summary, name


def test_listing_the_commands_imports_none_of_them():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from app.cli.main import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
        "heavy = ('sqlalchemy', 'psycopg', 'app.core', 'app.providers.igpx', 'app.factory')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_core_command_imports_no_provider():
    code = (
        "import sys\n"
        "from app.cli.main import load\n"
        "load('balance'); load('players'); load('callbacks'); load('dev')\n"
        "print(sorted(m for m in sys.modules if m.startswith('app.providers.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("path", "command"), every_command(), ids=lambda v: str(v))
def test_every_command_has_one_example_line(path, command):
    lines = (command.help or "").splitlines()
    examples = [line.strip() for line in lines if line.strip().startswith("Example:")]
    assert len(examples) == 1, path
    assert examples[0].startswith(f"Example: {path}"), examples[0]
    assert len(examples[0]) <= HELP_WIDTH - 2, examples[0]


def test_no_command_is_listed_with_help_cut_short():
    """A group lists each command by the first paragraph of its help: one sentence that
    fits on the line (click cuts at the first period, or at the width, with "...")."""
    cut = []
    for path, command in every_command():
        if not isinstance(command, click.Group) or path == "wallet":
            continue
        ctx = click.Context(command, info_name=path)
        names = command.list_commands(ctx)
        limit = HELP_WIDTH - 6 - max(len(name) for name in names)
        for name in names:
            sub = command.get_command(ctx, name)
            assert sub is not None
            first = " ".join((sub.help or "").split("\n\n")[0].split())
            if sub.get_short_help_str(limit) != first:
                cut.append(f"{path} {name}: {first}")
    assert cut == []


def test_the_help_shows_no_flask_option():
    shown = CliRunner().invoke(cli, ["--help"]).output
    for option in ("--app", "--debug", "--env-file", "-A", "-e"):
        assert f" {option} " not in shown and f" {option}," not in shown, option


def test_version_is_the_wallets_own():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == "wallet 0.1.0"


def test_version_as_json_has_what_support_asks_for(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["--version", "--json"])
    assert result.exit_code == 0, result.output
    versions = json.loads(result.output)
    assert versions["wallet"] == "0.1.0"
    for key in ("python", "flask", "sqlalchemy", "psycopg", "gunicorn", "postgresql"):
        assert versions[key], key
    assert versions["migration_head"] == versions["database_revision"]


def test_version_as_json_without_a_database_that_answers(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    versions = json.loads(CliRunner().invoke(cli, ["--version", "--json"]).output)
    assert versions["postgresql"] is None and versions["database_revision"] is None
    assert versions["migration_head"]


def test_the_readme_lists_every_command():
    """README.md's CLI table names each command by its full path, ``wallet --version`` too."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The CLI at a glance", 1)[1].split("\n## ", 1)[0]
    paths = [p for p, c in every_command() if not isinstance(c, click.Group)]
    missing = [
        path
        for path in [*paths, "wallet --version"]
        if not re.search(f"`{re.escape(path)}[ `]", table)
    ]
    assert missing == []


def test_a_group_given_no_command_prints_its_help_and_exits_0():
    groups = [path for path, command in every_command() if isinstance(command, click.Group)]
    assert "wallet players" in groups and "wallet upside keys" in groups
    for path in groups:
        args = path.split()[1:]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout == CliRunner().invoke(cli, [*args, "--help"]).stdout, path


def test_a_usage_error_is_one_line(runner):
    for args in (["deposit", "alice"], ["nope"], ["players", "create"], ["--json", "balance"]):
        result = runner(args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
