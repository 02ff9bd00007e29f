"""Upside game-actions: games, sessions, API keys, used signatures, rate windows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "upside_games",
        sa.Column("game_type", sa.String(48), nullable=False),
        sa.Column("max_multiplier", sa.Numeric(20, 6), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "max_multiplier >= 1", name=op.f("ck_upside_games_multiplier_at_least_one")
        ),
        sa.PrimaryKeyConstraint("game_type", name=op.f("pk_upside_games")),
    )
    op.create_table(
        "upside_sessions",
        sa.Column("session_id", sa.String(100), nullable=False),
        sa.Column("game_id", sa.String(100), nullable=False),
        sa.Column("game_type", sa.String(48), nullable=False),
        sa.Column("player_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.String(32), nullable=True),
        sa.Column("bet_amount", sa.Numeric(38, 18), nullable=False),
        sa.Column("payout_amount", sa.Numeric(38, 18), nullable=True),
        sa.Column("result", sa.String(32), nullable=True),
        sa.Column("game_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("thumbnail_url", sa.Text(), nullable=True),
        sa.Column("client_nonce", sa.String(256), nullable=True),
        _created_at(),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('bet_placed', 'settled', 'failed')",
            name=op.f("ck_upside_sessions_status_known"),
        ),
        sa.CheckConstraint(
            "bet_amount > 0 AND payout_amount >= 0", name=op.f("ck_upside_sessions_amounts_valid")
        ),
        sa.ForeignKeyConstraint(
            ["game_type"],
            ["upside_games.game_type"],
            name=op.f("fk_upside_sessions_game_type_upside_games"),
        ),
        sa.ForeignKeyConstraint(
            ["player_id"], ["players.id"], name=op.f("fk_upside_sessions_player_id_players")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_upside_sessions")),
    )
    op.create_index(
        "ix_upside_sessions_player_status",
        "upside_sessions",
        ["player_id", "status", "created_at"],
    )
    op.create_table(
        "upside_api_keys",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("passphrase_hash", sa.Text(), nullable=False),
        sa.Column("games", postgresql.ARRAY(sa.String(48)), nullable=False),
        sa.Column(
            "allowed_networks",
            postgresql.ARRAY(sa.String(64)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_upside_api_keys")),
    )
    op.create_table(
        "upside_used_signatures",
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_upside_used_signatures")),
    )
    op.create_index(
        "ix_upside_used_signatures_expires_at", "upside_used_signatures", ["expires_at"]
    )
    op.create_table(
        "upside_rate_windows",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_upside_rate_windows")),
    )


def downgrade() -> None:
    op.drop_table("upside_rate_windows")
    op.drop_index("ix_upside_used_signatures_expires_at", table_name="upside_used_signatures")
    op.drop_table("upside_used_signatures")
    op.drop_table("upside_api_keys")
    op.drop_index("ix_upside_sessions_player_status", table_name="upside_sessions")
    op.drop_table("upside_sessions")
    op.drop_table("upside_games")
