"""What the console shows about messages and deliveries, and the one audited way to read content."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from messaging.audit import Actor, audit
from messaging.messages import message_content
from messaging.models import Delivery, Message
from messaging.paging import Page, fetch_page
from messaging.policy.decision import AUTOMATIC_REPLY, LEVEL_LABELS


def decision_reason(message: Message) -> str:
    """The stored decision as people read it, e.g. ``secure — set by template 'Lab results'``."""
    if not message.decided_by:
        return message.mode  # inbound messages carry no decision
    if message.decided_by == AUTOMATIC_REPLY:
        return f"{message.mode} — automatic reply to the client's text"
    where = LEVEL_LABELS.get(message.decided_by, message.decided_by)
    if message.decided_by == "template" and message.template is not None:
        where = f"{where} '{message.template.name}'"
    return f"{message.mode} — set by {where}"


def destroyed_notice(message: Message) -> str | None:
    """What stands where destroyed content was, e.g. ``Content destroyed by retention on 4 Mar 2030``; None
    while the content exists."""
    at = message.content_destroyed_at
    if at is None:
        return None
    return f"Content destroyed by {message.content_destroyed_reason or 'retention'} on {at.day} {at:%b %Y}"


def open_message_content(message: Message, actor: Actor) -> tuple[str | None, str | None]:
    """Decrypt one message's subject and body for a person, auditing the access.

    The audit entry is added to the session before decryption; the caller commits it. A message
    whose content was destroyed gives ``(None, None)`` without touching a key (``destroyed_notice``
    says why); the attempt is audited all the same.
    """
    audit(actor, "message.content_opened", "message", message.public_id, contact_id=message.contact_id)
    if message.content_destroyed_at is not None:
        return None, None
    return message_content(message)


def failed_deliveries(page: int = 1, per_page: int = 25) -> Page:
    """Deliveries that ran out of attempts (or failed for good), most recent first."""
    query = (select(Delivery).where(Delivery.status == "failed")
             .options(joinedload(Delivery.message).joinedload(Message.contact))
             .order_by(Delivery.next_attempt_at.desc(), Delivery.id.desc()))
    count = select(func.count(Delivery.id)).where(Delivery.status == "failed")
    return fetch_page(query, count, page, per_page)


def scheduled_messages(page: int = 1, per_page: int = 25) -> Page:
    """Messages waiting for their ``send_at``, soonest first."""
    query = (select(Message).where(Message.status == "scheduled")
             .options(joinedload(Message.contact), joinedload(Message.created_by))
             .order_by(Message.send_at, Message.id))
    count = select(func.count(Message.id)).where(Message.status == "scheduled")
    return fetch_page(query, count, page, per_page)
