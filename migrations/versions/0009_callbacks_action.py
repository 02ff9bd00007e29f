"""The audit trail: each callback's action, and outcomes in the one lower-case vocabulary.

``action`` is what the adapter read from the request: ``bet``, ``result``, ``rollback``,
``getBalance``, an Upside trigger (``placeBet``, …); empty when the request was refused
before it was read (a bad signature). Upside's callbacks share one route, so without it a
refused replay of a ``placeBet`` could not be told from any other trigger's.

Outcomes are now stored as ``/metrics`` and the log lines write them (``app.web.outcomes``:
``invalid_signature``, not ``INVALID_SIGNATURE``). Rows stored before keep the words they
were stored with, and age out with ``CALLBACK_RETENTION_DAYS``: rewriting every row of the
trail would hold its lock for as long as the rewrite takes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("callbacks", sa.Column("action", sa.String(32)))


def downgrade() -> None:
    op.drop_column("callbacks", "action")
