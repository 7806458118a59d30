"""Which language a client page speaks: the contact's, once the link names one; English otherwise.

The console and the API stay English: only a viewer request sets ``g.client_language``.
"""
from __future__ import annotations

from flask import g
from flask_babel import refresh

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


def client_language() -> str:
    """Flask-Babel's locale selector."""
    return g.get("client_language") or DEFAULT_LANGUAGE


def use_language(language: str | None) -> str:
    """Speak ``language`` for the rest of this request (an unknown one falls back to English)."""
    g.client_language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    refresh()
    return g.client_language
