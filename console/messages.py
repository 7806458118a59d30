"""Messages: their metadata and events, never their content unless someone opens it (audited)."""
from __future__ import annotations

from flask import make_response, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from messaging.db import db
from messaging.message_reading import decision_reason, open_message_content
from messaging.models import CHANNELS, MESSAGE_STATUSES, MODES, Message
from messaging.security.lockout import active_lock

from .base import SecureModelView, current_actor
from .formatting import format_time
from .lookup import get_or_404
from .widgets import link


class MessageView(SecureModelView):
    can_create = False
    can_edit = False
    details_template = "console/message_details.html"
    column_list = ("created_at", "contact", "direction", "channel", "mode", "decided_by", "status", "viewed_at",
                   "locked_until", "unread_flagged_at")
    column_details_list = ("public_id", "contact", "direction", "channel", "mode", "decided_by", "require_pin",
                           "pin_method", "situation", "recommendation", "template", "warnings", "override_reason",
                           "status", "suppressed_reason", "created_by", "created_at", "send_at", "expires_at",
                           "viewed_at", "revoked_at", "pin_failures", "locked_until", "notices_sent",
                           "unread_flagged_at")
    column_labels = {"created_at": "Created", "decided_by": "Decision", "viewed_at": "Viewed",
                     "locked_until": "Locked", "unread_flagged_at": "Unread", "public_id": "Public id",
                     "require_pin": "PIN required", "pin_method": "PIN method", "created_by": "Sent by",
                     "send_at": "Send at", "expires_at": "Link expires", "revoked_at": "Revoked",
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


def register(admin: Admin) -> None:
    admin.add_view(MessageView(Message, db, name="Messages", endpoint="messages", url="messages"))
