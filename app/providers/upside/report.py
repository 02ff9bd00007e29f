"""How Upside's transaction report reads, for ``wallet reconcile upside``
(docs/finance.md)."""

import re

from app.core.report_layout import Layout

_STEP = {"bet": "bet", "win": "payout", "rollback": "refund"}
_KEY = re.compile(r"(bet|payout|refund):(.+)")


def key(external_id: str, kind: str, linked: str | None) -> tuple[str, str | None, str]:
    """Upside moves money per session step: ``bet:<sessionId>``, ``payout:<sessionId>``,
    ``refund:<sessionId>``; a report may give the key itself or the session id."""
    keyed = _KEY.fullmatch(external_id)
    if keyed:
        return external_id, None, keyed.group(2)
    return f"{_STEP[kind]}:{external_id}", None, external_id


LAYOUT = Layout(
    {
        "id": ("sessionid", "session_id"),
        "kind": ("trigger",),
        "player": ("userid",),
        "amount": ("amountformatted",),
        "amount_atomic": ("amount", "amountatomic"),
        "time": ("createdat",),
    },
    default_currency="WIN",
    key=key,
    callback_id="sessionId",
    callback_kind="trigger",
    callback_kinds={"placeBet": "bet", "processPayout": "win"},
)
