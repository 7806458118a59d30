"""The language a client's text is rendered in: the contact's, English when unknown.

Outside a request (the delivery engine, a CLI pass) no locale selector has run, so every text a
client receives is rendered under ``speaking(contact.language)``. Without an app context
Flask-Babel has no catalog to read and every text stays English, so the rendering stays testable
without an app.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import force_locale

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


def client_locale(language: str | None) -> str:
    """``language`` when Sealed speaks it, English otherwise."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Render everything inside in ``language`` (a no-op without an app context)."""
    locale = client_locale(language)
    with force_locale(locale):
        yield locale
