"""Tables of the Upside game-actions service (migrations ``0002_upside``, ``0007``).

``upside_games`` holds each game type's active flag and maximum payout multiplier (its
WIN pool is the ledger system account ``pool:<game_type>``); ``upside_sessions`` one
bet and its settlement; ``upside_api_keys`` the game workers' credentials (secret
encrypted, passphrase hashed); ``upside_used_signatures`` and ``upside_rate_windows``
are the memory shared by every gunicorn worker for replay refusal and rate limits.
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
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, Money


class UpsideGame(Base):
    __tablename__ = "upside_games"
    __table_args__ = (CheckConstraint("max_multiplier >= 1", name="multiplier_at_least_one"),)

    game_type: Mapped[str] = mapped_column(String(48), primary_key=True)
    max_multiplier: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UpsideSession(Base):
    """One placed bet: ``bet_placed`` → ``settled``, or ``failed`` when the bet was declined."""

    __tablename__ = "upside_sessions"
    __table_args__ = (
        CheckConstraint("status IN ('bet_placed', 'settled', 'failed')", name="status_known"),
        CheckConstraint("bet_amount > 0 AND payout_amount >= 0", name="amounts_valid"),
        Index("ix_upside_sessions_player_status", "player_id", "status", "created_at"),
    )

    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    game_id: Mapped[str] = mapped_column(String(100))
    game_type: Mapped[str] = mapped_column(ForeignKey("upside_games.game_type"))
    player_id: Mapped[str] = mapped_column(ForeignKey("players.id"))
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    bet_amount: Mapped[Decimal] = mapped_column(Money)
    payout_amount: Mapped[Decimal | None] = mapped_column(Money)
    result: Mapped[str | None] = mapped_column(String(32))
    game_data: Mapped[Any | None] = mapped_column(JSONB)
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    client_nonce: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UpsideApiKey(Base):
    """A worker's credentials; ``rate_limit`` requests per ``rate_limit_window_s`` seconds."""

    __tablename__ = "upside_api_keys"
    __table_args__ = (
        CheckConstraint(
            "(rate_limit IS NULL) = (rate_limit_window_s IS NULL) AND rate_limit > 0 "
            "AND rate_limit_window_s IN (1, 60, 3600, 86400)",
            name="rate_limit_valid",
        ),
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    passphrase_hash: Mapped[str] = mapped_column(Text)
    games: Mapped[list[str]] = mapped_column(ARRAY(String(48)))
    allowed_networks: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'")
    )
    rate_limit: Mapped[int | None] = mapped_column(Integer)
    rate_limit_window_s: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UpsideUsedSignature(Base):
    """A signature accepted once; kept until its timestamp leaves the replay window."""

    __tablename__ = "upside_used_signatures"
    __table_args__ = (Index("ix_upside_used_signatures_expires_at", "expires_at"),)

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UpsideRateWindow(Base):
    """Requests counted per key and window of its rate limit (a second, minute, hour or day)."""

    __tablename__ = "upside_rate_windows"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


upside_games = cast(Table, UpsideGame.__table__)
upside_sessions = cast(Table, UpsideSession.__table__)
upside_api_keys = cast(Table, UpsideApiKey.__table__)
upside_used_signatures = cast(Table, UpsideUsedSignature.__table__)
upside_rate_windows = cast(Table, UpsideRateWindow.__table__)
