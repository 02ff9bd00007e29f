"""Reading a provider's transaction report, a row at a time, refusing anything doubtful.

A report is CSV with a header row, or JSON lines (one object per line), in UTF-8. Each
provider names its columns its own way (its :class:`~app.core.report_layout.Layout`,
documented in docs/finance.md); ``--columns field=header`` maps the rest. Every row
becomes a :data:`~app.core.report_rows.Row` with the wallet's own key for it
(:mod:`app.core.report_rows`). A row that cannot be read (not UTF-8, a missing field, an
amount that is not a number, an unknown kind or status, a time that is not a time)
raises :class:`ReportError` naming its line, and nothing is compared: a finance team
fixes the file rather than trusting half of it.
"""

from __future__ import annotations

import csv
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

from app.core.report_layout import COMMON, FIELDS, Layout
from app.core.report_rows import WORD, Converter, ReportError, Row
from app.errors import InvalidRequest

__all__ = ["ReportError", "Row", "parse_columns", "read"]


def parse_columns(specs: tuple[str, ...]) -> dict[str, str]:
    """``--columns id=txn_id,amount=stake`` (repeatable) as {field: header}."""
    mapping: dict[str, str] = {}
    for spec in specs:
        for pair in filter(None, (p.strip() for p in spec.split(","))):
            field, sep, header = pair.partition("=")
            field = {"player_id": "player", "user_id": "player"}.get(field.strip(), field.strip())
            if not sep or field not in FIELDS or not header.strip():
                raise InvalidRequest(
                    f"--columns {pair!r}: use FIELD=HEADER with FIELD one of {', '.join(FIELDS)}"
                )
            mapping[field] = header.strip()
    return mapping


def read(
    handle: IO[bytes],
    layout: Layout,
    columns: Mapping[str, str],
    progress: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """The rows of the report in ``handle`` (CSV or JSON lines, told apart by the first
    character), in file order."""
    lines = _Lines(handle, progress)
    head = next(iter(lines), "")
    if not head.strip():
        raise ReportError("line 1: the report is empty; expected a header row or a JSON object")
    if head.lstrip().startswith("{"):
        return _json_rows(lines, head, layout, columns)
    return _csv_rows(lines, head, layout, columns)


class _Lines:
    """The file's lines as text, numbered (``number``: the line last read); a line that
    is not UTF-8 or holds a NUL character stops the read, naming it."""

    def __init__(self, handle: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self.number = 0
        self._lines = self._read(handle, progress)

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def _read(self, handle: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[str]:
        pending = 0
        for raw in handle:
            self.number += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ReportError(
                    f"line {self.number}: not UTF-8 text (byte {raw[exc.start]:#04x} at "
                    f"column {exc.start + 1}); save the report as UTF-8"
                ) from None
            if "\x00" in text:
                raise ReportError(
                    f"line {self.number}: contains a NUL character; this is not a text report"
                )
            if progress is not None:
                pending += len(raw)
                if pending > 1 << 20:
                    progress(pending)
                    pending = 0
            yield text.lstrip("\ufeff") if self.number == 1 else text
        if progress is not None and pending:
            progress(pending)


def _csv_rows(
    lines: _Lines, head: str, layout: Layout, columns: Mapping[str, str]
) -> Iterator[Row]:
    header = [_normal(h) for h in next(csv.reader([head]), [])]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ReportError(f"line 1: column {duplicated[0]!r} appears twice in the header")
    fields = _resolve(set(header), layout, columns)
    width = len(header)
    # Each row's fields in FIELDS order, picked in C; a field without a column reads the
    # None appended to the row.
    pick = operator.itemgetter(*(header.index(h) if h else width for h in fields.values()))
    convert = Converter(layout)
    reader = csv.reader(lines)
    start, number = 2, 0
    try:
        for record in reader:
            if record:
                if len(record) != width:
                    raise ReportError(
                        f"line {start}: {len(record)} fields where the header has {width}"
                    )
                number += 1
                record.append(None)  # type: ignore[arg-type]
                yield convert(start, number, pick(record))
            start = lines.number + 1
    except csv.Error as exc:
        raise ReportError(f"line {lines.number}: not valid CSV ({exc})") from None


def _json_rows(
    lines: _Lines, head: str, layout: Layout, columns: Mapping[str, str]
) -> Iterator[Row]:
    convert = Converter(layout)
    names: list[str | None] | None = None
    number = 0
    for text in _chain(head, lines):
        if not text.strip():
            continue
        line = lines.number
        data = _json_object(text, line)
        if names is None:
            names = list(_resolve(set(data), layout, columns).values())
        number += 1
        yield convert(line, number, tuple(_field(data, name, line) for name in names))


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest


def _json_object(text: str, line: int) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ReportError(f"line {line}: not a JSON object") from None
    if not isinstance(data, dict):
        raise ReportError(f"line {line}: not a JSON object")
    return {_normal(k): v for k, v in data.items()}


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _normal(header: str) -> str:
    return WORD.sub("_", str(header).strip().lower())


def _field(data: dict[str, Any], name: str | None, line: int) -> Any:
    if name is None:
        return None
    if name not in data:
        raise ReportError(f"line {line}: no {name!r} field")
    return data[name]


def _resolve(
    headers: set[str], layout: Layout, columns: Mapping[str, str]
) -> dict[str, str | None]:
    """Which header holds each field: ``--columns`` first, then the provider's names,
    then the common ones."""
    resolved: dict[str, str | None] = {}
    for field in FIELDS:
        if field in columns:
            wanted = _normal(columns[field])
            if wanted not in headers:
                raise ReportError(f"line 1: no column {columns[field]!r} (given for {field})")
            resolved[field] = wanted
        else:
            resolved[field] = _first(layout.headers.get(field, ()), headers) or _first(
                COMMON[field], headers
            )
    _one_amount(resolved, headers, layout, columns)
    required = ["id", "kind", "player", "time"] + ([] if layout.default_currency else ["currency"])
    for field in required:
        if resolved[field] is None:
            raise ReportError(f"line 1: {_missing(field, layout)}")
    if resolved["amount"] is None and resolved["amount_atomic"] is None:
        raise ReportError(f"line 1: {_missing('amount', layout)}")
    return resolved


def _one_amount(
    resolved: dict[str, str | None], headers: set[str], layout: Layout, columns: Mapping[str, str]
) -> None:
    """Read amounts from one column: a mapped one, else the provider's own decimal or
    minor-unit column (a layout may name ``amount`` as its atomic one), else ``amount``."""
    if "amount" in columns or "amount_atomic" in columns:
        resolved["amount_atomic" if "amount" in columns else "amount"] = None
    elif _first(layout.headers.get("amount", ()), headers):
        resolved["amount_atomic"] = None
    elif resolved["amount_atomic"]:
        resolved["amount"] = None


def _first(candidates: tuple[str, ...], headers: set[str]) -> str | None:
    return next((_normal(c) for c in candidates if _normal(c) in headers), None)


def _missing(field: str, layout: Layout) -> str:
    names = [*layout.headers.get(field, ()), *COMMON[field]]
    return (
        f"no column for {field} (expected one of {', '.join(dict.fromkeys(names))}); "
        f"map yours with --columns {field}=HEADER"
    )
