"""Compose: one-off messages from the console, with the secure toggle and a live decision panel.

The view is thin: it turns the posted form into a ``MessageRequest`` and calls the core's
``preview_message`` / ``send_message``. The live panel is one server-rendered fragment: the JSON
endpoint returns it for static/compose.js, and a plain "Preview" submit renders the same fragment
without JavaScript, so both paths show the client exactly the same thing.

The secure toggle has three states in the core (secure, standard, decide) but two on screen: until
the user touches it, it shows what the decision would be without a one-off choice and sends
``secure=None``; once touched, its state is the one-off choice.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_admin import Admin, expose

from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.messages import (
    MessageRequest,
    Preview,
    decide_for,
    preview_message,
    send_message,
)
from messaging.models import CHANNELS, Contact, Message, Situation, Template
from messaging.policy.decision import Decision
from messaging.settings import get_settings

from .attachments import attach_uploads
from .base import SecureView, current_actor
from .core_calls import run_core
from .formatting import format_time, parse_send_at
from .lookup import get_by_id
from .secure_reply import needs_standard_confirmation, preset_secure, wants_send

CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail", "voice": "Voice", "web": "Secure portal"}
RECOMMENDATION_LABELS = {
    "secure": "send secure",
    "standard": "standard is fine",
    "standard_opt_in": "standard, only to contacts who opted in to marketing",
}
PIN_METHOD_LABELS = {
    "contact_pin": "the client enters their PIN",
    "one_time_code": "the client gets a one-time code over their other channel",
}
# The core names fields after MessageRequest; the form after its inputs.
CORE_FIELDS = {"template": "template_id", "situation": "situation_id", "contact": "contact_id",
               "notification_text": "template_id"}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "on", "true", "yes")


@dataclass
class ComposeInput:
    """What the user typed, kept as text so a form with errors comes back exactly as it was."""

    contact_id: str = ""
    channel: str = "sms"
    template_id: str = ""
    situation_id: str = ""
    subject: str = ""
    body: str = ""
    send_at: str = ""
    secure: bool = False
    secure_touched: bool = False
    override_reason: str = ""
    confirm_standard: bool = False  # ask before answering a secure reply in plain text

    @classmethod
    def from_form(cls, form) -> ComposeInput:
        secure = _truthy(form.get("secure"))
        # Without JavaScript nobody sets secure_touched: a checkbox that differs from the state the
        # page was rendered with has been touched all the same.
        touched = form.get("secure_touched") == "1" or (
            "secure_initial" in form and secure != (form.get("secure_initial") == "1"))
        return cls(contact_id=form.get("contact_id", "").strip(), channel=form.get("channel", "sms").strip(),
                   template_id=form.get("template_id", "").strip(),
                   situation_id=form.get("situation_id", "").strip(), subject=form.get("subject", ""),
                   body=form.get("body", ""), send_at=form.get("send_at", "").strip(), secure=secure,
                   secure_touched=touched, override_reason=form.get("override_reason", ""))

    @classmethod
    def for_contact(cls, contact: Contact | None) -> ComposeInput:
        channel = "email" if contact is not None and not contact.phone and contact.email else "sms"
        return cls(contact_id=str(contact.id) if contact is not None else "", channel=channel)


def build_request(form: ComposeInput, portal_enabled: bool) -> tuple[MessageRequest | None, dict[str, str]]:
    """The core request for this input (None without a contact), and the errors found on the way."""
    errors: dict[str, str] = {}
    contact = get_by_id(Contact, form.contact_id)
    if contact is None:
        errors["contact_id"] = "Choose a contact."
    if form.channel not in CHANNELS:
        errors["channel"] = "Choose SMS, e-mail or a voice call."
    template = get_by_id(Template, form.template_id) if form.template_id else None
    if form.template_id and template is None:
        errors["template_id"] = "That template no longer exists; choose another."
    situation = get_by_id(Situation, form.situation_id) if form.situation_id else None
    if form.situation_id and situation is None:
        errors["situation_id"] = "That situation no longer exists; choose another."
    send_at = parse_send_at(form.send_at, errors)
    if contact is None or "channel" in errors:
        return None, errors
    secure = form.secure if (portal_enabled and form.secure_touched) else None
    message_request = MessageRequest(
        contact=contact, channel=form.channel, body=form.body if form.body.strip() else None,
        subject=(form.subject.strip() or None) if form.channel == "email" else None, template=template,
        situation=situation, secure=secure, send_at=send_at,
        override_reason=form.override_reason.strip() or None)
    return message_request, errors


@dataclass
class Panel:
    """Everything the live panel shows; rendered by compose_panel.html and sent as JSON."""

    contact: Contact | None
    channel: str
    is_admin: bool
    portal_enabled: bool
    toggle_on: bool = False
    decision: Decision | None = None
    preview: Preview | None = None
    situation: Situation | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.decision is not None and self.decision.blocked

    @property
    def portal_refusal(self) -> bool:
        return self.blocked and "portal_disabled" in self.decision.blocked_by

    @property
    def can_override(self) -> bool:
        return self.blocked and self.is_admin and not self.portal_refusal

    @property
    def send_refused(self) -> bool:
        return self.blocked and not self.can_override

    @property
    def sms_alert(self) -> bool:
        """The "not secure" alert: SMS and voice carry standard content in the clear."""
        if self.channel not in ("sms", "voice"):
            return False
        if self.portal_enabled:
            return not self.toggle_on
        return self.decision is None or self.decision.mode != "secure"

    @property
    def policy_warnings(self) -> list[str]:
        if self.decision is None:
            return []
        return [w.message for w in self.decision.warnings if w.code in self.decision.blocked_by]

    @property
    def other_warnings(self) -> list[str]:
        if self.decision is None:
            return []
        return [w.message for w in self.decision.warnings if w.code not in self.decision.blocked_by]

    def as_json(self) -> dict:
        decision = self.decision
        return {
            # The decision as the API shows it, plus whether it blocks the send (for compose.js).
            "decision": None if decision is None else {**decision.as_dict(), "blocked": decision.blocked},
            "client_subject": self.preview.subject if self.preview else None,
            "client_text": self.preview.client_text if self.preview else None,
            "suppressed_reason": self.preview.suppressed_reason if self.preview else None,
            "problems": self.problems,
            "toggle_on": self.toggle_on,
            "sms_alert": self.sms_alert,
            "can_override": self.can_override,
            "send_refused": self.send_refused,
        }


def _default_secure(form: ComposeInput, message_request: MessageRequest | None) -> bool:
    """What the toggle shows before anyone touches it: the decision without a one-off choice."""
    if message_request is None:
        # No contact yet: the mode does not depend on who receives it, so a stand-in will do.
        message_request = MessageRequest(contact=Contact(first_name=""), channel=form.channel,
                                         template=get_by_id(Template, form.template_id) if form.template_id else None)
    return decide_for(replace(message_request, secure=None)).mode == "secure"


def core_fields(exc: ValidationFailed | Conflict) -> dict[str, str]:
    fields = {CORE_FIELDS.get(name, name): message for name, message in exc.fields.items()}
    return fields or {"": exc.message}


def build_panel(form: ComposeInput, message_request: MessageRequest | None, is_admin: bool,
                portal_enabled: bool) -> Panel:
    """Decide and preview without sending; problems that stop a preview become hints, not failures."""
    panel = Panel(contact=message_request.contact if message_request else None, channel=form.channel,
                  is_admin=is_admin, portal_enabled=portal_enabled)
    if portal_enabled:
        panel.toggle_on = form.secure if form.secure_touched else _default_secure(form, message_request)
    if message_request is None:
        return panel
    panel.situation = message_request.situation or (
        message_request.template.situation if message_request.template else None)
    try:
        panel.preview = preview_message(message_request)
        panel.decision = panel.preview.decision
    except ValidationFailed as exc:
        panel.problems = core_fields(exc)
        panel.decision = decide_for(message_request)  # the decision does not need a finished message
    return panel


def sent_notice(message: Message) -> tuple[str, str]:
    """The flash after sending: what happened, in the words a user expects."""
    name = message.contact.full_name
    if message.status == "suppressed":
        return f"Suppressed: {message.suppressed_reason}", "warning"
    how = "securely " if message.mode == "secure" else ""
    if message.status == "scheduled":
        return f"Scheduled for {format_time(message.send_at)}: it will be sent {how}to {name} then.", "success"
    return f"Sent {how}to {name}.", "success"


def compose_context(form: ComposeInput, panel: Panel, errors: dict[str, str], fixed_contact: bool = False) -> dict:
    """What compose_form.html needs; shared with the conversation page's composer."""
    settings = get_settings()
    templates = db.session.execute(db.select(Template).where(Template.channel.in_(CHANNELS))
                                   .order_by(Template.name)).scalars().all()
    situations = db.session.execute(db.select(Situation).order_by(Situation.position, Situation.id)).scalars().all()
    contacts = [] if fixed_contact else db.session.execute(
        db.select(Contact).order_by(Contact.last_name, Contact.first_name, Contact.id)).scalars().all()
    return {"form": form, "panel": panel, "errors": errors, "fixed_contact": fixed_contact,
            "templates_by_channel": [(channel, CHANNEL_LABELS[channel], [t for t in templates if t.channel == channel])
                                     for channel in CHANNELS],
            "situations": situations, "contacts": contacts, "portal_enabled": settings.portal_enabled,
            "channel_labels": CHANNEL_LABELS, "recommendation_labels": RECOMMENDATION_LABELS,
            "pin_method_labels": PIN_METHOD_LABELS}


