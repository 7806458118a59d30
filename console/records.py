"""Record views: contacts, messages (never their content), users, API keys and the audit log.

Each view is declarative Flask-Admin plus a few exposed pages; every change goes through a
function of messaging/ (which validates and audits), and the view only commits and reports.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterLike
from flask_admin.form import BaseForm, FormOpts
from flask_admin.model.template import EndpointLinkRowAction
from flask_admin.model.typefmt import BASE_FORMATTERS
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import String, cast
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, PasswordField, SelectField, StringField

from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.message_reading import decision_reason, open_message_content
from messaging.models import CHANNELS, MESSAGE_STATUSES, MODES, ROLES, ApiKey, AuditEntry, Contact, Message, User
from messaging.people.contacts import contact_fields, create_contact, normalise_phone, set_contact_pin, update_contact
from messaging.people.users import (
    MIN_PASSWORD_LENGTH,
    change_role,
    create_api_key,
    create_user,
    reset_password,
    revoke_api_key,
    set_user_active,
)
from messaging.security.lockout import active_lock, contact_lock, unlock_contact
from messaging.security.pins import InvalidPin

from .base import AdminModelView, SecureModelView, current_actor

ADMIN_CATEGORY = "Admin"


# --- small shared pieces (also used by console.deliveries and console.settings_views) ---

def format_time(value: datetime | None) -> str:
    """Times are naive UTC everywhere; say so."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


TYPE_FORMATTERS = {**BASE_FORMATTERS, datetime: lambda view, value, name: format_time(value)}


def post_button(url: str, label: str, css: str = "btn-outline-secondary", **hidden) -> Markup:
    """A one-button POST form carrying the CSRF token (the global CSRFProtect checks every POST)."""
    fields = Markup("").join(Markup('<input type="hidden" name="{}" value="{}">').format(k, v)
                             for k, v in hidden.items())
    return Markup(
        '<form method="post" action="{url}" class="d-inline">'
        '<input type="hidden" name="csrf_token" value="{token}">{fields}'
        '<button type="submit" class="btn btn-sm {css}">{label}</button></form>'
    ).format(url=url, token=generate_csrf(), fields=fields, css=css, label=label)


def link(url: str, label: str, css: str = "") -> Markup:
    return Markup('<a href="{}" class="{}">{}</a>').format(url, css, label)


def conversation_url(contact_id: int) -> str:
    # The conversations page belongs to another area; its URL is a fixed contract, so build the path.
    return f"{url_for('admin.index').rstrip('/')}/conversations/{contact_id}"


def confirm_page(view, title: str, question: str, action_url: str, button: str, cancel_url: str,
                 danger: bool = True):
    return view.render("console/records_confirm.html", title=title, question=question, action_url=action_url,
                       button=button, cancel_url=cancel_url, danger=danger)


def attach_errors(form, fields: dict[str, str]) -> None:
    """Put the core's per-field messages under the matching form fields."""
    for name, message in fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]


class RecordView(SecureModelView):
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    can_delete = False
    named_filter_urls = True


# --- Contacts ---

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


class ContactView(RecordView):
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
    details_template = "console/records_contact_details.html"
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
        return link(conversation_url(model.id), "Conversation")

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
        try:
            contact = create_contact(current_actor(), contact_form_data(form), source="console")
        except ValidationFailed as exc:
            db.session.rollback()
            attach_errors(form, exc.fields)
            return False
        db.session.commit()
        return contact

    def update_model(self, form, model) -> bool:
        try:
            update_contact(current_actor(), model, contact_form_data(form), source="console")
        except ValidationFailed as exc:
            db.session.rollback()
            attach_errors(form, exc.fields)
            return False
        db.session.commit()
        return True

    @expose("/pin/", methods=("GET", "POST"))
    def pin_view(self):
        contact = self.get_one(request.args.get("id", ""))
        if contact is None:
            abort(404)
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
        body = self.render("console/records_contact_pin.html", contact=contact, error=error,
                           return_url=self.get_url(".details_view", id=contact.id))
        return body, 422 if error else 200

    def render(self, template, **kwargs):
        # The details page shows a PIN lock and its Unlock button.
        return super().render(template, contact_lock=contact_lock, format_time=format_time, **kwargs)

    @expose("/unlock/", methods=("POST",))
    def unlock_view(self):
        contact = self.get_one(request.args.get("id", ""))
        if contact is None:
            abort(404)
        unlock_contact(current_actor(), contact)
        db.session.commit()
        flash(f"{contact.full_name} is unlocked: their links accept the PIN again.", "success")
        return redirect(self.get_url(".details_view", id=contact.id))

    @expose("/pin/clear/", methods=("GET", "POST"))
    def pin_clear_view(self):
        contact = self.get_one(request.args.get("id", ""))
        if contact is None:
            abort(404)
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


