"""Conversations: every contact's thread of standard and secure messages and their secure replies.

The index lists contacts by their latest message; the thread decrypts through the core's
``read_thread``, which audits each reading. A composer under the thread posts to the compose page
with the contact fixed, so the same rules (secure toggle, SMS alert, live panel) apply.
"""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import Admin, expose

from messaging import clock
from messaging.client.conversations import conversation_page, read_thread
from messaging.client.sessions import end_contact_sessions, live_session_count
from messaging.client.staff_attention import mark_seen, unread_contact_ids
from messaging.db import db
from messaging.message_reading import decision_reason as stored_decision_reason
from messaging.models import Contact, Message
from messaging.settings import get_settings

from .base import SecureView, current_actor
from .compose import ComposeInput, build_panel, build_request, compose_context
from .lookup import get_or_404
from .messages import link_actions
from .secure_reply import answering_secure_reply, looks_protected, preset_secure
from .unread_badge import add_unread_badge

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
                           page=found.page, pages=found.pages, search=search,
                           waiting=unread_contact_ids(row.contact.id for row in found.items))

    @expose("/<int:contact_id>")
    def thread(self, contact_id: int):
        contact = get_or_404(Contact, contact_id)
        actor = current_actor()
        items = read_thread(contact, actor, purpose="console conversation")
        # What was waiting is marked "new" on this page once; opening the thread is staff seeing it.
        waiting = {item.message.id for item in items if item.message.staff_unread_at is not None}
        protected = {item.message.id for item in items if looks_protected(item.direction, item.mode, item.body)}
        mark_seen(contact)
        db.session.commit()  # the audit entry of this reading, and the conversation read
        settings = get_settings()
        form = preset_secure(ComposeInput.for_contact(contact), contact, asked=request.args.get("secure") == "1")
        message_request, _ = build_request(form, settings.portal_enabled)
        panel = build_panel(form, message_request, actor.is_admin, settings.portal_enabled)
        return self.render("console/conversation_thread.html", contact=contact, items=items, now=clock.utcnow(),
                           decision_reason=decision_reason, sender_label=sender_label,
                           status_labels=STATUS_LABELS, status_styles=STATUS_STYLES, waiting=waiting,
                           protected=protected, link_actions=link_actions,
                           secure_conversation=answering_secure_reply(contact), thread_url=request.path,
                           **compose_context(form, panel, {}, fixed_contact=True))

    @expose("/<int:contact_id>/end-sessions", methods=("POST",))
    def end_sessions(self, contact_id: int):
        """Sign the client out of the secure page everywhere (a lost phone, a shared computer)."""
        contact = get_or_404(Contact, contact_id)
        ended = end_contact_sessions(contact, "revoked", current_actor())
        db.session.commit()
        flash(f"{contact.full_name} is signed out of the secure page ({ended} session{'s' if ended != 1 else ''} "
              "ended): their next visit asks them to prove who they are again.", "success")
        back = request.form.get("next", "")
        return redirect(back if back.startswith(self.admin.url + "/") else url_for(".thread", contact_id=contact.id))


def register(admin: Admin) -> None:
    view = ConversationsView(name="Conversations", endpoint="conversations", url="conversations")
    admin.add_view(view)
    add_unread_badge(admin, view)
    if admin.app is not None:
        admin.app.add_template_global(live_session_count, "live_viewer_sessions")
