"""One thread per contact: outbound standard and secure messages and the client's replies."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.messages import message_content
from messaging.models import Contact, Message
from messaging.security.lockout import active_lock


@dataclass(frozen=True)
class ThreadItem:
    """One message of a contact's thread as staff see it, content decrypted."""

    message: Message
    direction: str
    mode: str
    channel: str
    status: str
    created_at: datetime
    viewed_at: datetime | None
    locked_until: datetime | None
    subject: str | None
    body: str | None


def thread_messages(contact: Contact) -> list[Message]:
    """Every message to and from a contact, oldest first."""
    return list(db.session.execute(
        db.select(Message).filter_by(contact_id=contact.id).order_by(Message.created_at, Message.id)
    ).scalars())


def read_thread(contact: Contact, actor: Actor, purpose: str) -> list[ThreadItem]:
    """The thread with content decrypted; reading it is an audited action."""
    items = []
    for message in thread_messages(contact):
        subject, body = message_content(message)
        items.append(ThreadItem(message=message, direction=message.direction, mode=message.mode,
                                channel=message.channel, status=message.status,
                                created_at=message.created_at, viewed_at=message.viewed_at,
                                locked_until=active_lock(message), subject=subject, body=body))
    audit(actor, "thread.read", "contact", contact.id, purpose=purpose, messages=len(items))
    return items
