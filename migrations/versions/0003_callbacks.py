"""The audit trail of inbound provider callbacks.

One row per callback: route, headers without credentials, the raw body, the answer,
latency, outcome and request id. Rows are written in their own short transaction,
separate from the money transaction, so a request that failed can still be read;
``wallet callbacks prune`` deletes rows past the retention period.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 21:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_note", sa.String(64), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("latency_ms", sa.Numeric(10, 2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index("ix_callbacks_received_at", "callbacks", ["received_at"])
    op.create_index("ix_callbacks_provider_received_at", "callbacks", ["provider", "received_at"])


def downgrade() -> None:
    op.drop_table("callbacks")
