"""Tables of outbound work: each delivery (the transactional outbox) and what the outbox transport recorded."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging.db import db
from messaging.models.defaults import now
from messaging.models.message import Message


class Delivery(db.Model):
    """A unit of outbound work (the transactional outbox). Content is rendered at send time."""

    __tablename__ = "delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="notice")
    channel: Mapped[str] = mapped_column(String(16))
    to_address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # When the last claim was made: pacing counts a transport's claims in a sliding window.
    claimed_at: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True,
                                                 default=lambda: secrets.token_hex(16))
    # Sealed (keyring().seal) text that exists only to be rendered at send time, e.g. a one-time code.
    payload_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    message: Mapped[Message] = relationship(back_populates="deliveries")

    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),
                      Index("ix_delivery_pace", "channel", "claimed_at"))


class OutboxEntry(db.Model):
    """What the outbox transport 'sent'. The payload is encrypted: a standard body is content too."""

    __tablename__ = "outbox_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    message_public_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (UniqueConstraint("idempotency_key"),)
