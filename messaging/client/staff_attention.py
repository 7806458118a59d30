"""What waits for staff: conversations with a client's reply or a link request nobody has looked at.

A message carries ``staff_unread_at`` while it waits (set by the client's reply, an inbound text,
or "ask for a new link"); opening the contact's conversation in the console clears it. The count is
of contacts, not messages: three replies in one conversation are one conversation to answer.
"""
from __future__ import annotations

from sqlalchemy import func, update

from messaging.db import db
from messaging.models import Contact, Message


def unread_conversation_count() -> int:
    """Contacts with at least one message waiting for staff."""
    return db.session.execute(
        db.select(func.count(func.distinct(Message.contact_id))).where(Message.staff_unread_at.is_not(None))
    ).scalar_one()


def unread_contact_ids(contact_ids) -> set[int]:
    """Which of these contacts have something waiting for staff (for a list of conversations)."""
    ids = list(contact_ids)
    if not ids:
        return set()
    return set(db.session.execute(
        db.select(Message.contact_id).where(Message.contact_id.in_(ids), Message.staff_unread_at.is_not(None))
        .distinct()).scalars())


def mark_seen(contact: Contact) -> int:
    """Staff opened the conversation: nothing in it waits any more. Returns how many messages did. Commits nothing."""
    result = db.session.execute(
        update(Message).where(Message.contact_id == contact.id, Message.staff_unread_at.is_not(None))
        .values(staff_unread_at=None).execution_options(synchronize_session="fetch"))
    return result.rowcount
