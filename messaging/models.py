"""Tables of the core. Content columns hold ciphertext only (see messaging.security.crypto)."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging import clock
from messaging.db import db
from messaging.policy.content_check import DEFAULT_SENSITIVE_TERMS


def _now():
    """Column default: read the clock at insert time, so a test that moves ``messaging.clock`` moves it too."""
    return clock.utcnow()


MODES = ("secure", "standard")
LEVEL_MODES = ("inherit", "secure", "standard")
CHANNELS = ("sms", "email", "voice")
ROLES = ("admin", "staff")
RECOMMENDATIONS = ("secure", "standard", "standard_opt_in")

MESSAGE_STATUSES = ("queued", "sent", "delivered", "failed", "suppressed", "scheduled", "cancelled",
                    "revoked", "received")
DELIVERY_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "suppressed", "cancelled")
EVENT_KINDS = ("queued", "sent", "delivered", "failed", "link_opened", "pin_failed", "locked", "verified",
               "viewed", "replied", "revoked", "expired", "suppressed", "cancelled", "code_sent",
               "renotified", "content_opened")


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


class User(db.Model):
    """A console user. Flask-Login's protocol is spelled out here so the core needs no Flask-Login."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="staff")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_login_at: Mapped[datetime | None]
    # Part of every console session; raising it (logout, password or role change, deactivation)
    # ends every session of this user on the server, however old the cookie that carries it.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        return str(self.id)

    def __str__(self) -> str:
        return self.email


class Situation(db.Model):
    """One row of the recommendation matrix."""

    __tablename__ = "situation"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    recommendation: Mapped[str] = mapped_column(String(32), default="standard")
    rationale: Mapped[str] = mapped_column(Text, default="")
    protected_data: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.label


class Settings(db.Model):
    """The one row of organisation-wide settings (id is always 1)."""

    __tablename__ = "settings"
    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    org_name: Mapped[str] = mapped_column(String(200), default="Sealed demo clinic")
    brand_color: Mapped[str] = mapped_column(String(16), default="#1f5f8b")
    default_mode: Mapped[str] = mapped_column(String(16), default="secure")
    require_pin: Mapped[bool] = mapped_column(default=True)
    pin_method: Mapped[str] = mapped_column(String(32), default="contact_pin")
    link_ttl_hours: Mapped[int] = mapped_column(default=24 * 7)
    max_pin_attempts: Mapped[int] = mapped_column(default=5)
    lockout_minutes: Mapped[int] = mapped_column(default=15)
    portal_enabled: Mapped[bool] = mapped_column(default=True)
    replies_allowed: Mapped[bool] = mapped_column(default=True)
    enforce_recommendations: Mapped[str] = mapped_column(String(8), default="warn")
    renotify_hours: Mapped[str] = mapped_column(String(200), default="24, 72")
    quiet_hours: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    retention_days: Mapped[int] = mapped_column(default=0)
    session_idle_minutes: Mapped[int] = mapped_column(default=30)
    # Words the content check looks for in standard messages (comma or newline separated).
    sensitive_terms: Mapped[str] = mapped_column(Text, default=DEFAULT_SENSITIVE_TERMS)
    help_text: Mapped[str] = mapped_column(
        Text, default="Reply STOP to stop messages, START to receive them again.")


class Contact(db.Model):
    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    form_data: Mapped[dict] = mapped_column(JSON, default=dict)
    sms_consent: Mapped[bool] = mapped_column(default=False)
    sms_consent_at: Mapped[datetime | None]
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    marketing_consent_at: Mapped[datetime | None]
    marketing_consent_source: Mapped[str | None] = mapped_column(String(100))
    opted_out_at: Mapped[datetime | None]
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    # The PIN is one secret across all of the contact's links, so wrong guesses count here too.
    pin_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None]
    # Consecutive locks since the last successful verification: each lasts four times the one before.
    pin_lock_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)

    def __str__(self) -> str:
        return self.full_name


class Template(db.Model):
    __tablename__ = "template"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("situation.id"))
    mode: Mapped[str] = mapped_column(String(16), default="inherit")
    require_pin: Mapped[str] = mapped_column(String(16), default="inherit")
    notification_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    situation: Mapped[Situation | None] = relationship()

    def __str__(self) -> str:
        return self.name


class Message(db.Model):
    """One message, outbound or inbound. Subject and body are ciphertext under the message's data key."""

    __tablename__ = "message"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3), default="out")
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    require_pin: Mapped[bool] = mapped_column(default=False)
    pin_method: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    pin_decided_by: Mapped[str | None] = mapped_column(String(32))
    recommendation: Mapped[str | None] = mapped_column(String(32))
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text)
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("situation.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("template.id"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    suppressed_reason: Mapped[str | None] = mapped_column(String(200))
    data_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    subject_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    send_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)
    expires_at: Mapped[datetime | None]
    viewed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    token_version: Mapped[int] = mapped_column(default=1)
    pin_failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    pin_lock_count: Mapped[int] = mapped_column(default=0, server_default="0")
    notices_sent: Mapped[int] = mapped_column(default=0)
    unread_flagged_at: Mapped[datetime | None]
    # The provider's id of an inbound message (Twilio MessageSid): a webhook retried is stored once.
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    contact: Mapped[Contact] = relationship()
    template: Mapped[Template | None] = relationship()
    situation: Mapped[Situation | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    reply_to: Mapped[Message | None] = relationship(remote_side=[id])
    events: Mapped[list[MessageEvent]] = relationship(
        back_populates="message", order_by="MessageEvent.id", cascade="all, delete-orphan")
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="message", order_by="Delivery.id", cascade="all, delete-orphan")

    @property
    def is_secure(self) -> bool:
        return self.mode == "secure"

    def __str__(self) -> str:
        return f"{self.mode} {self.channel} message #{self.id}"


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
    next_attempt_at: Mapped[datetime] = mapped_column(default=_now)
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
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    message: Mapped[Message] = relationship(back_populates="deliveries")

    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),
                      Index("ix_delivery_pace", "channel", "claimed_at"))


class MessageEvent(db.Model):
    __tablename__ = "message_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=_now)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    message: Mapped[Message] = relationship(back_populates="events")


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ApiKey(db.Model):
    """An API key; only its SHA-256 is kept (keys are 256-bit random, so a slow hash buys nothing)."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class OneTimeCode(db.Model):
    """A 6-digit code sent over the other channel to open a PIN-protected message."""

    __tablename__ = "one_time_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Wrong answers claimed against this code (claimed before the check, so parallel guesses count).
    failures: Mapped[int] = mapped_column(default=0, server_default="0")


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
    created_at: Mapped[datetime] = mapped_column(default=_now)

    __table_args__ = (UniqueConstraint("idempotency_key"),)
