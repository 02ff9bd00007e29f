"""The money rules as PostgreSQL functions (app/core/sql/*.sql): one statement a callback.

A bet, win, deposit, withdrawal or rollback costs one round trip (one statement in
autocommit) instead of five (``BEGIN``, lookup, lock, write, ``COMMIT``), and the
player's row lock is held only while PostgreSQL runs it, not while Python waits.
The function bodies live in app/core/sql/, installed from there (migration 0006
installs them again, for databases that had this revision's first version).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 22:00:00
"""

from alembic import op

from app.core import sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.install(op.execute)


def downgrade() -> None:
    for name in reversed(sql.FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {name} CASCADE")
