"""How IGPX's transaction report reads, for ``wallet reconcile igpx`` (docs/finance.md)."""

from app.core.report_layout import Layout

LAYOUT = Layout(
    {
        "id": ("transaction_id",),
        "kind": ("action",),
        "player": ("user_id",),
        "linked": ("rollback_transaction_id",),
    },
    callback_id="transaction_id",
    callback_kind="action",
    callback_kinds={"bet": "bet", "result": "win", "rollback": "rollback"},
)
