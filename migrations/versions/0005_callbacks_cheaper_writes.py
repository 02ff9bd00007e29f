"""The audit trail: cheaper to write, as cheap to read for what reads it.

Every callback inserts a row, so each index and each conversion is paid on every
request. Measured per row (COPY in batches of 10, PostgreSQL instructions): 94 k with
two B-tree indexes on ``received_at`` and ``jsonb`` headers, 65 k with one BRIN index
and ``json`` headers.

* ``received_at`` only grows with ``id`` (rows are appended as callbacks are answered),
  which is the case BRIN is for: ``wallet callbacks prune`` and ``--since`` read whole
  ranges of time, and a BRIN index costs a few bytes per 128 pages to keep.
* ``callbacks list --provider`` walks the primary key backwards and stops at the limit,
  so the (provider, received_at) B-tree is dropped.
* Headers are stored as ``json``: kept as sent and checked for syntax only, where
  ``jsonb`` parsed them into its binary form on every insert; nothing queries inside them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 22:15:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_callbacks_provider_received_at", table_name="callbacks")
    op.drop_index("ix_callbacks_received_at", table_name="callbacks")
    op.create_index(
        "ix_callbacks_received_at_brin", "callbacks", ["received_at"], postgresql_using="brin"
    )
    op.execute("ALTER TABLE callbacks ALTER COLUMN headers TYPE json USING headers::json")


def downgrade() -> None:
    op.execute("ALTER TABLE callbacks ALTER COLUMN headers TYPE jsonb USING headers::jsonb")
    op.drop_index("ix_callbacks_received_at_brin", table_name="callbacks")
    op.create_index("ix_callbacks_received_at", "callbacks", ["received_at"])
    op.create_index("ix_callbacks_provider_received_at", "callbacks", ["provider", "received_at"])
