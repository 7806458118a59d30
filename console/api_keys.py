"""API keys (admins only): create one per calling system (the key is shown once), revoke."""
from __future__ import annotations

from flask import flash, make_response, redirect, request
from flask_admin import Admin, expose
from flask_admin.form import BaseForm, FormOpts
from markupsafe import Markup
from wtforms import SelectField, StringField

from messaging.db import db
from messaging.models import ROLES, ApiKey
from messaging.people.users import create_api_key, revoke_api_key

from .base import ADMIN_CATEGORY, AdminModelView, current_actor
from .core_calls import run_core
from .formatting import format_time
from .lookup import get_or_404
from .widgets import confirm_page, link


class ApiKeyForm(BaseForm):
    name = StringField("Name", description="What uses this key, e.g. the booking system.")
    role = SelectField("Role", choices=list(ROLES), default="staff")


class ApiKeyView(AdminModelView):
    can_edit = False
    can_view_details = False
    column_list = ("name", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    column_labels = {"prefix": "Starts with", "created_at": "Created", "last_used_at": "Last used",
                     "revoked_at": "Revoked"}
    column_sortable_list = ("name", "role", "created_at", "last_used_at", "revoked_at")
    column_default_sort = ("created_at", True)
    form = ApiKeyForm

    def _prefix(view, context, model, name):
        return Markup("<code>{}…</code>").format(model.prefix)

    def _revoked(view, context, model, name):
        if model.revoked_at is not None:
            return Markup('<span class="badge badge-secondary">revoked</span> {}').format(
                format_time(model.revoked_at))
        return link(view.get_url(".revoke_view", id=model.id), "Revoke…", "btn btn-sm btn-outline-danger")

    column_formatters = {"prefix": _prefix, "revoked_at": _revoked}

    def get_empty_list_message(self) -> str:
        return "No API keys yet. Create one for each system that calls the API."

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        # Not Flask-Admin's create: the plain key must be shown once, on this response, and never
        # pass through the session cookie or a redirect.
        form = self.create_form()
        if request.method == "POST" and form.validate():
            with run_core(form=form, flash_error=False) as call:
                key, plain = create_api_key(current_actor(), form.name.data or "", form.role.data)
            if not call.failed:
                response = make_response(self.render("console/api_key_created.html", key=key, plain=plain,
                                                     return_url=self.get_url(".index_view")))
                response.headers["Cache-Control"] = "no-store"
                return response
        status = 422 if request.method == "POST" else 200
        return self.render(self.create_template, form=form, form_opts=FormOpts(widget_args=self.form_widget_args),
                           return_url=self.get_url(".index_view")), status

    @expose("/revoke/", methods=("GET", "POST"))
    def revoke_view(self):
        key = get_or_404(ApiKey, request.args.get("id"))
        back = self.get_url(".index_view")
        if request.method == "GET":
            return confirm_page(self, "Revoke API key", f"Revoke the key “{key.name}” ({key.prefix}…)? "
                                "Systems using it are refused at once; this cannot be undone.",
                                self.get_url(".revoke_view", id=key.id), "Revoke", back)
        revoke_api_key(current_actor(), key)
        db.session.commit()
        flash(f"The key “{key.name}” is revoked.", "success")
        return redirect(back)


def register(admin: Admin) -> None:
    admin.add_view(ApiKeyView(ApiKey, db, name="API keys", endpoint="api_keys", url="api-keys",
                              category=ADMIN_CATEGORY))
