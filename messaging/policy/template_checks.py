"""What a template may hold: its fields cleaned and checked before ``policy.templates`` saves them.

* Body and subject are Jinja templates in the hardened sandbox (messaging.rendering.text). They may use
  ``first_name``, ``last_name``, ``org_name``, ``form.<field>`` for any of the contact's form data,
  and, as a shortcut, any form field named ``appointment_<something>`` directly
  (``{{ appointment_date }}``). Anything else is an unknown field, reported with its line.
* The secure notification text may use only ``org_name``, ``first_name`` and ``link``, and must
  show ``{{ link }}``: the notice is all a client sees before opening a secure message.
* Each source is rendered once against a made-up contact (``sample_context``), so a template that
  would fail at send time is refused at save time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import CHANNELS, LEVEL_MODES, Situation, Template
from messaging.policy.decision import pin_choice
from messaging.rendering.text import check_source, render_text, undeclared_names
from messaging.text_rules import CONTROL_CHARACTERS

BODY_FIELDS = {
    "first_name": "the contact's first name",
    "last_name": "the contact's last name",
    "org_name": "your organisation's name (Settings)",
    "form": "the contact's form data: {{ form.field_name }} for any field",
}
# Form fields that may also be used without ``form.``: appointment_date, appointment_time, …
FORM_SHORTCUT = re.compile(r"^appointment_[a-z0-9_]+$")
SAMPLE_FORM = {"appointment_date": "Tuesday 14 May", "appointment_time": "3:30pm",
               "appointment_location": "Main Street clinic", "appointment_with": "Dr Rivera"}
NOTICE_NAMES = ("org_name", "first_name", "link")
SAMPLE_LINK = "https://sealed.invalid/m/sample-link"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PIN_VALUES = {None: "inherit", True: "true", False: "false"}
MAX_BODY = 10_000
MAX_SUBJECT = 300
MAX_NOTICE = 500
FIELDS = ("name", "slug", "channel", "subject", "body", "situation", "mode", "require_pin", "notification_text")


class _SampleForm(dict):
    """Form data for the check render: any field exists, so only the names rule decides."""

    def __missing__(self, key):
        return f"[{key}]"


def allowed_body_name(name: str) -> bool:
    """Whether a body or subject may use this name (a contact field, org_name, form or appointment_…)."""
    return name in BODY_FIELDS or bool(FORM_SHORTCUT.match(name))


def sample_context(org_name: str, names=()) -> dict:
    """What a body is rendered against on save: a made-up contact with every field filled."""
    context = {"first_name": "Dana", "last_name": "Example", "org_name": org_name, "form": _SampleForm(SAMPLE_FORM)}
    for name in names:
        if FORM_SHORTCUT.match(name):
            context[name] = SAMPLE_FORM.get(name, f"[{name}]")
    return context


def sample_render(source: str, org_name: str) -> str:
    """The text as a made-up contact would get it; the source itself if it does not render."""
    try:
        return render_text(source, sample_context(org_name, undeclared_names(check_source(source))))
    except ValidationFailed:
        return source


@dataclass
class TemplateFields:
    """A template's checked values, as ``check_template_fields`` returns them and Template stores them."""

    name: str = ""
    slug: str = ""
    channel: str = "sms"
    subject: str | None = None
    body: str = ""
    situation: Situation | None = None
    mode: str = "inherit"
    require_pin: str = "inherit"
    notification_text: str | None = None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _check_body_source(source: str, field: str, org_name: str, errors: dict) -> None:
    try:
        tree = check_source(source, field)
    except ValidationFailed as exc:
        errors[field] = exc.fields[field]
        return
    names = undeclared_names(tree)
    unknown = sorted((line or 0, name) for name, line in names.items() if not allowed_body_name(name))
    if unknown:
        line, name = unknown[0]
        errors[field] = (f"line {line}: unknown field '{name}'; use first_name, last_name, org_name, "
                         "form.<field> or appointment_<field>")
        return
    try:
        render_text(source, sample_context(org_name, names), field)
    except ValidationFailed as exc:
        errors[field] = exc.fields[field]


