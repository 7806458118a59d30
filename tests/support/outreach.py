"""Audiences for broadcast and campaign tests: contacts with tags and consent, segments, templates."""
from __future__ import annotations

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Situation, Template
from messaging.people.consent import record_consent
from messaging.people.contacts import create_contact


def person(first_name: str, tags=(), phone: str | None = None, email: str | None = None, marketing=(),
           opted_out=(), **fields):
    """A contact (flushed) with tags, marketing granted on the ``marketing`` channels and
    transactional withdrawn on the ``opted_out`` channels."""
    data = {"first_name": first_name, "last_name": "Test", "tags": list(tags), **fields}
    if phone:
        data["phone"] = phone
    if email:
        data["email"] = email
    contact = create_contact(SYSTEM, data)
    db.session.flush()
    for channel in marketing:
        record_consent(contact, channel, "marketing", True, "staff", SYSTEM)
    for channel in opted_out:
        record_consent(contact, channel, "transactional", False, "keyword", SYSTEM)
    return contact


def tag_segment(name: str, tag: str) -> int:
    """A segment of the contacts tagged ``tag``; its id."""
    segment = create_segment(SYSTEM, name, {"match": "all", "conditions": [{"tag": tag}]})
    db.session.flush()
    return segment.id


def template(slug: str, body: str, channel: str = "sms", mode: str = "inherit", situation: str | None = None,
             subject: str | None = None) -> Template:
    """A template (flushed) with this body, channel, mode and situation key."""
    row = Template(slug=slug, name=slug.replace("-", " ").title(), channel=channel, mode=mode, body=body,
                   subject=subject,
                   situation=db.session.execute(db.select(Situation).filter_by(key=situation)).scalar_one()
                   if situation else None)
    db.session.add(row)
    db.session.flush()
    return row
