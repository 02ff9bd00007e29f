"""The docs stand on their own: no citation of a file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
