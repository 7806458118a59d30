"""One thread per contact: outbound standard and secure messages and the client's replies."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.messages import message_content
from messaging.models import Contact, Message
from messaging.paging import Page, page_number
from messaging.security.lockout import active_lock, contact_lock


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


@dataclass(frozen=True)
class ConversationRow:
    """One contact in the conversations list: when they last heard from us or we from them, and flags."""

    contact: Contact
    last_at: datetime | None
    last_direction: str | None
    messages: int
    unread: int
    locked: int


def conversation_page(search: str, requested: int | None, per_page: int) -> Page:
    """One page of contacts matching every word of ``search``, latest conversation first."""
    now = clock.utcnow()
    stats = (db.select(Message.contact_id.label("contact_id"),
                       func.max(Message.created_at).label("last_at"),
                       func.count(Message.id).label("messages"),
                       func.count(Message.unread_flagged_at).label("unread"),
                       func.count(case((Message.locked_until > now, 1))).label("locked"))
             .group_by(Message.contact_id).subquery())
    last_direction = (db.select(Message.direction).where(Message.contact_id == Contact.id)
                      .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
                      .correlate(Contact).scalar_subquery())
    query = db.select(Contact, stats.c.last_at, last_direction, stats.c.messages, stats.c.unread,
                      stats.c.locked).outerjoin(stats, stats.c.contact_id == Contact.id)
    for term in search.split():
        pattern = f"%{term}%"
        query = query.where(or_(Contact.first_name.ilike(pattern), Contact.last_name.ilike(pattern),
                                Contact.email.ilike(pattern), Contact.phone.ilike(pattern)))
    total = db.session.execute(db.select(func.count()).select_from(query.subquery())).scalar_one()
    page = page_number(requested, total, per_page)
    query = query.order_by(case((stats.c.last_at.is_(None), 1), else_=0), stats.c.last_at.desc(),
                           Contact.last_name, Contact.first_name, Contact.id)
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    items = [ConversationRow(contact=row[0], last_at=row[1], last_direction=row[2], messages=row[3] or 0,
                             unread=row[4] or 0,
                             # A contact's PIN lock holds on all its PIN messages at once.
                             locked=(row[5] or 0) or (1 if contact_lock(row[0], now) else 0)) for row in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)
