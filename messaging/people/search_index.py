"""The index segments search: a contact's tags and form fields as rows, case-folded in Python.

Folding here rather than in SQL makes SQLite and PostgreSQL agree beyond ASCII (``LOWER`` does
not fold "ß" or "İ" alike on both). The rows are derived data: ``index_rows`` says what they are
for one contact, ``write_index`` replaces them in bulk (imports), and a flush listener keeps them
in step whenever a contact's tags or form data change through the ORM, so no writer forgets them.
"""
from __future__ import annotations

import math
import re
from datetime import date

from sqlalchemy import delete, event, insert, inspect
from sqlalchemy.orm import Session

from messaging.models import Contact, ContactField, ContactTag

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def fold(text: str) -> str:
    """Case-folded text: how tags and values are stored and compared."""
    return text.casefold()


def field_text(value) -> str | None:
    """A form value as the text eq/ne/contains compare; None for a missing (null) value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return fold(str(value))


def field_number(value) -> float | None:
    """The value as a number when it reads as one (``15``, ``"15"``, ``"-2.5"``); booleans never do."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip()
        if not NUMBER.match(text):
            return None
        number = text
    try:
        number = float(number)
    except OverflowError:  # an integer beyond a float's range
        return None
    return number if math.isfinite(number) else None


def field_date(value) -> str | None:
    """The ISO date a text value starts with (``2025-03-14``, ``2025-03-14T10:00``), when it is a real date."""
    if not isinstance(value, str):
        return None
    match = ISO_DATE.match(value.strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def index_rows(contact_id: int, tags: list | None, form_data: dict | None) -> tuple[list[dict], list[dict]]:
    """The ``contact_tag`` and ``contact_field`` rows of one contact."""
    tag_rows = [{"contact_id": contact_id, "tag": tag} for tag in sorted({fold(t) for t in tags or [] if t})]
    field_rows = []
    for name, value in (form_data or {}).items():
        text = field_text(value)
        if text is None:
            continue
        field_rows.append({"contact_id": contact_id, "name": name, "text": text,
                           "number": field_number(value), "date": field_date(value)})
    return tag_rows, field_rows


def write_index(connection, contacts: list[tuple[int, list | None, dict | None]]) -> None:
    """Replace the index rows of these ``(contact_id, tags, form_data)`` in bulk, on ``connection``."""
    if not contacts:
        return
    ids = [contact_id for contact_id, _tags, _form in contacts]
    for start in range(0, len(ids), 500):  # bound the IN list
        part = ids[start:start + 500]
        connection.execute(delete(ContactTag).where(ContactTag.contact_id.in_(part)))
        connection.execute(delete(ContactField).where(ContactField.contact_id.in_(part)))
    tag_rows, field_rows = [], []
    for contact_id, tags, form_data in contacts:
        tags_of_one, fields_of_one = index_rows(contact_id, tags, form_data)
        tag_rows += tags_of_one
        field_rows += fields_of_one
    if tag_rows:
        connection.execute(insert(ContactTag), tag_rows)
    if field_rows:
        connection.execute(insert(ContactField), field_rows)


def _changed(contact: Contact) -> bool:
    state = inspect(contact)
    return state.attrs.tags.history.has_changes() or state.attrs.form_data.history.has_changes()


@event.listens_for(Session, "before_flush")
def _note_contacts_to_index(session, _flush_context, _instances) -> None:
    pending = session.info.setdefault("contacts_to_index", set())
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Contact) and (obj in session.new or _changed(obj)):
            pending.add(obj)


@event.listens_for(Session, "after_flush")
def _index_flushed_contacts(session, _flush_context) -> None:
    pending = session.info.pop("contacts_to_index", set())
    rows = [(c.id, c.tags, c.form_data) for c in pending if c.id is not None and c not in session.deleted]
    if rows:
        write_index(session.connection(), rows)
