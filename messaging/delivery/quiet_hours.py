"""Quiet hours: broadcasts, campaign steps, marketing and reminders wait until the contact's night is over.

The window (``Settings.quiet_hours`` such as ``21:00-08:00``) is wall-clock time at the
**contact's** clock: ``Contact.timezone``, or the organisation's ``Settings.timezone`` when the
contact has none or it names no zone (TCPA counts the recipient's clock, not the sender's). Every
comparison goes through zoneinfo, so a window that spans midnight or a daylight-saving change opens
at the right instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from messaging.models import Delivery, Message

# Deliveries that may wait: every broadcast and campaign message, and the situation keys and
# recommendations that make any other message a reminder or marketing. Everything else (a staff
# member's one-off, a one-time code, an opt-out confirmation, a secure link sent after a call) goes at once.
REMINDER_SITUATIONS = ("appointment_reminder",)
MARKETING_RECOMMENDATION = "standard_opt_in"


@dataclass(frozen=True)
class QuietWindow:
    """Quiet hours: a daily window of local time (it may cross midnight) in which reminders wait."""

    start: time
    end: time
    zone: ZoneInfo

    def opens_at(self, now: datetime) -> datetime | None:
        """When the window ends, as naive UTC, if ``now`` (naive UTC) lies inside it; else None."""
        local = now.replace(tzinfo=UTC).astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:  # e.g. 12:00-14:00, within one day
            if not self.start <= clock < self.end:
                return None
            day = local.date()
        else:  # e.g. 21:00-08:00, across midnight
            if clock >= self.start:
                day = local.date() + timedelta(days=1)
            elif clock < self.end:
                day = local.date()
            else:
                return None
        # fold=0: on the night clocks go back an ambiguous end time means its first occurrence; on the
        # night they go forward a missing end time (02:30 in a gap) maps to the instant after the gap.
        opening = datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC).replace(tzinfo=None)
        return opening if opening > now else None


def parse_quiet_hours(text: str | None, timezone: str | None) -> QuietWindow | None:
    """``"21:00-08:00"`` in ``timezone`` → a QuietWindow; empty or malformed → None (no quiet hours)."""
    value = (text or "").strip().replace(" ", "").replace("–", "-")
    if not value or "-" not in value:
        return None
    try:
        start_text, end_text = value.split("-", 1)
        start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        zone = ZoneInfo(timezone or "UTC")
    except (ValueError, ZoneInfoNotFoundError):
        return None
    if start == end:
        return None
    return QuietWindow(start=start, end=end, zone=zone)


class QuietHours:
    """The organisation's quiet hours read at each contact's clock: one ``QuietWindow`` per zone name,
    built the first time a pass meets that zone (a batch of a broadcast shares a handful of zones)."""

    def __init__(self, fallback: QuietWindow):
        self.fallback = fallback  # the window in the organisation's zone
        self._windows: dict[str, QuietWindow] = {}

    @classmethod
    def from_settings(cls, text: str | None, org_timezone: str | None) -> QuietHours | None:
        """``Settings.quiet_hours`` and ``Settings.timezone`` → QuietHours; None when there are none."""
        window = parse_quiet_hours(text, org_timezone)
        return cls(window) if window is not None else None

    def window_for(self, contact_timezone: str | None) -> QuietWindow:
        """The window at this zone's clock; the organisation's for a contact without a (real) zone."""
        if not contact_timezone:
            return self.fallback
        window = self._windows.get(contact_timezone)
        if window is None:
            try:
                zone = ZoneInfo(contact_timezone)
            except (ValueError, ZoneInfoNotFoundError):
                zone = self.fallback.zone  # a zone the database does not know: the organisation's clock
            window = self._windows[contact_timezone] = QuietWindow(self.fallback.start, self.fallback.end, zone)
        return window

    def opens_at(self, contact_timezone: str | None, now: datetime) -> datetime | None:
        """When the window ends at the contact's clock (naive UTC) if ``now`` lies inside it; else None."""
        return self.window_for(contact_timezone).opens_at(now)


def is_staff_one_off(message: Message) -> bool:
    """Written by a staff member in the console: goes at once, whatever its situation.

    API messages are automated (reminders, marketing) and respect quiet hours; so does anything a
    broadcast or a campaign sends, even when a staff member pressed "send" (see ``is_bulk``).
    """
    return message.created_by_id is not None and message.api_key_id is None \
        and message.decided_by != "campaign_step" and not is_bulk(message)


def is_bulk(message: Message) -> bool:
    """A broadcast's or a campaign step's message: one of many, so it always waits for the contact's morning."""
    return message.broadcast_id is not None or message.campaign_step_id is not None


def waits_for_quiet_hours(delivery: Delivery, message: Message) -> bool:
    """Whether quiet hours hold this delivery back: renotices, every broadcast and campaign message,
    and reminders and marketing that no one is sending by hand right now."""
    if delivery.kind == "renotice":
        return True
    if delivery.kind not in ("notice", "content"):
        return False  # a code the client asked for, a link right after a call: the client is awake
    if is_bulk(message):
        return True  # whatever its situation or who created it
    situation = message.situation
    if situation is None:
        return False
    automated_kind = situation.key in REMINDER_SITUATIONS or situation.recommendation == MARKETING_RECOMMENDATION
    return automated_kind and not is_staff_one_off(message)
