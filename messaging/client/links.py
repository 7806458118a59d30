"""What a link leads to: its live message, or why it no longer opens one.

A validly signed link can only have come from us, so its page may say plainly that the message
expired, was withdrawn or was replaced by a newer link. Anything else (tampered, truncated,
unknown) gets the one neutral answer, which must not tell a guesser which of those it was.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Literal

from messaging import clock
from messaging.db import db
from messaging.events import record_event
from messaging.models import Message, MessageEvent
from messaging.security.tokens import read_link_token

# Links are also bounded by the message's own expires_at; this only caps the signature's age.
MAX_LINK_AGE_SECONDS = 91 * 24 * 3600
# A dead link opened again and again (a reload, a scanner) records one ``expired`` per window.
EXPIRED_EVENT_WINDOW = timedelta(minutes=5)

LinkState = Literal["found", "expired", "revoked", "replaced", "unknown"]


def open_link(token: str) -> tuple[LinkState, Message | None]:
    """The link's state and, unless ``unknown``, the message its signature names."""
    claims = read_link_token(token or "", MAX_LINK_AGE_SECONDS)
    if claims is None:
        return "unknown", None
    message = db.session.execute(db.select(Message).filter_by(public_id=claims.public_id)).scalar_one_or_none()
    if message is None or message.direction != "out" or message.mode != "secure" or message.status == "suppressed":
        return "unknown", None
    if claims.version > message.token_version:
        return "unknown", None  # we never signed a version the message has not reached
    # Revoking also bumps the version, so a withdrawn message is checked before a replaced link.
    if message.revoked_at is not None or message.status in ("cancelled", "revoked"):
        return "revoked", message
    if claims.version < message.token_version:
        return "replaced", message
    if message.expires_at is not None and message.expires_at <= clock.utcnow():
        return "expired", message
    return "found", message


def resolve_link(token: str) -> Message | None:
    """The live message a link opens, or None."""
    state, message = open_link(token)
    return message if state == "found" else None


def note_expired_open(message: Message, ip: str | None) -> None:
    """Record ``expired`` for an open of an expired link, at most once per window per message."""
    since = clock.utcnow() - EXPIRED_EVENT_WINDOW
    recent = db.session.execute(
        db.select(MessageEvent.id).where(MessageEvent.message_id == message.id, MessageEvent.kind == "expired",
                                         MessageEvent.at > since).limit(1)).first()
    if recent is None:
        record_event(message, "expired", ip=ip, opened=True)


# The office is told once per message per hour however often the page is submitted.
LINK_REQUEST_INTERVAL = timedelta(hours=1)


def request_new_link(message: Message, ip: str | None) -> bool:
    """The client asks the office for a new link; False when they already asked within the hour.

    Marks the conversation for staff's attention. Commits nothing. An erased contact's old link asks
    nobody: the client sees the same page, but the erased conversation gains no request, event or mark.
    """
    if message.contact.erased_at is not None:
        return True
    now = clock.utcnow()
    last = message.link_requested_at
    if last is not None and now - last < LINK_REQUEST_INTERVAL:
        return False
    message.link_requested_at = now
    message.staff_unread_at = message.staff_unread_at or now
    record_event(message, "link_requested", ip=ip)
    return True
