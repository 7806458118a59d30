"""The secure conversation as the verified client sees it: the organisation's secure messages and their replies.

Standard messages are left out on purpose: they went out in plain text over SMS or e-mail, and
the thread is the one place the client reads what was sealed. A withdrawn or expired message
keeps its place in the conversation (so a reply to it still makes sense) but never its content.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_

from messaging import clock
from messaging.attachments.listing import AttachmentInfo, attachments_for
from messaging.db import db
from messaging.messages import message_content
from messaging.models import Contact, Message

# Outbound messages the client never received: held back, not yet due, or called off before sending.
NOT_SENT = ("suppressed", "scheduled", "cancelled")
# A thread longer than this shows its latest items (and the one opened): pages stay small on a phone.
MAX_ITEMS = 30
# Characters of content per page, so a thread of long messages still stays well under 50 KB.
CONTENT_BUDGET = 30_000


@dataclass(frozen=True)
class ClientThreadItem:
    """One message of the client's secure thread; subject, body and files only when it may be shown."""

    message: Message
    direction: str  # "out": from the organisation; "in": the client's own reply
    sent_at: datetime
    withdrawn: bool
    expired: bool
    subject: str | None
    body: str | None
    attachments: list[AttachmentInfo] = field(default_factory=list)

    @property
    def shows_content(self) -> bool:
        return not self.withdrawn and not self.expired


def is_withdrawn(message: Message) -> bool:
    """Staff revoked it: the client sees only that it was withdrawn."""
    return message.revoked_at is not None or message.status == "revoked"


def is_expired(message: Message, now: datetime) -> bool:
    """Its link's time ran out (or it expired after its first view): no content any more."""
    return message.direction == "out" and message.expires_at is not None and message.expires_at <= now


def _sent_at(message: Message) -> datetime:
    # A scheduled message reached the client at its send time, not when staff wrote it.
    if message.send_at is not None and message.send_at > message.created_at:
        return message.send_at
    return message.created_at


def _rows(contact: Contact, now: datetime) -> list[Message]:
    rows = db.session.execute(
        db.select(Message).where(
            Message.contact_id == contact.id, Message.mode == "secure",
            or_(and_(Message.direction == "out", Message.status.not_in(NOT_SENT), Message.created_at <= now,
                     or_(Message.send_at.is_(None), Message.send_at <= now)),
                and_(Message.direction == "in", Message.channel == "web")))
    ).scalars().all()
    return sorted(rows, key=lambda m: (_sent_at(m), m.id))


def _item(message: Message, now: datetime, files: dict[int, list[AttachmentInfo]]) -> ClientThreadItem:
    withdrawn, expired = is_withdrawn(message), is_expired(message, now)
    shown = not withdrawn and not expired
    subject, body = message_content(message) if shown else (None, None)
    return ClientThreadItem(message=message, direction=message.direction, sent_at=_sent_at(message),
                            withdrawn=withdrawn, expired=expired, subject=subject, body=body,
                            attachments=files.get(message.id, []) if shown else [])


def _size(item: ClientThreadItem) -> int:
    return len(item.subject or "") + len(item.body or "") + 200 * len(item.attachments)


def client_thread(contact: Contact, now: datetime | None = None) -> list[ClientThreadItem]:
    """The contact's whole secure conversation, oldest first.

    Decrypts only what may be shown. Records nothing: the caller records the views it shows.
    """
    now = now or clock.utcnow()
    rows = _rows(contact, now)
    files = attachments_for(m.id for m in rows)
    return [_item(message, now, files) for message in rows]


def client_thread_page(contact: Contact, keep: Message | None = None, now: datetime | None = None,
                       limit: int = MAX_ITEMS, budget: int = CONTENT_BUDGET) -> tuple[list[ClientThreadItem], int]:
    """The latest part of the conversation that fits one phone page, and how many older items it leaves out.

    Newest first until ``limit`` items or ``budget`` characters of content; the newest item and
    ``keep`` (the message whose link was opened) are always in it. Oldest first, like the thread.
    """
    now = now or clock.utcnow()
    rows = _rows(contact, now)
    files = attachments_for(m.id for m in rows[-limit:] + ([keep] if keep is not None else []))
    chosen: list[ClientThreadItem] = []
    used = 0
    for message in reversed(rows):
        if len(chosen) >= limit:
            break
        item = _item(message, now, files)
        if chosen and used + _size(item) > budget:
            break
        chosen.append(item)
        used += _size(item)
    if keep is not None and keep in rows and all(item.message is not keep for item in chosen):
        chosen.append(_item(keep, now, files))
    chosen.reverse()
    return chosen, len(rows) - len(chosen)
