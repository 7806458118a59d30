"""Templates: list (any key) and create (admin key)."""
from __future__ import annotations

from messaging.db import db
from messaging.models import Template
from messaging.policy.decision import PolicyWarning
from messaging.policy.templates import save_template

from .auth import current_actor
from .registry import operation
from .schemas import TemplateIn, TemplateListOut, TemplateOut, WarningOut


def template_out(template: Template, warnings: list[PolicyWarning] = ()) -> TemplateOut:
    """A template as the API answers it, with the warnings from saving it."""
    return TemplateOut(
        id=template.id, name=template.name, slug=template.slug, channel=template.channel, subject=template.subject,
        body=template.body, situation=template.situation.key if template.situation else None, mode=template.mode,
        require_pin=template.require_pin, notification_text=template.notification_text,
        link_ttl_hours=template.link_ttl_hours, expire_after_view=template.expire_after_view,
        created_at=template.created_at, updated_at=template.updated_at,
        warnings=[WarningOut(**w.as_dict()) for w in warnings])


@operation("/templates", "GET", summary="List templates", tag="templates", response=TemplateListOut)
def list_templates() -> TemplateListOut:
    """Every template, by name."""
    templates = db.session.execute(db.select(Template).order_by(Template.name, Template.id)).scalars()
    return TemplateListOut(templates=[template_out(t) for t in templates])


@operation("/templates", "POST", summary="Create a template", tag="templates", status=201,
           request_body=TemplateIn, response=TemplateOut, role="admin", errors=(409, 422))
def create_template(body: TemplateIn) -> TemplateOut:
    """Admin keys only. The body, subject and notification text are checked in Jinja's sandbox: a syntax
    error or an unknown field is a 422 naming the line. Bodies may use first_name, last_name, org_name,
    form.<field> and appointment_<field>; the notification text only org_name, first_name and {{ link }},
    which it must contain. A duplicate slug is a 422 on `slug`. A template whose messages would go standard
    against a secure recommendation, or whose standard text looks like protected data, is saved with
    `warnings` — or, under policy `block`, refused with 409 `blocked_by_policy` unless `override_reason`
    is given (audited)."""
    data = body.model_dump(exclude={"override_reason"})
    template, warnings = save_template(data, current_actor(), override_reason=body.override_reason)
    db.session.commit()
    return template_out(template, warnings)
