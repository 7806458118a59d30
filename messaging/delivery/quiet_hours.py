"""Quiet hours: marketing and reminders wait until the organisation's night is over.

The window is wall-clock time in the organisation's time zone (``Settings.quiet_hours`` such as
``21:00-08:00`` and ``Settings.timezone``). Every comparison goes through zoneinfo, so a window
that spans midnight or a daylight-saving change opens at the right instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from messaging.models import Delivery, Message

# Deliveries that may wait: the situation keys and recommendations that make a message a reminder
# or marketing. Everything else (a staff member's one-off, a one-time code, an opt-out
# confirmation, a secure link sent after a call) goes at once.
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


def is_staff_one_off(message: Message) -> bool:
    """Written by a staff member in the console: goes at once, whatever its situation.

    API messages and campaign steps are automated (reminders, marketing) and respect quiet hours.
    """
    return message.created_by_id is not None and message.api_key_id is None \
        and message.decided_by != "campaign_step"


def waits_for_quiet_hours(delivery: Delivery, message: Message) -> bool:
    """Whether quiet hours hold this delivery back: renotices, reminders and marketing that no one
    is sending by hand right now."""
    if delivery.kind == "renotice":
        return True
    if delivery.kind not in ("notice", "content"):
        return False
    situation = message.situation
    if situation is None:
        return False
    automated_kind = situation.key in REMINDER_SITUATIONS or situation.recommendation == MARKETING_RECOMMENDATION
    return automated_kind and not is_staff_one_off(message)
