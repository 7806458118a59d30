"""Not answering a secure conversation in plain text by accident.

When the client's latest message came through the secure page (an inbound ``web`` reply), the
answer starts secure; sending it standard anyway needs an explicit ``confirm=yes``, checked on the
server, so the rule holds without JavaScript and for a form posted by hand. A client's text that
looks like protected data offers "continue securely": the composer opens preset to secure.
"""
from __future__ import annotations

from messaging.db import db
from messaging.messages import MessageRequest, decide_for
from messaging.models import Contact, Message
from messaging.policy.content_check import find_protected_data
from messaging.settings import get_settings

CONFIRM_FIELD = "confirm"


def answering_secure_reply(contact: Contact | None) -> bool:
    """Whether the contact's latest message to us came through the secure page."""
    if contact is None or contact.id is None:
        return False
    channel = db.session.execute(
        db.select(Message.channel).where(Message.contact_id == contact.id, Message.direction == "in")
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).scalar_one_or_none()
    return channel == "web"


def preset_secure(form, contact: Contact | None, asked: bool = False):
    """The composer's starting state: secure (as a one-off choice) when answering a secure reply,
    or when staff chose "continue securely" (``asked``)."""
    if get_settings().portal_enabled and (asked or answering_secure_reply(contact)):
        form.secure, form.secure_touched = True, True
    return form


def wants_send(posted) -> bool:
    """The form was posted to send: the Send button, or the "send as standard anyway" confirmation."""
    return posted.get("action") == "send" or posted.get(CONFIRM_FIELD) == "yes"


def needs_standard_confirmation(message_request: MessageRequest | None, posted) -> bool:
    """A send that would go standard in answer to a secure reply, not yet confirmed."""
    if message_request is None or posted.get(CONFIRM_FIELD) == "yes" or not wants_send(posted):
        return False
    if not answering_secure_reply(message_request.contact):
        return False
    return decide_for(message_request).mode == "standard"


def looks_protected(direction: str, mode: str, body: str | None) -> bool:
    """A client's plain text (SMS) that looks like protected data, by the same check as outgoing text."""
    if direction != "in" or mode == "secure":
        return False
    return bool(find_protected_data(body or "", get_settings().sensitive_terms))
