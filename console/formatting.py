"""How the console shows a time (one format for pages, Flask-Admin's columns and flash messages),
and how it reads one typed into a "send at" field.

Times are naive UTC everywhere in the database; the text says so. Templates use the
``console_time`` filter (registered by ``init_app``); Python code (a flash message, a
confirmation question) calls ``format_time``.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask_admin.model.typefmt import BASE_FORMATTERS

from messaging import clock
from messaging.messages import SEND_AT_RANGE, send_at_problem


def format_time(value: datetime | None, seconds: bool = False) -> str:
    """A stored time the way a person reads it, e.g. ``4 Mar 2030, 09:30 UTC``; empty for None."""
    if value is None:
        return ""
    pattern = "%d %b %Y, %H:%M:%S UTC" if seconds else "%d %b %Y, %H:%M UTC"
    return value.strftime(pattern).lstrip("0")


# Every datetime column of a Flask-Admin list or details page.
TYPE_FORMATTERS = {**BASE_FORMATTERS, datetime: lambda view, value, name: format_time(value)}


def parse_send_at(text: str, errors: dict, now_hint: str = "leave it empty to send now") -> datetime | None:
    """A typed "send at" (ISO, UTC unless it names a zone) as naive UTC in the future, or None with
    ``errors["send_at"]`` saying what would be accepted."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors["send_at"] = "Enter a date and time, e.g. 2030-03-14 09:30."
        return None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 falls before year 1 in UTC
            errors["send_at"] = f"Choose a time that {SEND_AT_RANGE.replace('must be', 'is')}."
            return None
    if value <= clock.utcnow():
        errors["send_at"] = f"Choose a time in the future (UTC), or {now_hint}."
        return None
    if send_at_problem(value):
        errors["send_at"] = f"Choose a time that {SEND_AT_RANGE.replace('must be', 'is')}."
        return None
    return value


def init_app(app: Flask) -> None:
    """Register the ``console_time`` template filter."""
    app.add_template_filter(format_time, "console_time")
