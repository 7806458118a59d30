"""Contacts: list, search by name, number or tag, create and edit, set or remove a PIN, unlock.

Declarative Flask-Admin plus a few exposed pages; every change goes through a function of
messaging/ (which validates and audits), and the view only commits and reports.
"""
from __future__ import annotations

import json
import re

from flask import flash, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.form import BaseForm
from flask_admin.model.template import EndpointLinkRowAction
from markupsafe import Markup
from sqlalchemy import String, cast
from wtforms import BooleanField, StringField

from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Contact
from messaging.people.contacts import contact_fields, create_contact, normalise_phone, set_contact_pin, update_contact
from messaging.security.lockout import contact_lock, unlock_contact
from messaging.security.pins import InvalidPin

from .base import SecureModelView, current_actor
from .core_calls import attach_errors, run_core
from .formatting import format_time
from .lookup import get_or_404
from .widgets import confirm_page, link


class TagsField(StringField):
    """Tags typed as comma-separated words; shown the same way when the contact holds a list."""

    def _value(self) -> str:
        if isinstance(self.data, list | tuple):
            return ", ".join(self.data)
        return self.data or ""


class ContactForm(BaseForm):
    first_name = StringField("First name")
    last_name = StringField("Last name")
    phone = StringField("Phone", description="Any common format, e.g. (415) 555-0123; stored as +14155550123.")
    email = StringField("E-mail")
    tags = TagsField("Tags", description="Comma-separated words, e.g. vip, new-patient.")
    sms_consent = BooleanField("SMS consent")
    marketing_consent = BooleanField("Marketing consent")


def contact_form_data(form: ContactForm) -> dict:
    return {"first_name": form.first_name.data or "", "last_name": form.last_name.data or "",
            "phone": form.phone.data or "", "email": form.email.data or "", "tags": form.tags.data or "",
            "sms_consent": bool(form.sms_consent.data), "marketing_consent": bool(form.marketing_consent.data)}


class TagFilter(BaseSQLAFilter):
    """Contacts holding one tag. Tags are a JSON list, so match the JSON-encoded word in its text form."""

    def validate(self, value) -> bool:
        return bool(str(value).strip())

    def apply(self, query, value, alias=None):
        needle = json.dumps(str(value).strip().lower())
        return query.filter(cast(self.get_column(alias), String).contains(needle, autoescape=True))

    def operation(self) -> str:
        return "is"


PHONE_LIKE = re.compile(r"^[+\d\s().-]{4,}$")


def search_term(search: str | None) -> str | None:
    """A typed phone number in any format searches by its stored E.164 form (or by its digits)."""
    if not search or not PHONE_LIKE.match(search.strip()):
        return search
    try:
        return normalise_phone(search.strip())
    except ValueError:
        return re.sub(r"[^\d+]", "", search)


