"""A checked segment rule as one SQL condition on ``contact``, the same on SQLite and PostgreSQL.

Tags and form fields are searched in their index (``contact_tag``, ``contact_field``), whose text
is case-folded in Python; a rule's values are folded the same way here, so no SQL ``LOWER`` has to
agree across databases. Every value is a bound parameter (``contains`` escapes ``%`` and ``_``).

A tag or field condition is a correlated ``EXISTS`` on the index's primary key (contact, tag or
name); a consent condition is ``contact.id IN`` the set of contacts whose latest ledger row for
the channel and purpose says granted (or, for transactional, withdrawn: ``NOT IN``), "latest"
being a row with no later one (an anti-join on ``ix_consent_entry_latest``). Of the shapes measured
(``bench/segments.py``: ``IN`` sets for tags and fields, the ledger read per contact with
``people.consent.granted_sql``, or as a ``max(id)`` group) this was the fastest or close to it on
both databases for single and combined conditions, and the only one without a slow case.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from messaging.audience.segment_rules import check_rule, resolve_date, rule_number
from messaging.models import ConsentEntry, Contact, ContactField, ContactTag
from messaging.people.consent import DEFAULT_GRANTED
from messaging.people.search_index import field_text, fold


@dataclass(frozen=True)
class RuleClock:
    """What "today" means for a rule: the date in the organisation's zone, and that zone."""

    today: date
    zone: ZoneInfo

    def start_of(self, day: date) -> datetime:
        """The first instant of ``day`` in the organisation's zone, as naive UTC (how times are stored)."""
        local = datetime.combine(day, time.min, tzinfo=self.zone)
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _has_tag(tag: str) -> ColumnElement[bool]:
    return exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag == fold(tag))


def _fields_where(name: str, *conditions) -> ColumnElement[bool]:
    return exists().where(ContactField.contact_id == Contact.id, ContactField.name == name, *conditions)


def _latest_granted(channel: str, purpose: str, granted: bool) -> ColumnElement[bool]:
    """Contacts whose latest ledger row for channel and purpose says ``granted``."""
    later = aliased(ConsentEntry)
    superseded = exists().where(later.contact_id == ConsentEntry.contact_id, later.channel == channel,
                                later.purpose == purpose, later.id > ConsentEntry.id)
    return Contact.id.in_(select(ConsentEntry.contact_id).where(
        ConsentEntry.channel == channel, ConsentEntry.purpose == purpose,
        ConsentEntry.granted == (true() if granted else false()), not_(superseded)))


def consent_granted(channel: str, purpose: str) -> ColumnElement[bool]:
    """True where the contact's current state of channel and purpose is granted (the default with no row)."""
    if DEFAULT_GRANTED[purpose]:
        return not_(_latest_granted(channel, purpose, False))
    return _latest_granted(channel, purpose, True)


def _form_field(name: str, op: str, value) -> ColumnElement[bool]:
    if op == "exists":
        return _fields_where(name)
    if op == "not_exists":
        return not_(_fields_where(name))
    if op == "eq":
        return _fields_where(name, ContactField.text == field_text(value))
    if op == "ne":
        return _fields_where(name, ContactField.text != field_text(value))
    if op == "contains":
        return _fields_where(name, ContactField.text.contains(field_text(value), autoescape=True))
    if op in ("gt", "lt"):
        number = rule_number(value)
        return _fields_where(name, ContactField.number > number if op == "gt" else ContactField.number < number)
    raise ValueError(f"unknown operator {op!r}")  # check_rule lets none through


def _dated_field(name: str, op: str, day: date) -> ColumnElement[bool]:
    iso = day.isoformat()
    return _fields_where(name, ContactField.date < iso if op == "before" else ContactField.date > iso)


def _text_column(column, op: str, value) -> ColumnElement[bool]:
    # Language and zone names are ASCII, where LOWER and casefold agree on both databases.
    lowered = func.lower(column)
    if op == "exists":
        return column.is_not(None)
    if op == "not_exists":
        return column.is_(None)
    if op == "eq":
        return lowered == field_text(value)
    if op == "ne":
        return and_(column.is_not(None), lowered != field_text(value))
    return and_(column.is_not(None), lowered.contains(field_text(value), autoescape=True))


def _created_at(op: str, day: date | None, clock: RuleClock) -> ColumnElement[bool]:
    # A day in the organisation's zone is a span of UTC instants: compare with its ends.
    column = Contact.created_at
    if op == "exists":
        return column.is_not(None)
    if op == "not_exists":
        return column.is_(None)
    start, end = clock.start_of(day), clock.start_of(day + timedelta(days=1))
    if op == "before":
        return column < start
    if op == "after":
        return column >= end
    on_day = and_(column >= start, column < end)
    return on_day if op == "eq" else and_(column.is_not(None), not_(on_day))


def _date_of_birth(op: str, day: date | None) -> ColumnElement[bool]:
    column = Contact.date_of_birth
    if op == "exists":
        return column.is_not(None)
    if op == "not_exists":
        return column.is_(None)
    if op == "before":
        return column < day
    if op == "after":
        return column > day
    return column == day if op == "eq" else and_(column.is_not(None), column != day)


def _field(condition: dict, clock: RuleClock) -> ColumnElement[bool]:
    name, op, value = condition["field"], condition["op"], condition.get("value")
    day = resolve_date(value, clock.today) if value is not None else None
    if name == "contact.language":
        return _text_column(Contact.language, op, value)
    if name == "contact.timezone":
        return _text_column(Contact.timezone, op, value)
    if name == "contact.created_at":
        return _created_at(op, day, clock)
    if name == "contact.date_of_birth":
        return _date_of_birth(op, day)
    if op in ("before", "after"):
        return _dated_field(name, op, day)
    return _form_field(name, op, value)


def _condition(condition: dict, clock: RuleClock) -> ColumnElement[bool]:
    if "conditions" in condition:
        return _group(condition, clock)
    if "tag" in condition:
        found = _has_tag(condition["tag"])
        return not_(found) if condition.get("negate") else found
    if "consent" in condition:
        channel, purpose = condition["consent"].split(":")
        granted = consent_granted(channel, purpose)
        return not_(granted) if condition.get("negate") else granted
    if "opted_out" in condition:
        granted = consent_granted("sms", "transactional")
        return not_(granted) if condition["opted_out"] else granted
    return _field(condition, clock)


def _group(rule: dict, clock: RuleClock) -> ColumnElement[bool]:
    parts = [_condition(c, clock) for c in rule["conditions"]]
    return and_(*parts) if rule["match"] == "all" else or_(*parts)


def rule_condition(rule, clock: RuleClock) -> ColumnElement[bool]:
    """The SQL condition on ``contact`` of a rule (checked here first: ValidationFailed when it is not valid)."""
    return _group(check_rule(rule), clock)
