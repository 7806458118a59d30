"""Finding the record a console URL names, or answering 404."""
from __future__ import annotations

from flask import abort

from messaging.db import db

MAX_ID = 2**31 - 1  # the database's integer range: a larger id names no row, and would overflow the query


def parse_id(raw) -> int | None:
    """A record id typed into a URL or form, or None when it cannot name a row (not digits, too large)."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def get_by_id(model, record_id):
    """The row of ``model`` with this id (as typed into a URL or form), or None."""
    parsed = parse_id(record_id)
    return None if parsed is None else db.session.get(model, parsed)


def get_or_404(model, record_id=None, **unique):
    """The row of ``model`` with this id (as typed into a URL or form), or with these unique column
    values (e.g. ``key=…``); a 404 page when there is none."""
    if unique:
        record = db.session.execute(db.select(model).filter_by(**unique)).scalar_one_or_none()
    else:
        record = get_by_id(model, record_id)
    if record is None:
        abort(404)
    return record
