"""Contact PINs: 4 to 8 digits, stored as argon2 hashes."""
from __future__ import annotations

import re

from messaging.security.passwords import hash_secret, verify_secret

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
