"""The values a contact holds and their bounds: tags and form data, text a database can store,
language, date of birth and time zone.

Kept apart from ``contacts`` (which re-exports every name here, the way callers name them) so
each module stays short; the API documents the same limits in its schema.
"""
from __future__ import annotations

import functools
import json
import math
import re
import zoneinfo
from datetime import date

import phonenumbers
import phonenumbers.timezone

from messaging import clock
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


LANGUAGES = ("en", "es")


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalise_language(raw) -> str:
    """``en`` or ``es`` (any case in, lower case out); ValueError says why not."""
    value = raw.strip().lower() if isinstance(raw, str) else None
    if value not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return value


def normalise_date_of_birth(raw) -> date:
    """A ``YYYY-MM-DD`` date that is real and not in the future; ValueError says why not."""
    if isinstance(raw, date):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        try:
            value = date.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError("is not a real date") from None
    else:
        raise ValueError("must be a date as YYYY-MM-DD")
    if value > clock.utcnow().date():
        raise ValueError("must not be in the future")
    if value.year < 1900:
        raise ValueError("must be in 1900 or later")
    return value


def normalise_timezone(raw) -> str:
    """An IANA time zone name as the zone database spells it; ValueError says why not."""
    value = raw.strip() if isinstance(raw, str) else ""
    if value not in _zones():
        raise ValueError("must be an IANA time zone such as Europe/Madrid or America/New_York")
    return value


def timezone_for_phone(phone: str | None) -> str | None:
    """The phone number's zone when ``phonenumbers`` names exactly one real zone for it, else None."""
    if not phone:
        return None
    try:
        zones = phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return None
    return zones[0] if len(zones) == 1 and zones[0] in _zones() else None
