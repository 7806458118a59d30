"""When a campaign step is due: its delay checked, and its due time worked out. Pure: no database, no clock.

A delay is one of
- ``{"after": "enrolment", "minutes": N}``: N ≥ 0 minutes after the contact was enrolled;
- ``{"after": "previous", "minutes": N}``: N ≥ 0 minutes after the previous step was dealt with
  (queued, suppressed or skipped; for the first step, the enrolment);
- ``{"field": NAME, "minutes": M}``: M (signed) minutes from the date in the contact's form field
  NAME — ``{"field": "appointment_at", "minutes": -2880}`` is two days before.

A field-relative step is **skipped** (and counted) when the field is missing, is not an ISO date
(``2025-03-14``, ``2025-03-14T09:30``, with or without a zone), or date + M has already passed
when the step is worked out. A date or time without a zone is read in the contact's own zone (the
organisation's when the contact has none): a date alone is the start of that day there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

AFTER_CHOICES = ("enrolment", "previous")
# A year and a bit either way: further is a typo, and would overflow a datetime near the edges.
MAX_MINUTES = 400 * 24 * 60
MAX_FIELD_NAME = 64
# A field-relative step found due later than this (a paused campaign, a worker that was down) is
# skipped as passed: "two days before your appointment" must not arrive the day after it.
FIELD_LATE_LIMIT = timedelta(hours=1)
SKIP_MISSING = "field_missing"
SKIP_NOT_A_DATE = "not_a_date"
SKIP_PASSED = "passed"
SKIP_REASONS = {SKIP_MISSING: "the form field {field} is missing",
                SKIP_NOT_A_DATE: "the form field {field} is not an ISO date",
                SKIP_PASSED: "{when} had already passed"}


@dataclass(frozen=True)
class Due:
    """A step's due time, or why it is skipped (``skip``: one of SKIP_REASONS, with ``reason`` in words)."""

    at: datetime | None = None
    skip: str | None = None
    reason: str | None = None


def _minutes_problem(value, signed: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number of minutes"
    if not signed and value < 0:
        return "must be 0 or more (use a field-relative delay to send before a date)"
    if abs(value) > MAX_MINUTES:
        return f"must be at most {MAX_MINUTES:,} minutes either way"
    return None


def check_delay(delay, prefix: str = "delay") -> tuple[dict | None, dict[str, str]]:
    """The delay in canonical form and no errors, or None and the errors keyed ``prefix.minutes`` etc."""
    if not isinstance(delay, dict):
        return None, {prefix: 'must be {"after": "enrolment"|"previous", "minutes": N} or '
                              '{"field": NAME, "minutes": M}'}
    errors: dict[str, str] = {}
    if ("after" in delay) == ("field" in delay):
        errors[prefix] = 'must have either "after" or "field"'
    unknown = sorted(set(delay) - {"after", "field", "minutes"})
    for key in unknown:
        errors[f"{prefix}.{key}"] = "is not a known field"
    if "after" in delay and delay["after"] not in AFTER_CHOICES:
        errors[f"{prefix}.after"] = "must be enrolment or previous"
    if "field" in delay:
        name = delay["field"]
        if not isinstance(name, str) or not name.strip():
            errors[f"{prefix}.field"] = "must name a form field"
        elif len(name.strip()) > MAX_FIELD_NAME:
            errors[f"{prefix}.field"] = f"must be at most {MAX_FIELD_NAME} characters"
    if "minutes" not in delay:
        errors[f"{prefix}.minutes"] = "is required"
    else:
        problem = _minutes_problem(delay["minutes"], signed="field" in delay)
        if problem:
            errors[f"{prefix}.minutes"] = problem
    if errors:
        return None, errors
    if "after" in delay:
        return {"after": delay["after"], "minutes": delay["minutes"]}, {}
    return {"field": delay["field"].strip(), "minutes": delay["minutes"]}, {}


def delay_kind(delay: dict) -> str:
    """``enrolment``, ``previous`` or ``field``."""
    return "field" if "field" in delay else delay["after"]


def describe_delay(delay: dict) -> str:
    """The delay in words: "2 days after enrolment", "1 day before appointment_at"."""
    minutes = delay["minutes"]
    amount = _amount(abs(minutes))
    if "field" in delay:
        if minutes == 0:
            return f"at {delay['field']}"
        return f"{amount} {'before' if minutes < 0 else 'after'} {delay['field']}"
    what = "enrolment" if delay["after"] == "enrolment" else "the previous step"
    return f"at once after {what}" if minutes == 0 else f"{amount} after {what}"


def _amount(minutes: int) -> str:
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def field_moment(value, zone: ZoneInfo) -> datetime | None:
    """A form value read as an instant (naive UTC), or None when it is not an ISO date or date-time."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) < 10:
        return None
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


def _field_due(delay: dict, form_data: dict, zone: ZoneInfo) -> Due:
    name = delay["field"]
    value = (form_data or {}).get(name)
    if value is None or value == "":
        return Due(skip=SKIP_MISSING, reason=SKIP_REASONS[SKIP_MISSING].format(field=name))
    moment = field_moment(value, zone)
    if moment is None:
        return Due(skip=SKIP_NOT_A_DATE, reason=SKIP_REASONS[SKIP_NOT_A_DATE].format(field=name))
    try:
        return Due(at=moment + timedelta(minutes=delay["minutes"]))
    except OverflowError:
        return Due(skip=SKIP_NOT_A_DATE, reason=SKIP_REASONS[SKIP_NOT_A_DATE].format(field=name))


def _passed(delay: dict) -> Due:
    return Due(skip=SKIP_PASSED, reason=SKIP_REASONS[SKIP_PASSED].format(when=describe_delay(delay)))


def work_out(delay: dict, *, enrolled_at: datetime, previous_at: datetime | None, form_data: dict,
             zone: ZoneInfo, now: datetime) -> Due:
    """The due time of a step the enrolment has just reached, or why it is skipped."""
    if "after" in delay:
        base = enrolled_at if delay["after"] == "enrolment" else (previous_at or enrolled_at)
        return Due(at=base + timedelta(minutes=delay["minutes"]))
    due = _field_due(delay, form_data, zone)
    if due.at is not None and due.at < now:
        return _passed(delay)
    return due


def recheck_at_due(delay: dict, *, form_data: dict, zone: ZoneInfo, now: datetime) -> Due:
    """A field-relative step found due: read the field again (it may have moved or gone).

    The due time now (``at`` later than ``now``: the date moved later, wait for it), or a skip when
    the field is gone, no longer a date, or its time passed more than FIELD_LATE_LIMIT ago (it
    moved earlier, or the pass comes late). Other delays are due as worked out.
    """
    if "field" not in delay:
        return Due(at=now)
    due = _field_due(delay, form_data, zone)
    if due.at is not None and due.at < now - FIELD_LATE_LIMIT:
        return _passed(delay)
    return due
