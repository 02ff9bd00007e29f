"""The docs stand on their own: no citation of a file outside the repository, every
setting in docs/configuration.md, every page reachable from the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import load_config

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OUTSIDE = re.compile(r"SPEC\.md|SPEC §|seeds/|\.\./shared|shared/seeds")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_doc_cites_a_file_outside_the_repository(page):
    cited = [
        f"{page.name}:{number}: {line.strip()}"
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert cited == []


def test_the_check_catches_each_way_of_citing_outside():
    for line in ("see SPEC.md", "SPEC §3 says", "`shared/seeds/004_…`", "../shared/x"):
        assert OUTSIDE.search(line), line


def test_every_setting_is_in_the_configuration_page():
    page = (ROOT / "docs" / "configuration.md").read_text()

    def documented(name: str) -> bool:
        if f"`{name}`" in page:
            return True
        base, _, twin = name.partition("_PREVIOUS")
        return f"`{base}`" in page and f"`…_PREVIOUS{twin}`" in page

    assert [name for name in load_config({}) if not documented(name)] == []


def test_the_readme_links_every_page_and_the_openapi_document():
    readme = (ROOT / "README.md").read_text()
    assert [p.name for p in PAGES[1:] if f"(docs/{p.name})" not in readme] == []
    assert re.search(r"\[`?/openapi\.json`?\]\(http", readme)
    assert "`curl` and `openssl`" in readme
