"""Changing several settings at once (the console's one form), and what overrides the defaults."""
from __future__ import annotations

from sqlalchemy import select

from messaging.audit import Actor
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Template
from messaging.settings import (
    InvalidSetting,
    change_setting,
    check_combination,
    get_settings,
    parse_setting,
    settings_as_dict,
)

# Global defaults that a template can override, and the template column that does it.
OVERRIDABLE_DEFAULTS = {"default_mode": Template.mode, "require_pin": Template.require_pin}


def change_settings(actor: Actor, raw: dict[str, str]) -> dict[str, tuple[object, object]]:
    """Validate every given value first, then apply them all (each change audited with old and new).

    Nothing is changed when any value is bad: ValidationFailed carries one message per key.
    Returns ``{key: (old, new)}`` for the keys whose value actually changed.
    """
    errors: dict[str, str] = {}
    parsed = {}
    for key, value in raw.items():
        try:
            parsed[key] = parse_setting(key, value)
        except InvalidSetting as exc:
            message = str(exc)
            errors[key] = message[len(key) + 1:] if message.startswith(key + " ") else message
    if not errors:
        try:
            check_combination({**settings_as_dict(get_settings()), **parsed})
        except InvalidSetting as exc:
            errors["portal_enabled"] = str(exc)
    if errors:
        raise ValidationFailed("Some settings are not valid, so nothing was changed.", errors)
    changes = {}
    # The whole set was checked above; apply first whatever loosens the combination check
    # (portal on, or standard by default) so each single change passes it on the way.
    def loosens_first(item):
        return parsed[item[0]] not in (True, "standard") or item[0] not in ("portal_enabled", "default_mode")

    for key, value in sorted(raw.items(), key=loosens_first):
        old, new = change_setting(actor, key, value)
        if old != new:
            changes[key] = (old, new)
    return changes


def templates_overriding(key: str) -> list[Template]:
    """Templates whose own level overrides the global default ``key`` (``default_mode``/``require_pin``)."""
    column = OVERRIDABLE_DEFAULTS[key]
    return list(db.session.execute(select(Template).where(column != "inherit").order_by(Template.name)).scalars())
