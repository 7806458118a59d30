"""The organisation's logo on client pages: PNG or JPEG only, checked by content, small enough to inline."""
from __future__ import annotations

import hashlib

import filetype

from messaging.audit import Actor, audit
from messaging.errors import ValidationFailed
from messaging.settings import get_settings

MAX_LOGO_BYTES = 200 * 1024
# SVG is refused on purpose: it is a document that can carry script, and the page serves it from our origin.
LOGO_TYPES = ("image/png", "image/jpeg")


def _describe(data: bytes | None, media_type: str | None) -> str | None:
    # The audit log records which file it was, not the file.
    if data is None:
        return None
    return f"{media_type}, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def set_logo(actor: Actor, data: bytes) -> str:
    """Store ``data`` as the logo (audited as a settings change); its media type. ValidationFailed otherwise."""
    if not data:
        raise ValidationFailed("Choose a PNG or JPEG file.", {"logo": "no file was chosen"})
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationFailed("The logo was not changed.",
                               {"logo": f"is {len(data) // 1024} KB; at most {MAX_LOGO_BYTES // 1024} KB"})
    kind = filetype.guess(data)
    media_type = kind.mime if kind else None
    if media_type not in LOGO_TYPES:
        raise ValidationFailed("The logo was not changed.", {"logo": "must be a PNG or JPEG image"})
    settings = get_settings()
    old = _describe(settings.logo, settings.logo_media_type)
    settings.logo, settings.logo_media_type = data, media_type
    audit(actor, "settings.change", "settings", "logo", key="logo", old=old, new=_describe(data, media_type))
    return media_type


def remove_logo(actor: Actor) -> bool:
    """Remove the logo (audited); False when there was none."""
    settings = get_settings()
    if settings.logo is None:
        return False
    old = _describe(settings.logo, settings.logo_media_type)
    settings.logo, settings.logo_media_type = None, None
    audit(actor, "settings.change", "settings", "logo", key="logo", old=old, new=None)
    return True
