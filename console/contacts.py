"""Contacts: list, search by name, number or tag, create and edit, set or remove a PIN, unlock; the consent
ledger (state, history, a staff grant or withdrawal, CSV exports); bulk add and remove of a tag.

Declarative Flask-Admin plus a few exposed pages; every change goes through a function of
messaging/ (which validates and audits), and the view only commits and reports.
"""
from __future__ import annotations

import csv
import io
import json
import re

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.form import BaseForm
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import EndpointLinkRowAction
from markupsafe import Markup
from sqlalchemy import String, cast, func, select
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from messaging.audience.segments import segments_of_contact
from messaging.audit import audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import CONSENT_CHANNELS, Contact
from messaging.people.consent import (
    MAX_NOTE_LENGTH,
    change_consent,
    check_consent_choice,
    consent_history,
    consent_states,
    opted_out_at,
    states_by_contact,
    summary_of,
)
from messaging.people.contacts import (
    add_tag,
    contact_fields,
    create_contact,
    normalise_phone,
    remove_tag,
    set_contact_pin,
    tag_choice,
    update_contact,
)
from messaging.security.lockout import contact_lock, unlock_contact
from messaging.security.pins import InvalidPin
from messaging.settings import get_settings

from .base import SecureModelView, current_actor
from .core_calls import attach_errors, run_core
from .formatting import format_time
from .lookup import get_or_404
from .widgets import confirm_page, link

CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail", "voice": "Voice"}
PURPOSE_LABELS = {"transactional": "Transactional", "marketing": "Marketing"}
LANGUAGE_LABELS = {"en": "English", "es": "Spanish"}
# A cell a spreadsheet would read as a formula (=, +, -, @; tab and CR start one too in some).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    language = SelectField("Language", choices=[SelectChoice(code, label) for code, label in LANGUAGE_LABELS.items()],
                           default="en",
                           description="The language of what the client reads.")
    timezone = StringField("Time zone", description="An IANA zone, e.g. America/New_York or Europe/Madrid. Left "
                                                    "empty, the phone number's zone is used when it has only one, "
                                                    "else the organisation's.")
    date_of_birth = StringField("Date of birth", description="As YYYY-MM-DD, e.g. 1984-03-14.")
    # Ticked for a new contact: transactional consent is the ledger's default (they gave their number).
    sms_consent = BooleanField("SMS consent", default=True,
                               description="Texts about the client's own matters (transactional). Unticked: only "
                                           "automatic replies are sent by SMS.")
    marketing_consent = BooleanField("Marketing consent", description="Marketing by SMS, e-mail and calls.")


def contact_form_data(form: ContactForm) -> dict:
    return {"first_name": form.first_name.data or "", "last_name": form.last_name.data or "",
            "phone": form.phone.data or "", "email": form.email.data or "", "tags": form.tags.data or "",
            "language": form.language.data or "en", "timezone": (form.timezone.data or "").strip(),
            "date_of_birth": str(form.date_of_birth.data or "").strip(),
            "sms_consent": bool(form.sms_consent.data), "marketing_consent": bool(form.marketing_consent.data)}


def spreadsheet_safe(value) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_download(filename: str, header: list[str], rows) -> Response:
    """A CSV attachment (UTF-8 with a BOM, so spreadsheets read accents), every cell formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv_time(value) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value else ""


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


def _page_summary(model: Contact) -> dict:
    """The contact's consent summary, read for the whole list page at once (``ContactView.get_list``)."""
    cache = g.setdefault("contact_consent", {})
    if model.id not in cache:
        cache.update({cid: summary_of(states) for cid, states in states_by_contact([model.id]).items()})
    return cache[model.id]


