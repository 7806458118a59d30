"""Messages: their metadata and events, never their content unless someone opens it (audited)."""
from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from messaging import clock
from messaging.client.lifetime import reissue_message, reissue_problem
from messaging.db import db
from messaging.message_reading import decision_reason, open_message_content
from messaging.messages import revoke_message
from messaging.models import CHANNELS, MESSAGE_STATUSES, MODES, Message
from messaging.security.lockout import active_lock

from .base import SecureModelView, current_actor
from .core_calls import run_core
from .formatting import format_time
from .lookup import get_or_404
from .widgets import confirm_page, link


class MessageView(SecureModelView):
    can_create = False
    can_edit = False
    details_template = "console/message_details.html"
    column_list = ("created_at", "contact", "direction", "channel", "mode", "decided_by", "status", "viewed_at",
                   "locked_until", "unread_flagged_at")
    column_details_list = ("public_id", "contact", "direction", "channel", "mode", "decided_by", "require_pin",
                           "pin_method", "situation", "recommendation", "template", "warnings", "override_reason",
                           "status", "suppressed_reason", "created_by", "created_at", "send_at", "expires_at",
                           "viewed_at", "revoked_at", "expire_after_view", "link_requested_at", "pin_failures",
                           "locked_until", "notices_sent", "unread_flagged_at")
    column_labels = {"created_at": "Created", "decided_by": "Decision", "viewed_at": "Viewed",
                     "locked_until": "Locked", "unread_flagged_at": "Unread", "public_id": "Public id",
                     "require_pin": "PIN required", "pin_method": "PIN method", "created_by": "Sent by",
                     "send_at": "Send at", "expires_at": "Link expires", "revoked_at": "Revoked",
                     "expire_after_view": "Expires after first view",
                     "link_requested_at": "Client asked for a new link",
                     "pin_failures": "Wrong PINs", "notices_sent": "Notices sent",
                     "suppressed_reason": "Suppressed because", "override_reason": "Override reason",
                     "contact.first_name": "contact's first name", "contact.last_name": "last name"}
    column_sortable_list = ("created_at", "channel", "mode", "status", "viewed_at")
    column_default_sort = [("created_at", True), ("id", True)]
    column_searchable_list = ("contact.first_name", "contact.last_name")
    column_filters = (
        FilterEqual(Message.status, "Status", options=[(s, s) for s in MESSAGE_STATUSES]),
        FilterEqual(Message.mode, "Mode", options=[(m, m) for m in MODES]),
        FilterEqual(Message.channel, "Channel", options=[(c, c) for c in CHANNELS]),
        FilterEqual(Message.direction, "Direction", options=[("out", "out"), ("in", "in")]),
    )

    def _contact(view, context, model, name):
        return link(url_for("contacts.details_view", id=model.contact_id), model.contact.full_name)

    def _decision(view, context, model, name):
        return decision_reason(model)

    def _locked(view, context, model, name):
        until = active_lock(model)
        if until is None:
            return ""
        return Markup('<span class="badge badge-danger">locked until {}</span>').format(format_time(until))

    def _unread(view, context, model, name):
        if model.unread_flagged_at is None:
            return ""
        return Markup('<span class="badge badge-warning" title="flagged {}">unread</span>').format(
            format_time(model.unread_flagged_at))

    def _warnings(view, context, model, name):
        return Markup("<br>").join(w.get("message", w.get("code", "")) for w in model.warnings or [])

    column_formatters = {"contact": _contact, "decided_by": _decision, "locked_until": _locked,
                         "unread_flagged_at": _unread, "warnings": _warnings}

    def get_query(self):
        return super().get_query().options(joinedload(Message.contact), joinedload(Message.template))

    def get_empty_list_message(self) -> str:
        if request.args.get("search") or any(k.startswith("flt") for k in request.args):
            return "No message matches this search or filter."
        return "No messages yet. Messages appear here once someone sends one (Compose, the API or a template)."

    @expose("/content/", methods=("POST",))
    def content_view(self):
        """Opening one message's content is a deliberate, audited act: a POST, never a GET."""
        message = get_or_404(Message, request.args.get("id"))
        subject, body = open_message_content(message, current_actor())
        db.session.commit()
        response = make_response(self.render("console/message_content.html", message=message,
                                             subject=subject, body=body, reason=decision_reason(message),
                                             return_url=self.get_url(".details_view", id=message.id)))
        response.headers["Cache-Control"] = "no-store"
        return response

    def _back(self, message: Message) -> str:
        # Only a console path: the form names where it was posted from, never another site.
        target = request.values.get("next", "")
        if target.startswith(self.admin.url + "/") and not target.startswith("//"):
            return target
        return self.get_url(".details_view", id=message.id)

    @expose("/revoke/", methods=("GET", "POST"))
    def revoke_view(self):
        """Revoke asks first (a page that works without JavaScript); the POST kills the link at once."""
        message = get_or_404(Message, request.args.get("id"))
        back = self._back(message)
        if request.method == "GET":
            return confirm_page(
                self, "Revoke message", f"Revoke this message to {message.contact.full_name}? Its link stops "
                "working at once, even on a page the client has open, and anything not yet sent is cancelled. "
                "You can re-issue a fresh link later.", self.get_url(".revoke_view", id=message.id, next=back),
                "Revoke", back)
        with run_core() as call:
            revoke_message(message, current_actor())
        if not call.failed:
            flash(f"Revoked: the link of this message to {message.contact.full_name} no longer works.", "success")
        return redirect(back)

    @expose("/reissue/", methods=("POST",))
    def reissue_view(self):
        """A fresh link for the message; the old one stays dead. The new notice goes out with the next pass."""
        message = get_or_404(Message, request.args.get("id"))
        back = self._back(message)
        with run_core() as call:
            reissue_message(message, current_actor())
        if not call.failed:
            flash(f"A new link is on its way to {message.contact.full_name}; it works until "
                  f"{format_time(message.expires_at)}. The old link no longer works.", "success")
        return redirect(back)


def link_actions(message: Message, now=None) -> dict:
    """Which link buttons an outbound secure message offers: revoke a live link, re-issue a dead or requested one."""
    now = now or clock.utcnow()
    if message.direction != "out" or message.mode != "secure":
        return {}
    dead = message.revoked_at is not None or (message.expires_at is not None and message.expires_at <= now)
    live = not dead and message.status not in ("cancelled", "suppressed", "revoked")
    reissue = reissue_problem(message) is None and (dead or message.link_requested_at is not None)
    return {"revoke": live, "reissue": reissue, "dead": dead}


def register(admin: Admin) -> None:
    admin.add_view(MessageView(Message, db, name="Messages", endpoint="messages", url="messages"))
    if admin.app is not None:
        admin.app.add_template_global(link_actions, "message_link_actions")
