"""Opting out and in by SMS keyword, and the rule that an opted-out contact gets nothing else.

STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT opt a contact out; START, YES and UNSTOP opt
them in again; HELP answers with the organisation's help text. A keyword counts only when it is
the whole message (``Stop.`` yes, ``please don't stop`` no), as carriers match them.

STOP withdraws consent in the ledger (``people.consent``): both purposes on sms and voice (the
phone number), source ``keyword``; e-mail continues. START grants transactional on sms and voice
again, never marketing. Twilio's 21610 ("unsubscribed recipient") withdraws like STOP, source
``provider``.

At send time a delivery on a channel whose transactional consent is withdrawn is suppressed,
except automatic replies (the confirmations and the HELP answer: ``decided_by`` is
``AUTOMATIC_REPLY``, or the delivery kind is exempt); a marketing message (recommendation
``standard_opt_in``) also needs marketing consent on the message's channel.
"""
from __future__ import annotations

import re

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import Contact, Delivery, Message
from messaging.people.consent import grant_phone_transactional, has_consent, withdraw_phone
from messaging.policy.decision import AUTOMATIC_REPLY
from messaging.security.crypto import encrypt_content, keyring
from messaging.webhooks import emit

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP"})

OPT_OUT_CONFIRMATION = "opt_out_confirmation"
# Deliveries that still go to an opted-out contact (besides every automatic reply).
EXEMPT_KINDS = frozenset({OPT_OUT_CONFIRMATION})
# Twilio: "Attempt to send to unsubscribed recipient" — the carrier saw a STOP we must honour too.
PROVIDER_OPT_OUT_CODES = frozenset({"21610"})
CHANNEL_NOUNS = {"sms": "texts", "email": "e-mail", "voice": "calls"}

SMS_ACTOR = Actor(label="sms-keyword")
PROVIDER_ACTOR = Actor(label="twilio")


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


def withdrawn_reason(channel: str) -> str:
    """Why nothing but automatic replies goes on a channel whose transactional consent is withdrawn."""
    return f"the contact has opted out of {CHANNEL_NOUNS.get(channel, channel)}"


def marketing_reason(channel: str) -> str:
    """Why a marketing message does not go on a channel without marketing consent."""
    return f"marketing needs the contact's recorded opt-in for {CHANNEL_NOUNS.get(channel, channel)}, and there is none"


def is_automatic_reply(delivery: Delivery) -> bool:
    """A confirmation or HELP answer: it goes even where consent is withdrawn (the client just wrote)."""
    return delivery.kind in EXEMPT_KINDS or delivery.message.decided_by == AUTOMATIC_REPLY


def suppression_reason_for(delivery: Delivery, contact: Contact, states: dict | None = None) -> str | None:
    """Why this delivery must not go out now, checked at send time; None when it may.

    ``states``: the contact's consent map when the caller read it already (a delivery batch).
    """
    if is_automatic_reply(delivery):
        return None

    def granted(channel: str, purpose: str) -> bool:
        return states[channel][purpose] if states is not None else has_consent(contact, channel, purpose)

    if not granted(delivery.channel, "transactional"):
        return withdrawn_reason(delivery.channel)
    message = delivery.message
    if message.recommendation == "standard_opt_in" and not granted(message.channel, "marketing"):
        return marketing_reason(message.channel)
    return None


def mark_opted_out(contact: Contact, source: str, actor: Actor = SMS_ACTOR, note: str | None = None) -> bool:
    """Withdraw both purposes on sms and voice (``source``: ``keyword`` or ``provider``), audited.

    True when it changed anything (a second STOP writes nothing).
    """
    rows = withdraw_phone(contact, source, actor, note)
    if rows:
        audit(actor, "contact.opt_out", "contact", contact.id, source=source,
              consent=[f"{row.channel}:{row.purpose}" for row in rows])
        emit("contact.opted_out", contact_id=contact.id, source=source, consent=sorted(
            f"{row.channel}:{row.purpose}" for row in rows))
    return bool(rows)


def mark_opted_in(contact: Contact, source: str, actor: Actor = SMS_ACTOR) -> bool:
    """Grant transactional on sms and voice again (never marketing), audited. True when it changed anything."""
    rows = grant_phone_transactional(contact, source, actor)
    if rows:
        audit(actor, "contact.opt_in", "contact", contact.id, source=source,
              consent=[f"{row.channel}:{row.purpose}" for row in rows])
        emit("contact.opted_in", contact_id=contact.id, source=source, consent=sorted(
            f"{row.channel}:{row.purpose}" for row in rows))
    return bool(rows)


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
    return (f"{org_name}: you are unsubscribed and will get no more texts or calls from us. "
            "Reply START to subscribe again.")


def opt_in_text(org_name: str) -> str:
    """The confirmation a client gets after START."""
    return f"{org_name}: you are subscribed again. Reply STOP to unsubscribe, HELP for help."


def help_reply_text(org_name: str, help_text: str | None) -> str:
    """The answer to HELP: the organisation's help text, prefixed with its name."""
    text = (help_text or "").strip() or "Reply STOP to stop messages, START to receive them again."
    return text if text.startswith(org_name) else f"{org_name}: {text}"
