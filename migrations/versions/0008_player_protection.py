"""Player protection: limits with their period totals and history, exclusions, settings.

The money functions check limits and exclusions under the player's row lock and keep
the period totals (``limit_usage``) as bets, wins, rollbacks and deposits apply, so
they are installed again. ``accounts.limited`` and ``players.excluded_until`` let them
tell from the rows they already lock and join whether there is anything to check. A
declined bet records which limit declined it and what was left
(``provider_transactions.limit_name``, ``limit_remaining``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from app.core import sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KIND = "kind IN ('loss', 'wager', 'deposit')"
PERIOD = "period IN ('day', 'week', 'month')"


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Numeric(38, 18), nullable=nullable)


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "wallet_settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_wallet_settings")),
    )
    op.execute("INSERT INTO wallet_settings (name, value) VALUES ('limits_timezone', 'UTC')")
    op.create_table(
        "player_limits",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        _money("amount"),
        _money("pending_amount", nullable=True),
        _time("pending_at", nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(KIND, name=op.f("ck_player_limits_kind_known")),
        sa.CheckConstraint(PERIOD, name=op.f("ck_player_limits_period_known")),
        sa.CheckConstraint(
            "amount >= 0 AND pending_amount >= 0",
            name=op.f("ck_player_limits_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "pending_amount IS NULL OR pending_at IS NOT NULL",
            name=op.f("ck_player_limits_pending_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_player_limits_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "kind", "period", name=op.f("pk_player_limits")),
    )
    op.create_table(
        "limit_usage",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        _time("period_start"),
        _money("amount"),
        sa.PrimaryKeyConstraint(
            "account_id", "kind", "period", "period_start", name=op.f("pk_limit_usage")
        ),
    )
    op.create_table(
        "limit_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        _money("old_amount", nullable=True),
        _money("new_amount", nullable=True),
        _time("requested_at"),
        _time("effective_at"),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(KIND, name=op.f("ck_limit_changes_kind_known")),
        sa.CheckConstraint(PERIOD, name=op.f("ck_limit_changes_period_known")),
        sa.CheckConstraint(
            "action IN ('set', 'decrease', 'increase', 'remove')",
            name=op.f("ck_limit_changes_action_known"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_limit_changes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_changes")),
    )
    op.create_index("ix_limit_changes_account_id", "limit_changes", ["account_id", "id"])
    op.execute(
        "CREATE TRIGGER limit_changes_immutable BEFORE UPDATE OR DELETE ON limit_changes "
        "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
    )
    op.create_table(
        "player_exclusions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("player_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _time("starts_at"),
        _time("ends_at", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        _time("reviewed_at", nullable=True),
        sa.Column("reviewed_by", sa.String(128), nullable=True),
        sa.CheckConstraint(
            "kind IN ('exclusion', 'timeout')", name=op.f("ck_player_exclusions_kind_known")
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at",
            name=op.f("ck_player_exclusions_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["players.id"], name=op.f("fk_player_exclusions_player_id_players")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_player_exclusions")),
    )
    op.create_index("ix_player_exclusions_player_id", "player_exclusions", ["player_id", "ends_at"])
    op.add_column(
        "accounts",
        sa.Column("limited", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("players", _time("excluded_until", nullable=True))
    op.add_column("provider_transactions", sa.Column("limit_name", sa.String(16), nullable=True))
    op.add_column("provider_transactions", _money("limit_remaining", nullable=True))
    op.create_index(
        "ix_provider_transactions_protection_declines",
        "provider_transactions",
        ["created_at"],
        postgresql_where=sa.text("reason IN ('limit_exceeded', 'player_excluded')"),
    )
    sql.install(op.execute)


def downgrade() -> None:
    raise NotImplementedError("the money functions are replaced, not downgraded")
