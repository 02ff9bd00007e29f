"""Install the money rules from app/core/sql/: rollbacks in SQL too, one posting primitive.

``wallet_rollback`` joins ``wallet_transfer``, every function posts through
``ledger_post``, and a tombstone cancels only an original of its own account.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:30:00
"""

from alembic import op

from app.core import sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.install(op.execute)


def downgrade() -> None:
    raise NotImplementedError("the money functions are replaced, not downgraded")