def _check_notice(source: str, org_name: str, errors: dict) -> None:
    field = "notification_text"
    try:
        tree = check_source(source, field)
    except ValidationFailed as exc:
        errors[field] = exc.fields[field]
        return
    other = sorted((line or 0, name) for name, line in undeclared_names(tree).items() if name not in NOTICE_NAMES)
    if other:
        line, name = other[0]
        errors[field] = (f"line {line}: the notification may use only {{{{ org_name }}}}, {{{{ first_name }}}} "
                         f"and {{{{ link }}}}, not '{name}' — it is all a client sees before opening the message")
        return
    try:
        rendered = render_text(source, {"org_name": org_name, "first_name": "Dana", "link": SAMPLE_LINK}, field)
    except ValidationFailed as exc:
        errors[field] = exc.fields[field]
        return
    if SAMPLE_LINK not in rendered:
        errors[field] = "must contain the link placeholder {{ link }}"


def _situation(value, errors: dict) -> Situation | None:
    if value is None or isinstance(value, Situation):
        return value
    key = _text(value)
    if not key:
        return None
    situation = db.session.execute(db.select(Situation).filter_by(key=key)).scalar_one_or_none()
    if situation is None:
        errors["situation"] = f"no situation with key '{key}'"
    return situation


def check_template_fields(data: dict, template: Template | None, org_name: str) -> TemplateFields:
    """Merge ``data`` over the template's current values and check every field; raises ValidationFailed."""
    current = TemplateFields() if template is None else TemplateFields(
        template.name, template.slug, template.channel, template.subject, template.body, template.situation,
        template.mode, template.require_pin, template.notification_text)
    errors: dict[str, str] = {}
    given = {key: data[key] for key in FIELDS if key in data}

    fields = TemplateFields(**{**current.__dict__})
    if "name" in given:
        fields.name = _text(given["name"])
    if not fields.name:
        errors["name"] = "is required"
    elif len(fields.name) > 200:
        errors["name"] = "must be at most 200 characters"

    if "slug" in given:
        fields.slug = _text(given["slug"])
    if not fields.slug:
        errors["slug"] = "is required"
    elif len(fields.slug) > 100 or not SLUG.match(fields.slug):
        errors["slug"] = "use lower-case letters, digits and single hyphens, e.g. lab-results (at most 100)"
    else:
        clash = db.select(Template.id).filter_by(slug=fields.slug)
        if template is not None:
            clash = clash.filter(Template.id != template.id)
        if db.session.execute(clash).first():
            errors["slug"] = f"another template already uses '{fields.slug}'"

    if "channel" in given:
        fields.channel = _text(given["channel"])
    if fields.channel not in CHANNELS:
        errors["channel"] = "must be one of: " + ", ".join(CHANNELS)

    if "subject" in given:
        fields.subject = _text(given["subject"]) or None
    if fields.subject and fields.channel != "email":
        errors["subject"] = "only e-mail templates have a subject"
    elif fields.subject and len(fields.subject) > MAX_SUBJECT:
        errors["subject"] = f"must be at most {MAX_SUBJECT} characters"
    elif fields.subject:
        _check_body_source(fields.subject, "subject", org_name, errors)

    if "body" in given:
        # Browsers send textarea lines as CRLF; messages keep plain newlines.
        fields.body = "" if given["body"] is None else str(given["body"]).replace("\r\n", "\n").strip()
    if not fields.body:
        errors["body"] = "is required"
    elif len(fields.body) > MAX_BODY:
        errors["body"] = f"must be at most {MAX_BODY:,} characters"
    else:
        _check_body_source(fields.body, "body", org_name, errors)

    if "situation" in given:
        fields.situation = _situation(given["situation"], errors)

    if "mode" in given:
        fields.mode = _text(given["mode"]) or "inherit"
    if fields.mode not in LEVEL_MODES:
        errors["mode"] = "must be inherit, secure or standard"

    if "require_pin" in given:
        try:
            fields.require_pin = PIN_VALUES[pin_choice(given["require_pin"])]
        except ValueError:
            errors["require_pin"] = "must be inherit, true or false"

    if "notification_text" in given:
        fields.notification_text = _text(given["notification_text"]).replace("\r\n", "\n") or None
    if fields.notification_text:
        if len(fields.notification_text) > MAX_NOTICE:
            errors["notification_text"] = f"must be at most {MAX_NOTICE} characters"
        else:
            _check_notice(fields.notification_text, org_name, errors)

    # PostgreSQL refuses NUL, and no control character belongs in a message.
    for key in ("name", "slug", "subject", "body", "notification_text"):
        if key not in errors and CONTROL_CHARACTERS.search(getattr(fields, key) or ""):
            errors[key] = "must not contain control characters"
    if errors:
        raise ValidationFailed("The template is not valid: " + "; ".join(f"{k} {v}" for k, v in errors.items()),
                               errors)
    return fields
