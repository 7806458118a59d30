"""How the console shows a time: one format for pages, Flask-Admin's columns and flash messages.

Times are naive UTC everywhere in the database; the text says so. Templates use the
``console_time`` filter (registered by ``init_app``); Python code (a flash message, a
confirmation question) calls ``format_time``.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_admin.model.typefmt import BASE_FORMATTERS


def format_time(value: datetime | None, seconds: bool = False) -> str:
    """A stored time the way a person reads it, e.g. ``4 Mar 2030, 09:30 UTC``; empty for None."""
    if value is None:
        return ""
    pattern = "%d %b %Y, %H:%M:%S UTC" if seconds else "%d %b %Y, %H:%M UTC"
    return value.strftime(pattern).lstrip("0")


# Every datetime column of a Flask-Admin list or details page.
TYPE_FORMATTERS = {**BASE_FORMATTERS, datetime: lambda view, value, name: format_time(value)}


def init_app(app: Flask) -> None:
    """Register the ``console_time`` template filter."""
    app.add_template_filter(format_time, "console_time")
