"""Message templates: validation on save, the policy check against the situation, deletion.

One service for the console and the API. Who may call it is the face's business (admins edit
templates; staff only read them); the core checks the content and the policy:

* Body and subject are Jinja templates in the hardened sandbox (messaging.rendering.text). They may use
  ``first_name``, ``last_name``, ``org_name``, ``form.<field>`` for any of the contact's form data,
  and, as a shortcut, any form field named ``appointment_<something>`` directly
  (``{{ appointment_date }}``). Anything else is an unknown field, reported with its line.
* The secure notification text may use only ``org_name``, ``first_name`` and ``link``, and must
  show ``{{ link }}``: the notice is all a client sees before opening a secure message.
* A template whose messages would go standard on a secure-recommended situation, or whose
  standard text looks like protected data, is saved with a warning (``warn``) or refused unless an
  admin gives a reason (``block``); the reason is audited as ``template.policy_override``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, NotFound, PolicyRefused, ValidationFailed
from messaging.models import CHANNELS, LEVEL_MODES, Message, Situation, Template
from messaging.policy.content_check import find_protected_data, protected_content_warning
from messaging.policy.decision import Decision, LevelChoice, SituationRef, Warning, decide, pin_choice
from messaging.rendering.text import check_source, render_text, undeclared_names
from messaging.settings import get_settings

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
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL refuses NUL; none belongs in a message
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PIN_VALUES = {None: "inherit", True: "true", False: "false"}
MAX_BODY = 10_000
MAX_SUBJECT = 300
MAX_NOTICE = 500
POLICY_CODES = ("secure_recommended", "protected_content")
FIELDS = ("name", "slug", "channel", "subject", "body", "situation", "mode", "require_pin", "notification_text")


class _SampleForm(dict):
    """Form data for the check render: any field exists, so only the names rule decides."""

    def __missing__(self, key):
        return f"[{key}]"


def allowed_body_name(name: str) -> bool:
    return name in BODY_FIELDS or bool(FORM_SHORTCUT.match(name))


def sample_context(org_name: str, names=()) -> dict:
    """What a body is rendered against on save: a made-up contact with every field filled."""
    context = {"first_name": "Dana", "last_name": "Example", "org_name": org_name, "form": _SampleForm(SAMPLE_FORM)}
    for name in names:
        if FORM_SHORTCUT.match(name):
            context[name] = SAMPLE_FORM.get(name, f"[{name}]")
    return context


@dataclass
class _Fields:
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


def _clean(data: dict, template: Template | None, org_name: str) -> _Fields:
    """Merge ``data`` over the template's current values and check every field."""
    current = _Fields() if template is None else _Fields(
        template.name, template.slug, template.channel, template.subject, template.body, template.situation,
        template.mode, template.require_pin, template.notification_text)
    errors: dict[str, str] = {}
    given = {key: data[key] for key in FIELDS if key in data}

    fields = _Fields(**{**current.__dict__})
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

    for key in ("name", "slug", "subject", "body", "notification_text"):
        if key not in errors and CONTROL.search(getattr(fields, key) or ""):
            errors[key] = "must not contain control characters"
    if errors:
        raise ValidationFailed("The template is not valid: " + "; ".join(f"{k} {v}" for k, v in errors.items()),
                               errors)
    return fields


def template_decision(fields, settings=None) -> Decision:
    """How a message from this template is decided when nothing more specific is set."""
    settings = settings or get_settings()
    return decide(
        default=LevelChoice(settings.default_mode, bool(settings.require_pin)),
        template=LevelChoice(fields.mode, pin_choice(fields.require_pin), name=fields.name),
        situation=None if fields.situation is None else _situation_ref(fields.situation),
        portal_enabled=settings.portal_enabled)


