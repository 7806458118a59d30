"""Contacts: create, read, change, set a PIN, read the conversation thread, the consent ledger."""
from __future__ import annotations

from flask import after_this_request

from messaging.client.conversations import read_thread
from messaging.db import db
from messaging.errors import NotFound, ValidationFailed
from messaging.models import Contact
from messaging.people import contacts as contact_core
from messaging.people.consent import change_consent, consent_history, consent_summary
from messaging.security.pins import InvalidPin

from .auth import current_actor
from .registry import operation
from .schemas import (
    MAX_ID,
    ConsentEntryOut,
    ConsentIn,
    ConsentListOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    PinIn,
    ThreadMessageOut,
    ThreadOut,
)

CONTACT_COLUMNS = ("id", "first_name", "last_name", "phone", "email", "tags", "form_data", "language", "timezone",
                   "date_of_birth", "has_pin", "pin_set_by", "pin_set_at", "created_at", "updated_at")


def get_contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id) if contact_id <= MAX_ID else None
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    return contact


def contact_out(contact: Contact) -> ContactOut:
    """The contact as the API shows it: its columns, and its consent read from the ledger in one query."""
    return ContactOut.model_validate({**{name: getattr(contact, name) for name in CONTACT_COLUMNS},
                                      **consent_summary(contact)})


@operation("/contacts", "POST", summary="Create a contact", tag="contacts", status=201,
           request_body=ContactIn, response=ContactOut, errors=(422,))
def create_contact(body: ContactIn) -> ContactOut:
    """Phone numbers are normalised to E.164, e-mail addresses checked. The PIN, if given, is stored
    as a slow hash and never returned (see `has_pin`). Without `timezone`, the phone number's zone is
    taken when the number has exactly one. `sms_consent` and `marketing_consent` write consent ledger
    rows (source `api`) where they change the state."""
    data = body.model_dump(exclude_unset=True)
    contact = contact_core.create_contact(current_actor(), data, source="api")
    db.session.commit()
    return contact_out(contact)


@operation("/contacts/<int:contact_id>", "GET", summary="Read a contact", tag="contacts", response=ContactOut,
           errors=(404,))
def read_contact(contact_id: int) -> ContactOut:
    """The contact's fields and current consent; the PIN is never returned, only whether one is set."""
    return contact_out(get_contact(contact_id))


@operation("/contacts/<int:contact_id>", "PATCH", summary="Change a contact", tag="contacts",
           request_body=ContactPatch, response=ContactOut, errors=(404, 422))
def update_contact(contact_id: int, body: ContactPatch) -> ContactOut:
    """Only the fields given change. `tags` replaces the list; `form_data` merges into the stored
    fields, and a key set to null deletes that field. The change is audited (the field names, not
    their values). Answers 200 with the whole contact."""
    contact = get_contact(contact_id)
    contact_core.update_contact(current_actor(), contact, body.model_dump(exclude_unset=True), source="api")
    db.session.commit()
    return contact_out(contact)


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
                         subject=item.subject, body=item.body,
                         content_destroyed_at=item.message.content_destroyed_at,
                         content_destroyed_reason=item.message.content_destroyed_reason)
        for item in items])


@operation("/contacts/<int:contact_id>/consent", "POST", summary="Record a consent grant or withdrawal",
           tag="contacts", status=201, request_body=ConsentIn, response=ConsentEntryOut, errors=(404, 422))
def record_contact_consent(contact_id: int, body: ConsentIn) -> ConsentEntryOut:
    """Adds one row to the contact's consent ledger (source `api`, actor the key's label), even when
    it repeats the current state. The latest row per channel and purpose is the current state; a
    withdrawal of transactional consent stops every message on that channel but automatic replies.
    Audited (`contact.consent`)."""
    contact = get_contact(contact_id)
    entry = change_consent(current_actor(), contact, body.channel, body.purpose, body.granted, "api", body.note)
    db.session.commit()
    return ConsentEntryOut.model_validate(entry)


@operation("/contacts/<int:contact_id>/consent", "GET", summary="Read a contact's consent ledger", tag="contacts",
           response=ConsentListOut, errors=(404,))
def read_contact_consent(contact_id: int) -> ConsentListOut:
    """Every grant and withdrawal of the contact, newest first."""
    contact = get_contact(contact_id)
    return ConsentListOut(entries=[ConsentEntryOut.model_validate(e) for e in consent_history(contact)])
