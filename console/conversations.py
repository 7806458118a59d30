"""Conversations: every contact's thread of standard and secure messages and their secure replies.

The index lists contacts by their latest message; the thread decrypts through the core's
``read_thread``, which audits each reading. A composer under the thread posts to the compose page
with the contact fixed, so the same rules (secure toggle, SMS alert, live panel) apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import request
from flask_admin import Admin, expose
from sqlalchemy import case, func, or_

from messaging import clock
from messaging.client.conversations import read_thread
from messaging.db import db
from messaging.message_reading import decision_reason as stored_decision_reason
from messaging.models import Contact, Message
from messaging.security.lockout import contact_lock
from messaging.settings import get_settings

from .base import SecureView, current_actor, list_page
from .compose import ComposeInput, build_panel, build_request, compose_context
from .lookup import get_or_404

PER_PAGE = 25
STATUS_LABELS = {"queued": "Queued", "sent": "Sent", "delivered": "Delivered", "failed": "Failed",
                 "suppressed": "Suppressed", "scheduled": "Scheduled", "cancelled": "Cancelled",
                 "revoked": "Revoked", "received": "Received"}
STATUS_STYLES = {"delivered": "success", "sent": "info", "queued": "light", "scheduled": "info",
                 "failed": "danger", "suppressed": "warning", "cancelled": "secondary", "revoked": "secondary",
                 "received": "light"}


@dataclass(frozen=True)
class ConversationRow:
    contact: Contact
    last_at: datetime | None
    last_direction: str | None
    messages: int
    unread: int
    locked: int


def conversation_rows(search: str, page: int) -> tuple[list[ConversationRow], int]:
    """One page of contacts, latest conversation first, and the number of matching contacts."""
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
    page = list_page(page, total, PER_PAGE)
    query = query.order_by(case((stats.c.last_at.is_(None), 1), else_=0), stats.c.last_at.desc(),
                           Contact.last_name, Contact.first_name, Contact.id)
    rows = db.session.execute(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return [ConversationRow(contact=row[0], last_at=row[1], last_direction=row[2], messages=row[3] or 0,
                            unread=row[4] or 0,
                            # A contact's PIN lock holds on all its PIN messages at once.
                            locked=(row[5] or 0) or (1 if contact_lock(row[0], now) else 0)) for row in rows], total


def decision_reason(message: Message) -> str | None:
    """The stored decision in words, e.g. ``secure — set by template 'Lab results'``."""
    if message.direction != "out" or not message.decided_by:
        return None
    return stored_decision_reason(message)


def sender_label(message: Message) -> str:
    if message.direction == "in":
        return f"{message.contact.first_name or 'The client'} (reply)"
    if message.created_by is not None:
        return message.created_by.email
    return "API" if message.api_key_id else "Sealed"


class ConversationsView(SecureView):
    @expose("/")
    def index(self):
        search = request.args.get("q", "").strip()[:100]
        rows, total = conversation_rows(search, request.args.get("page", 1, type=int))
        pages = max(1, -(-total // PER_PAGE))
        page = list_page(request.args.get("page", 1, type=int), total, PER_PAGE)
        return self.render("console/conversation_index.html", rows=rows, total=total, page=page, pages=pages,
                           search=search)

    @expose("/<int:contact_id>")
    def thread(self, contact_id: int):
        contact = get_or_404(Contact, contact_id)
        actor = current_actor()
        items = read_thread(contact, actor, purpose="console conversation")
        db.session.commit()  # the audit entry of this reading
        settings = get_settings()
        form = ComposeInput.for_contact(contact)
        message_request, _ = build_request(form, settings.portal_enabled)
        panel = build_panel(form, message_request, actor.is_admin, settings.portal_enabled)
        return self.render("console/conversation_thread.html", contact=contact, items=items, now=clock.utcnow(),
                           decision_reason=decision_reason, sender_label=sender_label,
                           status_labels=STATUS_LABELS, status_styles=STATUS_STYLES,
                           **compose_context(form, panel, {}, fixed_contact=True))


def register(admin: Admin) -> None:
    admin.add_view(ConversationsView(name="Conversations", endpoint="conversations", url="conversations"))
