"""Crypto-shredding: a message's content is destroyed by deleting its data key (and the ciphertext).

What was sealed under the message's key (subject, body, attachments) becomes unreadable the moment
the wrapped key is gone, in this database and in any copy of it; what was sealed under the master
key instead (outbox records, one-time code payloads) is deleted outright. A secure message's
replies go with it. Events and audit entries stay: they never hold content.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update

from messaging.db import db
from messaging.events import record_event
from messaging.models import Attachment, Delivery, Message, OutboxEntry


def messages_with_replies(message: Message) -> list[Message]:
    """The message and the client's replies to it (their content is part of the thread)."""
    replies = db.session.scalars(select(Message).where(Message.reply_to_id == message.id)).all()
    return [message, *replies]


def destroy_content(message: Message, reason: str, at: datetime) -> int:
    """Destroy one message's content and its replies' (``reason``: retention or erasure); returns
    how many messages lost content. Idempotent: an already destroyed message is left as it is."""
    destroyed = 0
    for each in messages_with_replies(message):
        if each.content_destroyed_at is not None:
            continue
        each.data_key = None
        each.subject_ciphertext = None
        each.body_ciphertext = None
        each.content_destroyed_at = at
        each.content_destroyed_reason = reason
        db.session.execute(update(Attachment).where(Attachment.message_id == each.id).values(ciphertext=b""))
        delivery_ids = select(Delivery.id).where(Delivery.message_id == each.id)
        db.session.execute(update(Delivery).where(Delivery.message_id == each.id).values(payload_ciphertext=None))
        db.session.execute(delete(OutboxEntry).where(or_(OutboxEntry.delivery_id.in_(delivery_ids),
                                                         OutboxEntry.message_public_id == each.public_id)))
        record_event(each, "content_destroyed", reason=reason)
        destroyed += 1
    return destroyed
