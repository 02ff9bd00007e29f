"""How Hypetech's transaction report reads, for ``wallet reconcile hypetech``
(docs/finance.md)."""

from app.core.report_layout import Layout
from app.providers.hypetech.adapter import OLD_ROLLBACK_PREFIX


def key(external_id: str, kind: str, linked: str | None) -> tuple[str, str | None, str]:
    """A rollback without its own ``linked_tx_id`` was keyed ``rollback:<bet id>``
    (:func:`app.providers.hypetech.adapter.rollback_ids`); one with a distinct link by its
    own id."""
    if kind == "rollback" and not (linked and linked != external_id):
        return external_id, OLD_ROLLBACK_PREFIX + external_id, external_id
    return external_id, None, external_id


LAYOUT = Layout(
    {
        "id": ("provider_tx_id",),
        "kind": ("action",),
        "player": ("user_id",),
        "linked": ("linked_tx_id",),
    },
    key=key,
    callback_id="provider_tx_id",
    callback_kind="action",
    callback_kinds={"bet": "bet", "win": "win"},
)