def template_warnings(fields, settings=None) -> list[Warning]:
    """What a template with these fields would meet when used, given today's settings.

    ``fields`` is a Template or anything with its attributes. Warnings: ``secure_recommended``
    (its messages go standard on a secure-recommended situation), ``protected_content`` (its
    standard text looks like protected data), ``portal_disabled`` (secure, but the portal is off).
    """
    settings = settings or get_settings()
    situation = fields.situation
    decision = template_decision(fields, settings)
    where = "this template" if decision.decided_by == "template" else "the global default"
    warnings: list[Warning] = []
    if decision.has_warning("secure_recommended"):
        warnings.append(Warning("secure_recommended",
                                f"'{situation.label}' is recommended to be sent secure, but messages from this "
                                f"template go standard (set by {where})."))
    if decision.has_warning("portal_disabled"):
        warnings.append(Warning("portal_disabled",
                                "Messages from this template go secure, but the client portal is turned off: "
                                "the template cannot be used until it is turned on again."))
    if decision.mode == "standard":
        texts = [sample_render(source, settings.org_name) for source in (fields.subject, fields.body) if source]
        warning = protected_content_warning(find_protected_data("\n".join(texts), settings.sensitive_terms))
        if warning is not None:
            warnings.append(Warning("protected_content", warning.message.replace("This message", "This template")))
    return warnings


def sample_render(source: str, org_name: str) -> str:
    """The text as a made-up contact would get it; the source itself if it does not render."""
    try:
        return render_text(source, sample_context(org_name, undeclared_names(check_source(source))))
    except ValidationFailed:
        return source


def _situation_ref(situation: Situation) -> SituationRef:
    return SituationRef(situation.key, situation.label, situation.recommendation, situation.rationale)


def validate_template(data: dict, actor: Actor, template: Template | None = None,
                      override_reason: str | None = None) -> tuple[Template, list[Warning]]:
    """Check ``data`` and create (``template`` None) or update a template; returns it and its warnings.

    ``data`` holds any of name, slug, channel, subject, body, situation (key), mode, require_pin
    (inherit/true/false or a boolean) and notification_text; on update, missing keys keep their
    value. Raises ValidationFailed with ``fields`` for bad input and PolicyRefused when
    ``enforce_recommendations`` is ``block`` and the template contradicts the policy, unless an
    admin gives ``override_reason`` (or ``data['override_reason']``). Adds to the session and
    audits; the caller commits.
    """
    settings = get_settings()
    fields = _clean(data, template, settings.org_name)
    warnings = template_warnings(fields, settings)
    blocking = [w for w in warnings if w.code in POLICY_CODES] if settings.enforce_recommendations == "block" else []
    reason = _text(override_reason if override_reason is not None else data.get("override_reason"))
    if blocking:
        refusal = " ".join(w.message for w in blocking)
        if not actor.is_admin:
            raise PolicyRefused(f"Blocked by policy: {refusal} Only an admin can save it, with a reason.")
        if not reason:
            raise PolicyRefused(f"Blocked by policy: {refusal} Give a reason to save it anyway.",
                                {"override_reason": "give a reason to override the recommendation"})

    creating = template is None
    if creating:
        template = Template()
        db.session.add(template)
    changed = {}
    for key, value in fields.__dict__.items():
        old = getattr(template, key)
        if creating or old != value:
            changed[key] = value
            setattr(template, key, value)
    db.session.flush()
    summary = {k: (v.key if isinstance(v, Situation) else v) for k, v in changed.items()
               if k in ("slug", "channel", "situation", "mode", "require_pin")}
    if creating or changed:
        audit(actor, "template.create" if creating else "template.update", "template", template.id,
              changed=sorted(changed), **summary)
    if blocking:
        audit(actor, "template.policy_override", "template", template.id, reason=reason,
              blocked_by=[w.code for w in blocking])
    return template, warnings


def get_template(template_id) -> Template:
    template = db.session.get(Template, int(template_id)) if str(template_id).isdigit() else None
    if template is None:
        raise NotFound("No such template.")
    return template


def message_counts() -> dict[int, int]:
    """How many messages each template has been used for, by template id."""
    rows = db.session.execute(db.select(Message.template_id, db.func.count(Message.id))
                              .where(Message.template_id.is_not(None)).group_by(Message.template_id))
    return {template_id: count for template_id, count in rows}


def delete_template(actor: Actor, template: Template) -> None:
    """Delete a template no message refers to; one in use is refused (its messages name it)."""
    used = db.session.execute(db.select(db.func.count(Message.id)).filter_by(template_id=template.id)).scalar()
    if used:
        raise Conflict(f"'{template.name}' was used for {used} message{'s' if used != 1 else ''} and cannot be "
                       "deleted; change it instead.", code="template_in_use")
    audit(actor, "template.delete", "template", template.id, slug=template.slug, name=template.name)
    db.session.delete(template)
    db.session.flush()
