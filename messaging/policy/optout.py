"""Opting out and in by SMS keyword, and the rule that an opted-out contact gets nothing else.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT opt a contact out; START, YES and UNSTOP opt
them in again; HELP answers with the organisation's help text. A keyword counts only when it is
the whole message (``Stop.`` yes, ``please don't stop`` no), as carriers match them.

From the moment ``Contact.opted_out_at`` is set, every delivery to that contact is suppressed at
send time — except the opt-out confirmation itself (delivery kind ``opt_out_confirmation``).
"""
from __future__ import annotations

import re

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import Contact, Delivery, Message
from messaging.policy.decision import AUTOMATIC_REPLY
from messaging.security.crypto import encrypt_content, keyring

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP"})

OPT_OUT_CONFIRMATION = "opt_out_confirmation"
# Deliveries that still go to an opted-out contact.
EXEMPT_KINDS = frozenset({OPT_OUT_CONFIRMATION})
# Twilio: "Attempt to send to unsubscribed recipient" — the carrier saw a STOP we must honour too.
PROVIDER_OPT_OUT_CODES = frozenset({"21610"})

SMS_ACTOR = Actor(label="sms-keyword")


def keyword_of(body: str | None) -> str | None:
    """``"stop"``, ``"start"``, ``"help"`` or None for an ordinary text."""
    word = re.sub(r"[^A-Za-z]", "", (body or "").strip()).upper() if len((body or "").split()) == 1 else ""
    if word in OPT_OUT_KEYWORDS:
        return "stop"
    if word in OPT_IN_KEYWORDS:
        return "start"
    if word in HELP_KEYWORDS:
        return "help"
    return None


def suppression_reason_for(delivery: Delivery, contact: Contact) -> str | None:
    """Why this delivery must not go out now, checked at send time; None when it may."""
    if contact.opted_out_at is not None and delivery.kind not in EXEMPT_KINDS:
        return "the contact has opted out of messages"
    return None


def mark_opted_out(contact: Contact, source: str, actor: Actor = SMS_ACTOR) -> bool:
    """Record the opt-out (once). True when the contact was not opted out before."""
    if contact.opted_out_at is not None:
        return False
    contact.opted_out_at = clock.utcnow()
    audit(actor, "contact.opt_out", "contact", contact.id, source=source)
    return True


def mark_opted_in(contact: Contact, source: str, actor: Actor = SMS_ACTOR) -> bool:
    """Lift the opt-out (once), audited. True when the contact was opted out before."""
    if contact.opted_out_at is None:
        return False
    contact.opted_out_at = None
    audit(actor, "contact.opt_in", "contact", contact.id, source=source)
    return True


def queue_system_text(contact: Contact, phone: str, text: str, kind: str = "content") -> Message:
    """An automatic standard SMS (confirmation, help) that joins the contact's thread like any other.

    Its body is encrypted like all content; it goes at once (no quiet hours: the client just wrote).
    """
    data_key, wrapped = keyring().new_data_key()
    message = Message(contact=contact, direction="out", channel="sms", mode="standard", require_pin=False,
                      decided_by=AUTOMATIC_REPLY, status="queued", data_key=wrapped,
                      body_ciphertext=encrypt_content(data_key, text))
    db.session.add(message)
    db.session.add(Delivery(message=message, kind=kind, channel="sms", to_address=phone,
                            next_attempt_at=clock.utcnow()))
    return message


def opt_out_text(org_name: str) -> str:
    """The confirmation a client gets after STOP."""
    return (f"{org_name}: you are unsubscribed and will get no more messages from us. "
            "Reply START to subscribe again.")


def opt_in_text(org_name: str) -> str:
    """The confirmation a client gets after START."""
    return f"{org_name}: you are subscribed again. Reply STOP to unsubscribe, HELP for help."


def help_reply_text(org_name: str, help_text: str | None) -> str:
    """The answer to HELP: the organisation's help text, prefixed with its name."""
    text = (help_text or "").strip() or "Reply STOP to stop messages, START to receive them again."
    return text if text.startswith(org_name) else f"{org_name}: {text}"
