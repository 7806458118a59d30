"""The hooks face: provider webhooks under /hooks/ (Twilio status callbacks and inbound SMS)."""
from __future__ import annotations

from flask import Flask

from extensions import csrf

from .twilio_webhooks import bp


def init_app(app: Flask) -> None:
    # Twilio cannot carry a CSRF token; each request proves itself with X-Twilio-Signature instead.
    csrf.exempt(bp)
    app.register_blueprint(bp)
