"""Contacts: validation and normalisation of what identifies and reaches a client."""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .audit import Actor, audit
from .clock import utcnow
from .db import db
from .errors import ValidationFailed
from .models import Contact
from .pins import InvalidPin, hash_pin


def normalise_phone(raw: str, region: str = "US") -> str:
    """E.164 form of a phone number, or ValueError saying why not."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
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


def contact_fields(data: dict, region: str = "US", partial: bool = False) -> dict:
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
            else:
                clean[name] = value.strip()
    if data.get("phone") not in (None, ""):
        try:
            clean["phone"] = normalise_phone(str(data["phone"]), region)
        except ValueError as exc:
            errors["phone"] = str(exc)
    elif "phone" in data:
        clean["phone"] = None
    if data.get("email") not in (None, ""):
        try:
            clean["email"] = normalise_email(str(data["email"]))
        except ValueError as exc:
            errors["email"] = str(exc)
    elif "email" in data:
        clean["email"] = None
    if "tags" in data and data["tags"] is not None:
        tags = data["tags"]
        if isinstance(tags, str):
            tags = [t for t in (p.strip() for p in tags.split(",")) if t]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            errors["tags"] = "must be a list of words"
        else:
            clean["tags"] = sorted({t.strip().lower() for t in tags})
    if "form_data" in data and data["form_data"] is not None:
        if not isinstance(data["form_data"], dict):
            errors["form_data"] = "must be an object"
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
    now = utcnow()
    for key, value in clean.items():
        # A new contact's flags are still None: only a recorded "yes" or a real change gets a time.
        if key == "sms_consent" and value != bool(contact.sms_consent):
            contact.sms_consent_at = now
        if key == "marketing_consent" and value != bool(contact.marketing_consent):
            contact.marketing_consent_at = now
            contact.marketing_consent_source = source
        setattr(contact, key, value)


def create_contact(actor: Actor, data: dict, source: str = "console", region: str = "US") -> Contact:
    clean = contact_fields(data, region)
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


def update_contact(actor: Actor, contact: Contact, data: dict, source: str = "console",
                   region: str = "US") -> Contact:
    """Validate and apply changes to a contact; the audit names the changed fields, not their values."""
    clean = contact_fields(data, region, partial=True)
    changed = sorted(key for key, value in clean.items() if getattr(contact, key) != value)
    apply_contact_fields(contact, clean, source)
    if changed:
        audit(actor, "contact.update", "contact", contact.id, fields=changed)
    return contact
