"""Contact PINs: 4 to 8 digits that are not easy to guess, stored as argon2 hashes.

The same rules hold whoever sets the PIN (staff in the console or API, the client on the secure
page): a PIN guessed in the first few tries protects nothing, and the guesses that come first are
one digit repeated, a run like 1234, and the year the person was born.
"""
from __future__ import annotations

import re
from datetime import date

from messaging.security.passwords import hash_secret, upgraded_hash, verify_secret

PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")
# Why a PIN is refused, for callers that word it themselves (the client's page, in the client's language).
PIN_REFUSALS = ("shape", "not_text", "repeated", "sequence", "birth_year")
_MESSAGES = {
    "not_text": "The PIN must be given as a string of 4 to 8 digits (leading zeros matter).",
    "shape": "The PIN must be 4 to 8 digits.",
    "repeated": "The PIN must not be one digit repeated, like 0000: it is among the first guesses.",
    "sequence": "The PIN must not be a run of digits, like 1234 or 4321: it is among the first guesses.",
    "birth_year": "The PIN must not be the year of birth: it is among the first guesses.",
}


class InvalidPin(ValueError):
    """A PIN refused; ``reason`` is one of PIN_REFUSALS and the message says what to do."""

    def __init__(self, reason: str):
        super().__init__(_MESSAGES[reason])
        self.reason = reason


def _is_run(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    return steps in ({1}, {9})  # 1234, 7890 (wrapping round) or 4321, 2109


def refusal(pin: object, date_of_birth: date | None = None) -> str | None:
    """Why ``pin`` cannot be a PIN (one of PIN_REFUSALS), or None when it can."""
    if isinstance(pin, int) and not isinstance(pin, bool):
        return "not_text"
    if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
        return "shape"
    if len(set(pin)) == 1:
        return "repeated"
    if _is_run(pin):
        return "sequence"
    if date_of_birth is not None and pin == f"{date_of_birth.year:04d}":
        return "birth_year"
    return None


def validate_pin(pin: object, date_of_birth: date | None = None) -> str:
    """Return the PIN as a string, or raise InvalidPin with a message a person can act on."""
    reason = refusal(pin, date_of_birth)
    if reason is not None:
        raise InvalidPin(reason)
    return pin  # type: ignore[return-value]  # refusal() checked it is a str


def hash_pin(pin: str, date_of_birth: date | None = None) -> str:
    """The argon2 hash of a valid PIN; InvalidPin otherwise."""
    return hash_secret(validate_pin(pin, date_of_birth))


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
