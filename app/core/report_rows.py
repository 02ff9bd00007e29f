"""One report row's fields checked and converted: kind, status, currency, amount, time.

:class:`Converter` turns the raw fields :mod:`app.core.report_files` picked from a CSV or
JSON line into a :data:`Row`, the wallet's key included (the provider's
:class:`~app.core.report_layout.Layout`). Anything doubtful raises :class:`ReportError`
naming the line, the row and the id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.money import CURRENCY_EXPONENTS
from app.core.report_layout import Layout
from app.errors import InvalidRequest


class ReportError(InvalidRequest):
    """The report cannot be read; the message names the line."""


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
WORD = re.compile(r"[\s_\-]+")
_AMOUNT = re.compile(r"\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_ATOMIC = re.compile(r"\d{1,60}")
_MAX_AMOUNT = Decimal(10) ** 20  # NUMERIC(38, 18) holds 20 integer digits


# A report row as copied into the comparison table: (line, row, key, alt_key, id, kind,
# player_id, currency, amount, status, time, search_id). The amount is decimal text: the
# report's own when it is plain, else the exact number it stands for.
Row = tuple[Any, ...]


_PLAIN_AMOUNT = re.compile(r"\d{1,20}(\.\d{0,18})?")


class Converter:
    """Turns a row's raw fields (in :data:`FIELDS` order) into a :data:`Row`. Millions of
    rows go through it: the common case (plain decimal text, ISO time, a kind, status
    and currency seen before) takes a few dictionary look-ups; anything else goes the
    careful way and is refused with the line, the row and the id."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.key = layout.key
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
        found = table.get(WORD.sub("", raw.strip().lower())) if isinstance(raw, str) else None
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
