"""Settings (admin only): one form holding every key of SETTING_SPECS, validated and audited by the core."""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from flask_admin import Admin, expose

from messaging.logo import MAX_LOGO_BYTES, remove_logo, set_logo
from messaging.rendering.outgoing import notice_problem
from messaging.setting_changes import OVERRIDABLE_DEFAULTS, change_settings, templates_overriding
from messaging.settings import SETTING_SPECS, get_settings, settings_as_dict

from .base import ADMIN_CATEGORY, SecureView, current_actor
from .core_calls import run_core

LABELS = {
    "org_name": "Organisation name", "brand_color": "Brand colour", "default_mode": "Default mode",
    "require_pin": "Require a PIN", "pin_method": "PIN method", "link_ttl_hours": "Link lifetime (hours)",
    "max_pin_attempts": "Wrong PINs before a lock", "lockout_minutes": "Lock lasts (minutes)",
    "portal_enabled": "Client portal enabled", "replies_allowed": "Clients may reply",
    "enforce_recommendations": "Recommendations are", "renotify_hours": "Re-notify after (hours)",
    "quiet_hours": "Quiet hours", "timezone": "Time zone", "retention_days": "Keep content (days)",
    "session_idle_minutes": "Console idle timeout (minutes)",
    "two_factor": "Two-factor sign-in required for", "sensitive_terms": "Words that look protected",
    "frequency_cap": "Frequency cap (broadcasts and campaigns)",
    "notice_text_en": "Notice text (English)", "notice_text_es": "Notice text (Spanish)",
    "client_sets_pin": "Clients choose their own PIN", "office_contact": "How clients reach the office",
}

# Widgets only; the values each key accepts are decided by the core's parser, which reports errors.
CHOICES = {
    "default_mode": [("secure", "secure"), ("standard", "standard")],
    "pin_method": [("contact_pin", "the contact's PIN"), ("one_time_code", "a one-time code")],
    "enforce_recommendations": [("warn", "warn"), ("block", "block")],
    "two_factor": [("off", "nobody"), ("admins", "admins"), ("all", "everyone")],
}
YES_NO = [("true", "yes"), ("false", "no")]

# Settings stored but not acted on yet: the page says so, so nobody relies on them.
NOT_ENFORCED: dict[str, str] = {}

SECTIONS = [
    ("Organisation", ("org_name", "brand_color", "timezone", "office_contact")),
    ("Secure or standard", ("default_mode", "require_pin", "pin_method", "enforce_recommendations",
                            "portal_enabled", "replies_allowed", "sensitive_terms")),
    ("Links and PINs", ("link_ttl_hours", "max_pin_attempts", "lockout_minutes", "client_sets_pin")),
    ("Delivery", ("renotify_hours", "quiet_hours", "frequency_cap")),
    # Each contact gets the one of their language; a template's own notification text wins over both.
    ("Notice to clients", ("notice_text_en", "notice_text_es")),
    ("Data and sessions", ("retention_days", "session_idle_minutes", "two_factor")),
]


@dataclass(frozen=True)
class SettingField:
    key: str
    label: str
    help: str
    value: str
    error: str | None
    choices: list[tuple[str, str]] | None
    not_enforced: str | None = None


def as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def build_sections(values: dict[str, str], current: dict, errors: dict[str, str]):
    placed = {key for _title, keys in SECTIONS for key in keys}
    others = tuple(key for key in SETTING_SPECS if key not in placed)  # keys added later still show up
    sections = []
    for title, keys in [*SECTIONS, ("Other", others)]:
        fields = []
        for key in keys:
            if key not in SETTING_SPECS:
                continue
            choices = CHOICES.get(key) or (YES_NO if isinstance(current.get(key), bool) else None)
            fields.append(SettingField(key, LABELS.get(key, key.replace("_", " ").capitalize()),
                                       SETTING_SPECS[key].help, values.get(key, ""), errors.get(key), choices,
                                       NOT_ENFORCED.get(key)))
        if fields:
            sections.append((title, fields))
    return sections


class SettingsView(SecureView):
    admin_only = True

    @expose("/", methods=("GET", "POST"))
    def index(self):
        current = settings_as_dict()
        values = {key: as_text(value) for key, value in current.items()}
        errors: dict[str, str] = {}
        status = 200
        if request.method == "POST":
            raw = {key: request.form[key] for key in SETTING_SPECS if key in request.form}
            # A notice text is a template: refuse a broken one here rather than fall back at send time.
            problems = {key: problem for key in ("notice_text_en", "notice_text_es")
                        if raw.get(key) and (problem := notice_problem(raw[key]))}
            with run_core() as call:
                changes = {} if problems else change_settings(current_actor(), raw)
            if not call.failed and not problems:
                if changes:
                    flash("Saved: " + ", ".join(LABELS.get(k, k) for k in changes) + ".", "success")
                else:
                    flash("Nothing changed.", "info")
                return redirect(self.get_url(".index"))
            errors = {**call.fields, **problems}
            values.update(raw)  # keep what the admin typed, right or wrong
            status = 422
        overrides = {key: [(t, url_for("templates.edit_view", id=t.id)) for t in templates_overriding(key)]
                     for key in OVERRIDABLE_DEFAULTS}
        return self.render("console/settings_form.html", sections=build_sections(values, current, errors),
                           overrides=overrides, errors=errors, logo=logo_state()), status

    @expose("/logo", methods=("POST",))
    def upload_logo(self):
        upload = request.files.get("logo")
        with run_core() as call:
            set_logo(current_actor(), upload.read(MAX_LOGO_BYTES + 1) if upload else b"")
        if not call.failed:
            flash("Saved: logo.", "success")
        return redirect(self.get_url(".index") + "#logo")

    @expose("/logo/remove", methods=("POST",))
    def delete_logo(self):
        if request.form.get("confirm") != "yes":
            flash("The logo was kept: tick the box to confirm its removal.", "warning")
            return redirect(self.get_url(".index") + "#logo")
        with run_core() as call:
            removed = remove_logo(current_actor())
        if not call.failed:
            flash("Removed: logo." if removed else "There was no logo to remove.", "success" if removed else "info")
        return redirect(self.get_url(".index") + "#logo")


def logo_state() -> dict:
    """What the Settings page says about the logo: whether there is one, its type and size."""
    settings = get_settings()
    return {"present": settings.logo is not None, "media_type": settings.logo_media_type,
            "kb": round(len(settings.logo) / 1024, 1) if settings.logo else 0, "max_kb": MAX_LOGO_BYTES // 1024}


def register(admin: Admin) -> None:
    admin.add_view(SettingsView(name="Settings", endpoint="settings", url="settings", category=ADMIN_CATEGORY))
