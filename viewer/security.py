"""The headers every viewer response carries, set in one place."""
from __future__ import annotations

from flask import Response

# No third-party origin and no inline script or style anywhere in the viewer: the brand colour
# comes from a small stylesheet served by the viewer itself.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def apply_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    # Caches must never keep a page that may hold content; ETag/Last-Modified invite revalidation.
    response.headers.pop("ETag", None)
    response.headers.pop("Last-Modified", None)
    return response
