"""The recommendation matrix page: everyone reads it; admins edit rows, add and delete situations."""
from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import Admin, expose
from flask_login import current_user

from messaging.models import RECOMMENDATIONS, Situation
from messaging.policy.situations import (
    RECOMMENDATION_LABELS,
    create_situation,
    delete_situation,
    list_matrix,
    update_situation,
    usage,
)

from .base import SecureView, current_actor
from .core_calls import run_core
from .lookup import get_or_404

FORM_FIELDS = ("key", "label", "recommendation", "rationale", "protected_data")


class MatrixView(SecureView):
    def _situation(self, key: str) -> Situation:
        return get_or_404(Situation, key=key)

    def _form(self, situation, values: dict, errors: dict, status: int = 200):
        return self.render("console/matrix_form.html", situation=situation, values=values, errors=errors,
                           recommendations=[(r, RECOMMENDATION_LABELS[r]) for r in RECOMMENDATIONS]), status

    def _submitted(self) -> dict:
        values = {key: request.form.get(key, "") for key in FORM_FIELDS if key != "protected_data"}
        values["protected_data"] = request.form.get("protected_data") == "yes"
        return values

    @expose("/")
    def index(self):
        return self.render("console/matrix_index.html", rows=list_matrix(), can_edit=current_user.is_admin)

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        self.require_admin()
        if request.method == "GET":
            return self._form(None, {"recommendation": "secure", "protected_data": True}, {})
        values = self._submitted()
        with run_core() as call:
            situation = create_situation(current_actor(), values)
        if call.failed:
            return self._form(None, values, call.fields, 422)
        flash(f"Situation '{situation.label}' added.", "success")
        return redirect(self.get_url(".index"))

    @expose("/<key>/edit", methods=("GET", "POST"))
    def edit(self, key):
        self.require_admin()
        situation = self._situation(key)
        if request.method == "GET":
            values = {field: getattr(situation, field) for field in FORM_FIELDS}
            return self._form(situation, values, {})
        values = self._submitted()
        values.pop("key")  # the key never changes
        with run_core() as call:
            changes = update_situation(current_actor(), situation, values)
        if call.failed:
            return self._form(situation, {**values, "key": situation.key}, call.fields, 422)
        flash(f"Situation '{situation.label}' saved." if changes else "Nothing changed.",
              "success" if changes else "info")
        return redirect(self.get_url(".index"))

    @expose("/<key>/delete", methods=("GET", "POST"))
    def delete(self, key):
        self.require_admin()
        situation = self._situation(key)
        if request.method == "GET":
            return self.render("console/matrix_delete.html", row=usage(situation))
        label = situation.label
        with run_core() as call:
            delete_situation(current_actor(), situation)
        if call.failed:
            return redirect(self.get_url(".index"))
        flash(f"Situation '{label}' deleted.", "success")
        return redirect(self.get_url(".index"))


def register(admin: Admin) -> None:
    admin.add_view(MatrixView(name="Recommendation matrix", endpoint="matrix", url="matrix"))
