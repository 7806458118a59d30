"""The audit log (admins only, read-only): who did what to which record, newest first.

Filters by actor, action, object (type and id) and time range; the CSV export of what the filters
select is itself audited (``audit.export``). Nothing here creates, edits or deletes an entry: the
chain (messaging.audit_chain) would show it, and the view offers no way to.
"""
from __future__ import annotations

import json

from flask import abort, request
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    DateTimeGreaterFilter,
    DateTimeSmallerFilter,
    FilterEqual,
    FilterLike,
)
from markupsafe import Markup

from messaging.audit import audit
from messaging.db import db
from messaging.models import AuditEntry

from .base import ADMIN_CATEGORY, AdminModelView, current_actor
from .widgets import link

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_MAX_ROWS = 100_000


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _export(name):
    def format_cell(view, context, model, _name):
        value = getattr(model, name)
        if name == "detail":
            value = json.dumps(value or {}, ensure_ascii=False, sort_keys=True, default=str)
        return _cell(value)
    return format_cell


class AuditView(AdminModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    can_export = True
    export_types = ["csv"]
    export_max_rows = EXPORT_MAX_ROWS
    page_size = 50
    column_list = ("at", "actor", "action", "target_type", "target_id", "detail", "ip_hash")
    column_labels = {"id": "Entry", "at": "When", "target_type": "Record", "target_id": "Id",
                     "ip_hash": "Address hash", "mac": "MAC"}
    column_export_list = ("id", "at", "actor", "user_id", "api_key_id", "action", "target_type", "target_id",
                          "detail", "ip_hash", "mac")
    column_sortable_list = ("at", "actor", "action")
    column_default_sort = [("at", True), ("id", True)]
    column_filters = (FilterEqual(AuditEntry.actor, "Actor"), FilterLike(AuditEntry.actor, "Actor"),
                      FilterEqual(AuditEntry.action, "Action"), FilterLike(AuditEntry.action, "Action"),
                      FilterEqual(AuditEntry.target_type, "Record"), FilterEqual(AuditEntry.target_id, "Id"),
                      DateTimeGreaterFilter(AuditEntry.at, "When"), DateTimeSmallerFilter(AuditEntry.at, "When"),
                      DateTimeBetweenFilter(AuditEntry.at, "When"))

    def _detail(view, context, model, name):
        if not model.detail:
            return ""
        return Markup("<code>{}</code>").format(json.dumps(model.detail, ensure_ascii=False, default=str))

    def _action(view, context, model, name):
        return link(view.get_url(".index_view", flt0_action_equals=model.action), model.action)

    def _address(view, context, model, name):
        # The first characters tell entries from one address apart; the whole hash is in the export.
        return Markup('<code title="{}">{}</code>').format(model.ip_hash, model.ip_hash[:10]) if model.ip_hash else ""

    column_formatters = {"detail": _detail, "action": _action, "ip_hash": _address}
    column_formatters_export = {name: _export(name) for name in column_export_list}

    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        if export_type not in self.export_types:
            abort(404)
        selection = {key: value for key, value in request.args.items() if key.startswith(("flt", "sort", "search"))}
        # Committed before the rows are read: the export is on record even if the download is cut off.
        audit(current_actor(), "audit.export", "audit_entry", None, format=export_type, filters=selection)
        db.session.commit()
        return super().export(export_type)

    def get_export_name(self, export_type: str = "csv") -> str:
        return f"audit-log.{export_type}"

    def get_empty_list_message(self) -> str:
        if any(k.startswith("flt") for k in request.args):
            return "No audit entry matches this filter."
        return "The audit log is empty: sign-ins, changes and content openings will be listed here."


def register(admin: Admin) -> None:
    admin.add_view(AuditView(AuditEntry, db, name="Audit log", endpoint="audit", url="audit",
                             category=ADMIN_CATEGORY))
