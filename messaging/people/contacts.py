"""Contacts: validation and normalisation of what identifies and reaches a client."""
from __future__ import annotations

import json
import math

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Contact
from messaging.security.pins import InvalidPin, hash_pin
from messaging.text_rules import UNSTORABLE_CHARACTERS

MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_FORM_KEYS = 100
MAX_FORM_KEY_LENGTH = 64
MAX_FORM_TEXT_LENGTH = 1000
MAX_FORM_BYTES = 16 * 1024  # of the JSON encoding, as stored


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a control character, a lone surrogate), or None."""
    match = UNSTORABLE_CHARACTERS.search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return f"must not contain an unpaired surrogate (U+{ord(char):04X})"
    return f"must not contain control characters (U+{ord(char):04X})"


def _short(text: str, length: int = 20) -> str:
    return text if len(text) <= length else text[:length] + "…"


def _tags_problem(tags: list[str]) -> str | None:
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            return f"each tag may have at most {MAX_TAG_LENGTH} characters; '{_short(tag)}' has {len(tag):,}"
        problem = text_problem(tag)
        if problem:
            return f"tag '{_short(tag)}' {problem}"
    if len(tags) > MAX_TAGS:
        return f"at most {MAX_TAGS} tags are allowed, not {len(tags):,}"
    return None


def form_data_problem(form_data: dict) -> str | None:
    """Why ``form_data`` is not a flat object within the limits, or None.

    Flat: each value is text, a number, a boolean or null; templates read ``form.<key>`` as one value.
    """
    if len(form_data) > MAX_FORM_KEYS:
        return f"may have at most {MAX_FORM_KEYS} keys, not {len(form_data):,}"
    for key, value in form_data.items():
        if not isinstance(key, str) or not key.strip():
            return "keys must be non-empty text"
        if len(key) > MAX_FORM_KEY_LENGTH:
            return f"keys may have at most {MAX_FORM_KEY_LENGTH} characters; '{_short(key)}' has {len(key):,}"
        problem = text_problem(key)
        if problem:
            return f"key '{_short(key)}' {problem}"
        if isinstance(value, dict | list | tuple):
            kind = "an object" if isinstance(value, dict) else "a list"
            return (f"must be a flat object: '{_short(key)}' holds {kind}; each value must be text, a number, "
                    "true/false or null")
        if isinstance(value, float) and not math.isfinite(value):
            return f"'{_short(key)}' must be a finite number"
        if isinstance(value, str):
            if len(value) > MAX_FORM_TEXT_LENGTH:
                return (f"text values may have at most {MAX_FORM_TEXT_LENGTH:,} characters; "
                        f"'{_short(key)}' has {len(value):,}")
            problem = text_problem(value)
            if problem:
                return f"'{_short(key)}' {problem}"
        elif value is not None and not isinstance(value, bool | int | float):
            return f"'{_short(key)}' must be text, a number, true/false or null"
    size = len(json.dumps(form_data, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_FORM_BYTES:
        return f"may be at most {MAX_FORM_BYTES // 1024} KB ({MAX_FORM_BYTES:,} bytes) as JSON, not {size:,} bytes"
    return None


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


def contact_fields(data: dict, partial: bool = False) -> dict:
    """Validate contact input; returns the cleaned fields or raises ValidationFailed with each problem."""
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
            clean["pin_hash"] = hash_pin(data["pin"])
        except InvalidPin as exc:
            errors["pin"] = str(exc)
    if errors:
        raise ValidationFailed("The contact is not valid.", errors)
    return clean


def apply_contact_fields(contact: Contact, clean: dict, source: str) -> None:
    """Write checked fields onto a contact, stamping when and where a consent changed."""
    now = clock.utcnow()
    for key, value in clean.items():
        # A new contact's flags are still None: only a recorded "yes" or a real change gets a time.
        if key == "sms_consent" and value != bool(contact.sms_consent):
            contact.sms_consent_at = now
        if key == "marketing_consent" and value != bool(contact.marketing_consent):
            contact.marketing_consent_at = now
            contact.marketing_consent_source = source
        setattr(contact, key, value)


def create_contact(actor: Actor, data: dict, source: str = "console") -> Contact:
    """Check and store a new contact, audited."""
    clean = contact_fields(data)
    contact = Contact(first_name=clean.pop("first_name"), last_name=clean.pop("last_name", ""))
    apply_contact_fields(contact, clean, source)
    db.session.add(contact)
    db.session.flush()
    audit(actor, "contact.create", "contact", contact.id)
    return contact


def set_contact_pin(actor: Actor, contact: Contact, pin) -> None:
    """Set (or, with an empty value, clear) a contact's PIN. Raises InvalidPin."""
    if pin in (None, ""):
        contact.pin_hash = None
        audit(actor, "contact.pin_cleared", "contact", contact.id)
        return
    contact.pin_hash = hash_pin(pin)
    audit(actor, "contact.pin_set", "contact", contact.id)


def update_contact(actor: Actor, contact: Contact, data: dict, source: str = "console") -> Contact:
    """Validate and apply changes to a contact; the audit names the changed fields, not their values."""
    clean = contact_fields(data, partial=True)
    changed = sorted(key for key, value in clean.items() if getattr(contact, key) != value)
    apply_contact_fields(contact, clean, source)
    if changed:
        audit(actor, "contact.update", "contact", contact.id, fields=changed)
    return contact
