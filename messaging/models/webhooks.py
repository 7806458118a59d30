"""Tables of signed event webhooks: the endpoints admins register, the events, and their deliveries.

An event is written once, in the transaction of what it reports; one ``WebhookDelivery`` per
subscribed endpoint is written beside it, and the webhook dispatcher claims, posts, retries and
logs each (``WebhookAttempt``) as the delivery engine does for messages.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging.db import db
from messaging.models.defaults import now

WEBHOOK_EVENT_TYPES = ("message.sent", "message.delivered", "message.failed", "message.viewed", "message.replied",
                       "contact.opted_out", "contact.opted_in", "broadcast.finished", "campaign.exited")
# ``queued``: waiting for its (next) attempt; ``delivering``: claimed; ``delivered``: a 2xx came back;
# ``failed``: attempts exhausted; ``cancelled``: its endpoint was deleted before it went.
WEBHOOK_DELIVERY_STATUSES = ("queued", "delivering", "delivered", "failed", "cancelled")


def new_event_id() -> str:
    """A public event id (``evt_`` and 24 hex digits): what receivers de-duplicate on."""
    return "evt_" + secrets.token_hex(12)


class WebhookEndpoint(db.Model):
    """An https URL that receives the chosen event types, signed with its own secret."""

    __tablename__ = "webhook_endpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON, default=list)
    # The signing secret sealed under the master keys (it must be read back to sign; shown once).
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[str] = mapped_column(String(254))
    # Deleted endpoints keep their delivery log; nothing new is queued for them.
    deleted_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(db.Model):
    """One event as it is posted: its public id, type, time and data (ids and states, never content)."""

    __tablename__ = "webhook_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_event_id)
    type: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class WebhookDelivery(db.Model):
    """One event for one endpoint: claimed with a lease, retried with backoff, at least once."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_event.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[WebhookEvent] = relationship()


class WebhookAttempt(db.Model):
    """One POST of a delivery: when, what came back (status code or error) and how long it took."""

    __tablename__ = "webhook_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=now)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None]
