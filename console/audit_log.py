"""The audit log (admins only, read-only): who did what to which record, newest first."""
from __future__ import annotations

import json

from flask import request
from flask_admin import Admin
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from markupsafe import Markup

from messaging.db import db
from messaging.models import AuditEntry

from .base import ADMIN_CATEGORY, AdminModelView
from .widgets import link


class AuditView(AdminModelView):
    can_create = False
    can_edit = False
    can_view_details = False
    page_size = 50
    column_list = ("at", "actor", "action", "target_type", "target_id", "detail")
    column_labels = {"at": "When", "target_type": "Record", "target_id": "Id"}
    column_sortable_list = ("at", "actor", "action")
    column_default_sort = [("at", True), ("id", True)]
    column_filters = (FilterEqual(AuditEntry.action, "Action"), FilterLike(AuditEntry.action, "Action"),
                      FilterLike(AuditEntry.actor, "Actor"))

    def _detail(view, context, model, name):
        if not model.detail:
            return ""
        return Markup("<code>{}</code>").format(json.dumps(model.detail, ensure_ascii=False, default=str))

    def _action(view, context, model, name):
        return link(view.get_url(".index_view", flt0_action_equals=model.action), model.action)

    column_formatters = {"detail": _detail, "action": _action}

    def get_empty_list_message(self) -> str:
        if any(k.startswith("flt") for k in request.args):
            return "No audit entry matches this filter."
        return "The audit log is empty: sign-ins, changes and content openings will be listed here."


def register(admin: Admin) -> None:
    admin.add_view(AuditView(AuditEntry, db, name="Audit log", endpoint="audit", url="audit",
                             category=ADMIN_CATEGORY))