# --- Messages (metadata only) ---

class MessageView(RecordView):
    can_create = False
    can_edit = False
    details_template = "console/records_message_details.html"
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
        message = self.get_one(request.args.get("id", ""))
        if message is None:
            abort(404)
        subject, body = open_message_content(message, current_actor())
        db.session.commit()
        response = make_response(self.render("console/records_message_content.html", message=message,
                                             subject=subject, body=body, reason=decision_reason(message),
                                             return_url=self.get_url(".details_view", id=message.id)))
        response.headers["Cache-Control"] = "no-store"
        return response


# --- Users (admin) ---

class UserForm(BaseForm):
    email = StringField("E-mail")
    role = SelectField("Role", choices=list(ROLES), default="staff")
    password = PasswordField("Password", description=f"At least {MIN_PASSWORD_LENGTH} characters.")


class UserView(AdminModelView):
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    can_edit = False
    can_delete = False
    can_view_details = False
    named_filter_urls = True
    column_list = ("email", "role", "active", "created_at", "last_login_at", "state")
    column_labels = {"email": "E-mail", "created_at": "Created", "last_login_at": "Last sign-in", "state": ""}
    column_searchable_list = ("email",)
    column_sortable_list = ("email", "role", "active", "created_at", "last_login_at")
    column_default_sort = ("email", False)
    column_filters = (FilterEqual(User.role, "Role", options=[(r, r) for r in ROLES]),)
    form = UserForm

    def _state(view, context, model, name):
        own = model.id == current_actor().user_id
        css = "btn btn-sm btn-outline-secondary mr-1"
        actions = [link(view.get_url(".role_view", id=model.id), "Change role…", css),
                   link(url_for("account.index"), "Change password…", css) if own
                   else link(view.get_url(".password_reset_view", id=model.id), "Reset password…", css)]
        if model.active:
            actions.append(link(view.get_url(".deactivate_view", id=model.id), "Deactivate…",
                                "btn btn-sm btn-outline-danger"))
        else:
            actions.append(post_button(view.get_url(".reactivate_view", id=model.id), "Reactivate"))
        return Markup("").join(actions)

    column_formatters = {"state": _state}

    def create_model(self, form):
        try:
            user = create_user(current_actor(), form.email.data or "", form.role.data, form.password.data or "")
        except ValidationFailed as exc:
            db.session.rollback()
            attach_errors(form, exc.fields)
            flash(exc.message, "error")
            return False
        db.session.commit()
        return user

    @expose("/deactivate/", methods=("GET", "POST"))
    def deactivate_view(self):
        user = self.get_one(request.args.get("id", ""))
        if user is None:
            abort(404)
        back = self.get_url(".index_view")
        if request.method == "GET":
            return confirm_page(self, "Deactivate user", f"Deactivate {user.email}? They are signed out and "
                                "cannot sign in until an admin reactivates them.",
                                self.get_url(".deactivate_view", id=user.id), "Deactivate", back)
        try:
            set_user_active(current_actor(), user, False)
        except Conflict as exc:
            flash(exc.message, "error")
            return redirect(back)
        db.session.commit()
        flash(f"{user.email} is deactivated.", "success")
        return redirect(back)

    @expose("/reactivate/", methods=("POST",))
    def reactivate_view(self):
        user = self.get_one(request.args.get("id", ""))
        if user is None:
            abort(404)
        set_user_active(current_actor(), user, True)
        db.session.commit()
        flash(f"{user.email} can sign in again.", "success")
        return redirect(self.get_url(".index_view"))

    @expose("/role/", methods=("GET", "POST"))
    def role_view(self):
        user = self.get_one(request.args.get("id", ""))
        if user is None:
            abort(404)
        back = self.get_url(".index_view")
        if request.method == "GET":
            role = request.args.get("role", "")
            if role not in ROLES or role == user.role:
                role = next(r for r in ROLES if r != user.role)
            own = ""
            if user.id == current_actor().user_id:
                own = " You will be signed out, and have the new role when you sign in again."
            return self.render("console/records_confirm.html", title="Change role",
                               question=f"Change the role of {user.email} from {user.role} to {role}? They are "
                               f"signed out of every session and have the new role when they sign in again.{own}",
                               action_url=self.get_url(".role_view", id=user.id), button=f"Make {role}",
                               cancel_url=back, danger=False, hidden={"role": role})
        old = user.role
        try:
            change_role(current_actor(), user, request.form.get("role", ""))
        except (Conflict, ValidationFailed) as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(back)
        db.session.commit()
        if user.role == old:
            flash(f"{user.email} is {old} already.", "info")
        else:
            flash(f"{user.email} is now {user.role}; their sessions have ended.", "success")
        return redirect(back)

    @expose("/reset-password/", methods=("GET", "POST"))
    def password_reset_view(self):
        user = self.get_one(request.args.get("id", ""))
        if user is None:
            abort(404)
        back = self.get_url(".index_view")
        if user.id == current_actor().user_id:
            flash("Change your own password here: it asks for your current one.", "info")
            return redirect(url_for("account.index"))
        if request.method == "GET":
            return confirm_page(self, "Reset password", f"Give {user.email} a new password? Their current password "
                                "stops working and they are signed out of every session. The new password is shown "
                                "to you once, on the next page, to pass on to them.",
                                self.get_url(".password_reset_view", id=user.id), "Reset password", back)
        try:
            plain = reset_password(current_actor(), user)
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(back)
        db.session.commit()
        # Like a new API key: shown on this response only, never through the session or a redirect.
        response = make_response(self.render("console/records_password_reset.html", user=user, plain=plain,
                                             return_url=back))
        response.headers["Cache-Control"] = "no-store"
        return response


