"""Contacts: validation and normalisation of what identifies and reaches a client; create, update, bulk tags.

The legacy consent flags (``sms_consent``, ``marketing_consent``) are input only: they write rows
of the consent ledger (``people.consent``), which alone holds the state.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from messaging import clock
from messaging.audit import SYSTEM, Actor, audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import CONSENT_CHANNELS, Contact
from messaging.people.consent import record_if_changed
from messaging.people.contact_values import (  # noqa: F401 - re-exported: callers name them from here
    LANGUAGES,
    MAX_FORM_BYTES,
    MAX_FORM_KEY_LENGTH,
    MAX_FORM_KEYS,
    MAX_FORM_TEXT_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    _tags_problem,
    form_data_problem,
    normalise_date_of_birth,
    normalise_language,
    normalise_timezone,
    text_problem,
    timezone_for_phone,
)
from messaging.people.search_index import fold
from messaging.security.pins import InvalidPin, hash_pin


def normalise_phone(raw: str) -> str:
    """E.164 form of a phone number (``DEFAULT_PHONE_REGION`` for one without ``+``), or ValueError saying why not."""
    try:
        number = phonenumbers.parse(raw, current_app.config["DEFAULT_PHONE_REGION"])
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """The address in its normal form (as email-validator normalises it); ValueError says why not."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def _as_bool(value, field: str, errors: dict) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    errors[field] = "must be true or false"
    return False


def contact_fields(data: dict, partial: bool = False, date_of_birth: date | None = None) -> dict:
    """Validate contact input; returns the cleaned fields or raises ValidationFailed with each problem.

    ``date_of_birth`` is the stored one of a contact being changed: a new PIN must not be its year.
    """
    errors: dict[str, str] = {}
    clean: dict = {}
    for name in ("first_name", "last_name"):
        if name in data or not partial:
            value = data.get(name)
            if value is None and name == "last_name":
                value = ""
            if not isinstance(value, str) or (name == "first_name" and not value.strip()):
                errors[name] = "is required" if not value else "must be text"
            elif len(value) > 100:
                errors[name] = "must be at most 100 characters"
            elif text_problem(value):
                errors[name] = text_problem(value)
            else:
                clean[name] = value.strip()
    for name, normalise in (("phone", normalise_phone), ("email", normalise_email)):
        if data.get(name) not in (None, ""):
            try:
                clean[name] = normalise(str(data[name]))
            except ValueError as exc:
                errors[name] = str(exc)
        elif name in data:
            clean[name] = None
    for name, normalise in (("language", normalise_language), ("date_of_birth", normalise_date_of_birth),
                            ("timezone", normalise_timezone)):
        if data.get(name) not in (None, ""):
            try:
                clean[name] = normalise(data[name])
            except ValueError as exc:
                errors[name] = str(exc)
        elif name in data and name != "language":
            clean[name] = None
    if "tags" in data and data["tags"] is not None:
        tags = data["tags"]
        if isinstance(tags, str):
            tags = [t for t in (p.strip() for p in tags.split(",")) if t]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            errors["tags"] = "must be a list of words"
        else:
            tags = sorted({t.strip().lower() for t in tags})
            problem = _tags_problem(tags)
            if problem:
                errors["tags"] = problem
            else:
                clean["tags"] = tags
    if "form_data" in data and data["form_data"] is not None:
        if not isinstance(data["form_data"], dict):
            errors["form_data"] = "must be an object"
        elif form_data_problem(data["form_data"]):
            errors["form_data"] = form_data_problem(data["form_data"])
        else:
            clean["form_data"] = data["form_data"]
    for flag in ("sms_consent", "marketing_consent"):
        if flag in data and data[flag] is not None:
            clean[flag] = _as_bool(data[flag], flag, errors)
    if data.get("pin") not in (None, ""):
        try:
            clean["pin_hash"] = hash_pin(data["pin"], clean.get("date_of_birth", date_of_birth))
            clean.update(pin_set_by="staff", pin_set_at=clock.utcnow())
        except InvalidPin as exc:
            errors["pin"] = str(exc)
    if errors:
        raise ValidationFailed("The contact is not valid.", errors)
    return clean


CONSENT_FLAGS = ("sms_consent", "marketing_consent")


def apply_contact_fields(contact: Contact, clean: dict, source: str, actor: Actor = SYSTEM) -> list[str]:
    """Write checked fields onto a contact; the consent flags become ledger rows.

    ``sms_consent`` is the sms transactional state, ``marketing_consent`` marketing on every
    channel; each writes a row only where it changes the state (``source`` is the ledger's, e.g.
    ``staff``). A new contact is flushed first (a ledger row needs its id). Returns the names of
    the flags that wrote a row.
    """
    flags = {name: clean.pop(name) for name in CONSENT_FLAGS if name in clean}
    for key, value in clean.items():
        setattr(contact, key, value)
    if not flags:
        return []
    if contact.id is None:
        db.session.add(contact)
        db.session.flush()
    written = []
    for name, granted in flags.items():
        pairs = [("sms", "transactional")] if name == "sms_consent" else [(c, "marketing") for c in CONSENT_CHANNELS]
        rows = [record_if_changed(contact, channel, purpose, granted, source, actor) for channel, purpose in pairs]
        if any(rows):
            written.append(name)
    return written


