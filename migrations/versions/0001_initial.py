"""Initial schema: players, accounts, the double-entry ledger and provider transactions.

The triggers make PostgreSQL itself keep the books: at commit every journal
transaction must sum to zero per currency, each posting must name an existing
account of its currency, and ledger rows can be neither updated nor deleted.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 19:45:15.136677
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE = ("postings", "journal_transactions", "provider_transactions")

CHECK_JOURNAL_BALANCED = """
CREATE FUNCTION check_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM accounts WHERE id = NEW.account_id AND currency = NEW.currency
    ) THEN
        RAISE EXCEPTION 'posting % names account % which does not exist in currency %',
            NEW.id, NEW.account_id, NEW.currency USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (
        SELECT 1 FROM postings WHERE journal_id = NEW.journal_id
        GROUP BY currency HAVING sum(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'journal transaction % does not balance', NEW.journal_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""

FORBID_CHANGE = """
CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable: post a correcting transaction instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.create_table(
        "players",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("blocked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_players")),
    )
    op.create_table(
        "provider_transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=38, scale=18), nullable=False),
        sa.Column("reference_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("balance_before", sa.Numeric(precision=38, scale=18), nullable=False),
        sa.Column("balance_after", sa.Numeric(precision=38, scale=18), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "amount >= 0", name=op.f("ck_provider_transactions_amount_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_transactions")),
        sa.UniqueConstraint(
            "provider", "external_id", name=op.f("uq_provider_transactions_provider_external_id")
        ),
    )
    op.create_index(
        "ix_provider_transactions_account_id",
        "provider_transactions",
        ["account_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_provider_transactions_reference",
        "provider_transactions",
        ["provider", "reference_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'rollback'"),
    )
    op.create_index(
        "uq_provider_transactions_one_reversal",
        "provider_transactions",
        ["provider", "reference_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'rollback' AND status = 'applied'"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("player_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column(
            "balance",
            sa.Numeric(precision=38, scale=18),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("(player_id IS NULL) <> (name IS NULL)", name=op.f("ck_accounts_owner")),
        sa.ForeignKeyConstraint(
            ["player_id"], ["players.id"], name=op.f("fk_accounts_player_id_players")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", "currency", name=op.f("uq_accounts_name_currency")),
        sa.UniqueConstraint("player_id", "currency", name=op.f("uq_accounts_player_id_currency")),
    )
    op.create_table(
        "journal_transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("provider_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["provider_transaction_id"],
            ["provider_transactions.id"],
            name=op.f("fk_journal_transactions_provider_transaction_id_provider_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_transactions")),
    )
    op.create_index(
        op.f("ix_journal_transactions_provider_transaction_id"),
        "journal_transactions",
        ["provider_transaction_id"],
        unique=False,
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("journal_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=38, scale=18), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_postings_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["journal_transactions.id"],
            name=op.f("fk_postings_journal_id_journal_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    op.create_index("ix_postings_account_id", "postings", ["account_id", "id"], unique=False)
    op.create_index(op.f("ix_postings_journal_id"), "postings", ["journal_id"], unique=False)
    op.execute(CHECK_JOURNAL_BALANCED)
    op.execute(
        "CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_journal_balanced()"
    )
    op.execute(FORBID_CHANGE)
    for table in IMMUTABLE:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
        )
    op.execute(
        "CREATE TRIGGER accounts_not_deleted BEFORE DELETE ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION forbid_change()"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION check_journal_balanced() CASCADE")
    op.execute("DROP FUNCTION forbid_change() CASCADE")
    op.drop_index(op.f("ix_postings_journal_id"), table_name="postings")
    op.drop_index("ix_postings_account_id", table_name="postings")
    op.drop_table("postings")
    op.drop_index(
        op.f("ix_journal_transactions_provider_transaction_id"), table_name="journal_transactions"
    )
    op.drop_table("journal_transactions")
    op.drop_table("accounts")
    op.drop_index(
        "uq_provider_transactions_one_reversal",
        table_name="provider_transactions",
        postgresql_where=sa.text("kind = 'rollback' AND status = 'applied'"),
    )
    op.drop_index(
        "ix_provider_transactions_reference",
        table_name="provider_transactions",
        postgresql_where=sa.text("kind = 'rollback'"),
    )
    op.drop_index("ix_provider_transactions_account_id", table_name="provider_transactions")
    op.drop_table("provider_transactions")
    op.drop_table("players")
