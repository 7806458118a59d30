"""Crypto-shredding: a message's content is destroyed by deleting its data key (and the ciphertext).

What was sealed under the message's key (subject, body, attachments) becomes unreadable the moment
the wrapped key is gone, in this database and in any copy of it once the master key that wrapped it
is retired; what was sealed under the master key instead (outbox records, one-time code payloads) is
deleted outright. Events and audit entries stay: they never hold content.

Each message is claimed by one conditional UPDATE (``content_destroyed_at IS NULL``): two passes
at once, or a retention pass beside an erasure, never destroy (or record) one message twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update

from messaging.db import db
from messaging.events import record_event
from messaging.models import Attachment, Delivery, Message, OutboxEntry

_CONTENT = ("data_key", "subject_ciphertext", "body_ciphertext", "content_destroyed_at", "content_destroyed_reason")


def replies_of(message: Message) -> list[Message]:
    """The client's replies to a message (their content is part of the secure thread)."""
    return list(db.session.scalars(select(Message).where(Message.reply_to_id == message.id).order_by(Message.id)))


def messages_with_replies(message: Message) -> list[Message]:
    """The message and the client's replies to it."""
    return [message, *replies_of(message)]


def destroy_message(message: Message, reason: str, at: datetime) -> bool:
    """Destroy this one message's content (not its replies'); False when it was already destroyed.

    The claim and the deletions join the caller's transaction; the caller commits.
    """
    db.session.flush()  # the caller's pending changes first: the claim below expires the content columns
    claimed = db.session.execute(
        update(Message).where(Message.id == message.id, Message.content_destroyed_at.is_(None))
        .values(data_key=None, subject_ciphertext=None, body_ciphertext=None, content_destroyed_at=at,
                content_destroyed_reason=reason)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.expire(message, list(_CONTENT))  # read back what the database holds, whoever destroyed it
    if not claimed:
        return False
    db.session.execute(update(Attachment).where(Attachment.message_id == message.id).values(ciphertext=b"")
                       .execution_options(synchronize_session=False))
    delivery_ids = select(Delivery.id).where(Delivery.message_id == message.id)
    db.session.execute(update(Delivery).where(Delivery.message_id == message.id).values(payload_ciphertext=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(OutboxEntry).where(or_(OutboxEntry.delivery_id.in_(delivery_ids),
                                                     OutboxEntry.message_public_id == message.public_id))
                       .execution_options(synchronize_session=False))
    record_event(message, "content_destroyed", reason=reason)
    return True


def destroy_content(message: Message, reason: str, at: datetime) -> int:
    """Destroy one message's content and its replies' (``reason``: retention or erasure); returns
    how many messages lost content. Idempotent: an already destroyed message is left as it is."""
    return sum(destroy_message(each, reason, at) for each in messages_with_replies(message))