# --- API keys (admin) ---

class ApiKeyForm(BaseForm):
    name = StringField("Name", description="What uses this key, e.g. the booking system.")
    role = SelectField("Role", choices=list(ROLES), default="staff")


class ApiKeyView(AdminModelView):
    column_type_formatters = TYPE_FORMATTERS
    can_edit = False
    can_delete = False
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
            try:
                key, plain = create_api_key(current_actor(), form.name.data or "", form.role.data)
            except ValidationFailed as exc:
                db.session.rollback()
                attach_errors(form, exc.fields)
            else:
                db.session.commit()
                response = make_response(self.render("console/records_api_key_created.html", key=key, plain=plain,
                                                     return_url=self.get_url(".index_view")))
                response.headers["Cache-Control"] = "no-store"
                return response
        status = 422 if request.method == "POST" else 200
        return self.render(self.create_template, form=form, form_opts=FormOpts(widget_args=self.form_widget_args),
                           return_url=self.get_url(".index_view")), status

    @expose("/revoke/", methods=("GET", "POST"))
    def revoke_view(self):
        key = self.get_one(request.args.get("id", ""))
        if key is None:
            abort(404)
        back = self.get_url(".index_view")
        if request.method == "GET":
            return confirm_page(self, "Revoke API key", f"Revoke the key “{key.name}” ({key.prefix}…)? "
                                "Systems using it are refused at once; this cannot be undone.",
                                self.get_url(".revoke_view", id=key.id), "Revoke", back)
        revoke_api_key(current_actor(), key)
        db.session.commit()
        flash(f"The key “{key.name}” is revoked.", "success")
        return redirect(back)


# --- Audit log (admin, read-only) ---

class AuditView(AdminModelView):
    column_type_formatters = TYPE_FORMATTERS
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    named_filter_urls = True
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


def register(admin) -> None:
    admin.add_view(ContactView(Contact, db, name="Contacts", endpoint="contacts", url="contacts"))
    admin.add_view(MessageView(Message, db, name="Messages", endpoint="messages", url="messages"))
    admin.add_view(UserView(User, db, name="Users", endpoint="users", url="users", category=ADMIN_CATEGORY))
    admin.add_view(ApiKeyView(ApiKey, db, name="API keys", endpoint="api_keys", url="api-keys",
                              category=ADMIN_CATEGORY))
    admin.add_view(AuditView(AuditEntry, db, name="Audit log", endpoint="audit", url="audit",
                             category=ADMIN_CATEGORY))
