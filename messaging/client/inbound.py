"""A client's text arriving by SMS: it joins their conversation, and keywords are honoured.

The webhook (hooks/) has already checked the provider's signature; this module knows no HTTP.
The sender's number is normalised to E.164 before anything is looked up or stored, so
``+1 (415) 555-0101`` finds the contact saved as ``+14155550101``, and a ``From`` that is no valid
number (``12``, ``hello<script>``) is refused rather than becoming a placeholder contact.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Contact, Message
from messaging.people.contacts import normalise_phone
from messaging.policy.optout import (
    OPT_OUT_CONFIRMATION,
    help_reply_text,
    keyword_of,
    mark_opted_in,
    mark_opted_out,
    opt_in_text,
    opt_out_text,
    queue_system_text,
)
from messaging.security.crypto import encrypt_content, keyring
from messaging.settings import get_settings
from messaging.webhooks import emit

INBOUND_ACTOR = Actor(label="sms-inbound")
MAX_INBOUND_LENGTH = 10_000


@dataclass(frozen=True)
class InboundResult:
    """What an inbound SMS became: the stored message and its keyword (STOP, START, HELP) if any."""

    message: Message | None
    keyword: str | None
    duplicate: bool = False  # a provider's retry of a message stored already


def _contacts_for(phone: str) -> list[Contact]:
    """Every contact with this number, the one most recently written to first."""
    last_message = select(func.max(Message.id)).where(Message.contact_id == Contact.id).scalar_subquery()
    return list(db.session.execute(
        select(Contact).where(Contact.phone == phone)
        .order_by(last_message.desc().nulls_last(), Contact.id.desc())).scalars())


def _unknown_sender(phone: str) -> Contact:
    """A number we do not know wrote to us: keep what they said under a placeholder contact."""
    contact = Contact(first_name="Unknown", last_name=phone, phone=phone, tags=["unknown-sender"], form_data={})
    db.session.add(contact)
    db.session.flush()
    audit(INBOUND_ACTOR, "contact.create", "contact", contact.id, source="inbound_sms")
    return contact


def receive_sms(from_number: str, body: str | None, provider_id: str | None = None) -> InboundResult:
    """Store an inbound text as a standard message in the sender's thread and act on keywords.

    ``from_number`` is normalised to E.164 (``DEFAULT_PHONE_REGION`` for numbers written without ``+``); one that
    is not a valid phone number raises ValidationFailed (``fields["From"]``) before anything is read
    or stored. STOP-like words withdraw consent on sms and voice (both purposes, source ``keyword``)
    for every contact with that number and queue the confirmation; START-like words grant
    transactional on sms and voice again and confirm; HELP queues the help text. A provider id seen
    before (a retried webhook) changes nothing. Commits nothing.
    """
    try:
        from_number = normalise_phone(from_number)
    except ValueError as exc:
        raise ValidationFailed(f"The sender is not a valid phone number: {exc}.", {"From": str(exc)}) from None
    if provider_id:
        seen = db.session.execute(select(Message).filter_by(provider_id=provider_id)).scalar_one_or_none()
        if seen is not None:
            return InboundResult(message=seen, keyword=keyword_of(body), duplicate=True)
    text = (body or "")[:MAX_INBOUND_LENGTH]
    contacts = _contacts_for(from_number) or [_unknown_sender(from_number)]
    contact = contacts[0]
    data_key, wrapped = keyring().new_data_key()
    message = Message(contact=contact, direction="in", channel="sms", mode="standard", require_pin=False,
                      status="received", data_key=wrapped, body_ciphertext=encrypt_content(data_key, text),
                      provider_id=provider_id, staff_unread_at=clock.utcnow())  # staff should see it
    db.session.add(message)

    keyword = keyword_of(text)
    settings = get_settings()
    if keyword == "stop":
        for each in contacts:
            mark_opted_out(each, source="keyword")
        queue_system_text(contact, from_number, opt_out_text(settings.org_name), kind=OPT_OUT_CONFIRMATION)
    elif keyword == "start":
        for each in contacts:
            mark_opted_in(each, source="keyword")
        queue_system_text(contact, from_number, opt_in_text(settings.org_name))
    elif keyword == "help":
        # An automatic reply: it goes even to a contact who sent STOP (carriers expect HELP answered).
        queue_system_text(contact, from_number, help_reply_text(settings.org_name, settings.help_text))
    db.session.flush()
    if keyword is None:
        emit("message.replied", reply_id=message.public_id, contact_id=contact.id, channel="sms")
    return InboundResult(message=message, keyword=keyword)
