"""View tracking: every step of a message's life is a MessageEvent."""
from __future__ import annotations

from messaging.db import db
from messaging.models import Message, MessageEvent
from messaging.security.crypto import keyring


def record_event(message: Message, kind: str, ip: str | None = None, **detail) -> MessageEvent:
    """Add an event; a client IP is stored only as a keyed hash."""
    event = MessageEvent(message=message, kind=kind, ip_hash=keyring().keyed_hash(ip) if ip else None,
                         detail={k: v for k, v in detail.items() if v is not None})
    db.session.add(event)
    return event
