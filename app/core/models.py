"""Tables of the wallet (typed SQLAlchemy 2).

``players`` and ``accounts`` hold who owns money; ``journal_transactions`` and
``postings`` are the immutable double-entry ledger; ``provider_transactions``
records every provider (or cashier) request exactly once, with the answer it got.
The triggers that make the database itself enforce the books live in the first
migration (``migrations/versions/0001_initial.py``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(38, 18)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Player(Base):
    __tablename__ = "players"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # The end of the player's longest self-exclusion or time-out ('infinity': permanent);
    # bets and deposits are declined before it (app/core/exclusions.py).
    excluded_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Account(Base):
    """A player's wallet in one currency, or a named system account (house, cashier, pool).

    Only player accounts keep a cached ``balance``; system balances are summed
    from postings so that no house row is locked by every bet.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("(player_id IS NULL) <> (name IS NULL)", name="owner"),
        UniqueConstraint("player_id", "currency"),
        UniqueConstraint("name", "currency"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    player_id: Mapped[str | None] = mapped_column(ForeignKey("players.id"))
    name: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(8))
    balance: Mapped[Decimal] = mapped_column(Money, server_default=text("0"))
    # Whether the account has limits (player_limits): only then does a bet check them.
    limited: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProviderTransaction(Base):
    """One provider request, keyed by (provider, external_id), with the outcome it got.

    ``status`` is ``applied`` (money moved, or a zero amount recorded), ``declined``
    (with ``reason``), ``tombstone`` (a rollback whose original is unknown),
    ``cancelled`` (an original that arrived after its rollback) or ``noop`` (a
    rollback with nothing left to reverse).
    """

    __tablename__ = "provider_transactions"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index(
            "ix_provider_transactions_reference",
            "provider",
            "reference_id",
            postgresql_where=text("kind = 'rollback'"),
        ),
        Index(
            "uq_provider_transactions_one_reversal",
            "provider",
            "reference_id",
            unique=True,
            postgresql_where=text("kind = 'rollback' AND status = 'applied'"),
        ),
        Index("ix_provider_transactions_account_id", "account_id", "id"),
        Index(
            "ix_provider_transactions_protection_declines",
            "created_at",
            postgresql_where=text("reason IN ('limit_exceeded', 'player_excluded')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    player_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Money)
    reference_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(BigInteger)
    balance_before: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A bet or deposit declined by a limit: which one ('loss/day') and what it had left.
    limit_name: Mapped[str | None] = mapped_column(String(16))
    limit_remaining: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class JournalTransaction(Base):
    __tablename__ = "journal_transactions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    provider_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_transactions.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Posting(Base):
    """One leg of a journal transaction. ``account_id`` has no foreign key on purpose:

    every bet posts to its provider's house account, and a foreign key would make
    each insert share-lock that one row (multixact contention). Accounts are never
    deleted (a trigger forbids it), so the reference cannot dangle.
    """

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_postings_account_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("journal_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Money)


players = cast(Table, Player.__table__)
accounts = cast(Table, Account.__table__)
provider_transactions = cast(Table, ProviderTransaction.__table__)
journal_transactions = cast(Table, JournalTransaction.__table__)
postings = cast(Table, Posting.__table__)
