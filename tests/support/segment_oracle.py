"""A segment rule evaluated in plain Python over one contact, straight from the issue's wording.

The differential test compares this with the SQL the core builds. It reads the contact as stored
(its tags list, its form data map, its columns, its consent ledger in order) and never the
``contact_tag`` / ``contact_field`` index, so a wrong index row fails the comparison as surely as
a wrong SQL condition. Rules are taken as valid (the validation tests cover the invalid ones).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
LEADING_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
DEFAULTS = {"transactional": True, "marketing": False}


@dataclass
class OracleContact:
    """A contact as the oracle sees it: its stored values and its ledger, oldest row first."""

    tags: list[str] = field(default_factory=list)
    form_data: dict = field(default_factory=dict)
    language: str = "en"
    timezone: str | None = None
    created_at: datetime = datetime(2025, 1, 1)
    date_of_birth: date | None = None
    ledger: list[tuple[str, str, bool]] = field(default_factory=list)  # (channel, purpose, granted)

    def consent(self, channel: str, purpose: str) -> bool:
        latest = [granted for c, p, granted in self.ledger if (c, p) == (channel, purpose)]
        return latest[-1] if latest else DEFAULTS[purpose]


def as_text(value) -> str:
    """A value as eq/ne/contains read it: booleans as true/false, 15.0 as 15, then case-folded."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).casefold()


def as_number(value) -> float | None:
    """A number, or text that reads as one (surrounding spaces allowed); booleans never."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    return float(text) if NUMBER.match(text) else None


def as_date(value) -> date | None:
    """The real ISO date a text value starts with."""
    if not isinstance(value, str):
        return None
    match = LEADING_DATE.match(value.strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def rule_date(value: str, today: date) -> date:
    """``2025-03-14``, ``today``, ``today+30d``, ``today-7d``."""
    text = value.strip().lower()
    if text.startswith("today"):
        rest = text[len("today"):]
        return today + timedelta(days=int(rest[:-1])) if rest else today
    return date.fromisoformat(text)


def _compare(op: str, present: bool, text: str | None, value) -> bool:
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if not present:
        return False
    if op == "eq":
        return text == as_text(value)
    if op == "ne":
        return text != as_text(value)
    return as_text(value) in text  # contains


def _form_field(contact: OracleContact, name: str, op: str, value, today: date) -> bool:
    stored = contact.form_data.get(name)
    present = name in contact.form_data and stored is not None
    if op in ("gt", "lt"):
        number = as_number(stored) if present else None
        if number is None:
            return False
        return number > float(value) if op == "gt" else number < float(value)
    if op in ("before", "after"):
        day = as_date(stored) if present else None
        if day is None:
            return False
        return day < rule_date(value, today) if op == "before" else day > rule_date(value, today)
    return _compare(op, present, as_text(stored) if present else None, value)


def _day(contact_value, op: str, value, today: date) -> bool:
    if op == "exists":
        return contact_value is not None
    if op == "not_exists":
        return contact_value is None
    if contact_value is None:
        return False
    day = rule_date(value, today)
    return {"before": contact_value < day, "after": contact_value > day, "eq": contact_value == day,
            "ne": contact_value != day}[op]


def _field(contact: OracleContact, condition: dict, today: date, zone: ZoneInfo) -> bool:
    name, op, value = condition["field"], condition["op"], condition.get("value")
    if name in ("contact.language", "contact.timezone"):
        column = contact.language if name == "contact.language" else contact.timezone
        return _compare(op, column is not None, as_text(column) if column is not None else None, value)
    if name == "contact.created_at":
        local_day = contact.created_at.replace(tzinfo=UTC).astimezone(zone).date()
        return _day(local_day, op, value, today)
    if name == "contact.date_of_birth":
        return _day(contact.date_of_birth, op, value, today)
    return _form_field(contact, name, op, value, today)


def evaluate(rule: dict, contact: OracleContact, today: date, zone: ZoneInfo) -> bool:
    """Whether the contact matches the (valid) rule, "today" being ``today`` in the organisation's ``zone``."""
    results = []
    for condition in rule["conditions"]:
        if "conditions" in condition:
            results.append(evaluate(condition, contact, today, zone))
        elif "tag" in condition:
            has = condition["tag"].strip().casefold() in {t.casefold() for t in contact.tags if t}
            results.append(not has if condition.get("negate") else has)
        elif "consent" in condition:
            channel, purpose = condition["consent"].split(":")
            granted = contact.consent(channel, purpose)
            results.append(not granted if condition.get("negate") else granted)
        elif "opted_out" in condition:
            results.append(contact.consent("sms", "transactional") is not condition["opted_out"])
        else:
            results.append(_field(contact, condition, today, zone))
    return all(results) if rule["match"] == "all" else any(results)
