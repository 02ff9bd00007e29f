"""A replay waits for the synchronous standby inside its own statement; generic plans.

``wallet_recorded`` (app/core/sql/) now writes the replication barrier itself when it
finds the stored outcome and a synchronous standby is configured, so a replayed callback
is one statement and one round trip, as a fresh one is, instead of a second statement
after it. ``wallet_transfer`` and ``wallet_rollback`` run with ``plan_cache_mode =
force_generic_plan``: their statements find rows by unique keys, and PL/pgSQL re-planned
some of them on every call. The money functions are installed again from their files.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:00:00
"""

from alembic import op

from app.core import sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.install(op.execute)


def downgrade() -> None:
    """The functions stay as installed: the previous ``wallet_recorded`` answered the same
    rows, and code of revision 0010 sends its own barrier after a replay."""
