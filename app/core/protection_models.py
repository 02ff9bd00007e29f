"""Tables of player protection (migration ``0007_player_protection``).

``player_limits`` holds each limit in force on a player account (loss, wager or deposit
over a calendar day, week or month) with any pending increase or removal;
``limit_usage`` the period totals the money functions keep for those limits, so a bet
is checked without reading postings; ``limit_changes`` every change, who asked and
when it takes effect (append-only); ``player_exclusions`` self-exclusions and
time-outs; ``wallet_settings`` what the money functions read that is not a request's
(``limits_timezone``, stored by ``wallet db upgrade``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, Money

KINDS = ("loss", "wager", "deposit")
PERIODS = ("day", "week", "month")
_KIND_CHECK = "kind IN ('loss', 'wager', 'deposit')"
_PERIOD_CHECK = "period IN ('day', 'week', 'month')"


class WalletSetting(Base):
    __tablename__ = "wallet_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PlayerLimit(Base):
    """A limit in force; ``pending_amount`` from ``pending_at`` on (both set: an increase;
    only ``pending_at``: a removal)."""

    __tablename__ = "player_limits"
    __table_args__ = (
        CheckConstraint(_KIND_CHECK, name="kind_known"),
        CheckConstraint(_PERIOD_CHECK, name="period_known"),
        CheckConstraint("amount >= 0 AND pending_amount >= 0", name="amounts_not_negative"),
        CheckConstraint(
            "pending_amount IS NULL OR pending_at IS NOT NULL", name="pending_has_time"
        ),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    pending_amount: Mapped[Decimal | None] = mapped_column(Money)
    pending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LimitUsage(Base):
    """What a limited account used in one period: net loss, stakes or deposits. No
    foreign key: a key-share lock per bet on the account row would buy nothing."""

    __tablename__ = "limit_usage"

    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)


class LimitChange(Base):
    """One change of a limit as asked for; ``new_amount`` NULL is a removal."""

    __tablename__ = "limit_changes"
    __table_args__ = (
        CheckConstraint(_KIND_CHECK, name="kind_known"),
        CheckConstraint(_PERIOD_CHECK, name="period_known"),
        CheckConstraint("action IN ('set', 'decrease', 'increase', 'remove')", name="action_known"),
        Index("ix_limit_changes_account_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(16))
    old_amount: Mapped[Decimal | None] = mapped_column(Money)
    new_amount: Mapped[Decimal | None] = mapped_column(Money)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    effective_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class PlayerExclusion(Base):
    """A self-exclusion or a time-out; ``ends_at`` NULL is permanent."""

    __tablename__ = "player_exclusions"
    __table_args__ = (
        CheckConstraint("kind IN ('exclusion', 'timeout')", name="kind_known"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        Index("ix_player_exclusions_player_id", "player_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"))
    kind: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(128))


wallet_settings = cast(Table, WalletSetting.__table__)
player_limits = cast(Table, PlayerLimit.__table__)
limit_usage = cast(Table, LimitUsage.__table__)
limit_changes = cast(Table, LimitChange.__table__)
player_exclusions = cast(Table, PlayerExclusion.__table__)
