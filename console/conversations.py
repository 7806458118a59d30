"""Conversations: every contact's thread of standard and secure messages and their secure replies.

The index lists contacts by their latest message; the thread decrypts through the core's
``read_thread``, which audits each reading. A composer under the thread posts to the compose page
with the contact fixed, so the same rules (secure toggle, SMS alert, live panel) apply.
"""
from __future__ import annotations

from flask import request
from flask_admin import Admin, expose

from messaging import clock
from messaging.client.conversations import conversation_page, read_thread
from messaging.db import db
from messaging.message_reading import decision_reason as stored_decision_reason
from messaging.models import Contact, Message
from messaging.settings import get_settings

from .base import SecureView, current_actor
from .compose import ComposeInput, build_panel, build_request, compose_context
from .lookup import get_or_404

PER_PAGE = 25
STATUS_LABELS = {"queued": "Queued", "sent": "Sent", "delivered": "Delivered", "failed": "Failed",
                 "suppressed": "Suppressed", "scheduled": "Scheduled", "cancelled": "Cancelled",
                 "revoked": "Revoked", "received": "Received"}
STATUS_STYLES = {"delivered": "success", "sent": "info", "queued": "light", "scheduled": "info",
                 "failed": "danger", "suppressed": "warning", "cancelled": "secondary", "revoked": "secondary",
                 "received": "light"}


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
        found = conversation_page(search, request.args.get("page", 1, type=int), PER_PAGE)
        return self.render("console/conversation_index.html", rows=found.items, total=found.total,
                           page=found.page, pages=found.pages, search=search)

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