class ComposeView(SecureView):
    @expose("/", methods=("GET", "POST"))
    def index(self):
        settings = get_settings()
        actor = current_actor()
        if request.method == "GET":
            contact = get_by_id(Contact, request.args.get("contact_id", ""))
            form = preset_secure(ComposeInput.for_contact(contact), contact, asked=request.args.get("secure") == "1")
            message_request, _ = build_request(form, settings.portal_enabled)
            panel = build_panel(form, message_request, actor.is_admin, settings.portal_enabled)
            return self._page(form, panel, {})

        form = ComposeInput.from_form(request.form)
        message_request, errors = build_request(form, settings.portal_enabled)
        refusal, status = None, 200
        form.confirm_standard = not errors and needs_standard_confirmation(message_request, request.form)
        if form.confirm_standard:
            status = 409  # nothing sent: standard in answer to a secure reply must be confirmed
        elif wants_send(request.form):
            status = 422
            if message_request is not None and not errors:
                with run_core(flash_error=False) as call:
                    message = send_message(message_request, actor)
                    attach_uploads(message, request.files.getlist("files"))
                if not call.failed:
                    text, category = sent_notice(message)
                    flash(text, category)
                    return redirect(url_for("conversations.thread", contact_id=message.contact_id))
                if isinstance(call.error, Conflict):  # PolicyRefused, portal disabled
                    refusal, status = call.error.message, 409
                    errors.update({k: v for k, v in core_fields(call.error).items() if k})
                else:
                    errors.update(core_fields(call.error))
        panel = build_panel(form, message_request, actor.is_admin, settings.portal_enabled)
        for name, problem in panel.problems.items():
            errors.setdefault(name, problem)
        return self._page(form, panel, errors, refusal=refusal), status

    @expose("/preview", methods=("POST",))
    def preview(self):
        """The live panel as JSON. Sends nothing and writes nothing."""
        settings = get_settings()
        form = ComposeInput.from_form(request.form)
        message_request, errors = build_request(form, settings.portal_enabled)
        panel = build_panel(form, message_request, current_actor().is_admin, settings.portal_enabled)
        panel.problems = {**errors, **panel.problems}
        html = render_template("console/compose_panel.html", **compose_panel_context(panel))
        answer = {**panel.as_json(), "html": html}
        db.session.rollback()  # nothing a preview touched may reach the database
        return jsonify(answer)

    def _page(self, form: ComposeInput, panel: Panel, errors: dict, refusal: str | None = None):
        return self.render("console/compose_page.html", refusal=refusal,
                           **compose_context(form, panel, errors))


def compose_panel_context(panel: Panel) -> dict:
    return {"panel": panel, "channel_labels": CHANNEL_LABELS, "recommendation_labels": RECOMMENDATION_LABELS,
            "pin_method_labels": PIN_METHOD_LABELS}


def register(admin: Admin) -> None:
    admin.add_view(ComposeView(name="Compose", endpoint="compose", url="compose"))
