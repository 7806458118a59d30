"""The viewer face: the client's pages behind signed links (``/m/<token>``)."""
from __future__ import annotations

from flask import Flask

from extensions import csrf

from . import attachments, branding, thread, views  # noqa: F401 - their routes register on bp
from .blueprint import bp


def init_app(app: Flask) -> None:
    # No cookie is involved here: every POST carries its own proof (the signed link in the URL,
    # plus the PIN, the code or a signed view grant), so there is no ambient authority for a
    # cross-site request to borrow, and a CSRF token would need the session cookie we avoid.
    csrf.exempt(bp)
    app.register_blueprint(bp)
