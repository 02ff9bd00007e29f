"""Reading a provider's transaction report, a row at a time, refusing anything doubtful.

A report is CSV with a header row, or JSON lines (one object per line), in UTF-8. Each
provider names its columns its own way (:data:`LAYOUTS`, documented in
docs/finance.md); ``--columns field=header`` maps the rest. Every row becomes a
:data:`Row` with the wallet's own key for it. A row that cannot be read (not
UTF-8, a missing field, an amount that is not a number, an unknown kind or status, a
time that is not a time) raises :class:`ReportError` naming its line, and nothing is
compared: a finance team fixes the file rather than trusting half of it.
"""

from __future__ import annotations

import csv
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from app.core.money import CURRENCY_EXPONENTS
from app.errors import InvalidRequest

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


# A report row as copied into the comparison table: (line, row, key, alt_key, id, kind,
# player_id, currency, amount, status, time, search_id). The amount is decimal text: the
# report's own when it is plain, else the exact number it stands for.
Row = tuple[Any, ...]


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
) -> Iterator[Row]:
    """The rows of the report in ``handle`` (CSV or JSON lines, told apart by the first
    character), in file order."""
    lines = _Lines(handle, progress)
    head = next(iter(lines), "")
    if not head.strip():
        raise ReportError("line 1: the report is empty; expected a header row or a JSON object")
    layout = LAYOUTS[provider]
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
    convert = _Converter(layout)
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
    convert = _Converter(layout)
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
    return _WORD.sub("_", str(header).strip().lower())


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


_PLAIN_AMOUNT = re.compile(r"\d{1,20}(\.\d{0,18})?")


class _Converter:
    """Turns a row's raw fields (in :data:`FIELDS` order) into a :data:`Row`. Millions of
    rows go through it: the common case (plain decimal text, ISO time, a kind, status
    and currency seen before) takes a few dictionary look-ups; anything else goes the
    careful way and is refused with the line, the row and the id."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.key = layout.key or _own_id
        self.kinds: dict[Any, str] = {}
        self.statuses: dict[Any, str] = {}
        self.currencies: dict[Any, str] = {}

    def __call__(self, line: int, number: int, raw: tuple[Any, ...]) -> Row:
        ext, kind, player, currency, amount, atomic, at, status, linked = raw
        external_id = ext.strip() if type(ext) is str else ext
        if not external_id or type(external_id) is not str:
            external_id = _text(ext, line, "id")
        kind = (self.kinds.get(kind) if type(kind) is str else None) or self._choice(
            self.kinds, kind, KINDS, line, number, external_id, "kind", "bet, win or rollback"
        )
        if type(player) is not str or not (player := player.strip()):
            player = _text(raw[2], line, "player id")
        currency = (
            self.currencies.get(currency) if type(currency) is str else None
        ) or self._currency(currency, line, number, external_id)
        if type(amount) is not str or not _PLAIN_AMOUNT.fullmatch(amount):
            exact = _amount(amount, atomic, currency, kind, _where(line, number, external_id))
            amount = None if exact is None else f"{exact:f}"
        status = status or ""
        status = (self.statuses.get(status) if type(status) is str else None) or self._choice(
            self.statuses, status, STATUSES, line, number, external_id, "status",
            "accepted, cancelled or declined",
        )  # fmt: skip
        at = _time(at, line, number, external_id)
        own, alt, search = self.key(external_id, kind, str(linked).strip() if linked else None)
        return (
            line, number, own, alt, external_id, kind, player, currency, amount, status, at, search,
        )  # fmt: skip

    def _choice(
        self,
        cache: dict[Any, str],
        raw: Any,
        table: Mapping[str, str],
        line: int,
        number: int,
        external_id: str,
        what: str,
        allowed: str,
    ) -> str:
        found = table.get(_WORD.sub("", raw.strip().lower())) if isinstance(raw, str) else None
        if found is None:
            where = _where(line, number, external_id)
            raise ReportError(f"{where}: {what} {raw!r} is not one of {allowed}")
        if len(cache) < 1000:
            cache[raw] = found
        return found

    def _currency(self, raw: Any, line: int, number: int, external_id: str) -> str:
        given = raw if isinstance(raw, str) and raw.strip() else self.layout.default_currency
        currency = str(given or "").strip().upper()
        if currency not in CURRENCY_EXPONENTS:
            where = _where(line, number, external_id)
            raise ReportError(f"{where}: unknown currency {raw!r}")
        if len(self.currencies) < 1000 and isinstance(raw, str):
            self.currencies[raw] = currency
        return currency


def _where(line: int, number: int, external_id: str) -> str:
    return f"line {line} (row {number}, id {external_id!r})"


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


def _time(raw: Any, line: int, number: int, external_id: str) -> datetime:
    """ISO 8601 (``Z`` or an offset; none is UTC) or seconds since the epoch (milliseconds
    when that large)."""
    try:
        at = datetime.fromisoformat(raw)  # the common case, at C speed
    except (TypeError, ValueError):
        text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        try:
            if text.isdigit():
                seconds = int(text) / (1000 if len(text) > 11 else 1)
                return datetime.fromtimestamp(seconds, UTC)
            at = datetime.fromisoformat(text)
        except (ValueError, OverflowError, OSError):
            where = _where(line, number, external_id)
            raise ReportError(f"{where}: time {raw!r} is not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
