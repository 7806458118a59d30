"""The headers every console response carries, set in one after-request hook.

"Console" is every response that no other face owns: the sign-in page, every /admin page and
its static files, redirects, and error pages (a 404 for an unknown path included). The viewer
(/m/), the API, the provider webhooks and the health probe set their own headers and are left
alone.

The Content-Security-Policy allows nothing from another origin. Scripts run only from our own
files or with this response's nonce (Flask-Admin puts ``admin_csp_nonce_attribute`` on its script
tags through ``Admin(csp_nonce_generator=csp_nonce)``); no inline handler, no ``javascript:``
URL and no ``eval``. Styles come only from our own stylesheets: no ``style`` attribute and no
``<style>`` block anywhere in the console's templates (console/static/console.css holds what they
used to say), so no ``'unsafe-inline'`` is needed for styles either.
"""
from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request

# Blueprints of the other faces; each sets its own headers (the viewer's are stricter still).
OTHER_FACES = ("viewer", "api", "hooks", "health")

CONSOLE_CSP = (
    "default-src 'self'",
    "script-src 'self' 'nonce-{nonce}'",
    "style-src 'self'",
    # Bootstrap's stylesheet draws its check marks and select arrows as data: SVGs.
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def csp_nonce() -> str:
    """This request's script nonce: one per response, fresh for every request."""
    if "sealed_csp_nonce" not in g:
        g.sealed_csp_nonce = secrets.token_urlsafe(18)
    return g.sealed_csp_nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(CONSOLE_CSP).format(nonce=nonce)


def is_console_request() -> bool:
    """Whether the current response is the console's (see the module docstring)."""
    if request.blueprint in OTHER_FACES:
        return False
    if request.blueprint:
        return True
    # No route matched (404, 405): decide by the path, so /m/<anything> stays the viewer's.
    for name in OTHER_FACES:
        blueprint = current_app.blueprints.get(name)
        prefix = (blueprint.url_prefix or "").rstrip("/") if blueprint else ""
        if prefix and (request.path == prefix or request.path.startswith(prefix + "/")):
            return False
    return True


def is_static_asset() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def apply_console_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    if not is_static_asset():
        # Every console page shows client data (names, numbers, the audit log), and some show
        # decrypted content: threads, a message's content, the composer's preview. Nothing of it
        # may stay in a browser cache or be shown again by Back after signing out on a shared
        # computer. Static files stay cacheable.
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("ETag", None)
        response.headers.pop("Last-Modified", None)
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def _console_headers(response: Response) -> Response:
        # after_request also runs for error pages and redirects, so no console response goes out without them.
        if is_console_request():
            apply_console_headers(response)
        return response
