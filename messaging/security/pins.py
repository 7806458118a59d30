"""Contact PINs: 4 to 8 digits, stored as argon2 hashes."""
from __future__ import annotations

import re

from messaging.security.passwords import hash_secret, upgraded_hash, verify_secret

PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")


class InvalidPin(ValueError):
    """A PIN that is not 4 to 8 digits given as text; the message says so."""


def validate_pin(pin: object) -> str:
    """Return the PIN as a string, or raise InvalidPin with a message a person can act on."""
    if isinstance(pin, int) and not isinstance(pin, bool):
        raise InvalidPin("The PIN must be given as a string of 4 to 8 digits (leading zeros matter).")
    if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
        raise InvalidPin("The PIN must be 4 to 8 digits.")
    return pin


def hash_pin(pin: str) -> str:
    """The argon2 hash of a valid PIN; InvalidPin otherwise."""
    return hash_secret(validate_pin(pin))


def check_pin(pin_hash: str | None, candidate: str) -> bool:
    """Whether ``candidate`` is the PIN behind ``pin_hash`` (constant time, also when there is none)."""
    return verify_secret(pin_hash, candidate or "")


def check_contact_pin(contact, candidate: str) -> bool:
    """``check_pin`` on a contact's PIN, moving a right PIN's hash to the current argon2 parameters."""
    if not check_pin(contact.pin_hash, candidate):
        return False
    fresh = upgraded_hash(contact.pin_hash, candidate)
    if fresh is not None:
        contact.pin_hash = fresh
    return True