class ContactView(SecureModelView):
    column_list = ("first_name", "last_name", "phone", "email", "tags", "sms_consent", "marketing_consent",
                   "opted_out_at", "has_pin", "pin_locked_until", "conversation")
    column_details_list = ("first_name", "last_name", "phone", "email", "tags", "sms_consent", "sms_consent_at",
                           "marketing_consent", "marketing_consent_at", "marketing_consent_source",
                           "opted_out_at", "has_pin", "pin_locked_until", "pin_failures", "form_data", "created_at",
                           "updated_at", "conversation")
    column_labels = {"first_name": "First name", "last_name": "Last name", "phone": "Phone",
                     "email": "E-mail", "sms_consent": "SMS consent", "marketing_consent": "Marketing consent",
                     "opted_out_at": "Opted out", "has_pin": "PIN", "sms_consent_at": "SMS consent changed",
                     "pin_locked_until": "PIN lock", "pin_failures": "Wrong PINs since last success",
                     "marketing_consent_at": "Marketing consent changed",
                     "marketing_consent_source": "Marketing consent source", "form_data": "Form data"}
    column_searchable_list = ("first_name", "last_name", "phone", "email")
    column_sortable_list = ("first_name", "last_name", "phone", "email", "opted_out_at")
    column_default_sort = [("last_name", False), ("first_name", False)]
    column_filters = (TagFilter(Contact.tags, "Tag"),)
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-key", ".pin_view", title="Set PIN")]
    details_template = "console/contact_details.html"
    form = ContactForm

    def _tags(view, context, model, name):
        return Markup(" ").join(
            link(view.get_url(".index_view", flt0_tag_is=tag), tag, "badge badge-info") for tag in model.tags or [])

    def _opted_out(view, context, model, name):
        if model.opted_out_at is None:
            return ""
        return Markup('<span class="badge badge-warning">opted out</span> {}').format(format_time(model.opted_out_at))

    def _pin(view, context, model, name):
        # Only whether a PIN exists; never the hash.
        return "set" if model.has_pin else "not set"

    def _conversation(view, context, model, name):
        return link(url_for("conversations.thread", contact_id=model.id), "Conversation")

    def _pin_lock(view, context, model, name):
        until = contact_lock(model)
        if until is None:
            return ""
        return Markup('<span class="badge badge-danger">locked</span> until {}').format(format_time(until))

    column_formatters = {"tags": _tags, "opted_out_at": _opted_out, "has_pin": _pin, "conversation": _conversation,
                         "pin_locked_until": _pin_lock}

    def get_empty_list_message(self) -> str:
        if request.args.get("search") or any(k.startswith("flt") for k in request.args):
            return "No contact matches this search or filter. Clear it to see everyone."
        return "No contacts yet. Use “Create” to add the first one, or create them through the API."

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        return super().get_list(page, sort_column, sort_desc, search_term(search), filters, execute=execute,
                                page_size=page_size)

    def validate_form(self, form) -> bool:
        if not super().validate_form(form):
            return False
        if not isinstance(form, ContactForm):
            return True
        try:
            # Validation only; create/update run it again inside the core's audited functions.
            contact_fields(contact_form_data(form))
        except ValidationFailed as exc:
            attach_errors(form, exc.fields)
            return False
        return True

    def create_model(self, form):
        with run_core(form=form, flash_error=False) as call:
            contact = create_contact(current_actor(), contact_form_data(form), source="console")
        return False if call.failed else contact

    def update_model(self, form, model) -> bool:
        with run_core(form=form, flash_error=False) as call:
            update_contact(current_actor(), model, contact_form_data(form), source="console")
        return not call.failed

    def render(self, template, **kwargs):
        # The details page shows a PIN lock and its Unlock button.
        return super().render(template, contact_lock=contact_lock, **kwargs)

    @expose("/pin/", methods=("GET", "POST"))
    def pin_view(self):
        contact = get_or_404(Contact, request.args.get("id"))
        error = None
        if request.method == "POST":
            pin = request.form.get("pin", "").strip()
            if not pin:
                error = "Enter a PIN of 4 to 8 digits."
            else:
                try:
                    set_contact_pin(current_actor(), contact, pin)
                except InvalidPin as exc:
                    error = str(exc)
                else:
                    db.session.commit()
                    flash(f"A PIN is now set for {contact.full_name}. It is not shown anywhere.", "success")
                    return redirect(self.get_url(".details_view", id=contact.id))
        body = self.render("console/contact_pin.html", contact=contact, error=error,
                           return_url=self.get_url(".details_view", id=contact.id))
        return body, 422 if error else 200

    @expose("/unlock/", methods=("POST",))
    def unlock_view(self):
        contact = get_or_404(Contact, request.args.get("id"))
        unlock_contact(current_actor(), contact)
        db.session.commit()
        flash(f"{contact.full_name} is unlocked: their links accept the PIN again.", "success")
        return redirect(self.get_url(".details_view", id=contact.id))

    @expose("/pin/clear/", methods=("GET", "POST"))
    def pin_clear_view(self):
        contact = get_or_404(Contact, request.args.get("id"))
        back = self.get_url(".details_view", id=contact.id)
        if request.method == "GET":
            return confirm_page(
                self, "Remove PIN", f"Remove the PIN of {contact.full_name}? PIN-protected messages will then "
                "send them a one-time code instead.", self.get_url(".pin_clear_view", id=contact.id),
                "Remove PIN", back)
        set_contact_pin(current_actor(), contact, None)
        db.session.commit()
        flash(f"The PIN of {contact.full_name} was removed.", "success")
        return redirect(back)


def register(admin: Admin) -> None:
    admin.add_view(ContactView(Contact, db, name="Contacts", endpoint="contacts", url="contacts"))
