"""Message templates: saving (checked, then audited), the policy check against the situation, deletion.

One service for the console and the API. Who may call it is the face's business (admins edit
templates; staff only read them); the core checks the content (``policy.template_checks``) and the
policy: a template whose messages would go standard on a secure-recommended situation, or whose
standard text looks like protected data, is saved with a warning (``warn``) or refused unless an
admin gives a reason (``block``); the reason is audited as ``template.policy_override``.
"""
from __future__ import annotations

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, PolicyRefused, ValidationFailed
from messaging.models import Broadcast, Campaign, CampaignStep, Message, Situation, Template
from messaging.policy.content_check import find_protected_data, protected_content_warning
from messaging.policy.decision import Decision, LevelChoice, PolicyWarning, decide, pin_choice, situation_ref
from messaging.policy.template_checks import check_template_fields, sample_render
from messaging.settings import get_settings

POLICY_CODES = ("secure_recommended", "protected_content")
LIFETIME_FIELDS = ("link_ttl_hours", "expire_after_view")
TRUE_WORDS = ("1", "on", "true", "yes")
FALSE_WORDS = ("", "0", "off", "false", "no")


def check_lifetime_fields(data: dict, template: Template | None, settings) -> dict:
    """The link lifetime (hours, None = the organisation's default) and "expire after first view";
    keys missing from ``data`` keep the template's value. Returns ``{"values": {...}, "errors": {...}}``."""
    values = {"link_ttl_hours": template.link_ttl_hours if template else None,
              "expire_after_view": bool(template.expire_after_view) if template else False}
    errors = {}
    if "link_ttl_hours" in data:
        raw = data["link_ttl_hours"]
        text = "" if raw is None else str(raw).strip()
        low, high = settings.link_ttl_min_hours, settings.link_ttl_max_hours
        if not text:
            values["link_ttl_hours"] = None
        elif isinstance(raw, bool) or not text.isdigit() or not low <= int(text) <= high:
            errors["link_ttl_hours"] = (f"must be a whole number of hours from {low} to {high} (the organisation's "
                                        "limits), or empty for the default")
        else:
            values["link_ttl_hours"] = int(text)
    if "expire_after_view" in data:
        raw = data["expire_after_view"]
        word = "" if raw is None else str(raw).strip().lower()
        if isinstance(raw, bool) or word in TRUE_WORDS + FALSE_WORDS:
            values["expire_after_view"] = raw if isinstance(raw, bool) else word in TRUE_WORDS
        else:
            errors["expire_after_view"] = "must be true or false"
    return {"values": values, "errors": errors}


def template_decision(fields, settings=None) -> Decision:
    """How a message from this template is decided when nothing more specific is set."""
    settings = settings or get_settings()
    return decide(
        default=LevelChoice(settings.default_mode, bool(settings.require_pin)),
        template=LevelChoice(fields.mode, pin_choice(fields.require_pin), name=fields.name),
        situation=situation_ref(fields.situation),
        portal_enabled=settings.portal_enabled)


def template_warnings(fields, settings=None) -> list[PolicyWarning]:
    """What a template with these fields would meet when used, given today's settings.

    ``fields`` is a Template or anything with its attributes. Warnings: ``secure_recommended``
    (its messages go standard on a secure-recommended situation), ``protected_content`` (its
    standard text looks like protected data), ``portal_disabled`` (secure, but the portal is off).
    """
    settings = settings or get_settings()
    situation = fields.situation
    decision = template_decision(fields, settings)
    where = "this template" if decision.decided_by == "template" else "the global default"
    warnings: list[PolicyWarning] = []
    if decision.has_warning("secure_recommended"):
        warnings.append(PolicyWarning("secure_recommended",
                                      f"'{situation.label}' is recommended to be sent secure, but messages from "
                                      f"this template go standard (set by {where})."))
    if decision.has_warning("portal_disabled"):
        warnings.append(PolicyWarning("portal_disabled",
                                      "Messages from this template go secure, but the client portal is turned off: "
                                      "the template cannot be used until it is turned on again."))
    if decision.mode == "standard":
        texts = [sample_render(source, settings.org_name) for source in (fields.subject, fields.body) if source]
        warning = protected_content_warning(find_protected_data("\n".join(texts), settings.sensitive_terms))
        if warning is not None:
            message = warning.message.replace("This message", "This template")
            warnings.append(PolicyWarning("protected_content", message))
    return warnings


def save_template(data: dict, actor: Actor, template: Template | None = None,
                  override_reason: str | None = None) -> tuple[Template, list[PolicyWarning]]:
    """Check ``data`` and create (``template`` None) or update a template; returns it and its warnings.

    ``data`` holds any of name, slug, channel, subject, body, situation (key), mode, require_pin
    (inherit/true/false or a boolean) and notification_text; on update, missing keys keep their
    value. Raises ValidationFailed with ``fields`` for bad input and PolicyRefused when
    ``enforce_recommendations`` is ``block`` and the template contradicts the policy, unless an
    admin gives ``override_reason`` (or ``data['override_reason']``). Adds to the session and
    audits; the caller commits.
    """
    settings = get_settings()
    lifetime = check_lifetime_fields(data, template, settings)
    try:
        fields = check_template_fields(data, template, settings.org_name)
    except ValidationFailed as exc:
        if lifetime["errors"]:
            exc.fields.update(lifetime["errors"])
        raise
    if lifetime["errors"]:
        raise ValidationFailed("The template is not valid: " + "; ".join(
            f"{k} {v}" for k, v in lifetime["errors"].items()), lifetime["errors"])
    warnings = template_warnings(fields, settings)
    blocking = [w for w in warnings if w.code in POLICY_CODES] if settings.enforce_recommendations == "block" else []
    given_reason = override_reason if override_reason is not None else data.get("override_reason")
    reason = "" if given_reason is None else str(given_reason).strip()
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
    changed, before = {}, {}
    for key, value in {**fields.__dict__, **lifetime["values"]}.items():
        old = getattr(template, key)
        if creating or old != value:
            changed[key], before[key] = value, old
            setattr(template, key, value)
    db.session.flush()
    summary = {k: (v.key if isinstance(v, Situation) else v) for k, v in changed.items()
               if k in ("slug", "channel", "situation", "mode", "require_pin") + LIFETIME_FIELDS}
    if creating or changed:
        audit(actor, "template.create" if creating else "template.update", "template", template.id,
              changed=sorted(changed), **summary,
              **({} if creating else {"old": {k: (v.key if isinstance(v, Situation) else v) for k, v in before.items()
                                              if k in summary}, "new": summary}))
    if blocking:
        audit(actor, "template.policy_override", "template", template.id, reason=reason,
              blocked_by=[w.code for w in blocking])
    return template, warnings


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
    planned = [f"campaign '{name}'" for name in db.session.execute(
        db.select(Campaign.name).join(CampaignStep, CampaignStep.campaign_id == Campaign.id)
        .where(CampaignStep.template_id == template.id).distinct()).scalars()]
    planned += [f"broadcast '{name}'" for name in db.session.execute(
        db.select(Broadcast.name).filter_by(template_id=template.id)).scalars()]
    if planned:
        raise Conflict(f"'{template.name}' is used by {', '.join(sorted(planned))} and cannot be deleted.",
                       code="template_in_use")
    audit(actor, "template.delete", "template", template.id, slug=template.slug, name=template.name)
    db.session.delete(template)
    db.session.flush()
