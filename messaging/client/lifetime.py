"""A secure link's life on the client's side: "expire after first view", and re-issuing a fresh link.

The lifetime rules themselves (the organisation's bounds, a template's choice) are policy, in
``messaging.policy.link_lifetime``; they are re-exported here for the client's side.
"""
from __future__ import annotations

from datetime import datetime

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict
from messaging.events import record_event
from messaging.models import Delivery, Message
from messaging.people.consent import has_consent
from messaging.policy.link_lifetime import expires_after_view, link_expiry, link_lifetime_hours
from messaging.settings import get_settings

# A secure message by voice: the call only says a message waits; the new link must go by SMS.
LINK_CHANNEL = "sms"
NOT_REISSUABLE_STATUSES = ("suppressed", "scheduled", "cancelled")
__all__ = ["after_first_view", "expires_after_view", "link_expiry", "link_lifetime_hours", "reissue_message",
           "reissue_problem"]


def after_first_view(message: Message, now: datetime | None = None) -> None:
    """The content was just shown: a message that expires after its first view expires now.

    Safe to call on every view: a link already dead keeps its earlier expiry.
    """
    if not message.expire_after_view:
        return
    now = now or clock.utcnow()
    if message.expires_at is None or message.expires_at > now:
        message.expires_at = now


def reissue_problem(message: Message) -> str | None:
    """Why this message cannot get a fresh link, or None."""
    if message.direction != "out" or message.mode != "secure":
        return "Only a secure message sent to a client has a link to re-issue."
    if message.content_destroyed_at is not None:
        return f"Its content was destroyed by {message.content_destroyed_reason}: there is nothing to re-issue."
    if message.status in NOT_REISSUABLE_STATUSES:
        return f"A {message.status} message has no link to re-issue."
    channel = message.channel
    if not has_consent(message.contact, channel, "transactional"):
        return f"The client withdrew consent to messages by {channel}: a new link cannot be sent."
    if not (message.contact.email if channel == "email" else message.contact.phone):
        return f"The contact has no {'e-mail address' if channel == 'email' else 'phone number'} any more."
    return None


def reissue_message(message: Message, actor: Actor) -> Message:
    """A fresh link for an expired, revoked or lost one: the old link dies, a new notice goes out.

    Raises Conflict ``not_reissuable`` (see ``reissue_problem``) or ``portal_disabled``. Commits nothing.
    """
    problem = reissue_problem(message)
    if problem:
        raise Conflict(problem, code="not_reissuable")
    settings = get_settings()
    if not settings.portal_enabled:
        raise Conflict("Secure messages need the client portal, which is turned off.", code="portal_disabled")
    now = clock.utcnow()
    message.token_version += 1
    message.revoked_at = None
    message.expires_at = link_expiry(now, message.template, settings)
    message.status = "queued"
    message.link_requested_at = None  # answered: the thread stops showing the request
    for delivery in message.deliveries:
        if delivery.status == "queued":
            delivery.status = "cancelled"  # a notice still waiting would carry the same link twice
    contact = message.contact
    address = contact.email if message.channel == "email" else contact.phone
    db.session.add(Delivery(message=message, kind="notice", channel=message.channel, to_address=address,
                            next_attempt_at=now))
    if message.channel == "voice":
        db.session.add(Delivery(message=message, kind="link", channel=LINK_CHANNEL, to_address=contact.phone,
                                idempotency_key=_link_key(message), next_attempt_at=now))
    record_event(message, "reissued", version=message.token_version, expires_at=message.expires_at.isoformat())
    audit(actor, "message.reissue", "message", message.public_id, version=message.token_version)
    return message


def _link_key(message: Message) -> str:
    # The delivery engine adds the link SMS of a voice notice under "link:<id>" unless one exists;
    # using that key when it is free keeps the engine from adding a second one.
    first = f"link:{message.public_id}"
    if any(d.idempotency_key == first for d in message.deliveries):
        return f"{first}:v{message.token_version}"
    return first
