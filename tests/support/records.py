"""What the core wrote down: a message's events and the audit trail, read back for assertions."""
from __future__ import annotations

from flask import Flask

from messaging.db import db
from messaging.models import AuditEntry, Message, MessageEvent


def event_kinds(message: Message) -> list[str]:
    """The kinds of the message's events, oldest first, as the database holds them now."""
    return list(db.session.scalars(db.select(MessageEvent.kind).filter_by(message_id=message.id)
                                   .order_by(MessageEvent.id)))


def audit_entries(action: str | None = None) -> list[AuditEntry]:
    """The audit entries (only ``action``'s when given), oldest first; inside an app context."""
    query = db.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.filter_by(action=action)
    return list(db.session.execute(query).scalars())


def audit_entries_in(app: Flask, action: str | None = None) -> list[AuditEntry]:
    """``audit_entries`` read in an app context of its own, detached so they can be looked at after it."""
    with app.app_context():
        entries = audit_entries(action)
        db.session.expunge_all()
        return entries