def create_contact(actor: Actor, data: dict, source: str = "staff") -> Contact:
    """Check and store a new contact, audited; ``source`` is the ledger source of any consent given.

    Without a timezone, the phone number's one zone is taken when it has exactly one.
    """
    clean = contact_fields(data)
    if clean.get("timezone") is None:
        clean["timezone"] = timezone_for_phone(clean.get("phone"))
    contact = Contact(first_name=clean.pop("first_name"), last_name=clean.pop("last_name", ""))
    apply_contact_fields(contact, clean, source, actor)
    db.session.add(contact)
    db.session.flush()
    audit(actor, "contact.create", "contact", contact.id)
    return contact


def set_contact_pin(actor: Actor, contact: Contact, pin, set_by: str = "staff") -> None:
    """Set (or, with an empty value, clear) a contact's PIN, audited. Raises InvalidPin.

    ``set_by`` is ``staff`` (console, API) or ``client`` (chosen on the secure page). A cleared PIN
    makes the contact's next PIN-protected message ask the client to choose one.
    """
    if pin in (None, ""):
        had = contact.pin_set_by
        contact.pin_hash = contact.pin_set_by = contact.pin_set_at = None
        audit(actor, "contact.pin_cleared", "contact", contact.id, **({"was_set_by": had} if had else {}))
        return
    contact.pin_hash = hash_pin(pin, contact.date_of_birth)
    contact.pin_set_by, contact.pin_set_at = set_by, clock.utcnow()
    audit(actor, "contact.pin_set", "contact", contact.id, set_by=set_by)


def merged_form_data(current: dict | None, changes: dict) -> dict:
    """``current`` with ``changes`` applied: a key set to None is deleted, the others replace or add."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def update_contact(actor: Actor, contact: Contact, data: dict, source: str = "staff") -> Contact:
    """Validate and apply changes to a contact; the audit names the changed fields, not their values.

    Only the fields given change. ``tags`` replaces the list; ``form_data`` merges into the stored
    one (a key set to null is deleted). A new phone number on a contact without a timezone sets
    the number's zone when it has exactly one.
    """
    clean = contact_fields(data, partial=True, date_of_birth=contact.date_of_birth)
    if "form_data" in clean:
        clean["form_data"] = merged_form_data(contact.form_data, clean["form_data"])
        problem = form_data_problem(clean["form_data"])
        if problem:
            raise ValidationFailed("The contact is not valid.", {"form_data": problem})
    if clean.get("phone") and clean["phone"] != contact.phone and "timezone" not in clean and not contact.timezone:
        clean["timezone"] = timezone_for_phone(clean["phone"])
    changed = [key for key, value in clean.items() if key not in CONSENT_FLAGS and getattr(contact, key) != value]
    changed += apply_contact_fields(contact, clean, source, actor)
    if changed:
        audit(actor, "contact.update", "contact", contact.id, fields=sorted(changed))
    return contact


@dataclass
class TagChange:
    """What a bulk tag action did: contacts changed, those that already were as asked, those at the tag limit."""

    tag: str
    changed: int = 0
    unchanged: int = 0
    full: int = 0


def tag_choice(tag) -> str:
    """One tag as contacts store it (trimmed, lower case); ValidationFailed (field ``tag``) says why not."""
    value = tag.strip().lower() if isinstance(tag, str) else ""
    problem = "enter a tag" if not value else (
        "enter one tag, without commas" if "," in value else _tags_problem([value]))
    if problem:
        raise ValidationFailed("The tag is not valid.", {"tag": problem})
    return value


def _contacts_by_id(contact_ids) -> list[Contact]:
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        raise ValidationFailed("Select at least one contact.", {"ids": "select at least one contact"})
    found = []
    for start in range(0, len(ids), 500):
        found += db.session.scalars(select(Contact).where(Contact.id.in_(ids[start:start + 500]))).all()
    return found


def add_tag(actor: Actor, contact_ids, tag) -> TagChange:
    """Add one tag to each of these contacts, audited per contact changed; commits nothing.

    A contact that has the tag already (compared case-folded) is left alone; one that holds the
    most tags allowed keeps its tags and is counted in ``full``.
    """
    result = TagChange(tag_choice(tag))
    folded = fold(result.tag)
    for contact in _contacts_by_id(contact_ids):
        tags = list(contact.tags or [])
        if any(fold(t) == folded for t in tags):
            result.unchanged += 1
        elif len(tags) >= MAX_TAGS:
            result.full += 1
        else:
            contact.tags = sorted([*tags, result.tag])
            audit(actor, "contact.tag_add", "contact", contact.id, tag=result.tag)
            result.changed += 1
    return result


def remove_tag(actor: Actor, contact_ids, tag) -> TagChange:
    """Remove a tag (compared case-folded) from each of these contacts, audited per contact changed."""
    result = TagChange(tag_choice(tag))
    folded = fold(result.tag)
    for contact in _contacts_by_id(contact_ids):
        tags = list(contact.tags or [])
        kept = [t for t in tags if fold(t) != folded]
        if len(kept) == len(tags):
            result.unchanged += 1
        else:
            contact.tags = kept
            audit(actor, "contact.tag_remove", "contact", contact.id, tag=result.tag)
            result.changed += 1
    return result
