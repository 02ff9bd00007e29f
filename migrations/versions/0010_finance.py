"""Finance: time indexes on the ledger and month-end balance snapshots.

* BRIN indexes on ``journal_transactions.created_at`` and
  ``provider_transactions.created_at``. Both columns only grow with the rows' ids
  (``now()`` of the transaction that appends them), the case BRIN is for: the as-of
  balances, the player-funds report, exports and reconciliation read ranges of time, and
  a BRIN index costs each insert almost nothing (a B-tree on a timestamp would be paid by
  every callback).
* ``balance_snapshots``, ``balance_snapshot_lines`` and ``balance_snapshot_totals``:
  every account's balance at a chosen moment (``wallet ledger snapshot``, run after each
  month end) and the player-funds totals then. The report as of ``T`` starts from the
  latest snapshot's totals and corrects them for the accounts that moved since, instead
  of summing the whole ledger (docs/finance.md has the measurements). Zero balances are
  not stored.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(38, 18)


def upgrade() -> None:
    op.create_index(
        "ix_journal_transactions_created_at_brin",
        "journal_transactions",
        ["created_at"],
        postgresql_using="brin",
    )
    op.create_index(
        "ix_provider_transactions_created_at_brin",
        "provider_transactions",
        ["created_at"],
        postgresql_using="brin",
    )
    op.create_table(
        "balance_snapshots",
        sa.Column("taken_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("accounts", sa.BigInteger, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "balance_snapshot_lines",
        sa.Column(
            "taken_at",
            sa.DateTime(timezone=True),
            sa.ForeignKey("balance_snapshots.taken_at", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("account_id", sa.BigInteger, primary_key=True),
        sa.Column("balance", MONEY, nullable=False),
    )
    op.create_table(
        "balance_snapshot_totals",
        sa.Column(
            "taken_at",
            sa.DateTime(timezone=True),
            sa.ForeignKey("balance_snapshots.taken_at", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("currency", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("positive", MONEY, nullable=False),
        sa.Column("negative", MONEY, nullable=False),
        sa.Column("in_credit", sa.BigInteger, nullable=False),
        sa.Column("in_debit", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("balance_snapshot_totals")
    op.drop_table("balance_snapshot_lines")
    op.drop_table("balance_snapshots")
    op.drop_index("ix_provider_transactions_created_at_brin", table_name="provider_transactions")
    op.drop_index("ix_journal_transactions_created_at_brin", table_name="journal_transactions")
