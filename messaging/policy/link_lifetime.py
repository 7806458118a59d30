"""How long a secure link lives, and whether it dies at the first view: the organisation's bounds
and a template's choice within them.

The organisation bounds every link (``link_ttl_min_hours`` .. ``link_ttl_max_hours``); a template
may choose a lifetime inside those bounds, and one stored before the bounds were narrowed is
clamped rather than refused, so a settings change never breaks sending from an old template.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from messaging.models import Template
from messaging.settings import get_settings


def link_lifetime_hours(template: Template | None, settings=None) -> int:
    """The template's lifetime (or the organisation's default), within the organisation's bounds."""
    settings = settings or get_settings()
    hours = template.link_ttl_hours if template is not None and template.link_ttl_hours else settings.link_ttl_hours
    return min(max(hours, settings.link_ttl_min_hours), settings.link_ttl_max_hours)


def link_expiry(start: datetime, template: Template | None, settings=None) -> datetime:
    """When a link whose message goes out at ``start`` stops working."""
    return start + timedelta(hours=link_lifetime_hours(template, settings))


def expires_after_view(choice: bool | None, template: Template | None) -> bool:
    """The per-message choice when made, else the template's."""
    if choice is not None:
        return bool(choice)
    return bool(template is not None and template.expire_after_view)
