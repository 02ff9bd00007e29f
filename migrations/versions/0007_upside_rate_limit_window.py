"""Upside API keys: a rate limit is a count per its own window, not always per minute.

``--rate-limit 30/h`` used to be stored as ``rate_limit_per_minute = 1`` (30 // 60,
raised to 1), which allowed 60 requests an hour. The count is now stored as given with
its window in seconds (1, 60, 3600 or 86400); existing limits were per minute.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("upside_api_keys", "rate_limit_per_minute", new_column_name="rate_limit")
    op.add_column("upside_api_keys", sa.Column("rate_limit_window_s", sa.Integer()))
    op.execute("UPDATE upside_api_keys SET rate_limit_window_s = 60 WHERE rate_limit IS NOT NULL")
    op.create_check_constraint(
        op.f("ck_upside_api_keys_rate_limit_valid"),
        "upside_api_keys",
        "(rate_limit IS NULL) = (rate_limit_window_s IS NULL) AND rate_limit > 0 "
        "AND rate_limit_window_s IN (1, 60, 3600, 86400)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_upside_api_keys_rate_limit_valid"), "upside_api_keys")
    op.execute(
        "UPDATE upside_api_keys SET rate_limit = greatest(1, rate_limit * 60 / rate_limit_window_s)"
        " WHERE rate_limit IS NOT NULL"
    )
    op.drop_column("upside_api_keys", "rate_limit_window_s")
    op.alter_column("upside_api_keys", "rate_limit", new_column_name="rate_limit_per_minute")
