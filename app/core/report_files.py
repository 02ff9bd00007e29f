"""Reading a provider's transaction report, a row at a time, refusing anything doubtful.

A report is CSV with a header row, or JSON lines (one object per line), in UTF-8. Each
provider names its columns its own way (:data:`LAYOUTS`, documented in
docs/finance.md); ``--columns field=header`` maps the rest. Every row becomes a
:class:`ReportRow` with the wallet's own key for it. A row that cannot be read (not
UTF-8, a missing field, an amount that is not a number, an unknown kind or status, a
time that is not a time) raises :class:`ReportError` naming its line, and nothing is
compared: a finance team fixes the file rather than trusting half of it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from app.errors import InvalidRequest
from app.money import CURRENCY_EXPONENTS

FIELDS = ("id", "kind", "player", "currency", "amount", "amount_atomic", "time", "status", "linked")


class ReportError(InvalidRequest):
    """The report cannot be read; the message names the line."""


@dataclass(frozen=True)
class Layout:
    """How one provider's report is read. ``headers``: candidate column names per field,
    tried in order (case and spaces ignored). ``atomic`` fields hold integer minor units."""

    headers: Mapping[str, tuple[str, ...]]
    default_currency: str | None = None
    key: Callable[[str, str, str | None], tuple[str, str | None, str]] | None = None


def _own_id(external_id: str, kind: str, linked: str | None) -> tuple[str, str | None, str]:
    """(the wallet's key, another key to try first, the id as a callback body spells it)."""
    return external_id, None, external_id


def _hypetech_key(external_id: str, kind: str, linked: str | None) -> tuple[str, str | None, str]:
    """A Hypetech rollback without its own ``linked_tx_id`` was keyed ``rollback:<bet id>``
    (app/providers/hypetech.py, ``rollback_ids``); one with a distinct link by its own id."""
    if kind == "rollback" and not (linked and linked != external_id):
        return external_id, "rollback:" + external_id, external_id
    return external_id, None, external_id


_UPSIDE_STEP = {"bet": "bet", "win": "payout", "rollback": "refund"}
_UPSIDE_KEY = re.compile(r"(bet|payout|refund):(.+)")


def _upside_key(external_id: str, kind: str, linked: str | None) -> tuple[str, str | None, str]:
    """Upside moves money per session step: ``bet:<sessionId>``, ``payout:<sessionId>``,
    ``refund:<sessionId>``; a report may give the key itself or the session id."""
    keyed = _UPSIDE_KEY.fullmatch(external_id)
    if keyed:
        return external_id, None, keyed.group(2)
    return f"{_UPSIDE_STEP[kind]}:{external_id}", None, external_id


COMMON: dict[str, tuple[str, ...]] = {
    "id": ("transaction_id", "id", "tx_id", "external_id"),
    "kind": ("kind", "action", "type"),
    "player": ("player_id", "user_id", "player"),
    "currency": ("currency",),
    "amount": ("amount",),
    "amount_atomic": (),
    "time": ("created_at", "time", "timestamp", "date"),
    "status": ("status",),
    "linked": ("reference_id",),
}

LAYOUTS: dict[str, Layout] = {
    "igpx": Layout(
        {
            "id": ("transaction_id",),
            "kind": ("action",),
            "player": ("user_id",),
            "linked": ("rollback_transaction_id",),
        },
        key=_own_id,
    ),
    "hypetech": Layout(
        {
            "id": ("provider_tx_id",),
            "kind": ("action",),
            "player": ("user_id",),
            "linked": ("linked_tx_id",),
        },
        key=_hypetech_key,
    ),
    "upside": Layout(
        {
            "id": ("sessionid", "session_id"),
            "kind": ("trigger",),
            "player": ("userid",),
            "amount": ("amountformatted",),
            "amount_atomic": ("amount", "amountatomic"),
            "time": ("createdat",),
        },
        default_currency="WIN",
        key=_upside_key,
    ),
}

KINDS = {
    **dict.fromkeys(("bet", "debit", "wager", "stake", "placebet"), "bet"),
    **dict.fromkeys(("win", "result", "credit", "payout", "processpayout"), "win"),
    **dict.fromkeys(
        ("rollback", "cancel", "refund", "void", "reversal", "transactionrollback"), "rollback"
    ),
}
STATUSES = {
    **dict.fromkeys(
        (
            "",
            "ok",
            "accepted",
            "applied",
            "success",
            "successful",
            "completed",
            "complete",
            "settled",
            "approved",
            "processed",
            "paid",
            "done",
        ),
        "accepted",
    ),
    **dict.fromkeys(
        ("cancelled", "canceled", "rolledback", "voided", "void", "refunded", "reversed"),
        "cancelled",
    ),
    **dict.fromkeys(
        ("declined", "rejected", "refused", "failed", "failure", "error", "insufficientfunds"),
        "declined",
    ),
}
_WORD = re.compile(r"[\s_\-]+")
_AMOUNT = re.compile(r"\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_ATOMIC = re.compile(r"\d{1,60}")
_MAX_AMOUNT = Decimal(10) ** 20  # NUMERIC(38, 18) holds 20 integer digits


@dataclass(frozen=True)
class ReportRow:
    line: int
    row: int
    key: str
    alt_key: str | None
    id: str
    kind: str
    player_id: str
    currency: str
    amount: Decimal | None
    status: str
    at: datetime
    search_id: str

    def values(self) -> tuple[Any, ...]:
        return (
            self.line, self.row, self.key, self.alt_key, self.id, self.kind, self.player_id,
            self.currency, self.amount, self.status, self.at, self.search_id,
        )  # fmt: skip


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
    provider: str,
    columns: Mapping[str, str],
    progress: Callable[[int], None] | None = None,
) -> Iterator[ReportRow]:
    """The rows of the report in ``handle`` (CSV or JSON lines, told apart by the first
    character), in file order."""
    lines = _decoded(handle, progress)
    first = next(lines, None)
    if first is None or not first[1].strip():
        raise ReportError("line 1: the report is empty; expected a header row or a JSON object")
    head = first[1].lstrip("\ufeff")
    rest = _chain((first[0], head), lines)
    reader = _json_rows(rest) if head.lstrip().startswith("{") else _csv_rows(rest)
    return _rows(reader, LAYOUTS[provider], columns)


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _decoded(
    handle: IO[bytes], progress: Callable[[int], None] | None
) -> Iterator[tuple[int, str]]:
    """(line number, text) per physical line; a line that is not UTF-8 stops the read."""
    pending = 0
    for number, raw in enumerate(handle, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReportError(
                f"line {number}: not UTF-8 text (byte {raw[exc.start]:#04x} at column "
                f"{exc.start + 1}); save the report as UTF-8"
            ) from None
        if "\x00" in text:
            raise ReportError(f"line {number}: contains a NUL character; this is not a text report")
        if progress is not None:
            pending += len(raw)
            if number % 8192 == 0:
                progress(pending)
                pending = 0
        yield number, text
    if progress is not None and pending:
        progress(pending)


# A record: (first line, {normalized header: raw value}) per report row.
Record = tuple[int, dict[str, Any]]


def _csv_rows(lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
    state = {"line": 1}

    def texts() -> Iterator[str]:
        for number, text in lines:
            state["line"] = number
            yield text

    reader = csv.reader(texts())
    try:
        header = [_normal(h) for h in next(reader)]
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise ReportError(f"line 1: column {duplicated[0]!r} appears twice in the header")
        width = len(header)
        start = state["line"] + 1
        for record in reader:
            if record:
                if len(record) != width:
                    raise ReportError(
                        f"line {start}: {len(record)} fields where the header has {width}"
                    )
                yield start, dict(zip(header, record, strict=True))
            start = state["line"] + 1
    except csv.Error as exc:
        raise ReportError(f"line {state['line']}: not valid CSV ({exc})") from None


def _json_rows(lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
    for number, text in lines:
        if not text.strip():
            continue
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise ReportError(f"line {number}: not a JSON object") from None
        if not isinstance(data, dict):
            raise ReportError(f"line {number}: not a JSON object")
        yield number, {_normal(k): v for k, v in data.items()}


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _normal(header: str) -> str:
    return _WORD.sub("_", str(header).strip().lower())


def _rows(
    records: Iterator[Record], layout: Layout, columns: Mapping[str, str]
) -> Iterator[ReportRow]:
    resolved: dict[str, str | None] | None = None
    key = layout.key or _own_id
    for number, (line, record) in enumerate(records, start=1):
        if resolved is None:
            resolved = _resolve(set(record), layout, columns)
        yield _row(line, number, record, resolved, layout, key)


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
    minor-unit column (Upside's ``amount`` is in atomic units), else ``amount``."""
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


def _row(
    line: int,
    number: int,
    record: dict[str, Any],
    fields: dict[str, str | None],
    layout: Layout,
    key: Callable[[str, str, str | None], tuple[str, str | None, str]],
) -> ReportRow:
    def value(field: str) -> Any:
        header = fields[field]
        if header is None:
            return None
        if header not in record:
            raise ReportError(f"line {line}: no {header!r} field")
        return record[header]

    external_id = _text(value("id"), line, "id")
    where = f"line {line} (row {number}, id {external_id!r})"
    kind = _choice(value("kind"), KINDS, where, "kind", "bet, win or rollback")
    player = _text(value("player"), line, "player id")
    currency = str(value("currency") or layout.default_currency or "").strip().upper()
    if currency not in CURRENCY_EXPONENTS:
        raise ReportError(f"{where}: unknown currency {currency!r}")
    amount = _amount(value("amount"), value("amount_atomic"), currency, kind, where)
    status = _choice(
        value("status") or "", STATUSES, where, "status", "accepted, cancelled or declined"
    )
    at = _time(value("time"), where)
    linked = value("linked")
    own, alt, search = key(external_id, kind, str(linked).strip() if linked else None)
    return ReportRow(
        line, number, own, alt, external_id, kind, player, currency, amount, status, at, search
    )


def _text(raw: Any, line: int, what: str) -> str:
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
        raise ReportError(f"line {line}: the {what} is missing or not text")
    text = str(raw).strip()
    if not text:
        raise ReportError(f"line {line}: the {what} is empty")
    return text


def _choice(raw: Any, table: Mapping[str, str], where: str, what: str, allowed: str) -> str:
    found = table.get(_WORD.sub("", str(raw).strip().lower())) if isinstance(raw, str) else None
    if found is None:
        raise ReportError(f"{where}: {what} {raw!r} is not one of {allowed}")
    return found


def _amount(raw: Any, atomic: Any, currency: str, kind: str, where: str) -> Decimal | None:
    """An exact non-negative number: ``"10"``, ``10.00``, ``"1e1"`` are all ten; a
    rollback may leave it empty (the wallet reverses the original's amount anyway)."""
    given = atomic if raw is None else raw
    if isinstance(given, str) and not given.strip() or given is None:
        if kind == "rollback":
            return None
        raise ReportError(f"{where}: the amount is empty")
    if raw is None:
        text = str(given).strip()
        if isinstance(given, bool) or not _ATOMIC.fullmatch(text):
            raise ReportError(f"{where}: amount {given!r} is not a whole number of minor units")
        return Decimal(text).scaleb(-CURRENCY_EXPONENTS[currency])
    if isinstance(given, bool | float) or not isinstance(given, str | int | Decimal):
        raise ReportError(f"{where}: amount {given!r} is not a number")
    text = str(given).strip()
    if not _AMOUNT.fullmatch(text):
        raise ReportError(f"{where}: amount {given!r} is not a number")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ReportError(f"{where}: amount {given!r} is not a number") from None
    if amount >= _MAX_AMOUNT or amount.normalize().as_tuple().exponent < -18:  # type: ignore[operator]
        raise ReportError(f"{where}: amount {given!r} is out of range (20 digits, 18 decimals)")
    return amount


def _time(raw: Any, where: str) -> datetime:
    """ISO 8601 (``Z`` or an offset; none is UTC) or seconds since the epoch (milliseconds
    when that large)."""
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    try:
        if text.isdigit():
            seconds = int(text) / (1000 if len(text) > 11 else 1)
            return datetime.fromtimestamp(seconds, UTC)
        at = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise ReportError(f"{where}: time {raw!r} is not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
