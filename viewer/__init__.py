"""The viewer face: the client's pages behind signed links (``/m/<token>``)."""
from __future__ import annotations

from flask import Flask

from extensions import csrf

from . import attachments, branding, pin_choice, thread, views  # noqa: F401 - their routes register on bp
from .blueprint import bp


def init_app(app: Flask) -> None:
    # No CSRF token: the viewer's one cookie (the verified session) is SameSite=Strict, so a request
    # another site starts never carries it, and every other POST proves itself (the signed link in
    # the URL plus the PIN, code or date of birth). A token would need the session cookie we avoid.
    csrf.exempt(bp)
    app.register_blueprint(bp)
