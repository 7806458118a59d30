"""Contacts: create, read, set a PIN, read the conversation thread."""
from __future__ import annotations

from flask import after_this_request

from messaging.client.conversations import read_thread
from messaging.db import db
from messaging.errors import NotFound, ValidationFailed
from messaging.models import Contact
from messaging.people import contacts as contact_core
from messaging.security.pins import InvalidPin

from .auth import current_actor
from .registry import operation
from .schemas import MAX_ID, ContactIn, ContactOut, PinIn, ThreadMessageOut, ThreadOut


def get_contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id) if contact_id <= MAX_ID else None
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    return contact


@operation("/contacts", "POST", summary="Create a contact", tag="contacts", status=201,
           request_body=ContactIn, response=ContactOut, errors=(422,))
def create_contact(body: ContactIn) -> ContactOut:
    """Phone numbers are normalised to E.164, e-mail addresses checked. The PIN, if given, is stored
    as a slow hash and never returned (see `has_pin`)."""
    data = body.model_dump(exclude_unset=True)
    contact = contact_core.create_contact(current_actor(), data, source="api")
    db.session.commit()
    return ContactOut.model_validate(contact)


@operation("/contacts/<int:contact_id>", "GET", summary="Read a contact", tag="contacts", response=ContactOut,
           errors=(404,))
def read_contact(contact_id: int) -> ContactOut:
    """The contact's fields; the PIN is never returned, only whether one is set."""
    return ContactOut.model_validate(get_contact(contact_id))


@operation("/contacts/<int:contact_id>/pin", "PUT", summary="Set a contact's PIN", tag="contacts", status=204,
           request_body=PinIn, errors=(404, 422))
def set_pin(contact_id: int, body: PinIn) -> None:
    """The contact's PIN opens their PIN-protected secure messages. The change is audited."""
    contact = get_contact(contact_id)
    try:
        contact_core.set_contact_pin(current_actor(), contact, body.pin)
    except InvalidPin as exc:
        raise ValidationFailed(str(exc), {"pin": str(exc)}) from None
    db.session.commit()


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@operation("/contacts/<int:contact_id>/thread", "GET", summary="Read a contact's conversation", tag="contacts",
           response=ThreadOut, errors=(404,))
def read_contact_thread(contact_id: int) -> ThreadOut:
    """Every message to and from the contact, oldest first, with content. Each call is audited.
    The answer carries `Cache-Control: no-store`: no cache on the way may keep decrypted content."""
    contact = get_contact(contact_id)
    after_this_request(_no_store)
    items = read_thread(contact, current_actor(), purpose="api")
    db.session.commit()  # the audit entry of this read
    return ThreadOut(contact_id=contact.id, messages=[
        ThreadMessageOut(id=item.message.public_id, direction=item.direction, mode=item.mode, channel=item.channel,
                         status=item.status, created_at=item.created_at, viewed_at=item.viewed_at,
                         subject=item.subject, body=item.body)
        for item in items])
