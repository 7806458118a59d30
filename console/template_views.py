"""Templates in the console: staff read them, admins create, edit and delete them.

A custom view rather than a ModelView: saving goes through messaging.policy.templates.save_template,
whose warnings and policy refusals (with an override reason) do not fit a generic model form.
The endpoints keep Flask-Admin's names (index_view, details_view, create_view, edit_view,
delete_view with ``?id=``) so other pages can link with ``url_for('templates.edit_view', id=…)``.
"""
from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import Admin, expose
from flask_login import current_user

from messaging.db import db
from messaging.errors import PolicyRefused, ValidationFailed
from messaging.models import CHANNELS, Situation, Template
from messaging.policy.link_lifetime import link_lifetime_hours
from messaging.policy.template_checks import BODY_FIELDS, FIELDS, SAMPLE_FORM, sample_render
from messaging.policy.templates import (
    LIFETIME_FIELDS,
    delete_template,
    message_counts,
    save_template,
    template_decision,
    template_warnings,
)
from messaging.rendering.text import DEFAULT_NOTICE, render_notice
from messaging.settings import get_settings

from .base import SecureView, current_actor
from .core_calls import run_core
from .lookup import get_or_404

MODE_CHOICES = [("inherit", "inherit (use the global default)"), ("secure", "secure"), ("standard", "standard")]
PIN_CHOICES = [("inherit", "inherit (use the global default)"), ("true", "yes"), ("false", "no")]
SAMPLE_LINK = "https://…/m/sample"


def _situations():
    return db.session.execute(db.select(Situation).order_by(Situation.position, Situation.id)).scalars().all()


def _sample(template: Template) -> dict:
    """What a made-up contact would receive, to show on the page."""
    settings = get_settings()
    sample = {key: sample_render(source, settings.org_name)
              for key, source in (("subject", template.subject), ("body", template.body)) if source}
    try:
        sample["notice"] = render_notice(settings.org_name, "Dana", SAMPLE_LINK, template.notification_text)
    except ValidationFailed as exc:
        sample["notice"] = f"(does not render: {exc.fields.get('notification_text', exc.message)})"
    return sample


class TemplatesView(SecureView):
    """List and details for everyone signed in; create, edit and delete for admins."""

    def _template(self) -> Template:
        return get_or_404(Template, request.args.get("id"))

    @expose("/")
    def index_view(self):
        templates = db.session.execute(db.select(Template).order_by(Template.name)).scalars().all()
        settings = get_settings()
        rows = [(t, template_decision(t, settings), template_warnings(t, settings)) for t in templates]
        return self.render("console/template_list.html", rows=rows, counts=message_counts(),
                           can_edit=current_user.is_admin)

    @expose("/details/")
    def details_view(self):
        template = self._template()
        settings = get_settings()
        return self.render("console/template_details.html", tpl=template,
                           decision=template_decision(template, settings),
                           warnings=template_warnings(template, settings), sample=_sample(template),
                           used=message_counts().get(template.id, 0), can_edit=current_user.is_admin,
                           enforce=settings.enforce_recommendations, default_notice=DEFAULT_NOTICE,
                           link_hours=link_lifetime_hours(template, settings))

    def _form(self, template: Template | None, values: dict, errors: dict, status: int = 200,
              needs_reason: bool = False):
        settings = get_settings()
        return self.render("console/template_form.html", tpl=template, values=values, errors=errors,
                           channels=CHANNELS, modes=MODE_CHOICES, pins=PIN_CHOICES, situations=_situations(),
                           body_fields=BODY_FIELDS, sample_form=SAMPLE_FORM, default_notice=DEFAULT_NOTICE,
                           enforce=settings.enforce_recommendations, needs_reason=needs_reason,
                           ttl_bounds=(settings.link_ttl_min_hours, settings.link_ttl_max_hours),
                           default_ttl=settings.link_ttl_hours), status

    def _save(self, template: Template | None):
        values = {key: request.form.get(key, "") for key in FIELDS + LIFETIME_FIELDS}
        reason = request.form.get("override_reason", "")
        with run_core() as call:
            saved, warnings = save_template(values, current_actor(), template, override_reason=reason)
        if isinstance(call.error, PolicyRefused):
            errors = call.fields or {"override_reason": "an admin must give a reason"}
            return self._form(template, {**values, "override_reason": reason}, errors, 409, needs_reason=True)
        if call.failed:
            return self._form(template, {**values, "override_reason": reason}, call.fields, 422)
        flash(f"Template '{saved.name}' saved.", "success")
        for warning in warnings:
            flash(warning.message, "warning")
        return redirect(self.get_url(".details_view", id=saved.id))

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        self.require_admin()
        if request.method == "POST":
            return self._save(None)
        return self._form(None, {"channel": "sms", "mode": "inherit", "require_pin": "inherit"}, {})

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        self.require_admin()
        template = self._template()
        if request.method == "POST":
            return self._save(template)
        values = {key: getattr(template, key) or "" for key in FIELDS + LIFETIME_FIELDS if key != "situation"}
        values["situation"] = template.situation.key if template.situation else ""
        return self._form(template, values, {})

    @expose("/delete/", methods=("GET", "POST"))
    def delete_view(self):
        self.require_admin()
        template = self._template()
        used = message_counts().get(template.id, 0)
        if request.method == "POST":
            with run_core() as call:
                delete_template(current_actor(), template)
            if call.failed:
                return redirect(self.get_url(".details_view", id=template.id))
            flash(f"Template '{template.name}' deleted.", "success")
            return redirect(self.get_url(".index_view"))
        return self.render("console/template_delete.html", tpl=template, used=used)


def register(admin: Admin) -> None:
    admin.add_view(TemplatesView(name="Templates", endpoint="templates", url="templates"))
