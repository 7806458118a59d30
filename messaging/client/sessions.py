"""A verified client's session: after one proof of identity, the contact's whole secure thread.

The viewer keeps it in one cookie whose value is a random token; only its SHA-256 is stored, so
a copy of the table opens nothing. A session belongs to one contact, lapses after
``viewer_session_minutes`` without a request, and ends at once on "Sign out", when staff end the
contact's sessions, or when the contact's PIN locks (a lock means someone is guessing: whoever
holds an older session must prove themselves again).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import Contact, Message, ViewerSession
from messaging.security.crypto import keyring
from messaging.security.lockout import contact_lock
from messaging.settings import get_settings

# Writing last_seen_at on every request would turn each page view into a write; moving it at
# most this often keeps the idle limit within a minute of exact.
TOUCH_EVERY = timedelta(seconds=60)
END_REASONS = ("signed_out", "revoked", "locked", "pin_changed", "erased")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def idle_limit() -> timedelta:
    """How long a session lives without a request (the ``viewer_session_minutes`` setting)."""
    return timedelta(minutes=get_settings().viewer_session_minutes)


def start_session(contact: Contact, message: Message | None, ip: str | None) -> tuple[str, ViewerSession]:
    """A new session for a contact just verified; returns the cookie's value and the row. Commits nothing."""
    raw = secrets.token_urlsafe(32)
    now = clock.utcnow()
    session = ViewerSession(token_hash=_digest(raw), contact_id=contact.id,
                            message_id=message.id if message is not None else None, created_at=now,
                            last_seen_at=now, ip_hash=keyring().keyed_hash(ip) if ip else None)
    db.session.add(session)
    return raw, session


def resume_session(raw: str | None, now: datetime | None = None) -> ViewerSession | None:
    """The live session a cookie value names, its idle time renewed; None when there is none.

    A session that lapsed or whose contact is PIN-locked is None (the locked one is ended here,
    so that it stays ended after the lock runs out). Commits nothing.
    """
    if not raw or len(raw) > 128:
        return None
    now = now or clock.utcnow()
    session = db.session.execute(
        db.select(ViewerSession).filter_by(token_hash=_digest(raw))).scalar_one_or_none()
    if session is None or session.ended_at is not None:
        return None
    if contact_lock(session.contact, now) is not None:
        end_session(session, "locked", now)
        return None
    if session.last_seen_at + idle_limit() <= now:
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
    return session


def session_expires_at(session: ViewerSession) -> datetime:
    """When the session lapses if no request comes before."""
    return session.last_seen_at + idle_limit()


def end_session(session: ViewerSession, reason: str, now: datetime | None = None) -> None:
    """End one session ("Sign out", or a lock seen on resume). Commits nothing."""
    if session.ended_at is None:
        session.ended_at = now or clock.utcnow()
        session.ended_reason = reason


def end_contact_sessions(contact: Contact, reason: str, actor: Actor | None = None,
                         keep: ViewerSession | None = None) -> int:
    """End every live session of a contact (but ``keep``): staff's "sign the client out", a PIN lock, a new
    PIN chosen. Commits nothing."""
    now = clock.utcnow()
    query = update(ViewerSession).where(ViewerSession.contact_id == contact.id, ViewerSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(ViewerSession.id != keep.id)
    result = db.session.execute(query.values(ended_at=now, ended_reason=reason)
                                .execution_options(synchronize_session=False))
    if actor is not None:
        audit(actor, "contact.viewer_sessions_end", "contact", contact.id, sessions=result.rowcount)
    return result.rowcount


def live_session_count(contact: Contact) -> int:
    """Sessions of the contact that would still let a browser in (for the console)."""
    since = clock.utcnow() - idle_limit()
    return db.session.execute(
        db.select(db.func.count(ViewerSession.id)).where(
            ViewerSession.contact_id == contact.id, ViewerSession.ended_at.is_(None),
            ViewerSession.last_seen_at > since)).scalar_one()
