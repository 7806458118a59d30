"""Tables of messages: the message itself (content as ciphertext), what happened to it, its one-time codes."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging.db import db
from messaging.models.defaults import new_public_id, now
from messaging.models.organisation import Situation, Template
from messaging.models.people import Contact, User

if TYPE_CHECKING:  # delivery.py imports Message; the relationship below names Delivery by string
    from messaging.models.delivery import Delivery


class Message(db.Model):
    """One message, outbound or inbound. Subject and body are ciphertext under the message's data key."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("broadcast_id", "contact_id", name="uq_message_broadcast_contact"),
                      UniqueConstraint("campaign_step_id", "contact_id", name="uq_message_campaign_step_contact"),
                      # The frequency cap counts a contact's recent bulk messages.
                      Index("ix_message_contact_created", "contact_id", "created_at"))
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
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    suppressed_reason: Mapped[str | None] = mapped_column(String(200))
    data_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    subject_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    send_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
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
    # A broadcast's or a campaign step's message: at most one per contact (NULLs never collide).
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id"))
    campaign_step_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_step.id"))
    # The link dies at the first view (expires_at is moved to that moment).
    expire_after_view: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Set when something needs staff's attention: a client's reply, or a client asking for a new
    # link; cleared when staff open the conversation. The console's unread count reads it.
    staff_unread_at: Mapped[datetime | None] = mapped_column(index=True)
    # The last time the client asked for a new link from an expired, revoked or locked page.
    link_requested_at: Mapped[datetime | None]
    # Content (body, subject, attachments, the replies' content) destroyed by deleting the data key:
    # when, and why (``retention`` or ``erasure``). Events and audit entries stay.
    content_destroyed_at: Mapped[datetime | None]
    content_destroyed_reason: Mapped[str | None] = mapped_column(String(16))

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


class MessageEvent(db.Model):
    """Something that happened to a message (queued, sent, link_opened, viewed, …), with when and from where."""

    __tablename__ = "message_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=now)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    message: Mapped[Message] = relationship(back_populates="events")


class OneTimeCode(db.Model):
    """A 6-digit code sent over the other channel to open a PIN-protected message."""

    __tablename__ = "one_time_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Wrong answers claimed against this code (claimed before the check, so parallel guesses count).
    failures: Mapped[int] = mapped_column(default=0, server_default="0")


class Attachment(db.Model):
    """A file attached to a secure message (by staff) or to a client's reply, sealed with the message's key."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    # Detected from the content, never from the name or the declared type.
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(8), default="staff")  # staff or client
    created_at: Mapped[datetime] = mapped_column(default=now)

    message: Mapped[Message] = relationship()


class ViewerSession(db.Model):
    """A verified client's session on the viewer: one cookie, bound to one contact, idle-limited.

    Only a hash of the cookie's value is stored. Ended by "Sign out", by staff, or by a PIN lock
    on the contact; otherwise it lapses ``viewer_session_minutes`` after ``last_seen_at``.
    """

    __tablename__ = "viewer_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))  # the link it was verified on
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))  # signed_out, revoked, locked
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    # Until when this session may choose the contact's PIN: set only by a one-time code just checked,
    # so a session opened with a date of birth (or an old one) cannot replace a PIN.
    pin_choice_until: Mapped[datetime | None]

    contact: Mapped[Contact] = relationship()