class ContactView(SecureModelView):
    column_list = ("first_name", "last_name", "phone", "email", "tags", "sms_consent", "marketing_consent",
                   "opted_out_at", "has_pin", "pin_locked_until", "conversation")
    column_details_list = ("first_name", "last_name", "phone", "email", "language", "timezone", "date_of_birth",
                           "tags", "sms_consent", "marketing_consent", "opted_out_at", "has_pin",
                           "pin_locked_until", "pin_failures", "created_at", "updated_at", "conversation")
    column_labels = {"first_name": "First name", "last_name": "Last name", "phone": "Phone",
                     "email": "E-mail", "sms_consent": "SMS consent", "marketing_consent": "Marketing consent",
                     "opted_out_at": "Opted out", "has_pin": "PIN", "language": "Language",
                     "timezone": "Time zone", "date_of_birth": "Date of birth",
                     "pin_locked_until": "PIN lock", "pin_failures": "Wrong PINs since last success",
                     "form_data": "Form data"}
    column_searchable_list = ("first_name", "last_name", "phone", "email")
    column_sortable_list = ("first_name", "last_name", "phone", "email")
    column_default_sort = [("last_name", False), ("first_name", False)]
    column_filters = (TagFilter(Contact.tags, "Tag"),)
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-key", ".pin_view", title="Set PIN")]
    list_template = "console/contact_list.html"
    details_template = "console/contact_details.html"
    form = ContactForm

    def _tags(view, context, model, name):
        return Markup(" ").join(
            link(view.get_url(".index_view", flt0_tag_is=tag), tag, "badge badge-info") for tag in model.tags or [])

    def _sms_consent(view, context, model, name):
        return "yes" if _page_summary(model)["sms_consent"] else Markup('<span class="badge badge-warning">no</span>')

    def _marketing_consent(view, context, model, name):
        channels = [CHANNEL_LABELS[c] for c, purposes in _page_summary(model)["consent"].items()
                    if purposes["marketing"]]
        return ", ".join(channels) if channels else "no"

    def _opted_out(view, context, model, name):
        at = _page_summary(model)["opted_out_at"]
        if at is None:
            return ""
        return Markup('<span class="badge badge-warning">opted out</span> {}').format(format_time(at))

    def _pin(view, context, model, name):
        # Only whether a PIN exists, who set it and when; never the hash.
        return pin_state(model)

    def _conversation(view, context, model, name):
        return link(url_for("conversations.thread", contact_id=model.id), "Conversation")

    def _pin_lock(view, context, model, name):
        until = contact_lock(model)
        if until is None:
            return ""
        return Markup('<span class="badge badge-danger">locked</span> until {}').format(format_time(until))

    def _language(view, context, model, name):
        return f"{LANGUAGE_LABELS.get(model.language, model.language)} ({model.language})"

    def _timezone(view, context, model, name):
        if model.timezone:
            return model.timezone
        return Markup('<span class="text-muted">not set: the organisation\'s zone ({}) is used</span>').format(
            get_settings().timezone)

    def _date_of_birth(view, context, model, name):
        return model.date_of_birth.isoformat() if model.date_of_birth else ""

    column_formatters = {"tags": _tags, "sms_consent": _sms_consent, "marketing_consent": _marketing_consent,
                         "opted_out_at": _opted_out, "has_pin": _pin, "conversation": _conversation,
                         "pin_locked_until": _pin_lock, "language": _language, "timezone": _timezone,
                         "date_of_birth": _date_of_birth}

    def get_empty_list_message(self) -> str:
        if request.args.get("search") or any(k.startswith("flt") for k in request.args):
            return "No contact matches this search or filter. Clear it to see everyone."
        return "No contacts yet. Use “Create” to add the first one, or create them through the API."

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search_term(search), filters, execute=execute,
                                       page_size=page_size)
        if execute:
            # The consent columns of the whole page from one ledger query, not three per row.
            g.contact_consent = {cid: summary_of(states)
                                 for cid, states in states_by_contact(c.id for c in rows).items()}
        return count, rows

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

    def on_form_prefill(self, form, id) -> None:
        # Consent is no column: the boxes show the ledger's current state.
        summary = _page_summary(self.get_one(id))
        form.sms_consent.data = summary["sms_consent"]
        form.marketing_consent.data = summary["marketing_consent"]

    def create_model(self, form):
        with run_core(form=form, flash_error=False) as call:
            contact = create_contact(current_actor(), contact_form_data(form), source="staff")
        return False if call.failed else contact

    def update_model(self, form, model) -> bool:
        data = contact_form_data(form)
        summary = _page_summary(model)
        for flag in ("sms_consent", "marketing_consent"):
            # A box left as the page showed it changes nothing (marketing on one channel stays so).
            if data[flag] == summary[flag]:
                del data[flag]
        with run_core(form=form, flash_error=False) as call:
            update_contact(current_actor(), model, data, source="staff")
        g.pop("contact_consent", None)
        return not call.failed

    def render(self, template, **kwargs):
        # The details page shows a PIN lock and its Unlock button, and the consent ledger.
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs.update(consent_rows=self._consent_rows(kwargs["model"]),
                          consent_history=consent_history(kwargs["model"]))
            kwargs.setdefault("consent_form", {"channel": "sms", "purpose": "transactional", "decision": "",
                                               "note": ""})
        return super().render(template, contact_lock=contact_lock, channel_labels=CHANNEL_LABELS,
                              purpose_labels=PURPOSE_LABELS, max_note_length=MAX_NOTE_LENGTH, **kwargs)

    @staticmethod
    def _consent_rows(contact: Contact) -> list[dict]:
        """One row per channel: both purposes' state and the ledger row each comes from (None: the default)."""
        states = consent_states(contact)
        return [{"channel": channel, "purposes": states[channel]} for channel in CONSENT_CHANNELS]

    # --- the consent ledger ---

    @expose("/consent/", methods=("POST",))
    def consent_view(self):
        contact = get_or_404(Contact, request.args.get("id"))
        values = {name: (request.form.get(name) or "").strip() for name in ("channel", "purpose", "decision", "note")}
        errors = {}
        try:
            check_consent_choice(values["channel"], values["purpose"])
        except ValidationFailed as exc:
            errors.update(exc.fields)
        if values["decision"] not in ("grant", "withdraw"):
            errors["decision"] = "choose Grant or Withdraw"
        if len(values["note"]) > MAX_NOTE_LENGTH:
            errors["note"] = f"must be at most {MAX_NOTE_LENGTH:,} characters, not {len(values['note']):,}"
        if not errors:
            with run_core(flash_error=False) as call:
                change_consent(current_actor(), contact, values["channel"], values["purpose"],
                               values["decision"] == "grant", "staff", values["note"])
            errors = call.fields if call.failed else {}
            if not call.failed:
                flash(f"{'Granted' if values['decision'] == 'grant' else 'Withdrew'} "
                      f"{PURPOSE_LABELS[values['purpose']].lower()} consent on {CHANNEL_LABELS[values['channel']]} "
                      f"for {contact.full_name}.", "success")
                return redirect(self.get_url(".details_view", id=contact.id) + "#consent")
        body = self.render("console/contact_consent.html", contact=contact, consent_form=values,
                           consent_errors=errors or {"decision": "the consent could not be recorded"},
                           return_url=self.get_url(".details_view", id=contact.id))
        return body, 422

    @expose("/consent.csv")
    def consent_csv_view(self):
        contact = get_or_404(Contact, request.args.get("id"))
        rows = []
        for channel, purposes in consent_states(contact).items():
            for purpose, state in purposes.items():
                entry = state.entry
                rows.append([channel, purpose, "granted" if state.granted else "withdrawn",
                             "no (default)" if entry is None else "yes", _csv_time(state.at),
                             entry.source if entry else "", entry.actor if entry else "", entry.note if entry else ""])
        audit(current_actor(), "contact.consent_export", "contact", contact.id, what="state")
        db.session.commit()
        return csv_download(f"contact-{contact.id}-consent.csv",
                            ["channel", "purpose", "state", "recorded", "since", "source", "actor", "note"], rows)

    @expose("/consent-history.csv")
    def consent_history_csv_view(self):
        contact = get_or_404(Contact, request.args.get("id"))
        rows = [[_csv_time(e.at), e.channel, e.purpose, "granted" if e.granted else "withdrawn", e.source, e.actor,
                 e.note] for e in consent_history(contact)]
        audit(current_actor(), "contact.consent_export", "contact", contact.id, what="history")
        db.session.commit()
        return csv_download(f"contact-{contact.id}-consent-history.csv",
                            ["at", "channel", "purpose", "state", "source", "actor", "note"], rows)

    # --- bulk tags (Flask-Admin actions on the selected rows of the filtered list) ---

    @action("add_tag", "Add tag")
    def action_add_tag(self, ids):
        return self._tag_page("add", ids)

    @action("remove_tag", "Remove tag")
    def action_remove_tag(self, ids):
        return self._tag_page("remove", ids)

    def _tag_page(self, op: str, ids: list, tag: str = "", error: str | None = None, confirm: bool = False,
                  status: int = 200):
        ids = sorted({int(i) for i in ids})
        count = db.session.scalar(select(func.count()).select_from(Contact).where(Contact.id.in_(ids))) if ids else 0
        if not count:
            flash("Select at least one contact in the list first.", "error")
            return redirect(self._list_url())
        body = self.render("console/contact_tags.html", op=op, ids=ids, count=count, tag=tag, error=error,
                           confirm=confirm, return_url=self._list_url())
        return body, status

    @staticmethod
    def _list_url() -> str:
        # Back to the list as it was filtered; only a console path (get_redirect_target refuses other sites).
        target = get_redirect_target()
        return target if target and target.startswith("/admin/contacts") else url_for("contacts.index_view")

    @expose("/tags/", methods=("POST",))
    def tags_view(self):
        op = request.form.get("op")
        if op not in ("add", "remove"):
            abort(400, "Choose to add or to remove a tag.")
        ids = request.form.getlist("rowid")
        typed = request.form.get("tag", "")
        try:
            tag = tag_choice(typed)
        except ValidationFailed as exc:
            return self._tag_page(op, ids, typed, error=exc.fields["tag"], status=422)
        if request.form.get("step") != "apply":
            return self._tag_page(op, ids, tag, confirm=True)
        with run_core() as call:
            result = (add_tag if op == "add" else remove_tag)(current_actor(), ids, tag)
        if call.failed:
            return self._tag_page(op, ids, tag, error=call.error.message, status=422)
        done = f"Tag “{result.tag}” {'added to' if op == 'add' else 'removed from'} {result.changed:,} contact" \
               f"{'s' if result.changed != 1 else ''}."
        if result.unchanged:
            done += f" {result.unchanged:,} {'already had it' if op == 'add' else 'did not have it'}."
        if result.full:
            done += f" {result.full:,} already hold the most tags allowed and were left as they were."
        flash(done, "success")
        return redirect(self._list_url())

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
        body = self.render("console/contact_pin.html", contact=contact, error=error, pin_state=pin_state(contact),
                           client_sets_pin=get_settings().client_sets_pin,
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
            then = ("send them a one-time code, after which they are asked to choose a PIN of their own"
                    if get_settings().client_sets_pin else "send them a one-time code instead")
            return confirm_page(
                self, "Remove PIN", f"Remove the PIN of {contact.full_name} ({pin_state(contact)})? "
                f"PIN-protected messages will then {then}.", self.get_url(".pin_clear_view", id=contact.id),
                "Remove PIN", back)
        set_contact_pin(current_actor(), contact, None)
        db.session.commit()
        flash(f"The PIN of {contact.full_name} was removed.", "success")
        return redirect(back)


def pin_state(contact: Contact) -> str:
    """E.g. "PIN set by the client on 3 Mar 2026, 09:30 UTC"; "PIN not set" without one. Never the PIN."""
    if not contact.has_pin:
        return "PIN not set"
    who = {"client": "the client", "staff": "staff"}.get(contact.pin_set_by or "")
    if who is None:
        return "PIN set"
    return f"PIN set by {who} on {format_time(contact.pin_set_at)}" if contact.pin_set_at else f"PIN set by {who}"


def register(admin: Admin) -> None:
    admin.add_view(ContactView(Contact, db, name="Contacts", endpoint="contacts", url="contacts"))
    if admin.app is not None:
        # For pages that show an opt-out badge (the conversations): consent is the ledger's, not a column.
        admin.app.add_template_global(opted_out_at, "contact_opted_out_at")
        admin.app.add_template_global(segments_of_contact, "segments_of_contact")
