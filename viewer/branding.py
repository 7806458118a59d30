"""The organisation's look on client pages: the brand colour as a stylesheet, and its logo."""
from __future__ import annotations

import re

from flask import Response

from messaging.logo import LOGO_TYPES
from messaging.settings import get_settings

from .blueprint import bp
from .pages import not_found

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRAND = "#1f5f8b"


@bp.get("/_/theme.css")
def theme():
    """The brand colour as a stylesheet, so no page needs an inline style."""
    brand = get_settings().brand_color or DEFAULT_BRAND
    if not HEX_COLOUR.match(brand):
        brand = DEFAULT_BRAND
    css = f":root {{ --brand: {brand}; --brand-text: {_text_on(brand)}; }}\n"
    return Response(css, mimetype="text/css")


def _text_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.179 else "#ffffff"


@bp.get("/_/logo")
def logo():
    """The uploaded logo, or the neutral 404 when there is none."""
    settings = get_settings()
    if settings.logo is None or settings.logo_media_type not in LOGO_TYPES:
        return not_found()
    response = Response(settings.logo, mimetype=settings.logo_media_type)
    # Served as an image only: a browser must never sniff it into something else.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
