"""GDPR rights in the console (admins only): a contact's export as a JSON download, and erasure.

Both are reached from the contact's page (``console/_contact_privacy_actions.html``). Erasure asks
for a typed confirmation (the contact's id or ERASE) on a page of its own, then shows what it did.
The core does the work and the auditing (``contact.export``, ``contact.erase``); the views commit.
"""
from __future__ import annotations

import json

from flask import Response, abort, request, url_for
from flask_admin import Admin, expose

from messaging.db import db
from messaging.models import Contact
from messaging.privacy import erase_contact, export_contact

from .base import SecureView, current_actor
from .core_calls import run_core
from .lookup import get_or_404

CONFIRM_WORD = "ERASE"


def confirmed(contact: Contact, typed: str) -> bool:
    """The typed confirmation names this contact: its id, or the word ERASE."""
    return typed.strip() in (str(contact.id), CONFIRM_WORD)


class PrivacyView(SecureView):
    admin_only = True

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        abort(404, "Exports and erasures are reached from a contact's page.")

    @expose("/<int:contact_id>/export", methods=("POST",))
    def export(self, contact_id: int):
        contact = get_or_404(Contact, contact_id)
        document = export_contact(current_actor(), contact.id)
        db.session.commit()  # the export's audit entry
        body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact.id}-export.json"'
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/<int:contact_id>/erase", methods=("GET", "POST"))
    def erase(self, contact_id: int):
        contact = get_or_404(Contact, contact_id)
        back = url_for("contacts.details_view", id=contact.id)
        if request.method == "GET" or contact.erased_at is not None:
            return self.render("console/privacy_erase.html", contact=contact, back=back, error=None,
                               word=CONFIRM_WORD)
        if not confirmed(contact, request.form.get("confirm", "")):
            error = f"Type {contact.id} or {CONFIRM_WORD} to confirm. Nothing was erased."
            return self.render("console/privacy_erase.html", contact=contact, back=back, error=error,
                               word=CONFIRM_WORD), 422
        with run_core() as call:
            report = erase_contact(current_actor(), contact.id)
        if call.failed:
            return self.render("console/privacy_erase.html", contact=contact, back=back, error=call.error.message,
                               word=CONFIRM_WORD), 409
        return self.render("console/privacy_erased.html", report=report, back=back)


def register(admin: Admin) -> None:
    admin.add_view(PrivacyView(name="Privacy", endpoint="privacy", url="privacy"))
